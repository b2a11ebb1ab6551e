//! The L2 state transition: L1 origin in the L1Block predeploy, determinism, invalid inputs.
use crate::chain::{TestChain, transfer};
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, TxKind, U256};
use alloy_sol_types::SolCall;
use revm::context_interface::result::ExecutionResult;
use tandem_execution::{
    l2::{L1Origin, L2BlockInputs, L2Error},
    system::IL1Block,
};
use tandem_primitives::{Layer, StoredTx, dev, genesis, system::L1_BLOCK};
use tandem_state::LatestState;

fn l2_transfer(from: usize, nonce: u64, to: Address) -> StoredTx {
    let account = &dev::accounts()[from];
    let tx = TxEip1559 {
        chain_id: 901,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1,
        to: TxKind::Call(to),
        value: U256::from(5),
        ..Default::default()
    };
    StoredTx {
        sender: account.address,
        tx: account.sign(tx),
    }
}

fn read_l1_block(from: usize, nonce: u64) -> StoredTx {
    let account = &dev::accounts()[from];
    let tx = TxEip1559 {
        chain_id: 901,
        nonce,
        gas_limit: 50_000,
        max_fee_per_gas: 10_000_000_000,
        to: TxKind::Call(L1_BLOCK),
        input: IL1Block::numberCall {}.abi_encode().into(),
        ..Default::default()
    };
    StoredTx {
        sender: account.address,
        tx: account.sign(tx),
    }
}

fn origin(number: u64) -> L1Origin {
    L1Origin {
        number,
        hash: B256::repeat_byte(number as u8),
        timestamp: number / 10,
        base_fee: 7 * number,
    }
}

