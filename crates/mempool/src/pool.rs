use alloy_consensus::Transaction;
use alloy_primitives::{Address, B256, U256};
use std::{
    cmp::Reverse,
    collections::{BTreeMap, BinaryHeap, HashMap},
    sync::Arc,
};
use tandem_execution::{intrinsic_gas, recover_sender};
use tandem_primitives::TxEnvelope;

/// Pool limits.
#[derive(Debug, Clone)]
pub struct Config {
    /// Transactions one sender may have waiting, pending and queued together.
    pub max_per_sender: usize,
    /// Transactions in the whole pool.
    pub max_total: usize,
    /// A replacement must raise both fee caps by this many percent.
    pub price_bump_percent: u64,
    /// Largest encoded transaction accepted, in bytes. geth takes 128 KiB; tandem takes about what
    /// one 30M-gas block's calldata can carry, so a fault-proof challenge (an L2 block's witness in
    /// calldata) always gets in.
    pub max_tx_bytes: usize,
    /// Encoded bytes of all pooled transactions together: bounds memory under spam.
    pub max_total_bytes: usize,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            max_per_sender: 64,
            max_total: 8_192,
            price_bump_percent: 10,
            max_tx_bytes: 2 * 1024 * 1024,
            max_total_bytes: 64 * 1024 * 1024,
        }
    }
}

/// Why a transaction was refused. The messages are geth's, so Ethereum tooling recognises them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Error {
    #[error("already known")]
    AlreadyKnown,
    #[error("nonce too low: next nonce {expected}, tx nonce {got}")]
    NonceTooLow { expected: u64, got: u64 },
    #[error("nonce has max value")]
    NonceMax,
    #[error(
        "insufficient funds for gas * price + value: balance {balance}, tx cost {cost}, overshot {overshot}"
    )]
    InsufficientFunds {
        balance: U256,
        cost: U256,
        overshot: U256,
    },
    /// gas × fee cap must fit in 128 bits (as the EVM requires) and the cost in 256.
    #[error(
        "insufficient funds for gas * price + value: balance {balance}, tx cost overflows: gas {gas} * fee cap {max_fee} + value {value}"
    )]
    CostOverflow {
        balance: U256,
        gas: u64,
        max_fee: u128,
        value: U256,
    },
    /// The sender's pooled transactions and this one cost more together than its balance.
    #[error(
        "transaction would cause overdraft: balance {balance}, queued cost {pooled}, tx cost {cost}"
    )]
    Overdraft {
        balance: U256,
        pooled: U256,
        cost: U256,
    },
    #[error("transaction underpriced: gas tip cap {tip}, minimum needed {min}")]
    Underpriced { tip: u128, min: u128 },
    #[error("replacement transaction underpriced")]
    ReplacementUnderpriced,
    #[error("intrinsic gas too low: gas {gas}, minimum needed {needed}")]
    IntrinsicGasTooLow { gas: u64, needed: u64 },
    #[error("exceeds block gas limit")]
    GasLimitExceeded,
    #[error("invalid chain id: have {got:?}, want {expected}")]
    InvalidChainId { expected: u64, got: Option<u64> },
    #[error("only replay-protected (EIP-155) transactions allowed over RPC")]
    Unprotected,
    #[error("invalid sender")]
    InvalidSender,
    #[error("transaction type not supported")]
    TypeNotSupported,
    #[error("max priority fee per gas higher than max fee per gas")]
    TipAboveFeeCap,
    #[error("oversized data: transaction size {size}, limit {limit}")]
    Oversized { size: usize, limit: usize },
    #[error("account limit exceeded: {limit} transactions already waiting from this sender")]
    SenderFull { limit: usize },
    #[error("nonce too high: next nonce {expected}, tx nonce {got}, at most {limit} ahead")]
    NonceTooHigh {
        expected: u64,
        got: u64,
        limit: usize,
    },
    #[error("txpool is full")]
    PoolFull,
}

/// A sender's account in the state the pool validates against.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AccountState {
    pub nonce: u64,
    pub balance: U256,
}

/// A validated transaction with its recovered sender.
#[derive(Debug, Clone)]
pub struct PoolTx {
    pub tx: Arc<TxEnvelope>,
    pub sender: Address,
    pub hash: B256,
    /// Encoded size in bytes.
    pub size: usize,
}

impl PoolTx {
    pub fn nonce(&self) -> u64 {
        self.tx.nonce()
    }

    fn max_fee(&self) -> u128 {
        self.tx.max_fee_per_gas()
    }

