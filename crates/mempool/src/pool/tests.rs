//! Unit tests of the pool, with real signed transactions.
use super::*;
use alloy_consensus::{TxEip1559, TxLegacy};
use alloy_primitives::TxKind;
use tandem_primitives::dev;

const GWEI: u128 = 1_000_000_000;

fn pool() -> Mempool {
    Mempool::new(
        Config {
            account_slots: 4,
            max_total: 6,
            ..Config::default()
        },
        900,
        30_000_000,
        7,
    )
}

fn tx(key: usize, nonce: u64, max_fee: u128, tip: u128) -> (TxEnvelope, Address) {
    let tx = TxEip1559 {
        chain_id: 900,
        nonce,
        gas_limit: 21_000,
        max_fee_per_gas: max_fee,
        max_priority_fee_per_gas: tip,
        to: TxKind::Call(Address::ZERO),
        ..Default::default()
    };
    let account = &dev::accounts()[key];
    (account.sign(tx), account.address)
}

fn rich() -> AccountState {
    AccountState {
        nonce: 0,
        balance: U256::from(10u128.pow(22)),
    }
}

#[test]
fn nonce_gap_is_queued_until_filled_and_best_orders_by_tip_then_nonce() {
    let mut pool = pool();
    let (t1, a) = tx(0, 1, 10 * GWEI, GWEI);
    assert_eq!(pool.add(t1, a, rich()).unwrap().1, Status::Queued);
    let (t0, a) = tx(0, 0, 10 * GWEI, GWEI);
    assert_eq!(pool.add(t0, a, rich()).unwrap().1, Status::Pending);
    let (rich_tip, b) = tx(1, 0, 10 * GWEI, 3 * GWEI);
    pool.add(rich_tip, b, rich()).unwrap();
    assert_eq!(pool.counts(), (3, 0));
    assert_eq!(pool.next_nonce(a, 0), 2);
    let order: Vec<(Address, u64)> = pool
        .best(GWEI as u64)
        .map(|t| (t.sender, t.nonce()))
        .collect();
    assert_eq!(order, vec![(b, 0), (a, 0), (a, 1)]);
    assert!(
        pool.best(20 * GWEI as u64).next().is_none(),
        "nothing pays a base fee above every fee cap"
    );
    pool.on_block([(a, 1)]);
    assert_eq!(pool.len(), 2);
}

#[test]
fn replacement_needs_a_ten_percent_bump_on_both_caps() {
    let mut pool = pool();
    let (t, a) = tx(0, 0, 10 * GWEI, GWEI);
    pool.add(t, a, rich()).unwrap();
    let (low, _) = tx(0, 0, 10 * GWEI + 1, GWEI + 1);
    assert_eq!(pool.add(low, a, rich()), Err(Error::ReplacementUnderpriced));
    let (ok, _) = tx(0, 0, 11 * GWEI, GWEI * 11 / 10);
    let (hash, _) = pool.add(ok, a, rich()).unwrap();
    assert_eq!(pool.len(), 1);
    assert_eq!(pool.get(&hash).unwrap().max_fee(), 11 * GWEI);
}

#[test]
fn refuses_with_geth_messages_and_changes_nothing() {
    let mut pool = pool();
    let (t, a) = tx(0, 0, 10 * GWEI, GWEI);
    let err = pool
        .add(
            t.clone(),
            a,
            AccountState {
                nonce: 1,
                balance: U256::MAX,
            },
        )
        .unwrap_err();
    assert!(err.to_string().starts_with("nonce too low"));
    let err = pool
        .add(
            t.clone(),
            a,
            AccountState {
                nonce: 0,
                balance: U256::from(1),
            },
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("insufficient funds for gas * price + value")
    );
    pool.add(t.clone(), a, rich()).unwrap();
    assert_eq!(pool.add(t, a, rich()), Err(Error::AlreadyKnown));
    let low_gas = TxLegacy {
        chain_id: Some(900),
        gas_limit: 20_000,
        gas_price: GWEI,
        to: TxKind::Call(a),
        ..Default::default()
    };
    let err = pool
        .check_stateless(&dev::accounts()[0].sign(low_gas), 100)
        .unwrap_err();
    assert!(err.to_string().starts_with("intrinsic gas too low"));
    let wrong_chain = TxLegacy {
        chain_id: Some(1),
        gas_limit: 21_000,
        gas_price: GWEI,
        to: TxKind::Call(a),
        ..Default::default()
    };
    assert!(
        pool.check_stateless(&dev::accounts()[0].sign(wrong_chain), 100)
            .unwrap_err()
            .to_string()
            .starts_with("invalid chain id")
    );
    let huge = TxLegacy {
        chain_id: Some(900),
        gas_limit: 30_000_001,
        gas_price: GWEI,
        to: TxKind::Call(a),
        ..Default::default()
    };
    assert_eq!(
        pool.check_stateless(&dev::accounts()[0].sign(huge), 100),
        Err(Error::GasLimitExceeded)
    );
    let cheap = TxLegacy {
        chain_id: Some(900),
        gas_limit: 21_000,
        gas_price: 1,
        to: TxKind::Call(a),
        ..Default::default()
    };
    assert!(
        pool.check_stateless(&dev::accounts()[0].sign(cheap), 100)
            .unwrap_err()
            .to_string()
            .starts_with("transaction underpriced")
    );
    assert_eq!(pool.len(), 1);
}

