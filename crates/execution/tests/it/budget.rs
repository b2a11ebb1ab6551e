//! The witness budget against blocks built to strain it: states with deep trie paths (keys ground
//! to share long prefixes), transactions that read hundreds of accounts and slots, delete many
//! slots, and are refused part way. Invariants, for every block:
//! - a challenge's witness is never larger than what the block charged (so the budget bounds
//!   every challenge, however many of its transactions were refused and whatever they deleted);
//! - EXECUTE over that witness gives the node's output;
//! - a verifier re-running what the sequencer included takes all of it, builds the same block and
//!   charges exactly what the sequencer charged (what the sequencer tried and left out, refused
//!   or invalid, leaves no trace).
//!
//! `TANDEM_BUDGET_BLOCKS` blocks (24 by default) from seed `TANDEM_BUDGET_SEED` (0).
use crate::{
    chain::TestChain,
    stateless::{UNCHARGED, challenge_witness, preimage, sign},
};
use alloy_primitives::{Address, B256, U256, keccak256};
use rand::{Rng, SeedableRng, rngs::StdRng};
use tandem_execution::{
    budget::WITNESS_BUDGET,
    l2::{L1Origin, L2BlockInputs, QueuedTx},
    stateless::execute_stateless,
};
use tandem_primitives::{GenesisAccount, StoredTx, dev, genesis};

/// Stores every 64-byte (slot, value) pair of its calldata (a zero value deletes the slot).
const STORES: Address = Address::new([0x5f; 20]);
const STORES_CODE: &str = "5f5b8036111560175780602001358135556040016001565b00";
/// Calls BALANCE on every 32-byte address word of its calldata.
const BALANCES: Address = Address::new([0x9c; 20]);
const BALANCES_CODE: &str = "5f5b80361115601357803531506020016001565b00";

