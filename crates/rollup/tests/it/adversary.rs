//! Adversaries that choose their own moves against the dispute game, on seeded random histories.
//!
//! A history is a random run of L1 and L2 blocks: deposits of random gas up to the Portal's
//! maximum (sometimes seventeen or more in one L1 block, so their gas limits add up past an L2
//! block's), valid and invalid forced transactions, forced contract creations that read hundreds
//! of accounts, transfers and withdrawals, batches of random sizes, and honest outputs.
//!
//! - Against honest outputs, an adversary sends challenges of its own making (queue lists
//!   shortened, lengthened, reordered or altered; wrong parents; other batches and origins;
//!   witnesses with a node removed or altered; other blocks of the output). Invariant: no honest
//!   output is ever removed and no honest bond ever moves to anyone but its proposer.
//! - A faulty proposer posts random wrong claims in random blocks of an output, some carrying a
//!   withdrawal minted from nothing. Invariant: the shipped challenger removes every wrong output
//!   before its window ends, and the forged withdrawal is never paid.
//!
//! Each property runs `TANDEM_ADVERSARY_HISTORIES` histories (200 by default) from seed
//! `TANDEM_ADVERSARY_SEED` on (0 by default); a failure names its seed, which replays it alone.
use crate::{
    bridge::{Bridge, Chain, INTERVAL, PROPOSER, WINDOW, deposit_call, fresh, l2_call},
    dispute::{
        FAULTY, challenger_claim, dev_address, eth, forged_proof, l1_txs_from, replay, rogue_block,
    },
};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, SolEvent};
use rand::{Rng, SeedableRng, rngs::StdRng};
use tandem_execution::{
    l2::L1Origin,
    system::{
        IDisputeGame, IL2ToL1MessagePasser, IPortal,
        portal::{MAX_QUEUED_GAS, MIN_QUEUED_GAS},
    },
};
use tandem_primitives::protocol::Withdrawal;
use tandem_primitives::{StoredTx, genesis, system::L2_TO_L1_MESSAGE_PASSER, system::PORTAL};
use tandem_rollup::{
    challenger::{self, Claim, Verdict},
    outputs::{output_at, proposal},
};

fn histories() -> std::ops::Range<u64> {
    let var = |name: &str, default: u64| {
        std::env::var(name)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(default)
    };
    let from = var("TANDEM_ADVERSARY_SEED", 0);
    from..from + var("TANDEM_ADVERSARY_HISTORIES", 200)
}

/// Init code that reads the balance of accounts 1..=n (each a cold account the witness must
/// carry), then stops: `PUSH2 n; JUMPDEST; DUP1; BALANCE; POP; PUSH1 1; SWAP1; SUB; DUP1;
/// PUSH1 3; JUMPI; STOP`.
fn balance_reader(n: u16) -> Vec<u8> {
    let [hi, lo] = n.to_be_bytes();
    vec![
        0x61, hi, lo, 0x5b, 0x80, 0x31, 0x50, 0x60, 0x01, 0x90, 0x03, 0x80, 0x60, 0x03, 0x57, 0x00,
    ]
}

/// A random history's users and what has been done so far.
struct History {
    b: Bridge,
    rng: StdRng,
    users: Vec<tandem_primitives::dev::DevAccount>,
    /// Signs only forced transactions.
    forcer: tandem_primitives::dev::DevAccount,
}

impl History {
    fn new(seed: u64) -> Self {
        let mut b = Bridge::new();
        let users: Vec<_> = (0..3).map(|i| fresh(1_000 + i)).collect();
        let forcer = fresh(2_000);
        let funded: Vec<_> = users.iter().chain([&forcer]).map(|u| u.address).collect();
        b.fund(&funded, eth(2));
        Self {
            b,
            rng: StdRng::seed_from_u64(seed),
            users,
            forcer,
        }
    }