#[test]
fn full_pool_evicts_the_cheapest_and_refuses_cheaper() {
    let mut pool = pool();
    for key in 0..6 {
        let (t, a) = tx(key, 0, 10 * GWEI, GWEI + key as u128);
        pool.add(t, a, rich()).unwrap();
    }
    let (cheap, c) = tx(6, 0, 10 * GWEI, GWEI / 2);
    assert!(matches!(
        pool.add(cheap, c, rich()),
        Err(Error::Underpriced { .. })
    ));
    let (better, c) = tx(6, 0, 10 * GWEI, 2 * GWEI);
    pool.add(better, c, rich()).unwrap();
    assert_eq!(pool.len(), 6);
    let cheapest = dev::accounts()[0].address;
    assert!(
        pool.best(1).all(|t| t.sender != cheapest),
        "the lowest payer was evicted"
    );
}

#[test]
fn pooled_bytes_are_bounded_and_accounted() {
    let mut pool = Mempool::new(
        Config {
            max_total_bytes: 400,
            ..Config::default()
        },
        900,
        30_000_000,
        7,
    );
    let (t0, a) = tx(0, 0, 10 * GWEI, GWEI);
    let size = t0.eip2718_encoded_length();
    pool.add(t0, a, rich()).unwrap();
    let (t1, a) = tx(0, 1, 10 * GWEI, GWEI);
    pool.add(t1, a, rich()).unwrap();
    assert_eq!(pool.bytes(), 2 * size);
    let mut added = 2;
    for key in 1..8 {
        let (t, b) = tx(key, 0, 10 * GWEI, 2 * GWEI);
        if pool.add(t, b, rich()).is_ok() {
            added += 1;
        }
    }
    assert!(added > 2 && pool.bytes() <= 400, "{} bytes", pool.bytes());
    pool.on_block(
        pool.best(0)
            .map(|t| (t.sender, t.nonce() + 1))
            .collect::<Vec<_>>(),
    );
    assert_eq!(pool.bytes(), pool.best(0).map(|t| t.size).sum::<usize>());
}

#[test]
fn a_cost_that_does_not_fit_is_refused_not_wrapped() {
    let mut pool = pool();
    let key = &dev::accounts()[0];
    let gas_cost = U256::from(21_000u64) * U256::from(10 * GWEI);
    // gas * price + value wraps to zero in 256 bits: an empty account could send it.
    let wraps = key.sign(TxEip1559 {
        chain_id: 900,
        gas_limit: 21_000,
        max_fee_per_gas: 10 * GWEI,
        max_priority_fee_per_gas: GWEI,
        to: TxKind::Call(Address::ZERO),
        value: U256::MAX - gas_cost + U256::from(1),
        ..Default::default()
    });
    let err = pool
        .add(wraps, key.address, AccountState::default())
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("insufficient funds for gas * price + value"),
        "{err}"
    );
    // gas * fee cap past 128 bits: the EVM refuses it whatever the balance, so the pool does.
    let huge_fee = key.sign(TxEip1559 {
        chain_id: 900,
        gas_limit: 21_000,
        max_fee_per_gas: u128::MAX / 1_000,
        max_priority_fee_per_gas: GWEI,
        to: TxKind::Call(Address::ZERO),
        ..Default::default()
    });
    let err = pool
        .add(
            huge_fee,
            key.address,
            AccountState {
                nonce: 0,
                balance: U256::MAX,
            },
        )
        .unwrap_err();
    assert!(err.to_string().contains("overflows"), "{err}");
    assert!(pool.is_empty());
}