    fn tip_cap(&self) -> u128 {
        self.tx
            .max_priority_fee_per_gas()
            .unwrap_or_else(|| self.tx.max_fee_per_gas())
    }

    /// The tip per gas it pays at `base_fee`, `None` when it cannot pay the base fee.
    fn effective_tip(&self, base_fee: u64) -> Option<u128> {
        self.tx.effective_tip_per_gas(base_fee)
    }
}

/// The most `tx` can take from its sender, gas × fee cap + value; `None` when it does not fit.
/// gas × fee cap is held to 128 bits, as the EVM (revm) holds it, so nothing the pool admits is
/// refused by the EVM for its size.
fn max_cost(tx: &TxEnvelope) -> Option<U256> {
    let gas = u128::from(tx.gas_limit()).checked_mul(tx.max_fee_per_gas())?;
    U256::from(gas).checked_add(tx.value())
}

/// `fee` raised by `percent`, rounded down, saturating instead of wrapping.
fn bumped(fee: u128, percent: u64) -> u128 {
    let percent = u128::from(percent);
    let raise = (fee / 100)
        .saturating_mul(percent)
        .saturating_add(fee % 100 * percent / 100);
    fee.saturating_add(raise)
}

/// Where an accepted transaction waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Executable now: its nonce follows the sender's without a gap.
    Pending,
    /// Waits for a missing nonce.
    Queued,
}

#[derive(Debug, Default)]
struct Sender {
    /// The state nonce last seen.
    nonce: u64,
    txs: BTreeMap<u64, PoolTx>,
}

impl Sender {
    /// The nonce after the last pending transaction.
    fn next_nonce(&self) -> u64 {
        self.next_nonce_from(self.nonce)
    }

    fn next_nonce_from(&self, nonce: u64) -> u64 {
        let mut next = nonce;
        while self.txs.contains_key(&next) {
            next += 1;
        }
        next
    }
}

/// The transaction pool of one chain.
#[derive(Debug)]
pub struct Mempool {
    config: Config,
    chain_id: u64,
    block_gas_limit: u64,
    /// The lowest base fee the chain allows; a fee cap below it can never be mined.
    min_base_fee: u64,
    senders: HashMap<Address, Sender>,
    by_hash: HashMap<B256, (Address, u64)>,
    /// Encoded bytes of every pooled transaction.
    bytes: usize,
}

impl Mempool {
    pub fn new(config: Config, chain_id: u64, block_gas_limit: u64, min_base_fee: u64) -> Self {
        Self {
            config,
            chain_id,
            block_gas_limit,
            min_base_fee,
            senders: HashMap::new(),
            by_hash: HashMap::new(),
            bytes: 0,
        }
    }

    pub fn len(&self) -> usize {
        self.by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_hash.is_empty()
    }

    pub fn get(&self, hash: &B256) -> Option<&PoolTx> {
        let (sender, nonce) = self.by_hash.get(hash)?;
        self.get_at(*sender, *nonce)
    }

    fn get_at(&self, sender: Address, nonce: u64) -> Option<&PoolTx> {
        self.senders.get(&sender)?.txs.get(&nonce)
    }

    /// Encoded bytes of every pooled transaction.
    pub fn bytes(&self) -> usize {
        self.bytes
    }

    /// The nonce a sender's next transaction should use: after its pending ones.
    pub fn next_nonce(&self, sender: Address, state_nonce: u64) -> u64 {
        match self.senders.get(&sender) {
            Some(s) => s.next_nonce_from(state_nonce.max(s.nonce)),
            None => state_nonce,
        }
    }

    /// Checks what needs no state: encoding, chain, gas, fee fields and signature.
    pub fn check_stateless(&self, tx: &TxEnvelope, encoded_len: usize) -> Result<Address, Error> {
        if encoded_len > self.config.max_tx_bytes {
            return Err(Error::Oversized {
                size: encoded_len,
                limit: self.config.max_tx_bytes,
            });
        }
        if tx.is_deposit() || tx.signature().is_none() {
            return Err(Error::TypeNotSupported);
        }
        match tx.chain_id() {
            None => return Err(Error::Unprotected),
            Some(id) if id != self.chain_id => {
                return Err(Error::InvalidChainId {
                    expected: self.chain_id,
                    got: Some(id),
                });
            }
            Some(_) => {}
        }
        if tx.gas_limit() > self.block_gas_limit {
            return Err(Error::GasLimitExceeded);
        }
        if tx
            .max_priority_fee_per_gas()
            .is_some_and(|tip| tip > tx.max_fee_per_gas())
        {
            return Err(Error::TipAboveFeeCap);
        }
        let sender = recover_sender(tx).map_err(|_| Error::InvalidSender)?;
        let needed = intrinsic_gas(tx, sender);
        if tx.gas_limit() < needed {
            return Err(Error::IntrinsicGasTooLow {
                gas: tx.gas_limit(),
                needed,
            });
        }
        if tx.max_fee_per_gas() < u128::from(self.min_base_fee) {
            return Err(Error::Underpriced {
                tip: tx.max_fee_per_gas(),
                min: u128::from(self.min_base_fee),
            });
        }
        Ok(sender)
    }