    /// One L1 block of random queue entries, sometimes.
    fn queue_some(&mut self) {
        if !self.rng.random_bool(0.5) {
            return;
        }
        let many = self.rng.random_bool(0.2);
        let deposits = match many {
            true => self.rng.random_range(15..=20),
            false => self.rng.random_range(1..=4),
        };
        let mut calls = Vec::new();
        for _ in 0..deposits {
            let gas = match self.rng.random_range(0..3) {
                0 => MAX_QUEUED_GAS,
                1 => MIN_QUEUED_GAS,
                _ => self.rng.random_range(MIN_QUEUED_GAS..=MAX_QUEUED_GAS),
            };
            let to = match self.rng.random_bool(0.5) {
                true => self.users[self.rng.random_range(0..self.users.len())].address,
                false => Address::from_word(B256::from(self.rng.random::<[u8; 32]>())),
            };
            let value = U256::from(self.rng.random_range(0..1_000_000u64));
            calls.push((PORTAL, value, deposit_call(to, value, gas, vec![])));
        }
        // Forced transactions: a contract creation that reads many accounts (it may read past
        // the witness budget and be passed over), a transfer, or one from an unfunded sender.
        let forcer_nonce = self.b.l2.nonce(self.forcer.address);
        let mut forced_nonce = forcer_nonce;
        for _ in 0..self.rng.random_range(0..3) {
            let tx = match self.rng.random_range(0..3) {
                0 => {
                    let reads = self.rng.random_range(100..900);
                    let tx = self.forcer.sign(alloy_consensus::TxEip1559 {
                        chain_id: tandem_primitives::ChainConfig::L2_DEV_CHAIN_ID,
                        nonce: forced_nonce,
                        gas_limit: MAX_QUEUED_GAS,
                        max_fee_per_gas: 100_000_000,
                        to: alloy_primitives::TxKind::Create,
                        input: balance_reader(reads).into(),
                        ..Default::default()
                    });
                    forced_nonce += 1;
                    tx
                }
                1 => {
                    let tx = l2_call(
                        &self.forcer,
                        forced_nonce,
                        self.users[0].address,
                        U256::from(1),
                        vec![],
                    )
                    .tx;
                    forced_nonce += 1;
                    tx
                }
                _ => l2_call(&fresh(3_000), 0, self.users[0].address, U256::ONE, vec![]).tx,
            };
            let raw = alloy_eips::eip2718::Encodable2718::encoded_2718(&tx);
            calls.push((
                PORTAL,
                U256::ZERO,
                IPortal::forceTransactionCall {
                    signedL2Tx: raw.into(),
                }
                .abi_encode(),
            ));
        }
        let from = self.rng.random_range(0..4);
        let txs = l1_txs_from(&self.b, from, calls);
        self.b.mine_l1(txs, 1);
    }

    /// One L2 block of random transfers and withdrawals, with the queue's due entries.
    fn block(&mut self) {
        self.queue_some();
        let mut txs: Vec<StoredTx> = Vec::new();
        for user in &self.users {
            if self.rng.random_bool(0.4) {
                continue;
            }
            let nonce = self.b.l2.nonce(user.address);
            let to = self.users[self.rng.random_range(0..self.users.len())].address;
            let value = U256::from(self.rng.random_range(1..1_000u64));
            txs.push(match self.rng.random_bool(0.3) {
                true => {
                    let call = IL2ToL1MessagePasser::initiateWithdrawalCall {
                        to,
                        gasLimit: 100_000,
                        data: Bytes::new(),
                    };
                    l2_call(
                        user,
                        nonce,
                        L2_TO_L1_MESSAGE_PASSER,
                        value,
                        call.abi_encode(),
                    )
                }
                false => l2_call(user, nonce, to, value, vec![]),
            });
        }
        self.b.mine_l2(txs);
        if self.rng.random_bool(0.4) {
            self.b.post_batches();
        }
    }

    /// Runs blocks until the next output is due, then proposes it honestly.
    fn honest_output(&mut self) -> Claim {
        for _ in 0..INTERVAL {
            self.block();
        }
        let index = self.b.output_count();
        self.b.propose();
        assert_eq!(self.b.output_count(), index + 1);
        challenger_claim(&self.b, index)
    }
}

