//! Mining like anvil: one node, no consensus, a block from the pool on each transaction or every
//! interval. The dev node runs it, and tests that need an L1 of their own.
use crate::{Backend, NewBlock};
use std::{sync::Arc, time::Duration};
use tandem_execution::{AccountEdit, BlockAttributes, Error as ExecError, Executor};
use tandem_mempool::{Candidates, Fill};
use tandem_primitives::{Address, B256};
use tandem_state::{LatestState, StateReader};
use tandem_storage::BlockCommit;
use tokio::sync::watch;

/// When the dev node mines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mining {
    /// A block as soon as transactions arrive, holding all that are pending.
    Instant,
    /// A block every interval, empty or not.
    Interval(Duration),
}

/// Why a block could not be mined.
#[derive(Debug, thiserror::Error)]
pub enum MineError {
    #[error(transparent)]
    Storage(#[from] tandem_storage::Error),
    #[error(transparent)]
    Execution(#[from] tandem_execution::Error),
}

type Result<T, E = MineError> = std::result::Result<T, E>;

/// Mines as `mining` says until `stop` turns true, through `control` (the clock its blocks read,
/// whether it mines on each transaction, one block at a time with blocks mined on request).
pub async fn run(
    backend: Backend,
    mining: Mining,
    control: Arc<DevControl>,
    mut stop: watch::Receiver<bool>,
) {
    let mut tick = match mining {
        Mining::Interval(every) => Some(tokio::time::interval_at(
            tokio::time::Instant::now() + every,
            every,
        )),
        Mining::Instant => None,
    };
    loop {
        let allow_empty = tokio::select! {
            _ = stop.changed() => return,
            _ = backend.pool.added().notified(), if tick.is_none() => false,
            _ = async { tick.as_mut().expect("interval mining").tick().await }, if tick.is_some() => true,
        };
        if tick.is_none() && !control.automine() {
            // `evm_setAutomine(false)`: transactions wait for `evm_mine`.
            continue;
        }
        let (backend2, control2) = (backend.clone(), control.clone());
        let mined =
            tokio::task::spawn_blocking(move || control2.mine(&backend2, allow_empty)).await;
        let included = match mined {
            Ok(Ok(block)) => block.is_some(),
            Ok(Err(e)) => {
                tracing::error!(target: "node::miner", error = %e, "mining failed");
                false
            }
            Err(e) => {
                tracing::error!(target: "node::miner", error = %e, "miner task failed");
                false
            }
        };
        // In instant mode, a block that took something may have left more than a block's worth:
        // go on. (What arrives while mining wakes the miner itself; a pool of transactions no
        // block takes must not spin it.)
        if tick.is_none() && included && backend.pool.best(0).next().is_some() {
            backend.pool.added().notify_one();
        }
    }
}

/// Builds, commits and announces one block from the pool. Returns `None` when there was nothing
/// to mine and `allow_empty` is false.
pub fn mine_block(
    backend: &Backend,
    beneficiary: Address,
    timestamp: u64,
    allow_empty: bool,
) -> Result<Option<Arc<NewBlock>>> {
    mine_block_with(backend, beneficiary, timestamp, allow_empty, &[])
}

/// [`mine_block`], or, when `edits` has any, a block of the dev node's account edits alone
/// (written before any transaction would be, so its state root covers them), with nothing from
/// the pool.
fn mine_block_with(
    backend: &Backend,
    beneficiary: Address,
    timestamp: u64,
    allow_empty: bool,
    edits: &[(Address, AccountEdit)],
) -> Result<Option<Arc<NewBlock>>> {
    let reader = backend.storage.read()?;
    let last = reader.last_height().unwrap_or_default();
    let parent = reader.header(last)?.ok_or(tandem_storage::Error::Corrupt {
        table: "headers",
        reason: format!("block {last} missing"),
    })?;
    let attrs = BlockAttributes {
        timestamp,
        beneficiary,
        prev_randao: B256::ZERO,
    };
    let mut executor = Executor::new(
        &reader,
        LatestState(&reader),
        &backend.chain,
        &parent,
        &attrs,
    );
    for (address, edit) in edits {
        executor.edit_account(*address, edit)?;
    }
    let base_fee = executor.header().base_fee_per_gas.unwrap_or_default();
    let mut candidates = match edits.is_empty() {
        true => tandem_mempool::disputes_first(backend.pool.best(base_fee), backend.chain.layer),
        false => tandem_mempool::BestTransactions::empty(),
    };
    let mut invalid = Vec::new();
    let included = candidates.fill(|tx| match executor.execute((*tx.tx).clone(), tx.sender) {
        Ok(_) => Ok(Fill::Included),
        Err(ExecError::InvalidTx { hash, reason }) => {
            tracing::debug!(target: "node::miner", %hash, reason, "dropping invalid transaction");
            invalid.push(hash);
            Ok(Fill::Refused)
        }
        Err(ExecError::BlockFull { .. }) => Ok(Fill::Refused),
        Err(e) => Err(e),
    })?;
    if included == 0 && edits.is_empty() && !allow_empty {
        drop_invalid(backend, &invalid);
        return Ok(None);
    }
    let executed = executor.finish()?;
    drop(reader);
    let commit = executed.into_commit();
    commit_produced(backend, &commit)?;
    drop_invalid(backend, &invalid);
    if !edits.is_empty() {
        // Nonces or balances moved under the pool: it reads them again.
        let reader = backend.storage.read()?;
        let state = LatestState(&reader);
        let nonces = edits
            .iter()
            .map(|(a, _)| Ok((*a, state.account(*a)?.map(|a| a.nonce).unwrap_or_default())))
            .collect::<tandem_state::Result<Vec<_>>>()
            .map_err(ExecError::State)?;
        backend.pool.lock().reset_nonces(nonces);
    }
    let header = commit.block.header();
    tracing::info!(
        target: "node::miner",
        number = header.number,
        hash = %commit.block.hash,
        txs = commit.block.block.transactions.len(),
        gas_used = header.gas_used,
        base_fee = header.base_fee_per_gas.unwrap_or_default(),
        "mined block"
    );
    let new = Arc::new(NewBlock {
        block: commit.block,
        receipts: commit.receipts,
    });
    backend.announce(new.clone());
    Ok(Some(new))
}

/// Commits a block this node produced, durably, then lets the pool drop what it included: what
/// every block producer but consensus (which commits finalized blocks itself) does with its block.
pub fn commit_produced(backend: &Backend, commit: &BlockCommit) -> Result<()> {
    backend.storage.commit(commit)?;
    let reader = backend.storage.read()?;
    backend
        .pool
        .settle(&commit.block.block, &LatestState(&reader))
        .map_err(ExecError::State)?;
    Ok(())
}

fn drop_invalid(backend: &Backend, invalid: &[B256]) {
    let mut pool = backend.pool.lock();
    for hash in invalid {
        pool.remove(hash);
    }
}

/// The latest timestamp a dev chain's blocks may have (about the year 36,800): far enough for any
/// test, and no arithmetic on it overflows.
pub const MAX_TIMESTAMP: u64 = 1 << 40;

/// What a dev node's miner does, as anvil's and Hardhat's dev methods set it: whether it mines on
/// each transaction, the clock its blocks read (moved by `evm_increaseTime`, or set for the next
/// block by `evm_setNextBlockTimestamp`), and one lock so a block mined on request and one the
/// miner mines never race.
pub struct DevControl {
    pub beneficiary: tandem_primitives::Address,
    clock: std::sync::Arc<dyn tandem_primitives::Clock>,
    automine: std::sync::atomic::AtomicBool,
    offset: std::sync::atomic::AtomicI64,
    next: parking_lot::Mutex<Option<u64>>,
    mining: parking_lot::Mutex<()>,
    /// `evm_snapshot`s not reverted to yet, oldest first, with their ids.
    snapshots: parking_lot::Mutex<Vec<(u64, Snapshot)>>,
    next_snapshot: std::sync::atomic::AtomicU64,
    /// Accounts `eth_sendTransaction` sends from without their key (`anvil_impersonateAccount`).
    impersonated: parking_lot::Mutex<std::collections::HashSet<Address>>,
    /// Every account is (`anvil_autoImpersonateAccount`).
    impersonate_all: std::sync::atomic::AtomicBool,
    /// The chain's genesis, which `anvil_reset` starts over from.
    genesis: Option<tandem_primitives::Genesis>,
}

/// What `evm_revert` puts back: the whole database (blocks, receipts, state), the pool's
/// transactions and the miner's clock.
struct Snapshot {
    storage: tandem_storage::Savepoint,
    pool: Vec<(tandem_primitives::TxEnvelope, Address)>,
    offset: i64,
    next: Option<u64>,
}

/// The most snapshots a dev node holds at once (each keeps the pages later blocks free).
pub const MAX_SNAPSHOTS: usize = 1_024;

impl std::fmt::Debug for DevControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DevControl")
            .field("automine", &self.automine())
            .field("offset", &self.offset())
            .finish_non_exhaustive()
    }
}

