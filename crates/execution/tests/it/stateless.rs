//! EXECUTE's core against the node: for many randomized L2 blocks (transfers, deposits with and
//! without reverting calls, withdrawals, storage writes and deletions, BLOCKHASH, reverts, invalid
//! transactions), stateless re-execution from the recorded witness gives exactly the node's output
//! root, and a witness with any node removed or altered fails closed.
use crate::chain::TestChain;
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_sol_types::SolCall;
use rand::{Rng, SeedableRng, rngs::StdRng};
use tandem_execution::{
    l2::{L1Origin, L2BlockInputs, QueuedTx},
    stateless::{OutputPreimage, decode_inputs, encode_inputs, execute_stateless},
    system::IL2ToL1MessagePasser,
    witness::{ExecutionWitness, execution_witness_for},
};
use tandem_primitives::protocol::deposit_transaction;
use tandem_primitives::{StoredTx, TxEnvelope, dev, system::L2_TO_L1_MESSAGE_PASSER};

/// Reverts on empty calldata; otherwise stores calldata word 1 at slot word 0 (zero deletes the
/// slot), or, when word 1 is 1, the hash of the block two back.
const STORE: Address = Address::new([0x5e; 20]);
const STORE_CODE: &str = "366007575f5ffd5b5f35602035806001146017579055005b506002430340905500";

const BLOCKS: u64 = 10_000;
const SENDERS: usize = 10;

pub(crate) fn preimage(chain: &TestChain) -> OutputPreimage {
    let reader = chain.storage.read().unwrap();
    let head = chain.head();
    OutputPreimage {
        state_root: head.state_root,
        message_passer_root: reader
            .account(L2_TO_L1_MESSAGE_PASSER)
            .unwrap()
            .map(|a| a.storage_root)
            .unwrap_or(tandem_state::EMPTY_ROOT_HASH),
        block_hash: head.hash_slow(),
    }
}

pub(crate) fn sign(
    from: usize,
    nonce: u64,
    to: Address,
    value: U256,
    input: Vec<u8>,
    gas: u64,
) -> StoredTx {
    let account = &dev::accounts()[from];
    let tx = TxEip1559 {
        chain_id: 901,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(to),
        value,
        input: input.into(),
        ..Default::default()
    };
    StoredTx {
        sender: account.address,
        tx: account.sign(tx),
    }
}

fn store_call(rng: &mut StdRng) -> Vec<u8> {
    let slot = U256::from(rng.random_range(0..6u64));
    let value = match rng.random_range(0..4) {
        0 => U256::ZERO,
        1 => U256::from(1),
        _ => U256::from(rng.random::<u64>()),
    };
    [slot.to_be_bytes::<32>(), value.to_be_bytes::<32>()].concat()
}

/// One randomized block's inputs on top of the chain's head.
fn random_inputs(
    rng: &mut StdRng,
    chain: &TestChain,
    origin: &mut L1Origin,
    queue_next: &mut u64,
) -> L2BlockInputs {
    let head = chain.head();
    if rng.random_bool(0.3) {
        origin.number += 1;
        origin.hash = keccak256(origin.number.to_be_bytes());
        origin.timestamp = origin.timestamp.max(head.timestamp);
        origin.base_fee = rng.random_range(1..50);
    }
    let mut queue = Vec::new();
    for _ in 0..rng.random_range(0..3) {
        if !rng.random_bool(0.4) {
            continue;
        }
        let (to, data) = match rng.random_range(0..3) {
            0 => (Address::from(rng.random::<[u8; 20]>()), Vec::new()),
            1 => (STORE, store_call(rng)),
            _ => (STORE, Vec::new()), // reverts; the mint stays
        };
        let deposit = deposit_transaction(
            *queue_next,
            Address::from(rng.random::<[u8; 20]>()),
            to,
            U256::from(rng.random_range(0..1_000_000u64)),
            U256::ZERO,
            100_000,
            data.into(),
        );
        queue.push(QueuedTx {
            index: *queue_next,
            l1_block: origin.number,
            tx: StoredTx {
                sender: deposit.from,
                tx: TxEnvelope::Deposit(alloy_primitives::Sealed::new(deposit)),
            },
        });
        *queue_next += 1;
    }
    let reader = chain.storage.read().unwrap();
    let mut nonces: Vec<u64> = dev::accounts()[..SENDERS]
        .iter()
        .map(|a| {
            reader
                .account(a.address)
                .unwrap()
                .map(|a| a.nonce)
                .unwrap_or(0)
        })
        .collect();
    let mut transactions = Vec::new();
    for _ in 0..rng.random_range(0..5) {
        let from = rng.random_range(0..SENDERS);
        let nonce = nonces[from];
        let tx = match rng.random_range(0..6) {
            0 => sign(
                from,
                nonce,
                Address::from(rng.random::<[u8; 20]>()),
                U256::from(7),
                vec![],
                21_000,
            ),
            1 | 2 => sign(from, nonce, STORE, U256::ZERO, store_call(rng), 100_000),
            3 => sign(from, nonce, STORE, U256::ZERO, vec![], 100_000),
            4 => {
                let call = IL2ToL1MessagePasser::initiateWithdrawalCall {
                    to: Address::from(rng.random::<[u8; 20]>()),
                    gasLimit: 100_000,
                    data: Bytes::new(),
                };
                let value = U256::from(rng.random_range(1..1_000u64));
                sign(
                    from,
                    nonce,
                    L2_TO_L1_MESSAGE_PASSER,
                    value,
                    call.abi_encode(),
                    100_000,
                )
            }
            // A nonce from the future: left out of the block.
            _ => {
                transactions.push(sign(from, nonce + 3, STORE, U256::ZERO, vec![], 100_000));
                continue;
            }
        };
        nonces[from] += 1;
        transactions.push(tx);
    }
    L2BlockInputs {
        timestamp: head.timestamp + 1,
        l1_origin: *origin,
        queue,
        transactions,
    }
}

