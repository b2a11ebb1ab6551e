//! The Portal's queue as L1 holds it: deposits and forced transactions, read from the Portal's
//! events in finalized L1 blocks. The sequencer and derivation both take an L2 block's due
//! entries from here, so they include the same ones.
use crate::{
    Result,
    service::{Pace, Service},
};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256};
use alloy_rpc_types_eth::{Filter, Log};
use alloy_sol_types::SolEvent;
use parking_lot::Mutex;
use std::{sync::Arc, time::Duration};
use tandem_client::{ClientError, L1, logs::LogWalk};
use tandem_execution::{
    l2::{L1Origin, QueuedTx, queue_offer},
    system::IPortal,
};
use tandem_primitives::protocol::{deposit_transaction, next_queue_hash};
use tandem_primitives::{StoredTx, TxEnvelope, system::PORTAL};
use tokio::sync::watch;

/// The queue read so far.
#[derive(Debug, Clone)]
pub struct PortalQueue {
    /// Entries not yet known to be included, from index `offset` on: what an L2 block may still
    /// take. Included ones are pruned, so memory follows the backlog, not the queue's history.
    entries: std::collections::VecDeque<QueuedTx>,
    offset: u64,
    /// The queue hash after the last entry read.
    last_hash: B256,
    /// The L1 block of the last entry read: where a gap found later is read again from.
    last_block: u64,
    /// The Portal's logs, read up to where this walk stands.
    walk: LogWalk,
}

impl PortalQueue {
    /// A queue of the given entries, as if L1 blocks up to `read_to` had been read (for tests and
    /// tools that get the entries another way). Entries must be in index order from 0.
    pub fn from_entries(entries: Vec<QueuedTx>, read_to: u64) -> Self {
        let mut hash = B256::ZERO;
        for entry in &entries {
            hash = next_queue_hash(hash, entry.tx.tx.tx_hash());
        }
        Self {
            last_block: entries.last().map_or(0, |e| e.l1_block),
            entries: entries.into(),
            offset: 0,
            last_hash: hash,
            walk: portal_logs(read_to + 1),
        }
    }

    /// Whether every entry queued up to L1 block `number` has been read.
    pub fn covers(&self, number: u64) -> bool {
        self.walk.next_block() > number
    }

    /// Entries read so far.
    pub fn len(&self) -> u64 {
        self.offset + self.entries.len() as u64
    }

    /// The lowest index still kept (entries below it were pruned).
    pub fn first(&self) -> u64 {
        self.offset
    }

    /// Forgets the entries below `index` (the L2 chain has included them).
    pub fn prune_below(&mut self, index: u64) {
        while self.offset < index && self.entries.pop_front().is_some() {
            self.offset += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, index: u64) -> Option<&QueuedTx> {
        self.entries
            .get(usize::try_from(index.checked_sub(self.offset)?).ok()?)
    }

    /// The entries from `from` on that an L2 block is offered ([`queue_offer`]): how many it
    /// takes, and which are due at its origin, the state transition decides.
    pub fn offer(&self, from: u64) -> Vec<QueuedTx> {
        let start = usize::try_from(from.saturating_sub(self.offset))
            .unwrap_or(usize::MAX)
            .min(self.entries.len());
        queue_offer(self.entries.range(start..), from)
    }

    /// Reads the Portal's events up to L1 block `to` (finalized). A window of blocks is taken
    /// whole or not at all: one that fails part way is read again from its start, and entries
    /// read before are passed over. An entry past the next one means an earlier answer left one
    /// out: the walk goes back to the last entry's block and fails this round.
    pub async fn sync(&mut self, l1: &impl L1, to: u64) -> Result<()> {
        while let Some(window) = self.walk.next(l1, to).await? {
            let (mut next, mut hash, mut last_block) =
                (self.len(), self.last_hash, self.last_block);
            let mut read = Vec::with_capacity(window.logs.len());
            for log in &window.logs {
                let entry = match read_entry(log, next, hash) {
                    Ok(Some(entry)) => entry,
                    Ok(None) => continue,
                    Err(e) => {
                        self.walk.rewind(self.last_block);
                        return Err(e);
                    }
                };
                (next, hash, last_block) = (next + 1, entry.1, entry.0.l1_block);
                read.push(entry.0);
            }
            self.entries.extend(read);
            (self.last_hash, self.last_block) = (hash, last_block);
            self.walk.done(&window);
        }
        Ok(())
    }
}

/// The entry one Portal log announces, checked to be entry `index` and to extend the queue
/// hash `previous`, with the queue hash after it; `None` for an entry before `index` (read
/// already).
fn read_entry(log: &Log, index: u64, previous: B256) -> Result<Option<(QueuedTx, B256)>> {
    let l1_block = log
        .block_number
        .ok_or_else(|| ClientError::Unexpected("Portal log without a block number".into()))?;
    let (tx, got, queue_hash) = parse(log).ok_or_else(|| {
        ClientError::Unexpected(format!("unreadable Portal log in L1 block {l1_block}"))
    })?;
    if got < index {
        return Ok(None);
    }
    if got > index {
        return Err(ClientError::Unexpected(format!(
            "Portal queue entry {got} read where {index} is next: an entry is missing"
        ))
        .into());
    }
    if next_queue_hash(previous, tx.tx.tx_hash()) != queue_hash {
        return Err(ClientError::Unexpected(format!(
            "Portal queue entry {index}: its hash does not extend the queue"
        ))
        .into());
    }
    Ok(Some((
        QueuedTx {
            index,
            l1_block,
            tx,
        },
        queue_hash,
    )))
}

/// Polls L1 for its newest finalized block, and publishes it (to the sequencer) once the Portal's
/// queue is read up to it.
pub struct OriginTracker<L> {
    l1: L,
    origin: watch::Sender<L1Origin>,
    queue: Arc<Mutex<PortalQueue>>,
    /// A copy of the queue being read further, kept when a read fails part way.
    reading: Option<PortalQueue>,
    status: Arc<Mutex<()>>,
}

impl<L: L1> OriginTracker<L> {
    pub fn new(l1: L, origin: watch::Sender<L1Origin>, queue: Arc<Mutex<PortalQueue>>) -> Self {
        Self {
            l1,
            origin,
            queue,
            reading: None,
            status: Arc::default(),
        }
    }
}

impl<L: L1> Service for OriginTracker<L> {
    type Status = ();
    const NAME: &'static str = "origin tracker";