/// An adversary's challenge of an honest output: the honest one for a block, altered.
fn mutate(h: &mut History, claim: &Claim, c: &mut IDisputeGame::Challenge) -> &'static str {
    let rng = &mut h.rng;
    match rng.random_range(0..11) {
        0 if !c.queue.is_empty() => {
            let keep = rng.random_range(0..c.queue.len());
            c.queue.truncate(keep);
            "queue shortened"
        }
        1 => {
            // Entries past what the block took, or the same one twice.
            let from = L1Origin::queue_index_of(
                &h.b.l2
                    .storage
                    .read()
                    .unwrap()
                    .header(c.l2BlockNumber - 1)
                    .unwrap()
                    .unwrap(),
            ) + c.queue.len() as u64;
            let extra: Vec<_> = h
                .b
                .queue
                .iter()
                .filter(|e| e.index >= from)
                .take(rng.random_range(1..4))
                .map(|e| Bytes::from(alloy_eips::eip2718::Encodable2718::encoded_2718(&e.tx.tx)))
                .collect();
            match extra.is_empty() {
                true => c.queue.extend(c.queue.first().cloned()),
                false => c.queue.extend(extra),
            }
            "queue lengthened"
        }
        2 if c.queue.len() > 1 => {
            let i = rng.random_range(1..c.queue.len());
            c.queue.swap(0, i);
            "queue reordered"
        }
        3 if !c.queue.is_empty() => {
            let i = rng.random_range(0..c.queue.len());
            let mut raw = c.queue[i].to_vec();
            let at = rng.random_range(0..raw.len());
            raw[at] ^= 1 << rng.random_range(0..8);
            c.queue[i] = raw.into();
            "a queue entry altered"
        }
        4 => {
            // Another block's output as the parent.
            let other = rng.random_range(0..c.l2BlockNumber.saturating_sub(1).max(1));
            let o = output_at(&h.b.l2.storage.read().unwrap(), other)
                .unwrap()
                .unwrap();
            c.parent = IDisputeGame::OutputRootProof {
                stateRoot: o.state_root,
                messagePasserStorageRoot: o.message_passer_storage_root,
                blockHash: o.block_hash,
            };
            "another block as the parent"
        }
        5 => {
            c.batchSequence = rng.random_range(0..h.b.batches.len() as u64 + 1);
            if let Some((bytes, _, _)) = h.b.batches.get(c.batchSequence as usize) {
                c.batch = bytes.clone();
            }
            "another batch"
        }
        6 => {
            let head = h.b.l1.head().number;
            let other =
                h.b.l1
                    .storage
                    .read()
                    .unwrap()
                    .header(rng.random_range(0..=head))
                    .unwrap()
                    .unwrap();
            c.l1OriginHeader = alloy_rlp::encode(&other).into();
            "another origin"
        }
        7 => {
            let mut w: tandem_execution::witness::ExecutionWitness =
                alloy_rlp::decode_exact(&c.witness).unwrap();
            if w.state.is_empty() {
                return "nothing";
            }
            let at = rng.random_range(0..w.state.len());
            match rng.random_bool(0.5) {
                true => {
                    w.state.remove(at);
                }
                false => {
                    let mut node = w.state[at].to_vec();
                    let i = rng.random_range(0..node.len());
                    node[i] ^= 1;
                    w.state[at] = node.into();
                }
            }
            c.witness = alloy_rlp::encode(&w).into();
            "witness altered"
        }
        8 => {
            // Another block of the output, with this block's inputs.
            let other = claim.first_block + rng.random_range(0..INTERVAL);
            c.l2BlockNumber = other;
            "another block of the output"
        }
        9 => {
            let mut header: tandem_primitives::Header =
                alloy_rlp::decode_exact(&c.l1OriginHeader).unwrap();
            header.timestamp += 1;
            c.l1OriginHeader = alloy_rlp::encode(&header).into();
            "an origin header L1 does not have"
        }
        _ => "honest",
    }
}

