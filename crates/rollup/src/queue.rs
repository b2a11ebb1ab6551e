//! The Portal's queue as L1 holds it: deposits and forced transactions, read from the Portal's
//! events in finalized L1 blocks. The sequencer and derivation both take an L2 block's due
//! entries from here, so they include the same ones.
use crate::{
    Error, Result,
    l1::{L1Client, L1Error},
};
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256};
use alloy_rpc_types_eth::{Filter, Log};
use alloy_sol_types::SolEvent;
use tandem_execution::{
    l2::{QueuedTx, queue_offer},
    system::IPortal,
};
use tandem_primitives::protocol::{deposit_transaction, next_queue_hash};
use tandem_primitives::{StoredTx, TxEnvelope, system::PORTAL};

/// L1 blocks one log query covers.
const LOG_WINDOW: u64 = 2_000;

/// The queue read so far.
#[derive(Debug, Default, Clone)]
pub struct PortalQueue {
    /// Entries not yet known to be included, from index `offset` on: what an L2 block may still
    /// take. Included ones are pruned, so memory follows the backlog, not the queue's history.
    entries: std::collections::VecDeque<QueuedTx>,
    offset: u64,
    /// The queue hash after the last entry read.
    last_hash: B256,
    /// The next L1 block to read.
    next_l1_block: u64,
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
            entries: entries.into(),
            offset: 0,
            last_hash: hash,
            next_l1_block: read_to + 1,
        }
    }

    /// Whether every entry queued up to L1 block `number` has been read.
    pub fn covers(&self, number: u64) -> bool {
        self.next_l1_block > number
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

    /// Reads the Portal's events up to L1 block `to` (finalized).
    pub async fn sync(&mut self, l1: &L1Client, to: u64) -> Result<()> {
        while self.next_l1_block <= to {
            let end = to.min(self.next_l1_block + LOG_WINDOW - 1);
            let filter = Filter::new()
                .address(PORTAL)
                .event_signature(vec![
                    IPortal::TransactionDeposited::SIGNATURE_HASH,
                    IPortal::TransactionForced::SIGNATURE_HASH,
                ])
                .from_block(self.next_l1_block)
                .to_block(end);
            for log in l1.logs(&filter).await? {
                self.push(&log)?;
            }
            self.next_l1_block = end + 1;
        }
        Ok(())
    }

    /// Appends the entry one Portal log announces, checking it extends the queue.
    fn push(&mut self, log: &Log) -> Result<()> {
        let l1_block = log
            .block_number
            .ok_or_else(|| L1Error::Unexpected("Portal log without a block number".into()))?;
        let entry = parse(log, l1_block).ok_or_else(|| {
            L1Error::Unexpected(format!("unreadable Portal log in L1 block {l1_block}"))
        })?;
        let (tx, index, queue_hash) = entry;
        if index != self.len() {
            return Err(Error::Corrupt(format!(
                "Portal queue entry {index} read where {} is next",
                self.len()
            )));
        }
        let previous = self.last_hash;
        if next_queue_hash(previous, tx.tx.tx_hash()) != queue_hash {
            return Err(L1Error::Unexpected(format!(
                "Portal queue entry {index}: its hash does not extend the queue"
            ))
            .into());
        }
        self.last_hash = queue_hash;
        self.entries.push_back(QueuedTx {
            index,
            l1_block,
            tx,
        });
        Ok(())
    }
}

/// One Portal event as an L2 transaction, its queue index and the queue hash after it.
fn parse(log: &Log, _l1_block: u64) -> Option<(StoredTx, u64, B256)> {
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
