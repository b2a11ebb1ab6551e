//! Pool adversaries: floods of nonce-gap, underpriced, replacement, unfunded and overflowing
//! transactions from many senders, then ordinary users' transactions (funded, next nonce, paying
//! more than the flood's executable transactions; its nonce-gap ones bid up to ten times more). The users' transactions must all get in and come out of the pool's
//! best-first order within a few blocks' worth of gas; the pool never exceeds its caps, never
//! admits a transaction whose cost does not fit in 256 bits, and its accounting stays exact.
//!
//! Bursts from a few senders, past their guaranteed slots, must leave room: a modest user (within
//! its slots, paying only the minimum) always gets in while any other sender is past its slots or
//! has something queued.
//!
//! Seeded and replayable: `PROPTEST_RNG_SEED=<u64>` picks the run, `PROPTEST_CASES=<n>` runs more
//! than the default 200, e.g. `PROPTEST_CASES=5000 cargo test -p tandem-mempool --test it adversary`.
use alloy_consensus::{Transaction, TxEip1559};
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use proptest::{
    prelude::*,
    test_runner::{Config as ProptestConfig, RngSeed},
};
use std::{
    cell::RefCell,
    collections::{HashMap, HashSet},
    sync::OnceLock,
};
use tandem_mempool::{AccountState, Candidates, Config, Mempool};
use tandem_primitives::{TxEnvelope, dev::DevAccount};

const CHAIN_ID: u64 = 900;
const MIN_BASE_FEE: u64 = 7;
const GWEI: u128 = 1_000_000_000;
/// A block holds 40 plain transfers, so "within two blocks" is a tight bound.
const BLOCK_GAS: u64 = 40 * 21_000;
const ATTACKERS: usize = 24;
const USERS: usize = 8;
/// The last key: a user paying only the chain's minimum.
const MODEST: usize = ATTACKERS + USERS;
const SLOTS: usize = 4;
/// Fee caps (and tips) of the flood's executable transactions; replacements may raise them up to
/// [`FLOOD_MAX_FEE`].
const FLOOD_FEES: [u128; 4] = [MIN_BASE_FEE as u128, GWEI, 10 * GWEI, 40 * GWEI];
const FLOOD_MAX_FEE: u128 = 50 * GWEI;
/// Fee caps of the flood's nonce-gap transactions: anything, even far above what users pay, since
/// a transaction that never executes never pays.
const GAP_FEES: [u128; 4] = [MIN_BASE_FEE as u128, 10 * GWEI, 200 * GWEI, 1_000 * GWEI];
/// Calldata sizes of flood transactions, so the byte cap binds too.
const FLOOD_DATA: [usize; 4] = [0, 0, 300, 1_500];
/// What an ordinary user pays: above anything the flood's executable transactions pay.
const USER_FEE: u128 = 100 * GWEI;
const USER_TIP: u128 = 60 * GWEI;
/// A funded attacker can pay for about a dozen of its dearest transactions at once.
const ATTACKER_FUNDS: u128 = 12 * 120_000 * FLOOD_MAX_FEE;
const DEFAULT_CASES: u32 = 200;
const DEFAULT_SEED: u64 = 0x7a4d_e115;

/// A small pool (64 slots, 16 of them for queued transactions, 24 KiB), so a flood fills it fast.
fn pool_config() -> Config {
    Config {
        max_total: 64,
        max_queued: 16,
        max_queued_per_sender: 8,
        account_slots: SLOTS,
        max_total_bytes: 24 * 1024,
        ..Config::default()
    }
}

/// Attackers first, then users; keys from a fixed seed.
fn keys() -> &'static [DevAccount] {
    static KEYS: OnceLock<Vec<DevAccount>> = OnceLock::new();
    KEYS.get_or_init(|| {
        (0..=MODEST)
            .map(|i| {
                let secret = keccak256(format!("tandem-mempool adversary {i}"));
                DevAccount::from_secret(secret).expect("a valid key")
            })
            .collect()
    })
}

/// The fields of one transfer the tests sign.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Spec {
    key: usize,
    nonce: u64,
    max_fee: u128,
    tip: u128,
    value: U256,
    data: usize,
}

impl Spec {
    /// Enough gas for its calldata, EIP-7623's floor included.
    fn gas(&self) -> u64 {
        21_000 + 40 * self.data as u64
    }

