//! System contracts run as precompiles inside real blocks.
use crate::chain::TestChain;
use alloy_consensus::{Transaction, TxEip1559};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_sol_types::{SolCall, SolError, SolEvent};
use revm::context_interface::result::ExecutionResult;
use tandem_execution::{BlockAttributes, Executor, system::IBatchInbox};
use tandem_primitives::{
    batch::{AddressTable, Batch, BatchBlock, Compression},
    dev,
    system::BATCH_INBOX,
};
use tandem_state::LatestState;

fn call(
    from: usize,
    nonce: u64,
    input: Vec<u8>,
    value: u64,
    gas_limit: u64,
) -> (tandem_primitives::TxEnvelope, Address) {
    let account = &dev::accounts()[from];
    let tx = TxEip1559 {
        chain_id: 900,
        nonce,
        gas_limit,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(BATCH_INBOX),
        value: U256::from(value),
        input: input.into(),
        ..Default::default()
    };
    (account.sign(tx), account.address)
}

fn submit(sequence: u64, batch: &[u8]) -> Vec<u8> {
    IBatchInbox::submitBatchCall {
        sequence,
        batch: Bytes::copy_from_slice(batch),
    }
    .abi_encode()
}

/// Executes each transaction into one block and returns the outcomes without committing.
fn run(
    chain: &TestChain,
    txs: Vec<(tandem_primitives::TxEnvelope, Address)>,
) -> Vec<ExecutionResult> {
    let reader = chain.storage.read().unwrap();
    let parent = chain.head();
    let attrs = BlockAttributes {
        timestamp: parent.timestamp + 1,
        beneficiary: Address::ZERO,
        prev_randao: B256::ZERO,
    };
    let mut executor = Executor::new(&reader, LatestState(&reader), &chain.chain, &parent, &attrs);
    let results = txs
        .into_iter()
        .map(|(tx, from)| executor.execute(tx, from).unwrap().result)
        .collect();
    drop(executor.finish().unwrap());
    results
}

fn revert_data(result: &ExecutionResult) -> Bytes {
    match result {
        ExecutionResult::Revert { output, .. } => output.clone(),
        other => panic!("expected a revert, got {other:?}"),
    }
}

/// A real batch of L2 blocks `first..first + blocks` on L1 origin `origin`, each with one transfer
/// to address `recipients + i`; the addresses it introduces.
fn batch_of(
    first: u64,
    blocks: u64,
    origin: u64,
    table: &AddressTable,
    recipients: u8,
) -> (Vec<u8>, Vec<Address>) {
    let account = &dev::accounts()[0];
    let batch = Batch {
        blocks: (0..blocks)
            .map(|i| BatchBlock {
                number: first + i,
                timestamp: 10 + i,
                l1_origin: origin,
                transactions: vec![account.sign(TxEip1559 {
                    chain_id: 901,
                    nonce: first + i,
                    gas_limit: 21_000,
                    max_fee_per_gas: 1_000_000_000,
                    to: TxKind::Call(Address::with_last_byte(recipients + i as u8)),
                    value: U256::from(1),
                    ..Default::default()
                })],
            })
            .collect(),
    };
    batch.encode(901, Compression::Brotli, table).unwrap()
}

fn returned(result: &ExecutionResult) -> Bytes {
    match result {
        ExecutionResult::Success { output, .. } => output.data().clone(),
        other => panic!("{other:?}"),
    }
}

