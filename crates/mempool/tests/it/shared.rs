//! The shared pool: one admission path, best-first iteration a builder steers, one settle.
use alloy_consensus::{TxEip1559, TxLegacy};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256};
use std::{collections::HashMap, future::Future};
use tandem_mempool::{
    AccountState, Candidates, Config, Error, InOrder, Mempool, Pool, PoolTx, disputes_first,
};
use tandem_primitives::{Block, Layer, StoredTx, TxEnvelope, dev, system::DISPUTE_GAME};
use tandem_state::{StateReader, TrieAccount};

const CHAIN_ID: u64 = 900;
const GWEI: u128 = 1_000_000_000;

fn pool(layer: Layer) -> Pool {
    Pool::new(
        Mempool::new(Config::default(), CHAIN_ID, 30_000_000, 7),
        layer,
    )
}

fn signed(key: usize, nonce: u64, tip: u128, to: Address) -> TxEnvelope {
    dev::accounts()[key].sign(TxEip1559 {
        chain_id: CHAIN_ID,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: 100 * GWEI,
        max_priority_fee_per_gas: tip,
        to: TxKind::Call(to),
        ..Default::default()
    })
}

fn rich(_: Address) -> Result<AccountState, Error> {
    Ok(AccountState {
        nonce: 0,
        balance: U256::from(10u128.pow(22)),
    })
}

fn admit(pool: &Pool, tx: &TxEnvelope) -> Result<B256, Error> {
    pool.admit(&tx.encoded_2718(), rich)
}

fn order(best: impl Iterator<Item = PoolTx>) -> Vec<(Address, u64)> {
    best.map(|t| (t.sender, t.nonce())).collect()
}

#[test]
fn admission_decodes_checks_pools_and_wakes_the_producer() {
    let pool = pool(Layer::L1);
    let tx = signed(0, 0, GWEI, Address::ZERO);
    let woken = pool.added().notified();
    let hash = admit(&pool, &tx).unwrap();
    assert_eq!(hash, tx.tx_hash());
    assert!(pool.lock().get(&hash).is_some());
    // The permit notify_one stored completes a waiter at once.
    let mut context = std::task::Context::from_waker(std::task::Waker::noop());
    assert!(std::pin::pin!(woken).poll(&mut context).is_ready());
    assert_eq!(admit(&pool, &tx), Err(Error::AlreadyKnown));
}

#[test]
fn admission_refuses_junk_and_unbatchable_types_and_changes_nothing() {
    let l2 = pool(Layer::L2);
    assert!(matches!(
        l2.admit(&[0xc0, 0x01, 0x02], rich),
        Err(Error::Decode(_))
    ));
    assert!(matches!(l2.admit(&[], rich), Err(Error::Decode(_))));
    // A blob transaction's type byte: geth's "transaction type not supported".
    assert_eq!(l2.admit(&[0x03, 0xc0], rich), Err(Error::TypeNotSupported));
    let legacy = dev::accounts()[0].sign(TxLegacy {
        chain_id: Some(CHAIN_ID),
        gas_price: 100 * GWEI,
        gas_limit: 21_000,
        to: TxKind::Call(Address::ZERO),
        ..Default::default()
    });
    admit(&l2, &legacy).unwrap();
    // EIP-7702 decodes but a batch cannot carry it: refused on L2 only.
    let auth = alloy_eips::eip7702::Authorization {
        chain_id: U256::from(CHAIN_ID),
        address: Address::ZERO,
        nonce: 0,
    };
    let signature = dev::accounts()[1].sign_hash(auth.signature_hash());
    let setcode = dev::accounts()[1].sign(alloy_consensus::TxEip7702 {
        chain_id: CHAIN_ID,
        nonce: 1,
        gas_limit: 60_000,
        max_fee_per_gas: 100 * GWEI,
        authorization_list: vec![auth.into_signed(signature)],
        ..Default::default()
    });
    assert_eq!(admit(&l2, &setcode), Err(Error::TypeNotSupported));
    assert_eq!(l2.lock().len(), 1, "only the legacy transaction entered");
    // The account source's error is the caller's, and nothing is pooled.
    let failing = |_| Err::<AccountState, _>(Error::PoolFull);
    let tx = signed(2, 0, GWEI, Address::ZERO);
    assert_eq!(l2.admit(&tx.encoded_2718(), failing), Err(Error::PoolFull));
    assert_eq!(l2.lock().len(), 1);
}

#[test]
fn a_sender_marked_invalid_yields_nothing_more_and_others_keep_their_order() {
    let pool = pool(Layer::L1);
    let (a, b) = (dev::accounts()[0].address, dev::accounts()[1].address);
    for nonce in 0..3 {
        admit(&pool, &signed(0, nonce, 3 * GWEI, Address::ZERO)).unwrap();
        admit(&pool, &signed(1, nonce, 2 * GWEI, Address::ZERO)).unwrap();
    }
    assert_eq!(
        order(pool.best(GWEI as u64)),
        vec![(a, 0), (a, 1), (a, 2), (b, 0), (b, 1), (b, 2)]
    );
    let mut best = pool.best(GWEI as u64);
    let first = best.next().unwrap();
    assert_eq!((first.sender, first.nonce()), (a, 0));
    best.mark_invalid(a);
    assert_eq!(order(best), vec![(b, 0), (b, 1), (b, 2)]);
    // A snapshot: the pool is untouched and unlocked while a builder iterates.
    let mut best = pool.best(GWEI as u64);
    admit(&pool, &signed(2, 0, 50 * GWEI, Address::ZERO)).unwrap();
    assert_eq!(best.next().map(|t| t.sender), Some(a));
    assert_eq!(pool.lock().len(), 7);
}

