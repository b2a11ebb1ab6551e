//! Block building under load: a challenge gets into the next block however full the pool is of
//! ordinary transactions that pay more.
use alloy_consensus::{Transaction, TxEip1559};
use alloy_primitives::{Address, TxKind, U256};
use commonware_cryptography::{Signer, ed25519};
use std::sync::Arc;
use tandem_consensus::{Block, Chain};
use tandem_execution::genesis_block;
use tandem_mempool::{AccountState, Mempool, Pool};
use tandem_primitives::{ChainConfig, Layer, dev, genesis, system::DISPUTE_GAME};
use tandem_storage::Storage;

/// A dev L1 with its genesis committed, in a temporary directory.
fn dev_l1() -> (
    tempfile::TempDir,
    tandem_primitives::Genesis,
    ChainConfig,
    Arc<Storage>,
    tandem_primitives::SealedBlock,
) {
    let dir = tempfile::tempdir().unwrap();
    let genesis_config = tandem_execution::dev_genesis(ChainConfig::L1_DEV_CHAIN_ID);
    let config = genesis::chain_config(&genesis_config);
    let storage = Arc::new(Storage::open(&dir.path().join("l1.redb")).unwrap());
    let eth_genesis = genesis_block(&storage.read().unwrap(), &genesis_config).unwrap();
    storage.commit(&eth_genesis.clone().into_commit()).unwrap();
    (dir, genesis_config, config, storage, eth_genesis.block)
}

/// An empty pool for `config`'s chain.
fn mempool(config: &ChainConfig) -> Mempool {
    Mempool::new(
        Default::default(),
        ChainConfig::L1_DEV_CHAIN_ID,
        config.gas_limit,
        config.fees.min_base_fee_wei,
    )
}

fn signed(
    from: usize,
    nonce: u64,
    to: Address,
    gas: u64,
    tip: u128,
    input: Vec<u8>,
) -> (tandem_primitives::TxEnvelope, Address) {
    let account = &dev::accounts()[from];
    let tx = account.sign(TxEip1559 {
        chain_id: ChainConfig::L1_DEV_CHAIN_ID,
        nonce,
        gas_limit: gas,
        max_fee_per_gas: 1_000_000_000_000,
        max_priority_fee_per_gas: tip,
        to: TxKind::Call(to),
        value: U256::ZERO,
        input: input.into(),
        ..Default::default()
    });
    (tx, account.address)
}

#[test]
fn a_challenge_lands_in_the_next_block_while_higher_paying_transactions_fill_the_pool() {
    let (_dir, genesis_config, config, storage, eth_genesis) = dev_l1();
    let mut pool = mempool(&config);
    let balance = U256::from(10u64).pow(U256::from(22));
    let mut add = |(tx, sender): (tandem_primitives::TxEnvelope, Address), nonce| {
        pool.add(tx, sender, AccountState { nonce, balance })
            .unwrap();
    };
    // Ordinary load: 8 senders, each with transactions of 100 KB of calldata (4M gas each, by
    // EIP-7623's floor) at a tip of 100 gwei: far more than one block's 30M soft limit.
    let mut ordinary_gas = 0u64;
    for from in 0..8 {
        for nonce in 0..4 {
            let tx = signed(
                from,
                nonce,
                Address::with_last_byte(1),
                4_100_000,
                100_000_000_000,
                vec![0xff; 100_000],
            );
            ordinary_gas += tx.0.gas_limit();
            add(tx, 0);
        }
    }
    assert!(ordinary_gas > 3 * config.soft_gas_limit());
    // Two challenges paying a tip of 1 wei: one within EIP-7825's cap and one past it.
    add(signed(8, 0, DISPUTE_GAME, 10_000_000, 1, vec![]), 0);
    add(
        signed(9, 0, DISPUTE_GAME, config.gas_limit - 11_000_000, 1, vec![]),
        0,
    );
    let chain = Chain::new(
        storage,
        Arc::new(Pool::new(pool, Layer::L1)),
        config.clone(),
        Address::ZERO,
        false,
        None,
    );
    let leader = ed25519::PrivateKey::from_seed(0).public_key();
    let parent = Block::genesis(eth_genesis, leader);
    let built = chain
        .build(&[parent], genesis_config.timestamp + 1, Default::default())
        .unwrap()
        .expect("a block");
    let txs = &built.block.block.transactions;
    let to_game = txs
        .iter()
        .filter(|t| t.tx.to() == Some(DISPUTE_GAME))
        .count();
    assert_eq!(to_game, 2, "both challenges are in the block");
    let ordinary = txs.len() - to_game;
    assert!(
        ordinary >= 6,
        "ordinary transactions fill the rest: {ordinary}"
    );
    let receipts = &built.receipts;
    let used = receipts.last().unwrap().cumulative_gas_used();
    assert!(used <= config.gas_limit);
}

#[test]
fn a_transaction_that_fails_in_a_proposal_leaves_the_pool() {
    let (_dir, genesis_config, config, storage, eth_genesis) = dev_l1();
    let mut pool = mempool(&config);
    // Pooled as if funded (its balance went since, say): it cannot pay in any block.
    let broke = dev::DevAccount::from_secret(alloy_primitives::B256::repeat_byte(7)).unwrap();
    let tx = broke.sign(TxEip1559 {
        chain_id: ChainConfig::L1_DEV_CHAIN_ID,
        gas_limit: 21_000,
        max_fee_per_gas: 1_000_000_000_000,
        to: TxKind::Call(Address::with_last_byte(1)),
        value: U256::from(1u64),
        ..Default::default()
    });
    let rich = U256::from(10u64).pow(U256::from(22));
    let (hash, _) = pool
        .add(
            tx,
            broke.address,
            AccountState {
                nonce: 0,
                balance: rich,
            },
        )
        .unwrap();
    let paying = signed(0, 0, Address::with_last_byte(1), 21_000, 1, vec![]);
    pool.add(
        paying.0,
        paying.1,
        AccountState {
            nonce: 0,
            balance: rich,
        },
    )
    .unwrap();
    let pool = Arc::new(Pool::new(pool, Layer::L1));
    let chain = Chain::new(storage, pool.clone(), config, Address::ZERO, false, None);
    let parent = Block::genesis(eth_genesis, ed25519::PrivateKey::from_seed(0).public_key());
    let built = chain
        .build(&[parent], genesis_config.timestamp + 1, Default::default())
        .unwrap()
        .expect("a block");
    assert_eq!(
        built.block.block.transactions.len(),
        1,
        "only the paying one"
    );
    assert!(
        pool.lock().get(&hash).is_none(),
        "the failing one left the pool"
    );
    assert_eq!(pool.lock().len(), 1);
}