    /// Validates `tx` from `sender` against its account and adds it. On an error nothing changed.
    pub fn add(
        &mut self,
        tx: TxEnvelope,
        sender: Address,
        account: AccountState,
    ) -> Result<(B256, Status), Error> {
        let hash = tx.tx_hash();
        if self.by_hash.contains_key(&hash) {
            return Err(Error::AlreadyKnown);
        }
        let nonce = tx.nonce();
        if nonce == u64::MAX {
            return Err(Error::NonceMax);
        }
        if nonce < account.nonce {
            return Err(Error::NonceTooLow {
                expected: account.nonce,
                got: nonce,
            });
        }
        let cost = max_cost(&tx).ok_or(Error::CostOverflow {
            balance: account.balance,
            gas: tx.gas_limit(),
            max_fee: tx.max_fee_per_gas(),
            value: tx.value(),
        })?;
        if cost > account.balance {
            return Err(Error::InsufficientFunds {
                balance: account.balance,
                cost,
                overshot: cost - account.balance,
            });
        }
        let size = tx.eip2718_encoded_length();
        let new = PoolTx {
            tx: Arc::new(tx),
            sender,
            hash,
            size,
        };
        let limit = self.config.max_per_sender;
        if nonce >= account.nonce.saturating_add(limit as u64) {
            return Err(Error::NonceTooHigh {
                expected: account.nonce,
                got: nonce,
                limit,
            });
        }
        let entry = self.senders.entry(sender).or_default();
        entry.nonce = entry.nonce.max(account.nonce);
        if let Some(old) = entry.txs.get(&nonce) {
            let bump = |old: u128| bumped(old, self.config.price_bump_percent);
            if new.max_fee() < bump(old.max_fee()) || new.tip_cap() < bump(old.tip_cap()) {
                return Err(Error::ReplacementUnderpriced);
            }
        } else if entry.txs.len() >= limit {
            return Err(Error::SenderFull { limit });
        }
        // Everything a sender has pooled must be payable together, as geth checks.
        let others = entry
            .txs
            .range(account.nonce..)
            .filter(|(n, _)| **n != nonce)
            .try_fold(U256::ZERO, |sum, (_, t)| sum.checked_add(max_cost(&t.tx)?));
        let total = others.and_then(|others| others.checked_add(cost));
        if total.is_none_or(|total| total > account.balance) {
            return Err(Error::Overdraft {
                balance: account.balance,
                pooled: others.unwrap_or(U256::MAX),
                cost,
            });
        }
        let replaced = self.get_at(sender, nonce).map_or(0, |old| old.size);
        for victim in self.victims_for(&new, replaced)? {
            tracing::debug!(target: "mempool", evicted = %victim, "pool full, evicted a cheaper transaction");
            self.remove(&victim);
        }
        self.bytes += new.size;
        let entry = self.senders.entry(sender).or_default();
        if let Some(old) = entry.txs.insert(nonce, new) {
            self.bytes -= old.size;
            self.by_hash.remove(&old.hash);
        }
        self.by_hash.insert(hash, (sender, nonce));
        let entry = &self.senders[&sender];
        let status = if nonce < entry.next_nonce() {
            Status::Pending
        } else {
            Status::Queued
        };
        tracing::trace!(target: "mempool", %hash, %sender, nonce, ?status, "added transaction");
        Ok((hash, status))
    }