#[test]
fn dispute_settlers_go_first_with_their_whole_chain() {
    let pool = pool(Layer::L1);
    let (a, b) = (dev::accounts()[0].address, dev::accounts()[1].address);
    admit(&pool, &signed(0, 0, 9 * GWEI, Address::ZERO)).unwrap();
    admit(&pool, &signed(1, 0, GWEI, Address::ZERO)).unwrap();
    admit(&pool, &signed(1, 1, GWEI, DISPUTE_GAME)).unwrap();
    assert_eq!(
        order(disputes_first(pool.best(0), Layer::L1)),
        vec![(b, 0), (b, 1), (a, 0)]
    );
    // A dispute call that cannot pay the base fee moves nothing ahead.
    let c = dev::accounts()[2].address;
    admit(&pool, &signed(2, 0, 2 * GWEI, Address::ZERO)).unwrap();
    let broke = dev::accounts()[2].sign(TxEip1559 {
        chain_id: CHAIN_ID,
        nonce: 1,
        gas_limit: 21_000,
        max_fee_per_gas: 10,
        to: TxKind::Call(DISPUTE_GAME),
        ..Default::default()
    });
    admit(&pool, &broke).unwrap();
    assert_eq!(
        order(disputes_first(pool.best(GWEI as u64), Layer::L1)),
        vec![(b, 0), (b, 1), (a, 0), (c, 0)]
    );
    // On L2 nothing settles a dispute: tips alone.
    assert_eq!(
        order(disputes_first(pool.best(0), Layer::L2)),
        vec![(a, 0), (c, 0), (b, 0), (b, 1), (c, 1)]
    );
}

#[test]
fn in_order_keeps_the_order_and_skips_invalid_senders() {
    let (a, b) = (dev::accounts()[0].address, dev::accounts()[1].address);
    let txs = vec![
        PoolTx::new(signed(1, 0, GWEI, Address::ZERO), b),
        PoolTx::new(signed(0, 0, GWEI, Address::ZERO), a),
        PoolTx::new(signed(1, 1, GWEI, Address::ZERO), b),
        PoolTx::new(signed(0, 1, GWEI, Address::ZERO), a),
    ];
    let mut replay = InOrder::new(txs);
    assert_eq!(replay.next().map(|t| t.sender), Some(b));
    replay.mark_invalid(b);
    assert_eq!(order(replay), vec![(a, 0), (a, 1)]);
}

/// Accounts by address: the state after a block, at the seam.
struct Nonces(HashMap<Address, u64>);

impl StateReader for Nonces {
    fn account(&self, address: Address) -> tandem_state::Result<Option<TrieAccount>> {
        Ok(self.0.get(&address).map(|nonce| TrieAccount {
            nonce: *nonce,
            ..Default::default()
        }))
    }
    fn storage(&self, _: Address, _: B256) -> tandem_state::Result<U256> {
        Ok(U256::ZERO)
    }
    fn code(&self, _: B256) -> tandem_state::Result<Option<Bytes>> {
        Ok(None)
    }
    fn block_hash(&self, _: u64) -> tandem_state::Result<Option<B256>> {
        Ok(None)
    }
}

#[test]
fn settle_reads_the_senders_new_nonces_and_drops_what_they_included() {
    let pool = pool(Layer::L1);
    let (a, b) = (dev::accounts()[0].address, dev::accounts()[1].address);
    for nonce in 0..3 {
        admit(&pool, &signed(0, nonce, GWEI, Address::ZERO)).unwrap();
    }
    admit(&pool, &signed(1, 0, GWEI, Address::ZERO)).unwrap();
    let included = [
        signed(0, 0, GWEI, Address::ZERO),
        signed(0, 1, GWEI, Address::ZERO),
    ];
    let block = Block {
        header: Default::default(),
        transactions: included
            .into_iter()
            .map(|tx| StoredTx { sender: a, tx })
            .collect(),
    };
    pool.settle(&block, &Nonces(HashMap::from([(a, 2), (b, 0)])))
        .unwrap();
    let mut left = order(pool.best(0));
    left.sort();
    let mut expected = vec![(a, 2), (b, 0)];
    expected.sort();
    assert_eq!(left, expected);
    assert_eq!(pool.lock().len(), 2);
}

#[test]
fn admission_refuses_what_no_block_could_include_but_a_challenge_may_use_a_whole_block() {
    let l1 = pool(Layer::L1);
    let big = |key: usize, to: Address, gas_limit: u64| {
        dev::accounts()[key].sign(TxEip1559 {
            chain_id: CHAIN_ID,
            gas_limit,
            max_fee_per_gas: 100 * GWEI,
            to: TxKind::Call(to),
            ..Default::default()
        })
    };
    let cap = 1 << 24;
    assert_eq!(
        admit(&l1, &big(0, Address::ZERO, cap + 1)),
        Err(Error::GasLimitTooHigh { cap, gas: cap + 1 })
    );
    admit(&l1, &big(0, Address::ZERO, cap)).unwrap();
    admit(&l1, &big(1, DISPUTE_GAME, 30_000_000)).unwrap();
    assert_eq!(l1.lock().len(), 2);
    // On L2 nothing settles a dispute: the cap holds for every call.
    let l2 = pool(Layer::L2);
    assert_eq!(
        admit(&l2, &big(1, DISPUTE_GAME, cap + 1)),
        Err(Error::GasLimitTooHigh { cap, gas: cap + 1 })
    );
}
