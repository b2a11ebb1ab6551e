use alloy_consensus::Transaction;
use alloy_primitives::{Address, B256, U256};
use std::{
    collections::{BTreeMap, BTreeSet, HashMap},
    sync::Arc,
};
use tandem_execution::{intrinsic_gas, recover_sender};
use tandem_primitives::TxEnvelope;

use crate::BestTransactions;

mod evict;

/// Pool limits.
#[derive(Debug, Clone)]
pub struct Config {
    /// Transactions each sender is guaranteed room for, pending and queued together (geth's
    /// account slots). A sender may have more while the pool has room; when it is full, a sender
    /// past its slots gets no more in, and the transactions past other senders' slots are the
    /// first an executable newcomer displaces (largest sender first, as geth trims), whatever
    /// they pay.
    pub account_slots: usize,
    /// The most one sender may hold even while the pool has room: what an `add` touching one
    /// sender costs grows with what the sender holds (its chain is scanned for the overdraft and
    /// the eviction plan), so one sender cannot make every add cost the whole pool.
    pub max_per_sender: usize,
    /// How many nonces past a sender's next executable one a queued transaction may be, so also
    /// the most one sender can have queued (geth queues 64 per account).
    pub max_queued_per_sender: usize,
    /// Queued transactions in the whole pool. They cannot execute, so they never pay: this is all
    /// the room they can take from transactions that can, which always displace them.
    pub max_queued: usize,
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
            account_slots: 16,
            max_per_sender: 1_024,
            max_queued_per_sender: 64,
            max_queued: 2_048,
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
    /// Above EIP-7825's per-transaction cap (only a fault-proof challenge may use a whole block):
    /// no block could ever include it.
    #[error("transaction gas limit too high (cap: {cap}, tx: {gas})")]
    GasLimitTooHigh { cap: u64, gas: u64 },
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
    #[error("nonce too high: next nonce {expected}, tx nonce {got}, at most {limit} ahead")]
    NonceTooHigh {
        expected: u64,
        got: u64,
        limit: usize,
    },
    #[error("account limit exceeded: {limit} transactions already waiting from this sender")]
    SenderFull { limit: usize },
    #[error("txpool is full")]
    PoolFull,
    /// Not a transaction at all: the bytes do not decode.
    #[error("invalid raw transaction: {0}")]
    Decode(String),
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

/// What a transaction bids per gas, compared tip cap first, then fee cap.
type Price = (u128, u128);

impl PoolTx {
    /// `tx` from its recovered `sender`.
    pub fn new(tx: TxEnvelope, sender: Address) -> Self {
        Self {
            hash: tx.tx_hash(),
            size: tx.eip2718_encoded_length(),
            tx: Arc::new(tx),
            sender,
        }
    }

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

    fn price(&self) -> Price {
        (self.tip_cap(), self.max_fee())
    }

    /// The tip per gas it pays at `base_fee`, `None` when it cannot pay the base fee.
    pub(crate) fn effective_tip(&self, base_fee: u64) -> Option<u128> {
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
    /// The state nonce last seen; no pooled transaction is below it.
    nonce: u64,
    txs: BTreeMap<u64, PoolTx>,
    /// How many of `txs` follow `nonce` without a gap, and how many do not, as last counted.
    pending: usize,
    queued: usize,
    /// Its entry in [`Mempool::tails`]: which of them, and the key.
    tail: Option<(usize, Tail)>,
    /// Its entry in [`Mempool::crowded`], while it holds more than its slots.
    crowd: Option<usize>,
}

/// A sender's last transaction as eviction ranks it: the lowest price among all the sender's
/// transactions (the last cannot be mined before any of them), then its hash.
type Tail = (Price, B256, Address);

/// [`Mempool::tails`] index of senders whose last transaction is queued.
const QUEUED: usize = 0;
/// [`Mempool::tails`] index of senders with nothing queued.
const PENDING: usize = 1;

impl Sender {
    /// The nonce after the pooled transactions that follow `nonce` without a gap.
    fn next_nonce_from(&self, nonce: u64) -> u64 {
        let mut next = nonce;
        while next < u64::MAX && self.txs.contains_key(&next) {
            next += 1;
        }
        next
    }
}

/// What a transaction must be to enter one chain's pool, whatever the state.
#[derive(Debug, Clone)]
pub struct Rules {
    config: Config,
    chain_id: u64,
    block_gas_limit: u64,
    /// The lowest base fee the chain allows; a fee cap below it can never be mined.
    min_base_fee: u64,
}

impl Rules {
    /// The gas limit of the blocks of this chain.
    pub fn block_gas_limit(&self) -> u64 {
        self.block_gas_limit
    }

