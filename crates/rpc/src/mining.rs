//! Mining like anvil: one node, no consensus, a block from the pool on each transaction or every
//! interval. The dev node runs it, and tests that need an L1 of their own.
use crate::{Backend, NewBlock};
use std::{sync::Arc, time::Duration};
use tandem_execution::{BlockAttributes, Error as ExecError, Executor};
use tandem_mempool::{Candidates, Fill};
use tandem_primitives::{Address, B256, Clock};
use tandem_state::LatestState;
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

/// Mines as `mining` says until `stop` turns true; block timestamps come from `clock`.
pub async fn run(
    backend: Backend,
    mining: Mining,
    beneficiary: Address,
    clock: Arc<dyn Clock>,
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
        let (backend2, timestamp) = (backend.clone(), clock.unix_seconds());
        let mined = tokio::task::spawn_blocking(move || {
            mine_block(&backend2, beneficiary, timestamp, allow_empty)
        })
        .await;
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
    let base_fee = executor.header().base_fee_per_gas.unwrap_or_default();
    let mut candidates =
        tandem_mempool::disputes_first(backend.pool.best(base_fee), backend.chain.layer);
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
    if included == 0 && !allow_empty {
        drop_invalid(backend, &invalid);
        return Ok(None);
    }
    let executed = executor.finish()?;
    drop(reader);
    let commit = executed.into_commit();
    commit_produced(backend, &commit)?;
    drop_invalid(backend, &invalid);
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