    /// Signed once, and checked statelessly once (a pure function of the transaction and the
    /// pool's fixed config): signature work would dominate the test's time, and cases repeat specs.
    fn sign(&self, pool: &Mempool) -> Signed {
        thread_local! {
            static SIGNED: RefCell<HashMap<Spec, Signed>> = RefCell::new(HashMap::new());
        }
        SIGNED.with(|signed| {
            signed
                .borrow_mut()
                .entry(*self)
                .or_insert_with(|| {
                    let tx = keys()[self.key].sign(TxEip1559 {
                        chain_id: CHAIN_ID,
                        nonce: self.nonce,
                        gas_limit: self.gas(),
                        max_fee_per_gas: self.max_fee,
                        max_priority_fee_per_gas: self.tip,
                        to: TxKind::Call(Address::repeat_byte(0x42)),
                        value: self.value,
                        input: Bytes::from(vec![0xff; self.data]),
                        ..Default::default()
                    });
                    tx.tx_hash(); // computed once, then cloned with the transaction
                    let checked = pool
                        .check_stateless(&tx, tx.eip2718_encoded_length())
                        .map_err(|e| e.to_string());
                    (tx, checked)
                })
                .clone()
        })
    }
}

/// A signed transaction and what the pool's stateless checks say of it: its sender, or why not.
type Signed = (TxEnvelope, Result<Address, String>);

/// One thing the adversary sends.
#[derive(Debug, Clone)]
enum Move {
    /// `count` nonces from the attacker's next (as the pool answers it): executable if the
    /// attacker can pay for them.
    Next {
        attacker: usize,
        count: u64,
        fee: usize,
        data: usize,
    },
    /// `count` nonces from `ahead` past the attacker's next: they wait for a gap never filled.
    Gap {
        attacker: usize,
        ahead: u64,
        count: u64,
        fee: usize,
        data: usize,
    },
    /// The last transaction sent at a nonce `back` below the attacker's next, both fees raised
    /// by `bump_percent` (not always enough).
    Replace {
        attacker: usize,
        back: u64,
        bump_percent: u128,
    },
    /// `count` executable nonces at one price from the attacker's next: far past its slots.
    Burst {
        attacker: usize,
        count: u64,
        fee: usize,
    },
    /// A fee cap below the chain's minimum base fee.
    Underpriced { attacker: usize, fee: u128 },
    /// gas × fee cap + value past 2^256, or gas × fee cap past 2^128.
    Overflow { attacker: usize, kind: u8 },
}

fn a_move() -> impl Strategy<Value = Move> {
    let attacker = 0..ATTACKERS;
    prop_oneof![
        4 => (attacker.clone(), 1..=8u64, 0..FLOOD_FEES.len(), 0..FLOOD_DATA.len())
            .prop_map(|(attacker, count, fee, data)| Move::Next { attacker, count, fee, data }),
        4 => (attacker.clone(), 1..=10u64, 1..=8u64, 0..GAP_FEES.len(), 0..FLOOD_DATA.len())
            .prop_map(|(attacker, ahead, count, fee, data)| Move::Gap { attacker, ahead, count, fee, data }),
        2 => (attacker.clone(), 10..=40u64, 0..FLOOD_FEES.len())
            .prop_map(|(attacker, count, fee)| Move::Burst { attacker, count, fee }),
        2 => (attacker.clone(), 0..4u64, 0..=30u128)
            .prop_map(|(attacker, back, bump_percent)| Move::Replace { attacker, back, bump_percent }),
        1 => (attacker.clone(), 1..u128::from(MIN_BASE_FEE))
            .prop_map(|(attacker, fee)| Move::Underpriced { attacker, fee }),
        1 => (attacker, 0..4u8).prop_map(|(attacker, kind)| Move::Overflow { attacker, kind }),
    ]
}

/// The pool, the accounts it validates against, and what the test has seen it admit.
struct World {
    pool: Mempool,
    config: Config,
    accounts: HashMap<Address, AccountState>,
    /// What the pool admitted and, as far as the last check saw, still holds.
    admitted: HashSet<B256>,
    /// The last spec sent at each (key, nonce), for replacements.
    sent: HashMap<(usize, u64), Spec>,
}

impl World {
    fn new(funded: &[bool]) -> Self {
        let config = pool_config();
        let mut accounts = HashMap::new();
        for (i, key) in keys().iter().enumerate() {
            let balance = match funded.get(i) {
                Some(true) => U256::from(ATTACKER_FUNDS),
                Some(false) => U256::ZERO,
                None => U256::from(10u128.pow(22)), // a user
            };
            accounts.insert(key.address, AccountState { nonce: 0, balance });
        }
        Self {
            pool: Mempool::new(config.clone(), CHAIN_ID, 30_000_000, MIN_BASE_FEE),
            config,
            accounts,
            admitted: HashSet::new(),
            sent: HashMap::new(),
        }
    }