/// Finding 8 of issue 15: queued transactions (nonce gaps, never executable, so never paid
/// for) filled every slot and the pool refused everything after.
#[test]
fn a_pool_full_of_nonce_gaps_still_takes_gap_fillers_new_senders_and_payers() {
    let mut pool = Mempool::new(
        Config {
            max_total: 64,
            ..Config::default()
        },
        900,
        30_000_000,
        7,
    );
    let fee = 10 * GWEI;
    // Eight funded attackers, each with nonces 1..=8 waiting for a nonce 0 they never send.
    for key in 0..8 {
        for nonce in 1..=8 {
            let (t, a) = tx(key, nonce, fee, fee);
            pool.add(t, a, rich()).unwrap();
        }
    }
    assert_eq!(pool.len(), 64);
    assert_eq!(pool.counts().0, 0, "nothing executable");
    // A transaction that fills a gap, at the same fee.
    let (filler, a) = tx(0, 0, fee, fee);
    assert_eq!(pool.add(filler, a, rich()).unwrap().1, Status::Pending);
    // A new sender at the same fee, and one at a tenth of it.
    let (t, b) = tx(8, 0, fee, fee);
    assert_eq!(pool.add(t, b, rich()).unwrap().1, Status::Pending);
    let (cheap, c) = tx(9, 0, fee / 10, fee / 10);
    assert_eq!(pool.add(cheap, c, rich()).unwrap().1, Status::Pending);
    assert_eq!(pool.len(), 64);
    let (pending, _) = pool.counts();
    assert_eq!(pool.best(0).count(), pending);
    assert_eq!(pending, 9 + 2, "sender 0's nine and the two new senders'");
}

#[test]
fn a_sender_whose_first_transaction_is_cheapest_loses_its_tail_first() {
    let mut pool = pool();
    // Sender 0: a cheap head and dear transactions behind it, which cannot run before it.
    let (head, a) = tx(0, 0, 10 * GWEI, GWEI);
    pool.add(head, a, rich()).unwrap();
    for nonce in 1..4 {
        let (t, _) = tx(0, nonce, 50 * GWEI, 40 * GWEI);
        pool.add(t, a, rich()).unwrap();
    }
    for key in 1..3 {
        let (t, b) = tx(key, 0, 50 * GWEI, 20 * GWEI);
        pool.add(t, b, rich()).unwrap();
    }
    assert_eq!(pool.len(), 6);
    // Pays more than sender 0's head, the cheapest transaction here.
    let (t, c) = tx(3, 0, 50 * GWEI, 2 * GWEI);
    pool.add(t, c, rich()).unwrap();
    assert_eq!(pool.len(), 6);
    let order: Vec<(Address, u64)> = pool
        .best(0)
        .map(|t| (t.sender, t.nonce()))
        .filter(|(s, _)| *s == a)
        .collect();
    assert_eq!(order, vec![(a, 0), (a, 1), (a, 2)], "the tail went, no gap");
    assert_eq!(pool.counts(), (6, 0));
}

