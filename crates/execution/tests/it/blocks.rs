use crate::chain::{TestChain, transfer};
use alloy_consensus::proofs;
use alloy_primitives::{Address, U256, keccak256};
use tandem_primitives::dev;

#[test]
fn block_hash_is_keccak_of_rlp_header_and_roots_match_contents() {
    let chain = TestChain::new(30_000_000);
    let to = Address::repeat_byte(0x77);
    let txs: Vec<_> = (0..5)
        .map(|i| transfer(1, i, to, 1_000 + i, 10_000_000_000))
        .collect();
    let block = chain.mine(&txs);
    let header = block.block.header();
    assert_eq!(block.block.hash, keccak256(alloy_rlp::encode(header)));
    assert_eq!(
        header.parent_hash,
        chain
            .storage
            .read()
            .unwrap()
            .header(0)
            .unwrap()
            .unwrap()
            .hash_slow()
    );
    let envelopes: Vec<_> = block
        .block
        .block
        .transactions
        .iter()
        .map(|t| t.tx.clone())
        .collect();
    assert_eq!(
        header.transactions_root,
        proofs::calculate_transaction_root(&envelopes)
    );
    assert_eq!(
        header.receipts_root,
        proofs::calculate_receipt_root(&block.receipts)
    );
    let cumulative: Vec<u64> = block
        .receipts
        .iter()
        .map(|r| r.cumulative_gas_used())
        .collect();
    assert_eq!(cumulative, vec![21_000, 42_000, 63_000, 84_000, 105_000]);
    assert_eq!(header.gas_used, 105_000);
    assert_eq!(header.difficulty, U256::ZERO);
    assert_eq!(header.ommers_hash, alloy_consensus::EMPTY_OMMER_ROOT_HASH);

    let reader = chain.storage.read().unwrap();
    assert_eq!(
        reader.account(to).unwrap().unwrap().balance,
        U256::from(5 * 1_000 + 10)
    );
    assert_eq!(chain.nonce(dev::accounts()[1].address), 5);
    let tip_recipient = reader
        .account(Address::with_last_byte(0xfe))
        .unwrap()
        .unwrap();
    assert_eq!(
        tip_recipient.balance,
        U256::from(105_000u64),
        "one wei of tip per gas"
    );
}

#[test]
fn executing_the_same_block_twice_gives_the_same_header() {
    let chain = TestChain::new(30_000_000);
    let txs: Vec<_> = (0..20)
        .map(|i| {
            transfer(
                (i % 3) as usize,
                i / 3,
                Address::with_last_byte(9),
                1,
                10_000_000_000,
            )
        })
        .collect();
    let a = chain.execute(&txs);
    let b = chain.execute(&txs);
    assert_eq!(a.block.hash, b.block.hash);
    assert_eq!(a.block.header().state_root, b.block.header().state_root);
}

#[test]
fn committing_a_block_twice_is_a_no_op_and_a_gap_is_refused() {
    let chain = TestChain::new(30_000_000);
    let block = chain.mine(&[transfer(
        2,
        0,
        Address::with_last_byte(3),
        5,
        10_000_000_000,
    )]);
    chain.storage.commit(&block.clone().into_commit()).unwrap();
    assert_eq!(chain.storage.read().unwrap().last_height(), Some(1));
    let mut gap = block.into_commit();
    gap.block.block.header.number = 5;
    gap.block = tandem_primitives::SealedBlock::seal(gap.block.block);
    assert!(chain.storage.commit(&gap).is_err());
    assert_eq!(chain.storage.read().unwrap().last_height(), Some(1));
}

#[test]
fn value_sent_to_a_precompile_is_credited_only_when_the_call_has_gas_for_it() {
    use alloy_consensus::TxEip1559;
    let chain = TestChain::new(30_000_000);
    let ec_mul = Address::with_last_byte(7);
    let sender = &dev::accounts()[3];
    let send = |nonce: u64, gas_limit: u64| {
        let tx = TxEip1559 {
            chain_id: 900,
            nonce,
            gas_limit,
            max_fee_per_gas: 10_000_000_000,
            to: alloy_primitives::TxKind::Call(ec_mul),
            value: U256::from(1_000),
            ..Default::default()
        };
        (sender.sign(tx), sender.address)
    };
    // 21,000 gas leaves nothing for ecMul's 6,000: the call fails and the value stays with the sender.
    let starved = chain.mine(&[send(0, 21_000)]);
    assert!(!starved.receipts[0].status());
    assert_eq!(chain.storage.read().unwrap().account(ec_mul).unwrap(), None);
    let funded = chain.mine(&[send(1, 50_000)]);
    assert!(funded.receipts[0].status());
    let balance = chain
        .storage
        .read()
        .unwrap()
        .account(ec_mul)
        .unwrap()
        .map(|a| a.balance);
    assert_eq!(balance, Some(U256::from(1_000)));
}

#[test]
fn blocks_built_on_an_uncommitted_parent_equal_those_built_after_committing_it() {
    use tandem_execution::{BlockAttributes, Executor};
    use tandem_state::Pending;
    let sequential = TestChain::new(30_000_000);
    let pipelined = TestChain::new(30_000_000);
    let batch = |start: u64| -> Vec<_> {
        (0..6)
            .map(|i| {
                transfer(
                    (i % 3) as usize,
                    start + i / 3,
                    Address::with_last_byte(40 + i as u8),
                    10 + i,
                    10_000_000_000,
                )
            })
            .collect()
    };
    let first = sequential.mine(&batch(0));
    let second = sequential.mine(&batch(2));

    // Pipelined: block 2 executes on block 1 before block 1 commits.
    let reader = pipelined.storage.read().unwrap();
    let genesis = pipelined.head();
    let attrs = |parent: &tandem_primitives::Header| BlockAttributes {
        timestamp: parent.timestamp + 1,
        beneficiary: Address::with_last_byte(0xfe),
        prev_randao: Default::default(),
    };
    let one = {
        let mut executor = Executor::new(
            &reader,
            tandem_state::LatestState(&reader),
            &pipelined.chain,
            &genesis,
            &attrs(&genesis),
        );
        for (tx, sender) in batch(0) {
            executor.execute(tx, sender).unwrap();
        }
        executor.finish().unwrap()
    };
    let mut pending = Pending::default();
    pending.push(1, one.block.hash, &one.diff);
    let two = {
        let parent = one.block.header().clone();
        let mut executor = Executor::on_pending(
            &reader,
            Some(&pending),
            pending.state(&reader),
            &pipelined.chain,
            &parent,
            &attrs(&parent),
        );
        for (tx, sender) in batch(2) {
            executor.execute(tx, sender).unwrap();
        }
        executor.finish().unwrap()
    };
    drop(reader);
    assert_eq!(one.block.hash, first.block.hash);
    assert_eq!(
        two.block.hash, second.block.hash,
        "same header, state root included"
    );
    pipelined.storage.commit(&one.into_commit()).unwrap();
    pipelined.storage.commit(&two.into_commit()).unwrap();
    let (a, b) = (
        sequential.storage.read().unwrap(),
        pipelined.storage.read().unwrap(),
    );
    for i in 0..6u8 {
        assert_eq!(
            a.account(Address::with_last_byte(40 + i)).unwrap(),
            b.account(Address::with_last_byte(40 + i)).unwrap()
        );
    }
}