    fn next_nonce(&self, key: usize) -> u64 {
        let address = keys()[key].address;
        self.pool.next_nonce(address, self.accounts[&address].nonce)
    }

    /// Sends `spec` the way RPC and gossip do: stateless checks, then the pool with the account.
    fn send(&mut self, spec: Spec) -> Result<B256, String> {
        self.sent.insert((spec.key, spec.nonce), spec);
        let (tx, checked) = spec.sign(&self.pool);
        let sender = checked?;
        let account = self.accounts[&sender];
        let (hash, _) = self
            .pool
            .add(tx, sender, account)
            .map_err(|e| e.to_string())?;
        assert!(
            !account.balance.is_zero(),
            "admitted from an empty account: {spec:?}"
        );
        self.admitted.insert(hash);
        Ok(hash)
    }

    fn play(&mut self, m: &Move) -> Result<(), TestCaseError> {
        let flood = |key, nonce, fee: u128, data| Spec {
            key,
            nonce,
            max_fee: fee,
            tip: fee,
            value: U256::ZERO,
            data: FLOOD_DATA[data],
        };
        match *m {
            Move::Next {
                attacker,
                count,
                fee,
                data,
            } => {
                for _ in 0..count {
                    let nonce = self.next_nonce(attacker);
                    let _ = self.send(flood(attacker, nonce, FLOOD_FEES[fee], data));
                    self.check()?;
                }
            }
            Move::Gap {
                attacker,
                ahead,
                count,
                fee,
                data,
            } => {
                let first = self.next_nonce(attacker) + ahead;
                for nonce in first..first + count {
                    let _ = self.send(flood(attacker, nonce, GAP_FEES[fee], data));
                    self.check()?;
                }
            }
            Move::Burst {
                attacker,
                count,
                fee,
            } => {
                for _ in 0..count {
                    let nonce = self.next_nonce(attacker);
                    if self
                        .send(flood(attacker, nonce, FLOOD_FEES[fee], 0))
                        .is_err()
                    {
                        break;
                    }
                }
            }
            Move::Replace {
                attacker,
                back,
                bump_percent,
            } => {
                let Some(nonce) = self.next_nonce(attacker).checked_sub(back + 1) else {
                    return Ok(());
                };
                let Some(old) = self.sent.get(&(attacker, nonce)).copied() else {
                    return Ok(());
                };
                let bump = |fee: u128| (fee + fee * bump_percent / 100).min(FLOOD_MAX_FEE);
                let _ = self.send(Spec {
                    max_fee: bump(old.max_fee),
                    tip: bump(old.tip),
                    ..old
                });
            }
            Move::Underpriced { attacker, fee } => {
                let nonce = self.next_nonce(attacker);
                let result = self.send(flood(attacker, nonce, fee, 0));
                prop_assert!(result.is_err(), "admitted a fee cap of {fee} wei");
            }
            Move::Overflow { attacker, kind } => {
                let nonce = self.next_nonce(attacker);
                let fee = 10 * GWEI;
                let gas_cost = U256::from(21_000u64) * U256::from(fee);
                let spec = match kind {
                    // Wraps to zero, or to a little: an empty account could afford either.
                    0 => Spec {
                        value: U256::MAX - gas_cost + U256::from(1),
                        ..flood(attacker, nonce, fee, 0)
                    },
                    1 => Spec {
                        value: U256::MAX - gas_cost + U256::from(1_000),
                        ..flood(attacker, nonce, fee, 0)
                    },
                    // gas × fee cap fits 256 bits but not the EVM's 128.
                    2 => Spec {
                        max_fee: u128::MAX / 1_000,
                        tip: GWEI,
                        ..flood(attacker, nonce, fee, 0)
                    },
                    _ => Spec {
                        value: U256::MAX,
                        ..flood(attacker, nonce, u128::from(MIN_BASE_FEE), 0)
                    },
                };
                let result = self.send(spec);
                prop_assert!(
                    result.is_err(),
                    "admitted an overflowing transaction: {spec:?}"
                );
            }
        }
        self.check()
    }