#[test]
fn queued_transactions_have_a_bounded_share_per_sender_and_in_all() {
    let mut pool = Mempool::new(
        Config {
            max_queued_per_sender: 3,
            max_queued: 4,
            max_total: 8,
            ..Config::default()
        },
        900,
        30_000_000,
        7,
    );
    let fee = 10 * GWEI;
    // At most three nonces past the next executable one.
    let (t, a) = tx(0, 4, fee, fee);
    assert_eq!(
        pool.add(t, a, rich()),
        Err(Error::NonceTooHigh {
            expected: 0,
            got: 4,
            limit: 3
        })
    );
    for nonce in 1..=3 {
        let (t, a) = tx(0, nonce, fee, fee);
        assert_eq!(pool.add(t, a, rich()).unwrap().1, Status::Queued);
    }
    // Four queued in all: a fifth must outbid a queued one, and takes its place.
    let (t, b) = tx(1, 1, fee, fee);
    assert_eq!(pool.add(t, b, rich()).unwrap().1, Status::Queued);
    let (t, c) = tx(2, 1, fee, fee);
    assert!(matches!(
        pool.add(t, c, rich()),
        Err(Error::Underpriced { .. })
    ));
    let (t, c) = tx(2, 1, 2 * fee, 2 * fee);
    assert_eq!(pool.add(t, c, rich()).unwrap().1, Status::Queued);
    assert_eq!(pool.counts(), (0, 4));
    // Executable transactions take the rest, then the queued ones' places, whatever those bid.
    for key in 3..9 {
        let (t, d) = tx(key, 0, fee / 10, fee / 10);
        assert_eq!(pool.add(t, d, rich()).unwrap().1, Status::Pending);
    }
    assert_eq!(pool.counts(), (6, 2));
    // A queued newcomer displaces cheaper queued ones, never an executable transaction.
    for nonce in 1..=2 {
        let (t, e) = tx(9, nonce, 100 * fee, 100 * fee);
        pool.add(t, e, rich()).unwrap();
    }
    let (t, e) = tx(9, 3, 100 * fee, 100 * fee);
    assert_eq!(pool.add(t, e, rich()), Err(Error::PoolFull));
    assert_eq!(pool.counts(), (6, 2));
    assert_eq!(pool.next_nonce(e, 0), 0);
}

#[test]
fn removing_a_pending_transaction_demotes_those_behind_it_within_the_queue_limits() {
    let mut pool = Mempool::new(
        Config {
            max_queued_per_sender: 3,
            ..Config::default()
        },
        900,
        30_000_000,
        7,
    );
    let mut hashes = Vec::new();
    for nonce in 0..8 {
        let (t, a) = tx(0, nonce, 10 * GWEI, GWEI);
        hashes.push(pool.add(t, a, rich()).unwrap().0);
    }
    assert_eq!(pool.counts(), (8, 0));
    // Nonce 2 failed to execute: 3..=5 wait for it again; 6 and 7 are past the window.
    pool.remove(&hashes[2]).unwrap();
    assert_eq!(pool.counts(), (2, 3));
    assert_eq!(pool.len(), 5);
    assert!(pool.get(&hashes[6]).is_none() && pool.get(&hashes[5]).is_some());
    assert_eq!(pool.best(0).count(), 2);
    assert_eq!(
        pool.bytes(),
        [0, 1, 3, 4, 5]
            .iter()
            .map(|i| pool.get(&hashes[*i]).unwrap().size)
            .sum::<usize>()
    );
    // Filling the gap again makes them executable.
    let (t, a) = tx(0, 2, 10 * GWEI, GWEI);
    assert_eq!(pool.add(t, a, rich()).unwrap().1, Status::Pending);
    assert_eq!(pool.counts(), (6, 0));
}

#[test]
fn a_sender_cannot_pool_more_than_its_balance_pays_for() {
    let mut pool = pool();
    let (t0, a) = tx(0, 0, 10 * GWEI, GWEI);
    let cost = U256::from(21_000u64 * 10) * U256::from(GWEI);
    let account = AccountState {
        nonce: 0,
        balance: cost * U256::from(2),
    };
    pool.add(t0, a, account).unwrap();
    let (t1, _) = tx(0, 1, 10 * GWEI, GWEI);
    pool.add(t1, a, account).unwrap();
    let (t2, _) = tx(0, 2, 10 * GWEI, GWEI);
    let err = pool.add(t2, a, account).unwrap_err();
    assert_eq!(
        err,
        Error::Overdraft {
            balance: cost * U256::from(2),
            pooled: cost * U256::from(2),
            cost,
        }
    );
    assert!(
        err.to_string()
            .starts_with("transaction would cause overdraft")
    );
    // A replacement counts instead of what it replaces.
    let (bumped, _) = tx(0, 1, 11 * GWEI, 2 * GWEI);
    assert!(matches!(
        pool.add(bumped, a, account),
        Err(Error::Overdraft { .. })
    ));
    assert_eq!(pool.len(), 2);
}