#[test]
fn an_l2_block_records_its_l1_origin_and_contracts_read_it() {
    let chain = TestChain::from_genesis(genesis::dev_l2_genesis());
    assert_eq!(chain.chain.layer, Layer::L2);
    let inputs = L2BlockInputs {
        timestamp: 10,
        l1_origin: origin(42),
        queue: Vec::new(),
        transactions: vec![
            l2_transfer(0, 0, Address::with_last_byte(1)),
            read_l1_block(1, 0),
        ],
    };
    let block = chain.execute_l2(&inputs).unwrap();
    assert!(block.skipped.is_empty());
    assert_eq!(
        block.executed.block.header().mix_hash,
        origin(42).hash,
        "randomness comes from the L1 origin"
    );
    chain.storage.commit(&block.executed.into_commit()).unwrap();
    let reader = chain.storage.read().unwrap();
    assert_eq!(
        reader.storage(L1_BLOCK, B256::ZERO).unwrap(),
        U256::from(42)
    );
    assert_eq!(
        reader.storage(L1_BLOCK, B256::from(U256::from(3))).unwrap(),
        U256::from_be_bytes(origin(42).hash.0)
    );
    assert!(
        reader.account(L1_BLOCK).unwrap().is_some(),
        "the predeploy survives EIP-161"
    );
    drop(reader);
    // The next block reads the new origin through the predeploy's ABI, in a transaction.
    let next = L2BlockInputs {
        timestamp: 11,
        l1_origin: origin(43),
        queue: Vec::new(),
        transactions: vec![read_l1_block(1, 1)],
    };
    let reader = chain.storage.read().unwrap();
    let parent = chain.head();
    let attrs = tandem_execution::BlockAttributes {
        timestamp: 11,
        beneficiary: Address::ZERO,
        prev_randao: B256::ZERO,
    };
    let mut executor = tandem_execution::Executor::new(
        &reader,
        LatestState(&reader),
        &chain.chain,
        &parent,
        &attrs,
    );
    executor.set_l1_origin(&next.l1_origin).unwrap();
    let outcome = executor
        .execute(next.transactions[0].tx.clone(), next.transactions[0].sender)
        .unwrap();
    match outcome.result {
        ExecutionResult::Success { output, .. } => assert_eq!(
            IL1Block::numberCall::abi_decode_returns(output.data()).unwrap(),
            43
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_same_parent_and_inputs_always_give_the_same_block() {
    let chain = TestChain::from_genesis(genesis::dev_l2_genesis());
    let inputs = L2BlockInputs {
        timestamp: 5,
        l1_origin: origin(3),
        queue: Vec::new(),
        transactions: (0..6)
            .map(|i| l2_transfer(i % 3, i as u64 / 3, Address::with_last_byte(9)))
            .collect(),
    };
    let a = chain.execute_l2(&inputs).unwrap();
    let b = chain.execute_l2(&inputs).unwrap();
    assert_eq!(a.executed.block.hash, b.executed.block.hash);
}

#[test]
fn invalid_transactions_are_left_out_and_invalid_inputs_refused() {
    let chain = TestChain::from_genesis(genesis::dev_l2_genesis());
    let (l1_tx, l1_sender) = transfer(0, 0, Address::ZERO, 1, 10_000_000_000); // chain 900: not this chain
    let inputs = L2BlockInputs {
        timestamp: 5,
        l1_origin: origin(3),
        queue: Vec::new(),
        transactions: vec![
            StoredTx {
                sender: l1_sender,
                tx: l1_tx,
            },
            l2_transfer(0, 5, Address::ZERO),
            l2_transfer(1, 0, Address::ZERO),
        ],
    };
    let block = chain.execute_l2(&inputs).unwrap();
    assert_eq!(
        block.skipped.len(),
        2,
        "a foreign-chain and a wrong-nonce transaction are skipped: {:?}",
        block.skipped
    );
    assert_eq!(block.executed.block.block.transactions.len(), 1);
    chain.storage.commit(&block.executed.into_commit()).unwrap();
    let backwards_time = L2BlockInputs {
        timestamp: 4,
        l1_origin: origin(3),
        queue: Vec::new(),
        transactions: vec![],
    };
    assert!(matches!(
        chain.execute_l2(&backwards_time),
        Err(L2Error::TimestampBackwards { .. })
    ));
    let backwards_origin = L2BlockInputs {
        timestamp: 6,
        l1_origin: origin(2),
        queue: Vec::new(),
        transactions: vec![],
    };
    assert!(matches!(
        chain.execute_l2(&backwards_origin),
        Err(L2Error::OriginBackwards { parent: 3, got: 2 })
    ));
    let mut future_origin = origin(4);
    future_origin.timestamp = 7;
    let before_origin = L2BlockInputs {
        timestamp: 6,
        l1_origin: future_origin,
        queue: Vec::new(),
        transactions: vec![],
    };
    assert!(matches!(
        chain.execute_l2(&before_origin),
        Err(L2Error::BeforeOrigin { origin: 7, got: 6 })
    ));
    let l1 = TestChain::new(30_000_000);
    assert!(matches!(
        l1.execute_l2(&backwards_time),
        Err(L2Error::NotL2)
    ));
}

fn balance(chain: &TestChain, address: Address) -> U256 {
    let reader = chain.storage.read().unwrap();
    reader
        .account(address)
        .unwrap()
        .map(|a| a.balance)
        .unwrap_or_default()
}

/// What a mined transaction cost its sender, as receipts report it: gas x price (+ the data fee).
fn execution_fee(block: &tandem_execution::ExecutedBlock) -> U256 {
    let header = block.block.header();
    let tx = &block.block.block.transactions[0].tx;
    let price = alloy_consensus::Transaction::effective_gas_price(tx, header.base_fee_per_gas);
    U256::from(block.receipts[0].cumulative_gas_used()) * U256::from(price)
}

#[test]
fn the_data_fee_is_charged_exactly_refunded_for_skipped_transactions_and_in_the_header() {
    let chain = TestChain::from_genesis(genesis::dev_l2_genesis());
    let sender = dev::accounts()[0].address;
    let to = Address::with_last_byte(0x77);
    let before = balance(&chain, sender);
    let origin = L1Origin {
        number: 8,
        hash: B256::repeat_byte(8),
        timestamp: 1,
        base_fee: 3_000_000_000,
    };
    let good = l2_transfer(0, 0, to);
    let inputs = L2BlockInputs {
        timestamp: 5,
        l1_origin: origin,
        queue: Vec::new(),
        // The second is a nonce gap: it is skipped and must leave no charge behind.
        transactions: vec![good.clone(), l2_transfer(0, 7, to)],
    };
    let block = chain.execute_l2(&inputs).unwrap();
    assert_eq!(block.skipped.len(), 1);
    let fee = tandem_execution::l2::l1_fee(&good.tx, origin.base_fee);
    assert_eq!(
        fee.gas_used,
        16 * tandem_execution::l2::L1_TX_OVERHEAD_BYTES
    );
    assert_eq!(
        fee.fee,
        U256::from(fee.gas_used) * U256::from(3_000_000_000u64)
    );
    assert_eq!(
        L1Origin::of_header(block.executed.block.header()),
        Some(origin),
        "the header records the origin"
    );
    let paid = execution_fee(&block.executed) + fee.fee;
    chain.storage.commit(&block.executed.into_commit()).unwrap();
    assert_eq!(balance(&chain, sender), before - U256::from(5) - paid);
    assert_eq!(balance(&chain, to), U256::from(5));
    assert_eq!(
        balance(&chain, tandem_primitives::system::L1_FEE_VAULT),
        fee.fee
    );
}

#[test]
fn a_transfer_costs_at_most_a_sixteenth_on_l2_of_what_it_costs_on_l1() {
    // The same transfer (no tip) on L1 and on L2, with L2's origin at L1's base fee.
    let l1 = TestChain::new(30_000_000);
    let l1_base_fee = l1.head().base_fee_per_gas.unwrap();
    let (tx, sender) = transfer(0, 0, Address::with_last_byte(1), 5, 10_000_000_000);
    let l1_block = l1.execute(&[(tx, sender)]);
    let l1_fee_paid = execution_fee(&l1_block);

    let l2 = TestChain::from_genesis(genesis::dev_l2_genesis());
    let mut origin = origin(1);
    origin.base_fee = l1_base_fee;
    let transfer = l2_transfer(0, 0, Address::with_last_byte(1));
    let block = l2
        .execute_l2(&L2BlockInputs {
            timestamp: 1,
            l1_origin: origin,
            queue: Vec::new(),
            transactions: vec![transfer.clone()],
        })
        .unwrap();
    let l2_fee_paid = execution_fee(&block.executed)
        + tandem_execution::l2::l1_fee(&transfer.tx, l1_base_fee).fee;
    assert!(
        l2_fee_paid * U256::from(16) <= l1_fee_paid,
        "L2 {l2_fee_paid} wei vs L1 {l1_fee_paid} wei"
    );
}

#[test]
fn a_block_holds_no_more_transaction_bytes_than_fit_a_batch_by_themselves() {
    use tandem_execution::l2::MAX_BLOCK_DATA_BYTES;
    let chain = TestChain::from_genesis(genesis::dev_l2_genesis());
    let with_data = |from: usize, bytes: usize| {
        let account = &dev::accounts()[from];
        let tx = TxEip1559 {
            chain_id: 901,
            nonce: 0,
            gas_limit: 21_000 + 40 * bytes as u64,
            max_fee_per_gas: 10_000_000_000,
            to: TxKind::Call(Address::with_last_byte(1)),
            input: vec![1; bytes].into(),
            ..Default::default()
        };
        StoredTx {
            sender: account.address,
            tx: account.sign(tx),
        }
    };
    // Two of half the limit cannot both go in; a small one still fits after the first.
    let half = MAX_BLOCK_DATA_BYTES as usize / 2;
    let inputs = L2BlockInputs {
        timestamp: 1,
        l1_origin: origin(0),
        queue: Vec::new(),
        transactions: vec![
            with_data(0, half),
            with_data(1, half),
            l2_transfer(2, 0, Address::ZERO),
        ],
    };
    let block = chain.execute_l2(&inputs).unwrap();
    let included: Vec<Address> = block
        .executed
        .block
        .block
        .transactions
        .iter()
        .map(|t| t.sender)
        .collect();
    assert_eq!(
        included,
        [dev::accounts()[0].address, dev::accounts()[2].address]
    );
    assert_eq!(block.skipped.len(), 1);
    assert!(
        block.skipped[0].1.contains("room for"),
        "{}",
        block.skipped[0].1
    );
}

#[test]
fn a_transaction_no_batch_can_carry_is_left_out_so_every_block_can_be_batched() {
    use alloy_eips::eip7702::Authorization;
    let chain = TestChain::from_genesis(genesis::dev_l2_genesis());
    let account = &dev::accounts()[1];
    let auth = Authorization {
        chain_id: U256::from(901),
        address: Address::with_last_byte(0x77),
        nonce: 1,
    };
    let signature = account.sign_hash(auth.signature_hash());
    let tx = account.sign(alloy_consensus::TxEip7702 {
        chain_id: 901,
        nonce: 0,
        gas_limit: 100_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1,
        to: Address::with_last_byte(0x42),
        value: U256::ZERO,
        access_list: Default::default(),
        authorization_list: vec![auth.into_signed(signature)],
        input: Default::default(),
    });
    let inputs = L2BlockInputs {
        timestamp: 1,
        l1_origin: origin(0),
        queue: Vec::new(),
        transactions: vec![StoredTx {
            sender: account.address,
            tx,
        }],
    };
    for block in [
        chain.sequence_l2(&inputs),
        chain.execute_l2(&inputs).unwrap(),
    ] {
        assert!(block.executed.block.block.transactions.is_empty());
        assert!(
            block.skipped[0].1.contains("batched"),
            "{:?}",
            block.skipped
        );
    }
}
