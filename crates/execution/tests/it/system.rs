//! System contracts run as precompiles inside real blocks.
use crate::chain::TestChain;
use alloy_consensus::{Transaction, TxEip1559};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_sol_types::{SolCall, SolError, SolEvent};
use revm::context_interface::result::ExecutionResult;
use tandem_execution::{BlockAttributes, Executor, system::IBatchInbox};
use tandem_primitives::{dev, system::BATCH_INBOX};
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

#[test]
fn batch_inbox_takes_batches_in_order_from_the_batcher_only() {
    let chain = TestChain::new(30_000_000);
    let batcher = dev::DEV_BATCHER;
    let batch = b"a compressed batch".repeat(20);
    let block = chain.mine(&[call(batcher, 0, submit(0, &batch), 0, 200_000)]);
    let receipt = &block.receipts[0];
    assert!(receipt.status(), "the batcher's first batch is accepted");
    let log = IBatchInbox::BatchSubmitted::decode_log_data(&receipt.logs()[0].data).unwrap();
    assert_eq!(
        (log.sequence, log.commitment, log.size),
        (0, keccak256(&batch), U256::from(batch.len()))
    );
    let gas = block.block.header().gas_used;
    let calldata_floor = 21_000 + 16 * block.block.block.transactions[0].tx.input().len() as u64;
    assert!(
        gas > calldata_floor && gas < calldata_floor + 60_000,
        "metered like Solidity: {gas} gas"
    );

    let reader = chain.storage.read().unwrap();
    let account = reader
        .account(BATCH_INBOX)
        .unwrap()
        .expect("EIP-161 never deletes the inbox");
    assert_eq!((account.nonce, account.code_hash), (1, keccak256([0xfe])));
    drop(reader);

    let results = run(
        &chain,
        vec![
            call(batcher, 1, submit(0, b"again"), 0, 200_000),
            call(batcher, 2, submit(5, b"gap"), 0, 200_000),
            call(0, 0, submit(1, b"not the batcher"), 0, 200_000),
            call(batcher, 3, submit(1, b"paid"), 1, 200_000),
            call(batcher, 4, vec![0xde, 0xad, 0xbe, 0xef], 0, 200_000),
            call(
                batcher,
                5,
                IBatchInbox::nextSequenceCall {}.abi_encode(),
                0,
                100_000,
            ),
            call(batcher, 6, submit(1, b"next"), 0, 200_000),
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
    match &results[5] {
        ExecutionResult::Success { output, .. } => assert_eq!(
            IBatchInbox::nextSequenceCall::abi_decode_returns(output.data()).unwrap(),
            1
        ),
        other => panic!("{other:?}"),
    }
    assert!(
        results[6].is_success(),
        "the next sequence number is accepted"
    );
}

#[test]
fn a_batch_without_gas_for_its_storage_runs_out_and_changes_nothing() {
    let chain = TestChain::new(30_000_000);
    let batch = vec![7u8; 100];
    let starved = call(
        dev::DEV_BATCHER,
        0,
        submit(0, &batch),
        0,
        21_000 + 16 * 200 + 5_000,
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