impl DevControl {
    pub fn new(
        beneficiary: tandem_primitives::Address,
        clock: std::sync::Arc<dyn tandem_primitives::Clock>,
        automine: bool,
    ) -> Self {
        Self {
            beneficiary,
            clock,
            automine: automine.into(),
            offset: 0.into(),
            next: Default::default(),
            mining: Default::default(),
            snapshots: Default::default(),
            next_snapshot: Default::default(),
            impersonated: Default::default(),
            impersonate_all: Default::default(),
            genesis: None,
        }
    }

    /// Lets `anvil_reset` start the chain over from `genesis`.
    pub fn with_genesis(mut self, genesis: tandem_primitives::Genesis) -> Self {
        self.genesis = Some(genesis);
        self
    }

    /// Starts the chain over from its genesis: every block, the pool, the snapshots and the
    /// clock's offset are gone. False if this node cannot (it was not given its genesis).
    pub fn reset(&self, backend: &Backend) -> std::result::Result<bool, MineError> {
        let Some(genesis) = &self.genesis else {
            return Ok(false);
        };
        let _one_at_a_time = self.mining.lock();
        self.snapshots.lock().clear();
        backend.storage.clear()?;
        let first = tandem_execution::genesis_block(&backend.storage.read()?, genesis)?;
        backend.storage.commit(&first.into_commit())?;
        let mut pool = backend.pool.lock();
        let (pending, queued) = pool.content();
        for tx in pending.into_iter().chain(queued) {
            pool.remove(&tx.hash);
        }
        drop(pool);
        self.offset.store(0, std::sync::atomic::Ordering::SeqCst);
        *self.next.lock() = None;
        Ok(true)
    }