#[test]
fn fee_bumps_and_nonces_saturate_instead_of_wrapping() {
    assert_eq!(bumped(1_000, 10), 1_100);
    assert_eq!(bumped(15, 10), 16);
    assert_eq!(bumped(u128::MAX - 5, 10), u128::MAX);
    let mut pool = pool();
    let (t, a) = tx(0, u64::MAX, 10 * GWEI, GWEI);
    let account = AccountState {
        nonce: u64::MAX - 1,
        balance: U256::MAX,
    };
    assert_eq!(pool.add(t, a, account), Err(Error::NonceMax));
    let (t, a) = tx(0, u64::MAX - 1, 10 * GWEI, GWEI);
    assert_eq!(pool.add(t, a, account).unwrap().1, Status::Pending);
    assert_eq!(pool.next_nonce(a, u64::MAX - 1), u64::MAX);
    assert_eq!(pool.best(0).count(), 1);
}

/// A transfer with `data` bytes of calldata, both fee caps at `fee`.
fn with_data(key: usize, nonce: u64, fee: u128, data: usize) -> (TxEnvelope, Address) {
    let tx = TxEip1559 {
        chain_id: 900,
        nonce,
        gas_limit: 21_000 + 40 * data as u64,
        max_fee_per_gas: fee,
        max_priority_fee_per_gas: fee,
        to: TxKind::Call(Address::ZERO),
        input: vec![0xff; data].into(),
        ..Default::default()
    };
    let account = &dev::accounts()[key];
    (account.sign(tx), account.address)
}

#[test]
fn a_sender_past_its_slots_cannot_make_room_by_replacing_with_a_larger_transaction() {
    let size = with_data(0, 0, 50 * GWEI, 0).0.eip2718_encoded_length();
    let mut pool = Mempool::new(
        Config {
            account_slots: 2,
            max_total: 100,
            max_total_bytes: 5 * size + 50,
            ..Config::default()
        },
        900,
        30_000_000,
        7,
    );
    for nonce in 0..4 {
        let (t, a) = with_data(0, nonce, 50 * GWEI, 0);
        pool.add(t, a, rich()).unwrap();
    }
    let (t, b) = with_data(1, 0, 10 * GWEI, 0);
    let modest = pool.add(t, b, rich()).unwrap().0;
    // 100 bytes larger: the pool would need room it does not have.
    let (t, a) = with_data(0, 3, 55 * GWEI, 100);
    assert_eq!(pool.add(t, a, rich()), Err(Error::PoolFull));
    assert!(pool.get(&modest).is_some());
    pool.assert_consistent();
}

#[test]
fn one_sender_holds_at_most_its_hard_limit_even_with_room() {
    let mut pool = Mempool::new(
        Config {
            account_slots: 2,
            max_per_sender: 3,
            ..Config::default()
        },
        900,
        30_000_000,
        7,
    );
    for nonce in 0..3 {
        let (t, a) = tx(0, nonce, 10 * GWEI, GWEI);
        pool.add(t, a, rich()).unwrap();
    }
    let (t, a) = tx(0, 3, 10 * GWEI, GWEI);
    assert_eq!(pool.add(t, a, rich()), Err(Error::SenderFull { limit: 3 }));
    // A replacement is no new transaction.
    let (t, a) = tx(0, 2, 20 * GWEI, 2 * GWEI);
    pool.add(t, a, rich()).unwrap();
}

#[test]
fn a_sender_past_its_slots_gets_room_only_while_there_is_room_and_leaves_first() {
    let mut pool = pool();
    // Four slots each, but the pool has room for six: one sender may take them all.
    for nonce in 0..6 {
        let (t, a) = tx(0, nonce, 50 * GWEI, 50 * GWEI);
        pool.add(t, a, rich()).unwrap();
    }
    pool.assert_consistent();
    // Within its slots, a cheaper sender displaces the burst's tail, whatever the burst pays.
    let (t, b) = tx(1, 0, 10 * GWEI, GWEI);
    assert_eq!(pool.add(t, b, rich()).unwrap().1, Status::Pending);
    let a = dev::accounts()[0].address;
    assert_eq!(pool.next_nonce(a, 0), 5);
    // Past its slots on a full pool, the burst gets nothing more in.
    let (t, a) = tx(0, 5, 50 * GWEI, 50 * GWEI);
    assert_eq!(pool.add(t, a, rich()), Err(Error::PoolFull));
    // Down to its slots, price rules again: a newcomer must outbid the burst's last.
    let (t, b) = tx(1, 1, 10 * GWEI, GWEI);
    pool.add(t, b, rich()).unwrap();
    assert_eq!(pool.next_nonce(a, 0), 4);
    let (t, c) = tx(2, 0, 10 * GWEI, GWEI);
    assert!(matches!(
        pool.add(t, c, rich()),
        Err(Error::Underpriced { .. })
    ));
    pool.assert_consistent();
}