fn flip_a_bit(bytes: &Bytes, rng: &mut StdRng) -> Bytes {
    let mut bytes = bytes.to_vec();
    let at = rng.random_range(0..bytes.len());
    bytes[at] ^= 1 << rng.random_range(0..8);
    bytes.into()
}

#[test]
fn execute_over_the_witness_gives_the_node_s_output_root_and_fails_closed() {
    let chain = TestChain::l2_with_code(STORE, STORE_CODE);
    let mut rng = StdRng::seed_from_u64(7);
    let mut origin = L1Origin::default();
    let mut queue_next = 0;
    let mut parent = preimage(&chain);
    let (mut reverted, mut skipped, mut deposits, mut with_code) = (0, 0, 0, 0);
    for number in 1..=BLOCKS {
        let inputs = random_inputs(&mut rng, &chain, &mut origin, &mut queue_next);
        let block = chain.execute_l2(&inputs).unwrap();
        let charged = block.witness_bytes;
        skipped += block.skipped.len();
        deposits += inputs.queue.len();
        reverted += block
            .executed
            .receipts
            .iter()
            .filter(|r| !r.status())
            .count();
        chain.storage.commit(&block.executed.into_commit()).unwrap();
        let output = preimage(&chain);

        let (witness, len) = challenge_witness(&chain, number, &inputs);
        // The witness is never larger than what the block charged to its budget.
        assert!(
            len <= charged + UNCHARGED,
            "block {number}: {len} > {charged}"
        );
        // Both through the encodings L1 receives.
        let encoded = alloy_rlp::encode(&witness);
        let witness: ExecutionWitness = alloy_rlp::decode_exact(&encoded).unwrap();
        let inputs = decode_inputs(&encode_inputs(&inputs)).unwrap();
        let execute = |w: &ExecutionWitness| execute_stateless(&chain.chain, &parent, &inputs, w);
        let got = execute(&witness).unwrap_or_else(|e| panic!("block {number}: {e} {inputs:?}"));
        assert_eq!(got.output, output, "block {number}");
        assert_eq!(got.output.root(), output.root());

        // Any node removed, or any one altered, and EXECUTE fails closed.
        let at = rng.random_range(0..witness.state.len());
        let mut partial = witness.clone();
        partial.state.remove(at);
        assert!(
            execute(&partial).is_err(),
            "block {number} without node {at}"
        );
        let mut altered = witness.clone();
        altered.state[at] = flip_a_bit(&altered.state[at], &mut rng);
        assert!(
            execute(&altered).is_err(),
            "block {number} with node {at} altered"
        );
        if !witness.codes.is_empty() {
            with_code += 1;
            let mut altered = witness.clone();
            altered.codes[0] = flip_a_bit(&altered.codes[0], &mut rng);
            assert!(
                execute(&altered).is_err(),
                "block {number} with its code altered"
            );
        }
        let mut altered = witness.clone();
        let at = rng.random_range(0..altered.headers.len());
        altered.headers[at] = flip_a_bit(&altered.headers[at], &mut rng);
        assert!(
            execute(&altered).is_err(),
            "block {number} with header {at} altered"
        );
        // A parent output that is not the witness's parent is refused.
        let wrong = OutputPreimage {
            message_passer_root: B256::repeat_byte(1),
            ..parent
        };
        assert!(execute_stateless(&chain.chain, &wrong, &inputs, &witness).is_err());
        parent = output;
    }
    // The mix the blocks were meant to have.
    assert!(reverted > 500 && skipped > 500 && deposits > 1_000 && with_code > 1_000);
}