#[test]
fn batch_inbox_takes_batches_in_order_from_the_batcher_only() {
    let chain = TestChain::new(30_000_000);
    let batcher = dev::DEV_BATCHER;
    let mut table = AddressTable::default();
    let (batch, new) = batch_of(1, 3, 0, &table, 1);
    let block = chain.mine(&[call(batcher, 0, submit(0, &batch), 0, 500_000)]);
    let receipt = &block.receipts[0];
    assert!(receipt.status(), "the batcher's first batch is accepted");
    table.extend(&new);
    let log = IBatchInbox::BatchSubmitted::decode_log_data(&receipt.logs()[0].data).unwrap();
    assert_eq!(
        (log.sequence, log.commitment, log.size),
        (0, keccak256(&batch), U256::from(batch.len()))
    );
    let gas = block.block.header().gas_used;
    let calldata_floor = 21_000 + 16 * block.block.block.transactions[0].tx.input().len() as u64;
    assert!(
        gas > calldata_floor && gas < calldata_floor + 150_000,
        "metered: {gas} gas"
    );

    let reader = chain.storage.read().unwrap();
    let account = reader
        .account(BATCH_INBOX)
        .unwrap()
        .expect("EIP-161 never deletes the inbox");
    assert_eq!((account.nonce, account.code_hash), (1, keccak256([0xfe])));
    drop(reader);

    let (next, _) = batch_of(4, 2, 1, &table, 4);
    let (gap, _) = batch_of(5, 2, 1, &table, 4);
    let (repeat, _) = batch_of(3, 2, 1, &table, 4);
    let (future, _) = batch_of(4, 2, 3, &table, 4);
    let (stale_table, _) = batch_of(4, 2, 1, &AddressTable::default(), 1);
    let view = |nonce: u64, input: Vec<u8>| call(batcher, nonce, input, 0, 100_000);
    let results = run(
        &chain,
        vec![
            call(batcher, 1, submit(0, &next), 0, 500_000),
            call(batcher, 2, submit(5, &next), 0, 500_000),
            call(0, 0, submit(1, &next), 0, 500_000),
            call(batcher, 3, submit(1, &next), 1, 500_000),
            call(batcher, 4, vec![0xde, 0xad, 0xbe, 0xef], 0, 200_000),
            view(5, IBatchInbox::nextSequenceCall {}.abi_encode()),
            call(batcher, 6, submit(1, b"not a batch"), 0, 500_000),
            call(batcher, 7, submit(1, &gap), 0, 500_000),
            call(batcher, 8, submit(1, &repeat), 0, 500_000),
            call(batcher, 9, submit(1, &future), 0, 500_000),
            call(batcher, 10, submit(1, &stale_table), 0, 500_000),
            view(11, IBatchInbox::nextBlockCall {}.abi_encode()),
            call(batcher, 12, submit(1, &next), 0, 500_000),
            view(13, IBatchInbox::nextBlockCall {}.abi_encode()),
            view(14, IBatchInbox::batchRangeCall { sequence: 1 }.abi_encode()),
            view(15, IBatchInbox::tableSizeCall {}.abi_encode()),
            view(16, IBatchInbox::tableEntryCall { index: 1 }.abi_encode()),
        ],
    );
    assert_eq!(
        IBatchInbox::WrongSequence::abi_decode(&revert_data(&results[0]))
            .unwrap()
            .expected,
        1,
        "a duplicate is refused"
    );
    assert_eq!(
        IBatchInbox::WrongSequence::abi_decode(&revert_data(&results[1]))
            .unwrap()
            .got,
        5,
        "a gap is refused"
    );
    assert_eq!(
        IBatchInbox::NotBatcher::abi_decode(&revert_data(&results[2]))
            .unwrap()
            .caller,
        dev::accounts()[0].address
    );
    assert!(
        IBatchInbox::NotAllowed::abi_decode(&revert_data(&results[3])).is_ok(),
        "value is refused, and returned"
    );
    assert_eq!(
        IBatchInbox::BadCall::abi_decode(&revert_data(&results[4]))
            .unwrap()
            .selector
            .0,
        [0xde, 0xad, 0xbe, 0xef]
    );
    assert_eq!(
        IBatchInbox::nextSequenceCall::abi_decode_returns(&returned(&results[5])).unwrap(),
        1
    );
    // What derivation could not use all of is refused whole.
    assert!(IBatchInbox::BadBatch::abi_decode(&revert_data(&results[6])).is_ok());
    let wrong_first = |i: usize| {
        let e = IBatchInbox::WrongFirstBlock::abi_decode(&revert_data(&results[i])).unwrap();
        (e.expected, e.got)
    };
    assert_eq!(wrong_first(7), (4, 5), "an L2 gap is refused");
    assert_eq!(wrong_first(8), (4, 3), "a repeated block is refused");
    let future = IBatchInbox::FutureOrigin::abi_decode(&revert_data(&results[9])).unwrap();
    assert_eq!(
        (future.l2Block, future.l1Origin),
        (4, 3),
        "no origin is later than the batch's L1 block (2)"
    );
    let stale = IBatchInbox::BadBatch::abi_decode(&revert_data(&results[10])).unwrap();
    assert!(stale.reason.contains("already known"), "{}", stale.reason);
    assert_eq!(
        IBatchInbox::nextBlockCall::abi_decode_returns(&returned(&results[11])).unwrap(),
        4
    );
    assert!(
        results[12].is_success(),
        "the next sequence number with the next blocks is accepted"
    );
    assert_eq!(
        IBatchInbox::nextBlockCall::abi_decode_returns(&returned(&results[13])).unwrap(),
        6
    );
    let range = IBatchInbox::batchRangeCall::abi_decode_returns(&returned(&results[14])).unwrap();
    assert_eq!((range.firstBlock, range.lastBlock), (4, 5));
    assert_eq!(
        IBatchInbox::tableSizeCall::abi_decode_returns(&returned(&results[15])).unwrap(),
        5,
        "three addresses from the first batch, two from the second"
    );
    assert_eq!(
        IBatchInbox::tableEntryCall::abi_decode_returns(&returned(&results[16])).unwrap(),
        table.get(1).unwrap()
    );
}