    /// Checks what needs no state: encoding, chain, gas, fee fields and signature.
    pub fn check_stateless(&self, tx: &TxEnvelope, encoded_len: usize) -> Result<Address, Error> {
        self.check_fields(tx, encoded_len)?;
        let sender = recover_sender(tx).map_err(|_| Error::InvalidSender)?;
        self.check_sent_by(tx, sender)?;
        Ok(sender)
    }

    /// [`Rules::check_stateless`] for a transaction whose sender is given, not recovered (a dev
    /// node's impersonated account).
    pub fn check_as(
        &self,
        tx: &TxEnvelope,
        encoded_len: usize,
        sender: Address,
    ) -> Result<(), Error> {
        self.check_fields(tx, encoded_len)?;
        self.check_sent_by(tx, sender)
    }

    fn check_fields(&self, tx: &TxEnvelope, encoded_len: usize) -> Result<(), Error> {
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
        Ok(())
    }

    fn check_sent_by(&self, tx: &TxEnvelope, sender: Address) -> Result<(), Error> {
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
        Ok(())
    }
}

/// The transaction pool of one chain.
#[derive(Debug)]
pub struct Mempool {
    rules: Rules,
    senders: HashMap<Address, Sender>,
    by_hash: HashMap<B256, (Address, u64)>,
    /// Encoded bytes of every pooled transaction.
    bytes: usize,
    /// Queued transactions of every sender.
    queued: usize,
    /// Every sender's last transaction, lowest rank first, apart for senders with something queued
    /// ([`QUEUED`]) and without ([`PENDING`]): what eviction takes from.
    tails: [BTreeSet<Tail>; 2],
    /// Senders holding more than their guaranteed slots, by how many they hold.
    crowded: BTreeSet<(usize, Address)>,
}

impl Mempool {
    pub fn new(config: Config, chain_id: u64, block_gas_limit: u64, min_base_fee: u64) -> Self {
        Self {
            rules: Rules {
                config,
                chain_id,
                block_gas_limit,
                min_base_fee,
            },
            senders: HashMap::new(),
            by_hash: HashMap::new(),
            bytes: 0,
            queued: 0,
            tails: Default::default(),
            crowded: BTreeSet::new(),
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
        self.senders.get(sender)?.txs.get(nonce)
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

    /// What a transaction must be whatever the state.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// Checks what needs no state: see [`Rules::check_stateless`].
    pub fn check_stateless(&self, tx: &TxEnvelope, encoded_len: usize) -> Result<Address, Error> {
        self.rules.check_stateless(tx, encoded_len)
    }

    /// Validates `tx` from `sender` against its account and adds it; when the pool is full, it
    /// evicts what the newcomer displaces (the rules are in `evict.rs`). On an error nothing
    /// changed.
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
        let pooled = self.senders.get(&sender);
        // The pool may know a newer nonce than `account` (a block it was told of), or an older one.
        let state_nonce = pooled.map_or(account.nonce, |s| s.nonce.max(account.nonce));
        if nonce < state_nonce {
            return Err(Error::NonceTooLow {
                expected: state_nonce,
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
        // The sender's transactions that stay; those below `state_nonce` are stale.
        let own: Vec<&PoolTx> = pooled
            .map(|s| s.txs.range(state_nonce..).map(|(_, t)| t).collect())
            .unwrap_or_default();
        let replaced = own.iter().find(|t| t.nonce() == nonce).copied();
        let bump = self.rules.config.price_bump_percent;
        if let Some(old) = replaced
            && (tx.max_fee_per_gas() < bumped(old.max_fee(), bump)
                || tx
                    .max_priority_fee_per_gas()
                    .unwrap_or_else(|| tx.max_fee_per_gas())
                    < bumped(old.tip_cap(), bump))
        {
            return Err(Error::ReplacementUnderpriced);
        }
        let limit = self.rules.config.max_per_sender;
        if replaced.is_none() && own.len() >= limit {
            return Err(Error::SenderFull { limit });
        }
        let next = pooled.map_or(state_nonce, |s| s.next_nonce_from(state_nonce));
        let limit = self.rules.config.max_queued_per_sender;
        if nonce > next && nonce - next > limit as u64 {
            return Err(Error::NonceTooHigh {
                expected: next,
                got: nonce,
                limit,
            });
        }
        let status = if nonce <= next {
            Status::Pending
        } else {
            Status::Queued
        };
        // Everything a sender has pooled must be payable together, as geth checks.
        let others = own
            .iter()
            .filter(|t| t.nonce() != nonce)
            .try_fold(U256::ZERO, |sum, t| sum.checked_add(max_cost(&t.tx)?));
        let total = others.and_then(|others| others.checked_add(cost));
        if total.is_none_or(|total| total > account.balance) {
            return Err(Error::Overdraft {
                balance: account.balance,
                pooled: others.unwrap_or(U256::MAX),
                cost,
            });
        }
        let new = PoolTx::new(tx, sender);
        let victims = self.victims_for(&new, state_nonce, status)?;
        if pooled.is_some_and(|s| s.nonce < state_nonce) {
            self.set_nonce(sender, state_nonce);
        }
        for (address, victim) in victims {
            if let Some(evicted) = self.take(address, victim) {
                tracing::debug!(target: "mempool", evicted = %evicted.hash, sender = %address, nonce = victim, by = %hash, "pool full, evicted a transaction");
            }
        }
        let entry = self.senders.entry(sender).or_default();
        entry.nonce = entry.nonce.max(state_nonce);
        self.bytes += new.size;
        if let Some(old) = entry.txs.insert(nonce, new) {
            self.bytes -= old.size;
            self.by_hash.remove(&old.hash);
        }
        self.by_hash.insert(hash, (sender, nonce));
        self.settle(sender);
        tracing::trace!(target: "mempool", %hash, %sender, nonce, ?status, "added transaction");
        Ok((hash, status))
    }

    /// Records senders' nonces as the state now holds them, up or down (a dev node's account
    /// edits), and drops what they made stale.
    pub fn reset_nonces(&mut self, nonces: impl IntoIterator<Item = (Address, u64)>) {
        for (sender, nonce) in nonces {
            self.set_nonce(sender, nonce);
        }
    }

    /// Drops one transaction, e.g. one that failed to execute. The sender's later ones wait for
    /// its nonce again (queued), as many as the queue limits take.
    pub fn remove(&mut self, hash: &B256) -> Option<PoolTx> {
        let (sender, nonce) = *self.by_hash.get(hash)?;
        self.take(sender, nonce)
    }

    /// After a block: records senders' new state nonces and drops what they made stale. A nonce
    /// below what the pool knows is older news (the pool may have read a newer state since, e.g.
    /// a sequencer's published open block) and changes nothing: moving back would make the
    /// sender's waiting transactions look queued behind a gap, and the queue limits would drop
    /// them.
    pub fn on_block(&mut self, nonces: impl IntoIterator<Item = (Address, u64)>) {
        for (sender, nonce) in nonces {
            if self.senders.get(&sender).is_some_and(|s| nonce > s.nonce) {
                self.set_nonce(sender, nonce);
            }
        }
    }

    /// Pending transactions that can pay `base_fee`, best tip first, each sender's in nonce order,
    /// as they are now.
    pub fn best(&self, base_fee: u64) -> BestTransactions {
        let chains = self.senders.values().map(|sender| {
            (sender.nonce..=u64::MAX)
                .map_while(|nonce| sender.txs.get(&nonce).cloned())
                .collect::<Vec<_>>()
        });
        BestTransactions::new(base_fee, chains)
    }

    /// Every pooled transaction, pending (each sender's run from its state nonce) and queued
    /// (the rest), each sender's in nonce order (`txpool_content`).
    pub fn content(&self) -> (Vec<PoolTx>, Vec<PoolTx>) {
        let (mut pending, mut queued) = (Vec::new(), Vec::new());
        for sender in self.senders.values() {
            let run = (sender.nonce..)
                .take_while(|n| sender.txs.contains_key(n))
                .count() as u64;
            for (nonce, tx) in &sender.txs {
                match *nonce < sender.nonce.saturating_add(run) {
                    true => pending.push(tx.clone()),
                    false => queued.push(tx.clone()),
                }
            }
        }
        (pending, queued)
    }

    /// Counts of pending and queued transactions.
    pub fn counts(&self) -> (usize, usize) {
        (self.len() - self.queued, self.queued)
    }

    /// Records a sender's state nonce and drops its transactions below it.
    fn set_nonce(&mut self, address: Address, nonce: u64) {
        let Some(sender) = self.senders.get_mut(&address) else {
            return;
        };
        sender.nonce = nonce;
        let live = sender.txs.split_off(&nonce);
        for (_, tx) in std::mem::replace(&mut sender.txs, live) {
            self.bytes -= tx.size;
            self.by_hash.remove(&tx.hash);
        }
        self.settle(address);
    }

    /// Removes one transaction of `address`.
    fn take(&mut self, address: Address, nonce: u64) -> Option<PoolTx> {
        let tx = self.senders.get_mut(&address)?.txs.remove(&nonce)?;
        self.bytes -= tx.size;
        self.by_hash.remove(&tx.hash);
        self.settle(address);
        Some(tx)
    }

    /// Recounts a sender after its transactions or nonce changed. When a pending transaction left
    /// and those behind it became queued, the queue limits apply to them too: what lies past the
    /// sender's window, or past the pool's queued share, is dropped from the sender's tail.
    fn settle(&mut self, address: Address) {
        let Some(sender) = self.senders.get_mut(&address) else {
            return;
        };
        let others = self.queued - sender.queued;
        let next = sender.next_nonce_from(sender.nonce);
        sender.pending = (next - sender.nonce) as usize;
        let mut dropped = Vec::new();
        if let Some(past) = next
            .checked_add(self.rules.config.max_queued_per_sender as u64)
            .and_then(|last| last.checked_add(1))
        {
            dropped.extend(sender.txs.split_off(&past).into_values());
        }
        sender.queued = sender.txs.len() - sender.pending;
        while others + sender.queued > self.rules.config.max_queued && sender.queued > 0 {
            dropped.extend(sender.txs.pop_last().map(|(_, tx)| tx));
            sender.queued -= 1;
        }
        self.queued = others + sender.queued;
        let tail = sender.txs.last_key_value().map(|(_, last)| {
            let rank = sender.txs.values().map(PoolTx::price).min();
            let class = if sender.queued > 0 { QUEUED } else { PENDING };
            (class, (rank.unwrap_or_default(), last.hash, address))
        });
        if sender.tail != tail {
            if let Some((class, old)) = sender.tail.take() {
                self.tails[class].remove(&old);
            }
            if let Some((class, new)) = tail {
                self.tails[class].insert(new);
            }
            sender.tail = tail;
        }
        let crowd = Some(sender.txs.len()).filter(|n| *n > self.rules.config.account_slots);
        if sender.crowd != crowd {
            if let Some(old) = sender.crowd.take() {
                self.crowded.remove(&(old, address));
            }
            if let Some(new) = crowd {
                self.crowded.insert((new, address));
            }
            sender.crowd = crowd;
        }
        if sender.txs.is_empty() {
            self.senders.remove(&address);
        }
        for tx in dropped {
            tracing::debug!(target: "mempool", hash = %tx.hash, sender = %address, nonce = tx.nonce(), "dropped a queued transaction past the queue limits");
            self.bytes -= tx.size;
            self.by_hash.remove(&tx.hash);
        }
    }
}

#[cfg(test)]
mod tests;