/// Calls EXTCODESIZE on every 32-byte address word of its calldata (reading each one's code).
const PROBE: Address = Address::new([0x9b; 20]);
const PROBE_CODE: &str = "5f5b8036111560135780353b506020016001565b00";
/// Contracts of distinct code, each this long: a few pass the witness budget.
const BIG_CODE: usize = 20_000;

/// The L2 dev chain with the probe and `count` contracts of [`BIG_CODE`] bytes each.
fn chain_with_big_contracts(count: u64) -> (TestChain, Vec<Address>) {
    let mut genesis = tandem_primitives::genesis::dev_l2_genesis();
    genesis.alloc.insert(
        PROBE,
        tandem_primitives::GenesisAccount::default().with_code(Some(
            alloy_primitives::hex::decode(PROBE_CODE).unwrap().into(),
        )),
    );
    let contracts: Vec<Address> = (0..count)
        .map(|i| Address::from_word(keccak256((i + 1).to_be_bytes())))
        .collect();
    for (i, address) in contracts.iter().enumerate() {
        // STOP, then distinct bytes: never run, only measured.
        let mut code = vec![0u8; BIG_CODE];
        code[1..9].copy_from_slice(&(i as u64).to_be_bytes());
        genesis.alloc.insert(
            *address,
            tandem_primitives::GenesisAccount::default().with_code(Some(code.into())),
        );
    }
    (TestChain::from_genesis(genesis), contracts)
}

fn words(addresses: &[Address]) -> Vec<u8> {
    addresses.iter().flat_map(|a| a.into_word().0).collect()
}

/// The witness a challenge of L2 block `number` carries, and its encoded length.
pub(crate) fn challenge_witness(
    chain: &TestChain,
    number: u64,
    inputs: &L2BlockInputs,
) -> (ExecutionWitness, u64) {
    let reader = chain.storage.read().unwrap();
    let witness = execution_witness_for(&reader, &chain.chain, number, inputs)
        .unwrap()
        .for_execute();
    let len = alloy_rlp::encode(&witness).len() as u64;
    (witness, len)
}

/// What a witness holds besides what its block charged: the parent's header and the list headers.
pub(crate) const UNCHARGED: u64 = tandem_execution::budget::HEADER_BYTES + 64;

#[test]
fn no_block_reads_past_its_witness_budget_and_every_verifier_takes_what_the_sequencer_built() {
    use tandem_execution::budget::{CODE_BYTES, WITNESS_BUDGET};
    let over = WITNESS_BUDGET / (BIG_CODE as u64 + CODE_BYTES) + 5;
    let (chain, contracts) = chain_with_big_contracts(over);
    let origin = L1Origin::default();
    let inputs = |transactions| L2BlockInputs {
        timestamp: chain.head().timestamp + 1,
        l1_origin: origin,
        queue: Vec::new(),
        transactions,
    };
    let run = |inputs: &L2BlockInputs| chain.execute_l2(inputs).unwrap();
    let is_budget = |reason: &String| reason.contains("witness budget");

    // One transaction that reads more code than one transaction may: the sequencer and every
    // verifier include it failed, paying for all its gas (its work is paid, and it cannot spend
    // the block's budget for free).
    let greedy = inputs(vec![sign(
        0,
        0,
        PROBE,
        U256::ZERO,
        words(&contracts),
        10_000_000,
    )]);
    for block in [chain.sequence_l2(&greedy), run(&greedy)] {
        assert!(block.skipped.is_empty(), "{:?}", block.skipped);
        assert_eq!(block.executed.block.block.transactions.len(), 1);
        assert!(!block.executed.receipts[0].status());
        assert_eq!(block.executed.block.header().gas_used, 10_000_000);
        assert!(block.witness_bytes <= tandem_execution::budget::TX_WITNESS + 40_000);
    }

    // One contract a transaction, from ten senders: the block takes them until its witness
    // budget is spent, and leaves the rest out.
    let reads: Vec<StoredTx> = contracts
        .iter()
        .enumerate()
        .map(|(i, contract)| {
            let (from, nonce) = (i % 10, i as u64 / 10);
            sign(from, nonce, PROBE, U256::ZERO, words(&[*contract]), 100_000)
        })
        .collect();
    let sequenced = chain.sequence_l2(&inputs(reads));
    let included = sequenced.executed.block.block.transactions.clone();
    assert!(
        included.len() > 5 && included.len() < contracts.len(),
        "{} included",
        included.len()
    );
    assert!(
        sequenced
            .skipped
            .iter()
            .all(|(_, reason)| is_budget(reason) || reason.contains("nonce"))
    );
    assert!(
        sequenced
            .skipped
            .iter()
            .any(|(_, reason)| is_budget(reason))
    );
    // The last code read needs room for the longest code.
    let room = tandem_execution::budget::MAX_CODE_BYTES + CODE_BYTES;
    assert!(sequenced.witness_bytes <= WITNESS_BUDGET);
    assert!(
        sequenced.witness_bytes > WITNESS_BUDGET - room - BIG_CODE as u64 - CODE_BYTES,
        "{}: the budget is what stopped it",
        sequenced.witness_bytes
    );

    // A verifier re-running just what the sequencer included gets the same block, leaving
    // nothing out; EXECUTE over its witness gets the same output; the witness is no larger than
    // what the block charged.
    let batch = inputs(included);
    let derived = run(&batch);
    assert!(derived.skipped.is_empty(), "{:?}", derived.skipped.first());
    assert_eq!(derived.executed.block.hash, sequenced.executed.block.hash);
    assert_eq!(derived.witness_bytes, sequenced.witness_bytes);
    let parent = preimage(&chain);
    chain
        .storage
        .commit(&derived.executed.into_commit())
        .unwrap();
    let (witness, len) = challenge_witness(&chain, 1, &batch);
    assert!(
        len <= derived.witness_bytes + UNCHARGED,
        "{len} > {}",
        derived.witness_bytes
    );
    let got = execute_stateless(&chain.chain, &parent, &batch, &witness).unwrap();
    assert_eq!(got.output, preimage(&chain));
}