#[test]
fn no_challenge_an_adversary_builds_removes_an_honest_output_or_moves_its_bond() {
    let (mut upheld, mut refused, mut tried) = (0u64, 0u64, 0u64);
    for seed in histories() {
        let mut h = History::new(seed);
        h.b.mine_l2(Vec::new());
        let outputs = h.rng.random_range(1..=2);
        for _ in 0..outputs {
            let claim = h.honest_output();
            for _ in 0..3 {
                let number = claim.first_block + h.rng.random_range(0..INTERVAL);
                let mut c = h.b.challenge_of(&claim, number);
                let what = mutate(&mut h, &claim, &mut c);
                let count = h.b.output_count();
                let proposer = h.b.l1_balance(dev_address(PROPOSER));
                let verdict = h.b.send_challenge(c);
                tried += 1;
                assert_ne!(
                    verdict,
                    Some(true),
                    "seed {seed}: \"{what}\" against block {number} removed an honest output"
                );
                assert_eq!(h.b.output_count(), count, "seed {seed}: {what}");
                assert!(
                    h.b.l1_balance(dev_address(PROPOSER)) >= proposer,
                    "seed {seed}: {what} took the honest proposer's bond"
                );
                match verdict {
                    Some(false) => upheld += 1,
                    _ => refused += 1,
                }
            }
        }
    }
    assert_eq!(upheld + refused, tried);
    eprintln!(
        "adversary vs honest outputs: {tried} challenges, {upheld} upheld, {refused} refused"
    );
    assert!(
        upheld > 0 && refused > 0,
        "both kinds of challenge were tried"
    );
}

/// A faulty node's block `number`: the honest one's deposits and transactions, then a deposit
/// minted from nothing to a thief, who withdraws 1 ETH of it. Returns the block and the
/// withdrawal.
fn forge(
    h: &History,
    faulty: &Chain,
    number: u64,
) -> (tandem_execution::ExecutedBlock, Withdrawal) {
    let thief = fresh(4_000);
    let honest = &h.b.inputs[&number];
    let block =
        h.b.l2
            .storage
            .read()
            .unwrap()
            .block(number)
            .unwrap()
            .unwrap();
    let taken = L1Origin::queued_of(block.header());
    let from = L1Origin::queue_index_of(&faulty.head());
    let mut deposits: Vec<_> = honest
        .queue
        .iter()
        .filter(|e| e.index >= from)
        .take(taken)
        .filter(|e| e.tx.tx.is_deposit())
        .cloned()
        .collect();
    let mut minted = tandem_primitives::protocol::deposit_transaction(
        u64::MAX,
        thief.address,
        thief.address,
        eth(1_000),
        U256::ZERO,
        100_000,
        Bytes::new(),
    );
    minted.mint = eth(1_000).to();
    deposits.push(tandem_execution::l2::QueuedTx {
        index: u64::MAX,
        l1_block: 0,
        tx: StoredTx {
            sender: thief.address,
            tx: tandem_primitives::TxEnvelope::Deposit(alloy_primitives::Sealed::new(minted)),
        },
    });
    let withdraw = IL2ToL1MessagePasser::initiateWithdrawalCall {
        to: thief.address,
        gasLimit: 100_000,
        data: Bytes::new(),
    };
    let mut txs = honest.transactions.clone();
    txs.push(l2_call(
        &thief,
        1,
        L2_TO_L1_MESSAGE_PASSER,
        eth(1),
        withdraw.abi_encode(),
    ));
    let block = rogue_block(faulty, honest.timestamp, honest.l1_origin, &deposits, &txs);
    let event = block
        .receipts
        .iter()
        .flat_map(|r| r.logs().to_vec())
        .filter_map(|l| IL2ToL1MessagePasser::MessagePassed::decode_log_data(&l.data).ok())
        .find(|e| e.sender == thief.address)
        .expect("the thief's withdrawal");
    let withdrawal = Withdrawal {
        nonce: event.nonce,
        sender: event.sender,
        target: event.target,
        value: event.value,
        gas_limit: event.gasLimit,
        data: event.data,
    };
    (block, withdrawal)
}

