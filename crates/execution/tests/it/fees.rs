use crate::chain::{TestChain, transfer};
use alloy_primitives::Address;

#[test]
fn base_fee_rises_while_blocks_are_over_target_and_falls_when_empty() {
    // Gas limit 210,000: the target is 105,000 gas, five transfers; blocks of eight are over it.
    let chain = TestChain::new(210_000);
    let mut fees = vec![chain.head().base_fee_per_gas.unwrap()];
    let mut nonce = 0;
    for _ in 0..5 {
        let txs: Vec<_> = (0..8)
            .map(|i| transfer(0, nonce + i, Address::with_last_byte(1), 1, 100_000_000_000))
            .collect();
        nonce += 8;
        let block = chain.mine(&txs);
        assert_eq!(block.block.header().gas_used, 8 * 21_000);
        fees.push(block.block.header().base_fee_per_gas.unwrap());
    }
    // The fee of block n reflects how full block n-1 was: genesis was empty, so block 1 is cheaper.
    for pair in fees[1..].windows(2) {
        assert!(
            pair[1] > pair[0],
            "base fee must rise under congestion: {fees:?}"
        );
    }
    let congested = *fees.last().unwrap();
    let mut empty = vec![];
    for _ in 0..6 {
        empty.push(chain.mine(&[]).block.header().base_fee_per_gas.unwrap());
    }
    assert!(
        empty[0] > congested,
        "the block after a full one still costs more: {empty:?}"
    );
    for pair in empty[1..].windows(2) {
        assert!(
            pair[1] < pair[0],
            "base fee must fall on empty blocks: {empty:?}"
        );
    }
}

#[test]
fn transaction_that_cannot_pay_the_base_fee_is_refused_and_changes_nothing() {
    let chain = TestChain::new(30_000_000);
    let reader = chain.storage.read().unwrap();
    let parent = chain.head();
    let mut executor = chain.open(&reader);
    let (tx, sender) = transfer(0, 0, Address::with_last_byte(1), 1, 1);
    let err = executor.execute(tx, sender).unwrap_err();
    assert!(
        matches!(err, tandem_execution::Error::InvalidTx { .. }),
        "{err}"
    );
    assert_eq!(executor.header().gas_used, 0);
    let block = executor.finish().unwrap();
    assert_eq!(
        block.block.header().state_root,
        parent.state_root,
        "a refused transaction leaves the state alone"
    );
}

#[test]
fn the_dev_l1_fills_ordinary_blocks_to_half_its_limit_and_challenges_to_all_of_it() {
    use alloy_consensus::TxEip1559;
    use alloy_primitives::{TxKind, U256};
    use tandem_execution::revm::primitives::eip7825::TX_GAS_LIMIT_CAP;
    use tandem_primitives::{ChainConfig, dev, system::DISPUTE_GAME};
    let chain = TestChain::from_genesis(tandem_execution::dev_genesis(900));
    assert_eq!(chain.chain.gas_limit, ChainConfig::L1_GAS_LIMIT);
    assert_eq!(chain.chain.soft_gas_limit(), ChainConfig::L1_GAS_LIMIT / 2);
    let call = |nonce: u64, to, gas: u64, data: Vec<u8>| {
        let account = &dev::accounts()[0];
        let tx = account.sign(TxEip1559 {
            chain_id: 900,
            nonce,
            gas_limit: gas,
            max_fee_per_gas: 100_000_000_000,
            to: TxKind::Call(to),
            value: U256::ZERO,
            input: data.into(),
            ..Default::default()
        });
        (tx, account.address)
    };
    let reader = chain.storage.read().unwrap();
    let other = Address::with_last_byte(1);
    // No ordinary transaction may ask for more than EIP-7825's cap, even in an empty block.
    let (tx, sender) = call(0, other, TX_GAS_LIMIT_CAP + 1, vec![]);
    assert!(matches!(
        chain.open(&reader).execute(tx, sender),
        Err(tandem_execution::Error::InvalidTx { .. })
    ));
    let mut executor = chain.open(&reader);
    // Ordinary transactions fill the block to half its limit: two of 8M gas of calldata, then
    // one asking 15M does not fit (it would under the limit itself).
    for nonce in 0..2 {
        let (tx, sender) = call(nonce, other, 8_100_000, vec![0xff; 200_000]);
        executor.execute(tx, sender).unwrap();
    }
    let (tx, sender) = call(2, other, 15_000_000, vec![]);
    assert!(matches!(
        executor.execute(tx, sender),
        Err(tandem_execution::Error::BlockFull { .. })
    ));
    // A call to the DisputeGame has the room above the soft limit, whatever its size: one
    // within the cap, then one past it up to the limit.
    let (tx, sender) = call(2, DISPUTE_GAME, 15_000_000, vec![]);
    executor.execute(tx, sender).unwrap();
    let room = ChainConfig::L1_GAS_LIMIT - executor.header().gas_used;
    assert!(room > TX_GAS_LIMIT_CAP);
    let (tx, sender) = call(3, DISPUTE_GAME, room + 1, vec![]);
    assert!(matches!(
        executor.execute(tx, sender),
        Err(tandem_execution::Error::BlockFull { .. })
    ));
    let (tx, sender) = call(3, DISPUTE_GAME, room, vec![]);
    // Included, asking for more than the half the ordinary ones had left.
    executor.execute(tx, sender).unwrap();
    assert_eq!(executor.executed().0.len(), 4);
}