#[test]
fn a_deposit_that_reads_past_the_budget_lands_without_its_call_and_the_next_waits() {
    use tandem_execution::budget::{CODE_BYTES, WITNESS_BUDGET};
    let over = WITNESS_BUDGET / (BIG_CODE as u64 + CODE_BYTES) + 5;
    let (chain, contracts) = chain_with_big_contracts(over);
    let fresh = |i: u64| Address::from_word(alloy_primitives::keccak256(i.to_be_bytes()));
    let eth = U256::from(10u64).pow(U256::from(18));
    let queued = |index: u64, from: Address, to: Address, gas: u64, data: Vec<u8>| {
        let deposit = deposit_transaction(index, from, to, eth, U256::ZERO, gas, data.into());
        QueuedTx {
            index,
            l1_block: 0,
            tx: StoredTx {
                sender: deposit.from,
                tx: TxEnvelope::Deposit(alloy_primitives::Sealed::new(deposit)),
            },
        }
    };
    let (heavy, light) = (fresh(10_000_001), fresh(10_000_002));
    // A deposit that reads past one transaction's share, then a light one.
    let queue = vec![
        queued(0, heavy, PROBE, 10_000_000, words(&contracts)),
        queued(1, light, light, 100_000, vec![]),
    ];
    let inputs = |queue: Vec<QueuedTx>| L2BlockInputs {
        timestamp: chain.head().timestamp + 1,
        l1_origin: L1Origin::default(),
        queue,
        transactions: Vec::new(),
    };
    // The heavy deposit lands: its mint stands, its call fails with all its gas used. The queue
    // takes at most half the block, keeping a whole transaction's share in reserve for each entry
    // it takes, so the light one waits for the next block.
    let first = inputs(queue.clone());
    let block = chain.execute_l2(&first).unwrap();
    let txs = &block.executed.block.block.transactions;
    assert_eq!(txs.len(), 1);
    assert_eq!(txs[0].sender, heavy);
    assert!(!block.executed.receipts[0].status());
    assert_eq!(block.executed.block.header().gas_used, 10_000_000);
    assert_eq!(L1Origin::queue_index_of(block.executed.block.header()), 1);
    let charged = block.witness_bytes;
    assert!(charged <= WITNESS_BUDGET);
    // EXECUTE over its witness agrees.
    let parent = preimage(&chain);
    chain.storage.commit(&block.executed.into_commit()).unwrap();
    let (witness, len) = challenge_witness(&chain, 1, &first);
    assert!(len <= charged + UNCHARGED, "{len} > {charged}");
    let got = execute_stateless(&chain.chain, &parent, &first, &witness).unwrap();
    assert_eq!(got.output, preimage(&chain));
    let reader = chain.storage.read().unwrap();
    let account = reader.account(heavy).unwrap().unwrap();
    assert_eq!((account.balance, account.nonce), (eth, 1));
    drop(reader);
    // The next block takes the light one.
    let block = chain.execute_l2(&inputs(queue[1..].to_vec())).unwrap();
    let txs = &block.executed.block.block.transactions;
    assert_eq!(txs.len(), 1);
    assert_eq!(txs[0].sender, light);
    assert!(block.executed.receipts[0].status());
}