fn var(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// A key whose hash begins with the first `nibbles` nibbles of `target`: ground from `seed`.
fn ground<T: AsRef<[u8]>>(
    target: B256,
    nibbles: usize,
    seed: u64,
    of: impl Fn(u64) -> T,
) -> (u64, T) {
    let want = |h: &B256| (0..nibbles).all(|i| nibble(h, i) == nibble(&target, i));
    (seed..)
        .map(|n| (n, of(n)))
        .find(|(_, key)| want(&keccak256(key)))
        .unwrap()
}

fn nibble(h: &B256, i: usize) -> u8 {
    (h[i / 2] >> (4 * (1 - i % 2))) & 0xf
}

struct State {
    chain: TestChain,
    accounts: Vec<Address>,
    slots: Vec<B256>,
}

/// A state of a few thousand accounts and a contract of a few thousand slots, some of each ground
/// to share a long prefix with one another, so their paths run deep.
fn state(rng: &mut StdRng) -> State {
    let mut g = genesis::dev_l2_genesis();
    let code = |hex: &str| {
        GenesisAccount::default()
            .with_code(Some(alloy_primitives::hex::decode(hex).unwrap().into()))
    };
    g.alloc.insert(STORES, code(STORES_CODE));
    g.alloc.insert(BALANCES, code(BALANCES_CODE));
    let mut accounts: Vec<Address> = (0..30_000)
        .map(|_| Address::from(rng.random::<[u8; 20]>()))
        .collect();
    let deep = keccak256(rng.random::<[u8; 32]>());
    let mut next = rng.random::<u32>() as u64;
    for _ in 0..12 {
        let (n, address) = ground(deep, 4, next, |n| {
            Address::from_word(keccak256(n.to_be_bytes()))
        });
        accounts.push(address);
        next = n + 1;
    }
    for account in &accounts {
        g.alloc.insert(
            *account,
            GenesisAccount::default().with_balance(U256::from(1)),
        );
    }
    let mut slots: Vec<B256> = (0..6_000)
        .map(|_| B256::from(rng.random::<[u8; 32]>()))
        .collect();
    let deep = keccak256(rng.random::<[u8; 32]>());
    let mut next = rng.random::<u32>() as u64;
    for _ in 0..12 {
        let (n, slot) = ground(deep, 4, next, |n| keccak256((n ^ 0xabcdef).to_be_bytes()));
        slots.push(slot);
        next = n + 1;
    }
    let storage = slots
        .iter()
        .map(|s| (*s, B256::with_last_byte(7)))
        .collect();
    let stores = g.alloc.remove(&STORES).unwrap().with_storage(Some(storage));
    g.alloc.insert(STORES, stores);
    State {
        chain: TestChain::from_genesis(g),
        accounts,
        slots,
    }
}

/// One random sequenced transaction of dev account `from`.
fn random_tx(rng: &mut StdRng, s: &State, from: usize, nonce: u64) -> StoredTx {
    let pick = |rng: &mut StdRng, of: &[B256]| -> B256 {
        match rng.random_bool(0.8) {
            true => of[rng.random_range(0..of.len())],
            false => B256::from(rng.random::<[u8; 32]>()),
        }
    };
    let slots: Vec<B256> = s.slots.to_vec();
    let accounts: Vec<B256> = s.accounts.iter().map(|a| a.into_word()).collect();
    match rng.random_range(0..4) {
        // Reads of many accounts, some past what is left of the budget.
        0 => {
            // Most within one transaction's share, some past it.
            let count = match rng.random_range(0..10) {
                0..4 => rng.random_range(450..650),
                4 => rng.random_range(700..2_000),
                _ => rng.random_range(1..60),
            };
            let data = (0..count).flat_map(|_| pick(rng, &accounts).0).collect();
            sign(from, nonce, BALANCES, U256::ZERO, data, 7_000_000)
        }
        // Writes and deletions of many slots.
        1 | 2 => {
            let count = rng.random_range(1..120);
            let data = (0..count)
                .flat_map(|_| {
                    let value = match rng.random_range(0..3) {
                        0 => U256::ZERO,
                        _ => U256::from(rng.random::<u64>()),
                    };
                    [pick(rng, &slots).0, value.to_be_bytes::<32>()].concat()
                })
                .collect();
            sign(from, nonce, STORES, U256::ZERO, data, 7_000_000)
        }
        _ => sign(
            from,
            nonce,
            Address::from_word(pick(rng, &accounts)),
            U256::from(1),
            vec![],
            21_000,
        ),
    }
}

#[test]
fn a_block_s_witness_is_never_larger_than_its_charge_however_it_reads_deletes_or_is_refused() {
    let (seed, blocks) = (
        var("TANDEM_BUDGET_SEED", 0),
        var("TANDEM_BUDGET_BLOCKS", 24),
    );
    let mut rng = StdRng::seed_from_u64(seed);
    let s = state(&mut rng);
    let chain = &s.chain;
    let (mut refused, mut shares) = (0, 0);
    for number in 1..=blocks {
        let head = chain.head();
        let reader = chain.storage.read().unwrap();
        let mut nonces: Vec<u64> = dev::accounts()[..8]
            .iter()
            .map(|a| reader.account(a.address).unwrap().map_or(0, |a| a.nonce))
            .collect();
        drop(reader);
        let mut transactions = Vec::new();
        // Every third block, as many heavy readers as its data allows: past the block's budget.
        let fill = number % 3 == 0;
        for _ in 0..rng.random_range(1..7) + 6 * usize::from(fill) {
            let from = rng.random_range(0..8);
            if fill {
                let count = rng.random_range(480..560);
                let data = (0..count)
                    .flat_map(|_| {
                        s.accounts[rng.random_range(0..s.accounts.len())]
                            .into_word()
                            .0
                    })
                    .collect();
                transactions.push(sign(
                    from,
                    nonces[from],
                    BALANCES,
                    U256::ZERO,
                    data,
                    4_000_000,
                ));
                nonces[from] += 1;
                continue;
            }
            // Now and then one the sequencer drops (a nonce from the future, more value than the
            // sender holds): its reads must leave no trace.
            match rng.random_range(0..6) {
                0 => transactions.push(random_tx(&mut rng, &s, from, nonces[from] + 3)),
                1 => transactions.push(sign(
                    from,
                    nonces[from],
                    Address::from(rng.random::<[u8; 20]>()),
                    U256::MAX / U256::from(2),
                    vec![],
                    21_000,
                )),
                _ => {
                    transactions.push(random_tx(&mut rng, &s, from, nonces[from]));
                    nonces[from] += 1;
                }
            }
        }
        let inputs = L2BlockInputs {
            timestamp: head.timestamp,
            l1_origin: L1Origin::default(),
            queue: Vec::new(),
            transactions,
        };
        // What a verifier (and EXECUTE) does with a batch holding all of them: each refused
        // transaction's reads up to its refusal are in the witness, and were charged.
        let derived = chain.execute_l2(&inputs).unwrap();
        assert!(derived.witness_bytes <= WITNESS_BUDGET);
        // The sequencer's own block: every verifier takes all it included, and charges exactly
        // what the sequencer charged.
        let sequenced = chain.sequence_l2(&inputs);
        // Refused at the block's budget (left out by the sequencer), or past one transaction's
        // share (included, failed, at its whole gas).
        refused += sequenced
            .skipped
            .iter()
            .filter(|(_, why)| why.contains("witness budget"))
            .count();
        let (txs, receipts) = (
            &derived.executed.block.block.transactions,
            &derived.executed.receipts,
        );
        let mut before = 0;
        for (tx, receipt) in txs.iter().zip(receipts) {
            let used = receipt.cumulative_gas_used() - before;
            before = receipt.cumulative_gas_used();
            shares += usize::from(
                !receipt.status() && used == alloy_consensus::Transaction::gas_limit(&tx.tx),
            );
        }
        let included = L2BlockInputs {
            transactions: sequenced.executed.block.block.transactions.clone(),
            ..inputs.clone()
        };
        let rederived = chain.execute_l2(&included).unwrap();
        assert!(
            rederived.skipped.is_empty(),
            "block {number}: {:?}",
            rederived.skipped
        );
        assert_eq!(rederived.executed.block.hash, sequenced.executed.block.hash);
        assert_eq!(rederived.witness_bytes, sequenced.witness_bytes);

        let parent = preimage(chain);
        chain
            .storage
            .commit(&derived.executed.into_commit())
            .unwrap();
        let (witness, len) = challenge_witness(chain, number, &inputs);
        assert!(
            len <= derived.witness_bytes + UNCHARGED,
            "block {number}: a witness of {len} bytes for a charge of {}",
            derived.witness_bytes
        );
        let got = execute_stateless(&chain.chain, &parent, &inputs, &witness).unwrap();
        assert_eq!(got.output, preimage(chain), "block {number}");
    }
    assert!(
        refused > 0,
        "no transaction reached the block budget's edge"
    );
    assert!(shares > 0, "no transaction read past its share");
}

/// Reads EXTCODESIZE of every address word of its calldata, then loops until out of gas.
const GREEDY_LOOP: Address = Address::new([0x9d; 20]);
const GREEDY_LOOP_CODE: &str = "5f5b8036111560135780353b506020016001565b5b601456";

/// Reads EXTCODESIZE of every address word of its calldata.
const CODES: Address = Address::new([0x9e; 20]);
const CODES_CODE: &str = "5f5b8036111560135780353b506020016001565b00";

/// A chain with [`GREEDY_LOOP`], [`CODES`] and `count` contracts of 20,000 bytes of code each.
fn chain_with_code(count: u64) -> (TestChain, Vec<Address>) {
    let mut g = genesis::dev_l2_genesis();
    let code = |bytes: Vec<u8>| GenesisAccount::default().with_code(Some(bytes.into()));
    for (address, hex) in [(GREEDY_LOOP, GREEDY_LOOP_CODE), (CODES, CODES_CODE)] {
        g.alloc
            .insert(address, code(alloy_primitives::hex::decode(hex).unwrap()));
    }
    let contracts: Vec<Address> = (0..count)
        .map(|i| Address::from_word(keccak256((i + 7).to_be_bytes())))
        .collect();
    for (i, address) in contracts.iter().enumerate() {
        let mut bytes = vec![0u8; 20_000];
        bytes[1..9].copy_from_slice(&(i as u64).to_be_bytes());
        g.alloc.insert(*address, code(bytes));
    }
    (TestChain::from_genesis(g), contracts)
}

fn words(addresses: &[Address]) -> Vec<u8> {
    addresses.iter().flat_map(|a| a.into_word().0).collect()
}

#[test]
fn a_batch_of_transactions_that_run_then_pass_the_budget_pays_for_every_unit_of_work() {
    // Each reads more code than the budget holds (so it is refused part way, after running):
    // a verifier includes each one failed, at its whole gas, until the block's gas is spent, and
    // leaves the rest out without running them.
    let (chain, contracts) = chain_with_code(40);
    let transactions: Vec<StoredTx> = (0..10)
        .map(|i| sign(i, 0, GREEDY_LOOP, U256::ZERO, words(&contracts), 9_000_000))
        .collect();
    let inputs = L2BlockInputs {
        timestamp: chain.head().timestamp + 1,
        l1_origin: L1Origin::default(),
        queue: Vec::new(),
        transactions,
    };
    let parent = preimage(&chain);
    let block = chain.execute_l2(&inputs).unwrap();
    let header = block.executed.block.header().clone();
    assert_eq!(block.executed.block.block.transactions.len(), 3);
    assert_eq!(header.gas_used, 27_000_000);
    assert!(block.executed.receipts.iter().all(|r| !r.status()));
    assert_eq!(block.skipped.len(), 7);
    assert!(
        block
            .skipped
            .iter()
            .all(|(_, why)| why.contains("block has")),
        "{:?}",
        block.skipped
    );
    // Each paid for its gas, and its nonce moved.
    let reader = chain.storage.read().unwrap();
    let before = reader.account(dev::accounts()[0].address).unwrap().unwrap();
    drop(reader);
    chain.storage.commit(&block.executed.into_commit()).unwrap();
    let reader = chain.storage.read().unwrap();
    let after = reader.account(dev::accounts()[0].address).unwrap().unwrap();
    assert_eq!(after.nonce, 1);
    let base_fee = U256::from(header.base_fee_per_gas.unwrap());
    assert!(before.balance - after.balance >= U256::from(9_000_000) * base_fee);
    // EXECUTE agrees, and charges L1 for the block's 27M gas of work.
    drop(reader);
    let (witness, _) = challenge_witness(&chain, 1, &inputs);
    let got = execute_stateless(&chain.chain, &parent, &inputs, &witness).unwrap();
    assert_eq!(got.gas_used, 27_000_000);
    assert_eq!(got.output, preimage(&chain));
}

#[test]
fn a_transaction_reading_past_its_share_pays_for_all_its_gas_in_the_sequencer_s_block_too() {
    // Reading more than one transaction may is the sender's doing: included, failed, at its whole
    // gas limit, however the block is built, so it costs its sender and keeps nobody out.
    use tandem_execution::budget::TX_WITNESS;
    let (chain, contracts) = chain_with_code(40);
    let mut transactions = vec![sign(
        0,
        0,
        GREEDY_LOOP,
        U256::ZERO,
        words(&contracts),
        9_000_000,
    )];
    transactions.extend((1..6).map(|i| {
        sign(
            i,
            0,
            Address::with_last_byte(0x77),
            U256::from(1),
            vec![],
            21_000,
        )
    }));
    let inputs = L2BlockInputs {
        timestamp: chain.head().timestamp + 1,
        l1_origin: L1Origin::default(),
        queue: Vec::new(),
        transactions,
    };
    let sequenced = chain.sequence_l2(&inputs);
    assert!(sequenced.skipped.is_empty(), "{:?}", sequenced.skipped);
    assert_eq!(sequenced.executed.block.block.transactions.len(), 6);
    assert!(!sequenced.executed.receipts[0].status());
    assert_eq!(
        sequenced.executed.receipts[0].cumulative_gas_used(),
        9_000_000
    );
    assert!(sequenced.executed.receipts[1..].iter().all(|r| r.status()));
    assert!(sequenced.witness_bytes < TX_WITNESS + 40_000);
    let derived = chain.execute_l2(&inputs).unwrap();
    assert_eq!(derived.executed.block.hash, sequenced.executed.block.hash);
    assert_eq!(derived.witness_bytes, sequenced.witness_bytes);
}

#[test]
fn a_transaction_the_full_block_refuses_leaves_no_trace_in_the_sequencer_s_block() {
    // Four transactions, each within its share, spend most of the block's budget (and pay for
    // it); a fifth needs more than is left: the sequencer leaves it for the next block as if it
    // had never been tried, and still takes the transfers after it.
    let (chain, contracts) = chain_with_code(40);
    // Seven codes of 20 KB: within one transaction's share (with room for the longest code).
    let per = 7;
    let mut transactions: Vec<StoredTx> = (0..5)
        .map(|i| {
            sign(
                i,
                0,
                CODES,
                U256::ZERO,
                words(&contracts[i * per..(i + 1) * per]),
                1_000_000,
            )
        })
        .collect();
    transactions.extend((5..8).map(|i| {
        sign(
            i,
            0,
            Address::with_last_byte(0x77),
            U256::from(1),
            vec![],
            21_000,
        )
    }));
    let inputs = L2BlockInputs {
        timestamp: chain.head().timestamp + 1,
        l1_origin: L1Origin::default(),
        queue: Vec::new(),
        transactions,
    };
    let sequenced = chain.sequence_l2(&inputs);
    assert_eq!(sequenced.skipped.len(), 1, "{:?}", sequenced.skipped);
    assert!(sequenced.skipped[0].1.contains("witness budget"));
    assert_eq!(sequenced.skipped[0].0, inputs.transactions[4].tx.tx_hash());
    assert_eq!(sequenced.executed.block.block.transactions.len(), 7);
    assert!(sequenced.executed.receipts.iter().all(|r| r.status()));
    // Exactly the block of the seven alone, charge and all.
    let mut seven = inputs.transactions.clone();
    seven.remove(4);
    let derived = chain
        .execute_l2(&L2BlockInputs {
            transactions: seven,
            ..inputs
        })
        .unwrap();
    assert!(derived.skipped.is_empty());
    assert_eq!(derived.executed.block.hash, sequenced.executed.block.hash);
    assert_eq!(derived.witness_bytes, sequenced.witness_bytes);
}

#[test]
fn a_block_full_of_witness_or_data_raises_the_next_base_fee_as_a_block_full_of_gas_does() {
    use tandem_execution::l2::{BlockUse, MAX_BLOCK_DATA_BYTES, next_base_fee};
    let chain = TestChain::from_genesis(genesis::dev_l2_genesis());
    let mut parent = chain.head();
    parent.base_fee_per_gas = Some(1_000_000);
    parent.gas_used = 0;
    let quiet = next_base_fee(&chain.chain, &parent, BlockUse::default());
    let full_witness = next_base_fee(
        &chain.chain,
        &parent,
        BlockUse {
            witness: WITNESS_BUDGET,
            data: 0,
        },
    );
    let full_data = next_base_fee(
        &chain.chain,
        &parent,
        BlockUse {
            witness: 0,
            data: MAX_BLOCK_DATA_BYTES,
        },
    );
    parent.gas_used = parent.gas_limit;
    let full_gas = next_base_fee(&chain.chain, &parent, BlockUse::default());
    assert!(quiet < 1_000_000);
    assert_eq!(full_witness, full_gas);
    assert_eq!(full_data, full_gas);
    assert_eq!(full_gas, 1_125_000);
    // And the state transition uses it: a block that charged its whole budget is followed by a
    // block at the raised base fee.
    let (chain, contracts) = chain_with_code(40);
    // Four transactions of seven codes each: most of the budget, each within its share.
    let inputs = L2BlockInputs {
        timestamp: chain.head().timestamp + 1,
        l1_origin: L1Origin::default(),
        queue: Vec::new(),
        transactions: (0..4)
            .map(|i| {
                let of = &contracts[7 * i..7 * (i + 1)];
                sign(i, 0, CODES, U256::ZERO, words(of), 2_000_000)
            })
            .collect(),
    };
    let block = chain.execute_l2(&inputs).unwrap();
    assert!(block.executed.receipts.iter().all(|r| r.status()));
    assert!(block.witness_bytes > WITNESS_BUDGET * 3 / 4);
    let header = block.executed.block.header().clone();
    chain.storage.commit(&block.executed.into_commit()).unwrap();
    let next = chain
        .execute_l2(&L2BlockInputs {
            timestamp: header.timestamp + 1,
            transactions: Vec::new(),
            ..inputs
        })
        .unwrap();
    let data = inputs
        .transactions
        .iter()
        .map(|t| alloy_eips::eip2718::Encodable2718::encode_2718_len(&t.tx) as u64)
        .sum();
    let used = BlockUse {
        witness: block.witness_bytes,
        data,
    };
    let expected = next_base_fee(&chain.chain, &header, used);
    assert_eq!(
        next.executed.block.header().base_fee_per_gas,
        Some(expected)
    );
    assert!(
        expected
            > tandem_primitives::next_base_fee(
                &chain.chain.fees,
                header.gas_used,
                header.gas_limit,
                header.base_fee_per_gas.unwrap()
            )
    );
}

#[test]
fn the_queue_takes_at_most_half_the_block_so_sequenced_transactions_always_have_room() {
    use tandem_primitives::{TxEnvelope, protocol::deposit_transaction};
    // Fifteen deposits of 2M gas into an endless loop: each uses all its gas. The queue stops at
    // half the block's gas (seven), and a transfer still goes in.
    let (chain, _) = chain_with_code(0);
    let eth = U256::from(10u64).pow(U256::from(18));
    let queue: Vec<QueuedTx> = (0..15u64)
        .map(|index| {
            let from = Address::from_word(keccak256((index + 500).to_be_bytes()));
            let deposit = deposit_transaction(
                index,
                from,
                GREEDY_LOOP,
                eth,
                U256::ZERO,
                2_000_000,
                Default::default(),
            );
            QueuedTx {
                index,
                l1_block: 0,
                tx: StoredTx {
                    sender: deposit.from,
                    tx: TxEnvelope::Deposit(alloy_primitives::Sealed::new(deposit)),
                },
            }
        })
        .collect();
    let inputs = L2BlockInputs {
        timestamp: chain.head().timestamp + 1,
        l1_origin: L1Origin::default(),
        queue,
        transactions: vec![sign(
            0,
            0,
            Address::with_last_byte(0x77),
            U256::from(1),
            vec![],
            21_000,
        )],
    };
    let block = chain.execute_l2(&inputs).unwrap();
    let header = block.executed.block.header();
    assert_eq!(L1Origin::queued_of(header), 7);
    assert_eq!(L1Origin::queue_index_of(header), 7);
    assert_eq!(block.executed.block.block.transactions.len(), 8);
    assert!(block.executed.receipts[7].status());
}

#[test]
fn an_access_list_pays_the_l1_data_fee_as_calldata_does() {
    use alloy_eips::eip2930::{AccessList, AccessListItem};
    use tandem_execution::l2::l1_fee;
    let account = &dev::accounts()[0];
    let tx = |access_list: AccessList| {
        account.sign(alloy_consensus::TxEip1559 {
            chain_id: 901,
            gas_limit: 1_000_000,
            max_fee_per_gas: 1_000_000_000,
            to: alloy_primitives::TxKind::Call(Address::with_last_byte(1)),
            access_list,
            ..Default::default()
        })
    };
    let keys = (0..100u64).map(|i| keccak256(i.to_be_bytes())).collect();
    let list = AccessList(vec![AccessListItem {
        address: Address::with_last_byte(2),
        storage_keys: keys,
    }]);
    let (plain, listed) = (l1_fee(&tx(AccessList::default()), 7), l1_fee(&tx(list), 7));
    assert!(
        listed.gas_used >= plain.gas_used + 100 * 32 * 16,
        "{listed:?} vs {plain:?}"
    );
}