    /// The caps hold and the accounting is exact: every transaction the pool holds is one it
    /// admitted, and its counts and bytes add up.
    fn check(&mut self) -> Result<(), TestCaseError> {
        let pool = &self.pool;
        prop_assert!(
            pool.len() <= self.config.max_total,
            "{} transactions",
            pool.len()
        );
        prop_assert!(
            pool.bytes() <= self.config.max_total_bytes,
            "{} bytes",
            pool.bytes()
        );
        let (pending, queued) = pool.counts();
        prop_assert!(queued <= self.config.max_queued, "{queued} queued");
        prop_assert_eq!(
            pool.best(0).count(),
            pending,
            "every pending transaction is reachable in nonce order"
        );
        self.admitted.retain(|h| pool.get(h).is_some());
        prop_assert_eq!(self.admitted.len(), pool.len());
        let held: usize = self
            .admitted
            .iter()
            .filter_map(|h| pool.get(h))
            .map(|t| t.size)
            .sum();
        prop_assert_eq!(held, pool.bytes());
        Ok(())
    }
}

fn env<T: std::str::FromStr>(name: &str) -> Option<T> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn adversary_config() -> ProptestConfig {
    ProptestConfig {
        cases: env("PROPTEST_CASES").unwrap_or(DEFAULT_CASES),
        rng_seed: RngSeed::Fixed(env("PROPTEST_RNG_SEED").unwrap_or(DEFAULT_SEED)),
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(adversary_config())]

    #[test]
    fn ordinary_users_get_in_and_are_mined_within_two_blocks_whatever_the_flood(
        funded in prop::collection::vec(prop::bool::weighted(0.7), ATTACKERS),
        flood in prop::collection::vec(a_move(), 40..120),
        user_txs in prop::collection::vec(1..=3u64, USERS),
    ) {
        let mut world = World::new(&funded);
        for m in &flood {
            world.play(m)?;
        }
        // A modest user gets in while anyone else is past its slots or has something queued.
        let (pending, queued) = world.pool.content();
        let mut held: HashMap<Address, usize> = HashMap::new();
        for tx in pending.iter().chain(&queued) {
            *held.entry(tx.sender).or_default() += 1;
        }
        let crowded = held.values().any(|n| *n > SLOTS);
        let modest = world.send(Spec {
            key: MODEST,
            nonce: 0,
            max_fee: u128::from(MIN_BASE_FEE),
            tip: u128::from(MIN_BASE_FEE),
            value: U256::from(1),
            data: 0,
        });
        if crowded || !queued.is_empty() {
            prop_assert!(modest.is_ok(), "a modest user refused ({modest:?}) beside a sender past its slots or a queued transaction");
        }
        world.check()?;
        // Ordinary users: funded, next nonce, paying more than the flood.
        let mut users = HashSet::new();
        for (i, count) in user_txs.iter().enumerate() {
            for nonce in 0..*count {
                let spec = Spec {
                    key: ATTACKERS + i,
                    nonce,
                    max_fee: USER_FEE,
                    tip: USER_TIP,
                    value: U256::from(1),
                    data: 0,
                };
                let hash = world.send(spec).map_err(|e| {
                    TestCaseError::fail(format!("user {i} nonce {nonce} refused: {e}"))
                })?;
                users.insert(hash);
                world.check()?;
            }
        }
        // Best first, they come within two blocks' worth of gas...
        let mut gas = 0;
        let mut seen = 0;
        for tx in world.pool.best(MIN_BASE_FEE) {
            gas += tx.tx.gas_limit();
            if users.contains(&tx.hash) {
                seen += 1;
                prop_assert!(gas <= 2 * BLOCK_GAS, "a user's transaction after {gas} gas");
            }
        }
        prop_assert_eq!(seen, users.len());
        // ...and two blocks built the way the miners build them take them all.
        let mut mined = HashSet::new();
        for _ in 0..2 {
            let mut left = BLOCK_GAS;
            let mut nonces = HashMap::new();
            let mut best = world.pool.best(MIN_BASE_FEE);
            while let Some(tx) = best.next() {
                if tx.tx.gas_limit() > left {
                    best.mark_invalid(tx.sender);
                    continue;
                }
                left -= tx.tx.gas_limit();
                nonces.insert(tx.sender, tx.nonce() + 1);
                mined.insert(tx.hash);
            }
            for (sender, nonce) in &nonces {
                if let Some(account) = world.accounts.get_mut(sender) {
                    account.nonce = *nonce;
                }
            }
            world.pool.on_block(nonces);
            world.check()?;
        }
        prop_assert!(users.is_subset(&mined), "users' transactions left unmined");
    }
}