impl Mempool {
    /// Recounts everything the pool keeps incrementally (counts, bytes, the hash index, the tails
    /// index) and checks it against what it keeps, and the limits.
    fn assert_consistent(&self) {
        let config = &self.rules.config;
        let (mut count, mut bytes, mut queued) = (0, 0, 0);
        for (address, sender) in &self.senders {
            assert!(!sender.txs.is_empty(), "an empty sender is kept");
            assert!(
                sender.txs.keys().all(|n| *n >= sender.nonce),
                "a stale transaction"
            );
            let next = sender.next_nonce_from(sender.nonce);
            assert_eq!(sender.pending as u64, next - sender.nonce);
            assert_eq!(sender.queued, sender.txs.len() - sender.pending);
            assert!(sender.txs.len() <= config.max_per_sender);
            let crowd = Some(sender.txs.len()).filter(|n| *n > config.account_slots);
            assert_eq!(sender.crowd, crowd);
            if let Some(held) = crowd {
                assert!(self.crowded.contains(&(held, *address)));
            }
            assert!(
                sender
                    .txs
                    .keys()
                    .all(|n| *n <= next + config.max_queued_per_sender as u64),
                "a queued transaction past the window"
            );
            for (nonce, tx) in &sender.txs {
                assert_eq!(self.by_hash.get(&tx.hash), Some(&(*address, *nonce)));
                bytes += tx.size;
            }
            count += sender.txs.len();
            queued += sender.queued;
            let rank = sender.txs.values().map(PoolTx::price).min().unwrap();
            let last = sender.txs.values().next_back().unwrap();
            let class = if sender.queued > 0 { QUEUED } else { PENDING };
            let tail = (rank, last.hash, *address);
            assert_eq!(sender.tail, Some((class, tail)));
            assert!(self.tails[class].contains(&tail));
        }
        assert_eq!(
            self.tails[QUEUED].len() + self.tails[PENDING].len(),
            self.senders.len()
        );
        assert_eq!(
            self.crowded.len(),
            self.senders.values().filter(|s| s.crowd.is_some()).count()
        );
        assert_eq!(count, self.by_hash.len());
        assert_eq!(bytes, self.bytes);
        assert_eq!(queued, self.queued);
        assert!(count <= config.max_total && bytes <= config.max_total_bytes);
        assert!(queued <= config.max_queued);
    }
}

mod random {
    //! Random adds, removals and blocks on a tiny pool; after each, everything the pool keeps
    //! incrementally must match a recount.
    use super::*;
    use proptest::prelude::*;
    use std::{cell::RefCell, collections::HashMap};

