//! Dev mode: one node, no consensus, mining like anvil.
use crate::Result;
use std::{collections::HashSet, sync::Arc, time::Duration};
use tandem_execution::{BlockAttributes, Error as ExecError, Executor};
use tandem_primitives::{Address, B256};
use tandem_rpc::{Backend, NewBlock};
use tandem_state::LatestState;
use tokio::sync::watch;

/// When the dev node mines.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mining {
    /// A block as soon as transactions arrive, holding all that are pending.
    Instant,
    /// A block every interval, empty or not.
    Interval(Duration),
}

fn now_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or_default()
}

pub(crate) async fn run(
    backend: Backend,
    mining: Mining,
    beneficiary: Address,
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
            _ = backend.tx_added.notified(), if tick.is_none() => false,
            _ = async { tick.as_mut().expect("interval mining").tick().await }, if tick.is_some() => true,
        };
        let backend2 = backend.clone();
        let mined = tokio::task::spawn_blocking(move || {
            mine_block(&backend2, beneficiary, now_seconds(), allow_empty)
        })
        .await;
        match mined {
            Ok(Ok(_)) => {}
            Ok(Err(e)) => tracing::error!(target: "node::miner", error = %e, "mining failed"),
            Err(e) => tracing::error!(target: "node::miner", error = %e, "miner task failed"),
        }
        // In instant mode, pick up what arrived while mining.
        if tick.is_none() && !backend.pool.lock().best(0).is_empty() {
            backend.tx_added.notify_one();
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
    let candidates =
        tandem_mempool::disputes_first(backend.pool.lock().best(base_fee), backend.chain.layer);
    let (mut skipped, mut invalid) = (HashSet::new(), Vec::new());
    let mut included = 0usize;
    for tx in candidates {
        if skipped.contains(&tx.sender) {
            continue;
        }
        match executor.execute((*tx.tx).clone(), tx.sender) {
            Ok(_) => included += 1,
            Err(ExecError::InvalidTx { hash, reason }) => {
                tracing::debug!(target: "node::miner", %hash, reason, "dropping invalid transaction");
                invalid.push(hash);
                skipped.insert(tx.sender);
            }
            Err(ExecError::BlockFull { .. }) => {
                skipped.insert(tx.sender);
            }
            Err(e) => return Err(e.into()),
        }
    }
    if included == 0 && !allow_empty {
        drop_invalid(backend, &invalid);
        return Ok(None);
    }
    let executed = executor.finish()?;
    drop(reader);
    let commit = executed.into_commit();
    backend.storage.commit(&commit)?;
    settle_pool(backend, &commit.block)?;
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

/// After a block commits: tells the pool its senders' new nonces, which drops what they included.
pub fn settle_pool(backend: &Backend, block: &tandem_primitives::SealedBlock) -> Result<()> {
    let senders: HashSet<Address> = block.block.transactions.iter().map(|t| t.sender).collect();
    let reader = backend.storage.read()?;
    let nonces = senders
        .into_iter()
        .map(|s| Ok((s, reader.account(s)?.map(|a| a.nonce).unwrap_or_default())))
        .collect::<Result<Vec<_>>>()?;
    backend.pool.lock().on_block(nonces);
    Ok(())
}

fn drop_invalid(backend: &Backend, invalid: &[B256]) {
    let mut pool = backend.pool.lock();
    for hash in invalid {
        pool.remove(hash);
    }
}