    /// Lets `eth_sendTransaction` send from `address` without its key, or stops it.
    pub fn impersonate(&self, address: Address, on: bool) {
        let mut impersonated = self.impersonated.lock();
        match on {
            true => impersonated.insert(address),
            false => impersonated.remove(&address),
        };
    }

    /// Lets `eth_sendTransaction` send from any account, or stops it.
    pub fn impersonate_all(&self, on: bool) {
        self.impersonate_all
            .store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// Whether `eth_sendTransaction` may send from `address` without its key.
    pub fn impersonates(&self, address: Address) -> bool {
        self.impersonate_all
            .load(std::sync::atomic::Ordering::SeqCst)
            || self.impersonated.lock().contains(&address)
    }

    /// Writes `edits` into the state in a block of their own, mined now (tandem commits state
    /// only with a block, so each edit is one block where anvil changes the state in place).
    pub fn edit(
        &self,
        backend: &Backend,
        edits: &[(Address, AccountEdit)],
    ) -> std::result::Result<(), MineError> {
        let _one_at_a_time = self.mining.lock();
        let timestamp = self.timestamp(*self.next.lock());
        mine_block_with(backend, self.beneficiary, timestamp, true, edits)?;
        Ok(())
    }

    /// Records the chain, the pool and the clock as they are; the id to revert to.
    pub fn snapshot(&self, backend: &Backend) -> std::result::Result<u64, MineError> {
        let _one_at_a_time = self.mining.lock();
        let mut snapshots = self.snapshots.lock();
        if snapshots.len() >= MAX_SNAPSHOTS {
            // The oldest goes, as a bounded history would lose it.
            snapshots.remove(0);
        }
        let (pending, queued) = backend.pool.lock().content();
        let snapshot = Snapshot {
            storage: backend.storage.savepoint()?,
            pool: pending
                .into_iter()
                .chain(queued)
                .map(|t| ((*t.tx).clone(), t.sender))
                .collect(),
            offset: self.offset(),
            next: *self.next.lock(),
        };
        let id = self
            .next_snapshot
            .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        snapshots.push((id, snapshot));
        Ok(id)
    }

    /// Puts back the chain, the pool and the clock as snapshot `id` found them, and forgets it
    /// and every later snapshot. False if there is no such snapshot.
    pub fn revert(&self, backend: &Backend, id: u64) -> std::result::Result<bool, MineError> {
        let _one_at_a_time = self.mining.lock();
        let mut snapshots = self.snapshots.lock();
        let Some(at) = snapshots.iter().position(|(i, _)| *i == id) else {
            return Ok(false);
        };
        let (_, snapshot) = snapshots.split_off(at).swap_remove(0);
        backend.storage.restore(&snapshot.storage)?;
        let reader = backend.storage.read()?;
        let mut pool = backend.pool.lock();
        let (pending, queued) = pool.content();
        for tx in pending.into_iter().chain(queued) {
            pool.remove(&tx.hash);
        }
        for (tx, sender) in snapshot.pool {
            let account = tandem_mempool::account_in(&LatestState(&reader), sender)
                .map_err(ExecError::State)?;
            // What the pool took then it takes again (the state is the same).
            let _ = pool.add(tx, sender, account);
        }
        drop(pool);
        self.offset
            .store(snapshot.offset, std::sync::atomic::Ordering::SeqCst);
        *self.next.lock() = snapshot.next;
        // What the pool holds again is mined as if it had just arrived.
        backend.pool.added().notify_one();
        Ok(true)
    }

    /// The next block's timestamp: `set`, else the moved clock.
    fn timestamp(&self, set: Option<u64>) -> u64 {
        let now = i128::from(self.clock.unix_seconds());
        match set {
            Some(timestamp) => timestamp,
            None => (now + i128::from(self.offset())).clamp(0, i128::from(MAX_TIMESTAMP)) as u64,
        }
    }

    pub fn automine(&self) -> bool {
        self.automine.load(std::sync::atomic::Ordering::SeqCst)
    }

    pub fn set_automine(&self, on: bool) {
        self.automine.store(on, std::sync::atomic::Ordering::SeqCst)
    }

    /// Seconds the clock is moved forward.
    pub fn offset(&self) -> i64 {
        self.offset.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Moves the clock `seconds` forward; the offset now.
    pub fn increase_time(&self, seconds: i64) -> i64 {
        let add = |o: i64| Some(o.saturating_add(seconds));
        let ordering = std::sync::atomic::Ordering::SeqCst;
        let before = self
            .offset
            .fetch_update(ordering, ordering, add)
            .unwrap_or_default();
        before.saturating_add(seconds)
    }

    /// The next block's timestamp, whatever the clock says.
    pub fn set_next_timestamp(&self, timestamp: u64) {
        *self.next.lock() = Some(timestamp);
    }

    /// Mines one block from the pool (empty or not, if `allow_empty`), at the next timestamp:
    /// the one set for it, else the moved clock; never before the newest block's.
    pub fn mine(
        &self,
        backend: &Backend,
        allow_empty: bool,
    ) -> std::result::Result<Option<Arc<NewBlock>>, MineError> {
        let _one_at_a_time = self.mining.lock();
        let set = *self.next.lock();
        let now = i128::from(self.clock.unix_seconds());
        let timestamp = self.timestamp(set);
        let mined = mine_block(backend, self.beneficiary, timestamp, allow_empty)?;
        if mined.is_some() && set.is_some() {
            // The set timestamp is spent (unless another came meanwhile); the clock goes on from
            // it, as anvil's does.
            let mut next = self.next.lock();
            if *next == set {
                *next = None;
            }
            let offset =
                (i128::from(timestamp) - now).clamp(i128::from(i64::MIN), i128::from(i64::MAX));
            self.offset
                .store(offset as i64, std::sync::atomic::Ordering::SeqCst);
        }
        Ok(mined)
    }
}