    #[derive(Debug, Clone)]
    enum Op {
        /// At `ahead` past the sender's next nonce in the pool (0: executable).
        Add {
            key: usize,
            ahead: u64,
            fee: u128,
        },
        Remove {
            pick: usize,
        },
        Block {
            key: usize,
            advance: u64,
        },
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0..6usize, 1..=8u128).prop_map(|(key, fee)| Op::Add { key, ahead: 0, fee }),
            3 => (0..6usize, 0..5u64, 1..=8u128).prop_map(|(key, ahead, fee)| Op::Add { key, ahead, fee }),
            1 => any::<usize>().prop_map(|pick| Op::Remove { pick }),
            1 => (0..6usize, 0..4u64).prop_map(|(key, advance)| Op::Block { key, advance }),
        ]
    }

    /// Key, nonce and fee in gwei.
    type Spec = (usize, u64, u128);

    /// Signed once per spec across cases.
    fn signed(key: usize, nonce: u64, fee: u128) -> (TxEnvelope, Address) {
        thread_local! {
            static SIGNED: RefCell<HashMap<Spec, (TxEnvelope, Address)>> =
                RefCell::new(HashMap::new());
        }
        SIGNED.with(|signed| {
            signed
                .borrow_mut()
                .entry((key, nonce, fee))
                .or_insert_with(|| tx(key, nonce, fee * GWEI, fee * GWEI))
                .clone()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(128))]

        #[test]
        fn the_pool_keeps_its_counts_and_indexes_exact(ops in prop::collection::vec(op(), 10..80)) {
            let mut pool = Mempool::new(
                Config {
                    account_slots: 3,
                    max_per_sender: 6,
                    max_queued_per_sender: 3,
                    max_queued: 4,
                    max_total: 12,
                    max_total_bytes: 12 * 120,
                    ..Config::default()
                },
                900,
                30_000_000,
                7,
            );
            let mut nonces = [0u64; 6];
            for op in ops {
                match op {
                    Op::Add { key, ahead, fee } => {
                        let next = pool.next_nonce(dev::accounts()[key].address, nonces[key]);
                        let (tx, sender) = signed(key, next + ahead, fee);
                        let account = AccountState { nonce: nonces[key], ..rich() };
                        let before = (pool.len(), pool.bytes(), pool.counts());
                        let (pending_before, _) = pool.content();
                        let held = |pool: &Mempool, address: &Address| {
                            pool.senders.get(address).map_or(0, |s| s.txs.len())
                        };
                        let replaces = pool.senders.get(&sender).is_some_and(|s| s.txs.contains_key(&tx.nonce()));
                        let past_slots = pool.get(&tx.tx_hash()).is_none()
                            && held(&pool, &sender) + usize::from(!replaces) > 3;
                        let counts: HashMap<Address, usize> =
                            pool.senders.iter().map(|(a, s)| (*a, s.txs.len())).collect();
                        match pool.add(tx, sender, account) {
                            Err(_) => prop_assert_eq!(before, (pool.len(), pool.bytes(), pool.counts())),
                            Ok(_) if past_slots => {
                                // A sender past its slots gets in only where there is room.
                                prop_assert!(pending_before.iter().all(|t| t.sender == sender || pool.get(&t.hash).is_some()));
                            }
                            Ok(_) => {
                                // A pending transaction within its sender's slots leaves only
                                // once no other sender is past its slots or has one queued.
                                let lost = pending_before.iter().any(|t| {
                                    t.sender != sender && pool.get(&t.hash).is_none() && counts[&t.sender] <= 3
                                });
                                if lost {
                                    for (address, s) in &pool.senders {
                                        prop_assert!(*address == sender || (s.txs.len() <= 3 && s.queued == 0));
                                    }
                                }
                            }
                        }
                    }
                    Op::Remove { pick } => {
                        let mut hashes: Vec<B256> = pool.by_hash.keys().copied().collect();
                        hashes.sort();
                        if !hashes.is_empty() {
                            pool.remove(&hashes[pick % hashes.len()]);
                        }
                    }
                    Op::Block { key, advance } => {
                        nonces[key] += advance;
                        pool.on_block([(dev::accounts()[key].address, nonces[key])]);
                    }
                }
                pool.assert_consistent();
            }
        }
    }
}

#[test]
fn an_older_block_nonce_never_moves_a_sender_back_but_a_reset_does() {
    let mut pool = Mempool::new(
        Config {
            max_queued_per_sender: 2,
            ..Config::default()
        },
        900,
        30_000_000,
        7,
    );
    let a = dev::accounts()[0].address;
    // The pool reads a newer account (a sequencer's published open block) than the block it is
    // told of next.
    let at = |nonce| AccountState { nonce, ..rich() };
    for nonce in 10..16 {
        let (t, _) = tx(0, nonce, 10 * GWEI, GWEI);
        pool.add(t, a, at(10)).unwrap();
    }
    pool.on_block([(a, 7), (a, 8)]);
    pool.assert_consistent();
    assert_eq!(
        pool.next_nonce(a, 0),
        16,
        "nothing dropped as queued behind a gap"
    );
    assert_eq!(pool.counts(), (6, 0));
    // A dev node's edit sets the nonce down: the waiting ones are queued behind the gap now.
    pool.reset_nonces([(a, 8)]);
    pool.assert_consistent();
    assert_eq!(pool.next_nonce(a, 0), 8);
    assert_eq!(
        pool.counts(),
        (0, 1),
        "nonce 10 waits within the window of 2; the rest dropped"
    );
}