    /// Chooses what to evict so that `new` fits: the lowest-paying transactions that are last of
    /// their sender (so no gap opens), each paying less than `new`. Removes nothing itself, so a
    /// refusal changes nothing.
    fn victims_for(&self, new: &PoolTx, replaced: usize) -> Result<Vec<B256>, Error> {
        let mut candidates: Vec<&PoolTx> = self
            .senders
            .values()
            .filter_map(|s| s.txs.values().next_back())
            .filter(|tx| tx.sender != new.sender)
            .collect();
        candidates.sort_by_key(|tx| (tx.tip_cap(), tx.max_fee()));
        let (mut count, mut bytes) = (
            self.by_hash.len() - usize::from(replaced > 0),
            self.bytes - replaced,
        );
        let mut victims = Vec::new();
        let mut cheapest = candidates.into_iter();
        while count >= self.config.max_total || bytes + new.size > self.config.max_total_bytes {
            let Some(victim) = cheapest.next() else {
                return Err(Error::PoolFull);
            };
            if (new.tip_cap(), new.max_fee()) <= (victim.tip_cap(), victim.max_fee()) {
                return Err(Error::Underpriced {
                    tip: new.tip_cap(),
                    min: victim.tip_cap().saturating_add(1),
                });
            }
            victims.push(victim.hash);
            count -= 1;
            bytes -= victim.size;
        }
        Ok(victims)
    }

    /// Drops one transaction, e.g. one that failed to execute.
    pub fn remove(&mut self, hash: &B256) -> Option<PoolTx> {
        let (sender, nonce) = self.by_hash.remove(hash)?;
        let entry = self.senders.get_mut(&sender)?;
        let tx = entry.txs.remove(&nonce);
        if entry.txs.is_empty() {
            self.senders.remove(&sender);
        }
        if let Some(tx) = &tx {
            self.bytes -= tx.size;
        }
        tx
    }

    /// After a block: records senders' new state nonces and drops what they made stale.
    pub fn on_block(&mut self, nonces: impl IntoIterator<Item = (Address, u64)>) {
        for (sender, nonce) in nonces {
            let Some(entry) = self.senders.get_mut(&sender) else {
                continue;
            };
            entry.nonce = nonce;
            let stale: Vec<u64> = entry.txs.range(..nonce).map(|(n, _)| *n).collect();
            for n in stale {
                if let Some(tx) = entry.txs.remove(&n) {
                    self.bytes -= tx.size;
                    self.by_hash.remove(&tx.hash);
                }
            }
            if entry.txs.is_empty() {
                self.senders.remove(&sender);
            }
        }
    }

    /// Pending transactions that can pay `base_fee`, best tip first, each sender's in nonce order.
    pub fn best(&self, base_fee: u64) -> Vec<PoolTx> {
        let mut heads: BinaryHeap<(u128, Reverse<B256>, Address, u64)> = BinaryHeap::new();
        let push = |heads: &mut BinaryHeap<_>, sender: &Sender, nonce: u64| {
            if let Some(tx) = sender.txs.get(&nonce)
                && let Some(tip) = tx.effective_tip(base_fee)
            {
                heads.push((tip, Reverse(tx.hash), tx.sender, nonce));
            }
        };
        for sender in self.senders.values() {
            push(&mut heads, sender, sender.nonce);
        }
        let mut out = Vec::new();
        while let Some((_, _, address, nonce)) = heads.pop() {
            let sender = &self.senders[&address];
            out.push(sender.txs[&nonce].clone());
            push(&mut heads, sender, nonce + 1);
        }
        out
    }

    /// Counts of pending and queued transactions.
    pub fn counts(&self) -> (usize, usize) {
        let pending: usize = self
            .senders
            .values()
            .map(|s| (s.next_nonce() - s.nonce) as usize)
            .sum();
        (pending, self.len() - pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{TxEip1559, TxLegacy};
    use alloy_primitives::TxKind;
    use tandem_primitives::dev;

    const GWEI: u128 = 1_000_000_000;

    fn pool() -> Mempool {
        Mempool::new(
            Config {
                max_per_sender: 4,
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
            .iter()
            .map(|t| (t.sender, t.nonce()))
            .collect();
        assert_eq!(order, vec![(b, 0), (a, 0), (a, 1)]);
        assert!(
            pool.best(20 * GWEI as u64).is_empty(),
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
            pool.best(1).iter().all(|t| t.sender != cheapest),
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
                .into_iter()
                .map(|t| (t.sender, t.nonce() + 1))
                .collect::<Vec<_>>(),
        );
        assert_eq!(
            pool.bytes(),
            pool.best(0).iter().map(|t| t.size).sum::<usize>()
        );
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
        assert_eq!(pool.best(0).len(), 1);
    }

    #[test]
    fn per_sender_limit_holds() {
        let mut pool = pool();
        for nonce in 0..4 {
            let (t, a) = tx(0, nonce, 10 * GWEI, GWEI);
            pool.add(t, a, rich()).unwrap();
        }
        let (t, a) = tx(0, 4, 10 * GWEI, GWEI);
        assert!(matches!(
            pool.add(t, a, rich()),
            Err(Error::NonceTooHigh { .. })
        ));
    }
}