    fn poll(&self) -> Duration {
        Duration::from_millis(250)
    }

    fn status(&self) -> &Arc<Mutex<()>> {
        &self.status
    }

    async fn round(&mut self) -> Result<Pace> {
        let latest = self.l1.finalized().await?;
        // Copy the queue only when there is something to read (the sync awaits L1), and keep what
        // the sequencer pruned meanwhile.
        let covered = self.queue.lock().covers(latest.number);
        if !covered {
            // A read that failed part way goes on where it stopped.
            let mut read = match self.reading.take() {
                Some(read) => read,
                None => self.queue.lock().clone(),
            };
            if let Err(e) = read.sync(&self.l1, latest.number).await {
                self.reading = Some(read);
                return Err(e);
            }
            let mut current = self.queue.lock();
            read.prune_below(current.first());
            *current = read;
        }
        self.origin.send_if_modified(|current| {
            let newer = latest.number > current.number;
            if newer {
                *current = latest;
            }
            newer
        });
        Ok(Pace::Wait)
    }
}

impl Default for PortalQueue {
    fn default() -> Self {
        Self {
            entries: Default::default(),
            offset: 0,
            last_hash: B256::ZERO,
            last_block: 0,
            walk: portal_logs(0),
        }
    }
}

/// The walk over the Portal's queue events from L1 block `from` on.
fn portal_logs(from: u64) -> LogWalk {
    let filter = Filter::new().address(PORTAL).event_signature(vec![
        IPortal::TransactionDeposited::SIGNATURE_HASH,
        IPortal::TransactionForced::SIGNATURE_HASH,
    ]);
    LogWalk::new(filter, from)
}

/// One Portal event as an L2 transaction, its queue index and the queue hash after it.
fn parse(log: &Log) -> Option<(StoredTx, u64, B256)> {
    let topic = *log.topic0()?;
    if topic == IPortal::TransactionDeposited::SIGNATURE_HASH {
        let e = IPortal::TransactionDeposited::decode_log_data(log.data()).ok()?;
        let deposit =
            deposit_transaction(e.index, e.from, e.to, e.mint, e.value, e.gasLimit, e.data);
        let tx = TxEnvelope::Deposit(alloy_primitives::Sealed::new(deposit));
        Some((StoredTx { sender: e.from, tx }, e.index, e.queueHash))
    } else if topic == IPortal::TransactionForced::SIGNATURE_HASH {
        let e = IPortal::TransactionForced::decode_log_data(log.data()).ok()?;
        let tx = TxEnvelope::decode_2718_exact(e.transaction.as_ref()).ok()?;
        let sender: Address = e.sender;
        Some((StoredTx { sender, tx }, e.index, e.queueHash))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::{Address, Bytes, Sealed, U256};

    fn entry(index: u64, l1_block: u64) -> QueuedTx {
        let deposit = deposit_transaction(
            index,
            Address::ZERO,
            Address::ZERO,
            U256::ZERO,
            U256::ZERO,
            21_000,
            Bytes::new(),
        );
        QueuedTx {
            index,
            l1_block,
            tx: StoredTx {
                sender: Address::ZERO,
                tx: TxEnvelope::Deposit(Sealed::new(deposit)),
            },
        }
    }

    #[test]
    fn pruning_keeps_indexes_and_what_is_still_due() {
        let mut queue = PortalQueue::from_entries((0..10).map(|i| entry(i, i / 2)).collect(), 9);
        queue.prune_below(6);
        assert_eq!(queue.len(), 10);
        assert!(queue.get(5).is_none());
        assert_eq!(queue.get(6).map(|e| e.index), Some(6));
        let offered: Vec<u64> = queue.offer(6).iter().map(|e| e.index).collect();
        assert_eq!(offered, vec![6, 7, 8, 9]);
        // Pruning never goes backwards or past the end.
        queue.prune_below(3);
        queue.prune_below(50);
        assert_eq!(queue.len(), 10);
        assert!(queue.offer(10).is_empty());
    }
}