#[test]
fn the_shipped_challenger_removes_every_random_wrong_output_and_no_forged_withdrawal_is_paid() {
    let (mut removed, mut forged_refused) = (0u64, 0u64);
    for seed in histories() {
        let mut h = History::new(seed);
        h.b.mine_l2(Vec::new());
        if h.rng.random_bool(0.5) {
            h.honest_output();
        }
        for _ in 0..INTERVAL {
            h.block();
        }
        h.b.post_batches();
        let index = h.b.output_count();
        let first = h.b.proposed_to + 1;
        let last = first + INTERVAL - 1;
        let honest = proposal(&h.b.l2.storage.read().unwrap(), first, last)
            .unwrap()
            .unwrap();
        // The faulty proposer: a random first wrong block, then random or honest roots.
        let wrong_at = h.rng.random_range(0..INTERVAL as usize);
        let forging = h.rng.random_bool(0.3);
        let mut forged = None;
        let mut roots = honest.block_roots.clone();
        if forging {
            let dir = tempfile::tempdir().unwrap();
            let faulty = Chain::new(&dir, "faulty", &genesis::dev_l2_genesis());
            for number in 1..first + wrong_at as u64 {
                replay(&faulty, &h.b.inputs[&number]);
            }
            let number = first + wrong_at as u64;
            let (block, withdrawal) = forge(&h, &faulty, number);
            faulty.storage.commit(&block.into_commit()).unwrap();
            roots[wrong_at] = output_at(&faulty.storage.read().unwrap(), number)
                .unwrap()
                .unwrap()
                .output_root;
            // The faulty output ends at the forged block so its proof is against the output.
            for root in roots.iter_mut().skip(wrong_at + 1) {
                *root = roots_last(&faulty, number);
            }
            forged = Some((forged_proof(&faulty, &withdrawal, index, number), dir));
        } else {
            roots[wrong_at] = B256::from(h.rng.random::<[u8; 32]>());
            for root in roots.iter_mut().skip(wrong_at + 1) {
                if h.rng.random_bool(0.5) {
                    *root = B256::from(h.rng.random::<[u8; 32]>());
                }
            }
        }
        let claim = Claim {
            index,
            first_block: first,
            roots,
        };
        h.b.propose_claim(FAULTY, &claim);
        let on_l1 = challenger_claim(&h.b, index);
        // The shipped challenger: finds the first wrong block against its chain and challenges it.
        let verdict = challenger::check(&h.b.l2.storage.read().unwrap(), &on_l1).unwrap();
        let expected = first + wrong_at as u64;
        assert_eq!(verdict, Verdict::Wrong(expected), "seed {seed}");
        let c = h.b.challenge_of(&on_l1, expected);
        assert_eq!(
            h.b.send_challenge(c),
            Some(true),
            "seed {seed}: the wrong output loses"
        );
        assert_eq!(h.b.output_count(), index, "seed {seed}");
        removed += 1;
        if let Some((proof, _dir)) = forged {
            // The honest output takes the index; once it is final the forged proof is refused.
            h.b.propose();
            h.b.mine_l1(Vec::new(), WINDOW + 1);
            assert!(
                !h.b.finalize(proof),
                "seed {seed}: a forged withdrawal was paid"
            );
            forged_refused += 1;
        }
    }
    eprintln!(
        "faulty proposer vs challenger: {removed} wrong outputs removed, {forged_refused} forged withdrawals refused"
    );
    assert!(forged_refused > 0);
}

/// The output root the faulty chain has at block `number`.
fn roots_last(faulty: &Chain, number: u64) -> B256 {
    output_at(&faulty.storage.read().unwrap(), number)
        .unwrap()
        .unwrap()
        .output_root
}