#[test]
fn a_batch_without_gas_for_its_storage_runs_out_and_changes_nothing() {
    let chain = TestChain::new(30_000_000);
    let (batch, _) = batch_of(1, 1, 0, &AddressTable::default(), 1);
    let starved = call(
        dev::DEV_BATCHER,
        0,
        submit(0, &batch),
        0,
        21_000 + 16 * (batch.len() as u64 + 100) + 5_000,
    );
    let block = chain.mine(&[starved]);
    assert!(!block.receipts[0].status());
    let results = run(
        &chain,
        vec![call(
            dev::DEV_BATCHER,
            1,
            IBatchInbox::nextSequenceCall {}.abi_encode(),
            0,
            100_000,
        )],
    );
    match &results[0] {
        ExecutionResult::Success { output, .. } => assert_eq!(
            IBatchInbox::nextSequenceCall::abi_decode_returns(output.data()).unwrap(),
            0
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn batch_inbox_refuses_a_batch_with_a_block_no_l2_block_could_be() {
    let chain = TestChain::new(60_000_000);
    let batcher = dev::DEV_BATCHER;
    let account = &dev::accounts()[0];
    let tx = |nonce: u64, data: usize| {
        account.sign(TxEip1559 {
            chain_id: 901,
            nonce,
            gas_limit: 21_000 + 40 * data as u64,
            max_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(Address::with_last_byte(1)),
            input: vec![0; data].into(),
            ..Default::default()
        })
    };
    let encoded = |transactions: Vec<_>| {
        let batch = Batch {
            blocks: vec![BatchBlock {
                number: 1,
                timestamp: 10,
                l1_origin: 0,
                transactions,
            }],
        };
        batch
            .encode(901, Compression::Brotli, &AddressTable::default())
            .unwrap()
            .0
    };
    // More transactions than the L2's 30M gas could run (1,428 of 21,000), and more transaction
    // bytes than a block holds: both compress to a few kilobytes.
    let crowded = encoded((0..1_500).map(|n| tx(n, 0)).collect());
    let bulky = encoded((0..3).map(|n| tx(n, 50_000)).collect());
    let full = encoded((0..2).map(|n| tx(n, 50_000)).collect());
    assert!(crowded.len() < 100_000 && bulky.len() < 100_000);
    let results = run(
        &chain,
        vec![
            call(batcher, 0, submit(0, &crowded), 0, 10_000_000),
            call(batcher, 1, submit(0, &bulky), 0, 10_000_000),
            call(batcher, 2, submit(0, &full), 0, 10_000_000),
        ],
    );
    let reason = |i: usize| {
        IBatchInbox::BadBatch::abi_decode(&revert_data(&results[i]))
            .unwrap()
            .reason
    };
    assert!(reason(0).contains("1500 transactions"), "{}", reason(0));
    assert!(reason(1).contains("transaction bytes"), "{}", reason(1));
    assert!(results[2].is_success(), "{:?}", results[2]);
}
