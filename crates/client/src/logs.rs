//! L1's logs, read in bounded windows, and the batches BatchInbox accepted, read from them: what
//! derivation, the challenger, a restarted batcher and the explorer follow.
use crate::{ClientError, L1, Result};
use alloy_primitives::{Address, B256, Bytes};
use alloy_rpc_types_eth::{Filter, Log};
use alloy_sol_types::{SolCall, SolEvent};
use tandem_primitives::{
    abi::IBatchInbox,
    batch::{AddressTable, Batch, BatchError, Limits},
    protocol::batch_commitment,
    system::BATCH_INBOX,
};

/// How many L1 blocks one log query covers (what nodes commonly allow in one `eth_getLogs`).
pub const LOG_WINDOW: u64 = 2_000;

/// A walk over the logs one filter matches, a window of up to [`LOG_WINDOW`] blocks at a time.
/// A window the node fails to answer is halved for the next try (down to one block), and windows
/// grow back as reads succeed: a stretch of blocks holding more logs than a node answers at once
/// (a flood of deposits, say) is read in smaller pieces instead of failing for ever.
#[derive(Debug, Clone)]
pub struct LogWalk {
    filter: Filter,
    next: u64,
    span: u64,
}

/// The logs of blocks up to `end`, as [`LogWalk::next`] read them.
#[derive(Debug)]
pub struct Window {
    pub logs: Vec<Log>,
    pub end: u64,
}

impl LogWalk {
    /// A walk over what `filter` (its addresses and topics; its block range is ignored) matches,
    /// from block `from` on.
    pub fn new(filter: Filter, from: u64) -> Self {
        Self {
            filter,
            next: from,
            span: LOG_WINDOW,
        }
    }

    /// The first block not read yet.
    pub fn next_block(&self) -> u64 {
        self.next
    }

    /// The logs of the next window of blocks up to `to`, or `None` once blocks up to `to` are
    /// read. The walk moves on only when the window is handed back to [`LogWalk::done`], so a
    /// window whose logs could not be handled is read again.
    pub async fn next(&mut self, l1: &impl L1, to: u64) -> Result<Option<Window>> {
        if self.next > to {
            return Ok(None);
        }
        let end = to.min(self.next.saturating_add(self.span - 1));
        let filter = self.filter.clone().from_block(self.next).to_block(end);
        match l1.logs(&filter).await {
            Ok(logs) => Ok(Some(Window { logs, end })),
            Err(e) => {
                self.span = (self.span / 2).max(1);
                Err(e)
            }
        }
    }

    /// Goes back to block `to` (if not before it already): what an earlier window's answer
    /// turned out to have left out is read again.
    pub fn rewind(&mut self, to: u64) {
        self.next = self.next.min(to);
    }

    /// Marks a window read.
    pub fn done(&mut self, window: &Window) {
        self.next = self.next.max(window.end + 1);
        self.span = self.span.saturating_mul(2).min(LOG_WINDOW);
    }
}

/// One batch as L1 carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Batch {
    /// The L1 block that includes it.
    pub l1_block: u64,
    pub sender: Address,
    pub sequence: u64,
    pub data: Bytes,
}

/// The walk over BatchInbox's `BatchSubmitted` logs from L1 block `from` on.
pub fn batch_logs(from: u64) -> LogWalk {
    let filter = Filter::new()
        .address(BATCH_INBOX)
        .event_signature(IBatchInbox::BatchSubmitted::SIGNATURE_HASH);
    LogWalk::new(filter, from)
}

/// The sequence number a BatchSubmitted log announces (its first indexed topic), read without
/// fetching anything.
pub fn batch_sequence(log: &Log) -> Option<u64> {
    let topic = log.topics().get(1)?;
    u64::try_from(alloy_primitives::U256::from_be_bytes(topic.0)).ok()
}

/// The batch a BatchSubmitted log announces, from its transaction's calldata. BatchInbox takes
/// batches only in top-level calls from the batcher, so every such log's transaction is the
/// `submitBatch` call it describes: a log that does not decode, an answer with another
/// transaction, or calldata that does not match the log is the node's garbling, an error to read
/// again, never a batch to pass over (which would leave derivation a gap it cannot cross).
pub async fn read_batch(l1: &impl L1, log: &Log) -> Result<L1Batch> {
    let (Some(hash), Some(l1_block)) = (log.transaction_hash, log.block_number) else {
        return Err(ClientError::Unexpected(
            "log without transaction or block".into(),
        ));
    };
    let garbled =
        |what: String| ClientError::Unexpected(format!("batch transaction {hash}: {what}"));
    let event = IBatchInbox::BatchSubmitted::decode_log_data(log.data())
        .map_err(|e| garbled(format!("its BatchSubmitted log: {e}")))?;
    let tx = l1
        .transaction(hash)
        .await?
        .ok_or_else(|| garbled("missing".into()))?;
    if *tx.inner.inner.hash() != hash {
        return Err(garbled(format!(
            "the node answered {}",
            tx.inner.inner.hash()
        )));
    }
    let input = alloy_consensus::Transaction::input(tx.inner.inner.inner());
    let call = IBatchInbox::submitBatchCall::abi_decode(input)
        .map_err(|e| garbled(format!("not a submitBatch call: {e}")))?;
    if batch_commitment(&call.batch) != event.commitment || call.sequence != event.sequence {
        return Err(garbled("its calldata does not match its log".into()));
    }
    Ok(L1Batch {
        l1_block,
        sender: tx.inner.inner.signer(),
        sequence: call.sequence,
        data: call.batch,
    })
}

/// BatchInbox takes batches only from the batcher and only in sequence, so a batch log from
/// anyone else, or past the next sequence number, means the node's answer lost or garbled
/// something: an error (the window is read again), never a batch to pass over.
pub fn check_accepted(batch: &L1Batch, batcher: Option<Address>, next_sequence: u64) -> Result<()> {
    if let Some(batcher) = batcher.filter(|b| *b != batch.sender) {
        return Err(ClientError::Unexpected(format!(
            "batch {} in L1 block {} is from {}, not the batcher {batcher}",
            batch.sequence, batch.l1_block, batch.sender
        )));
    }
    if batch.sequence > next_sequence {
        return Err(ClientError::Unexpected(format!(
            "batch {} in L1 block {} where {next_sequence} is next: a batch log is missing",
            batch.sequence, batch.l1_block
        )));
    }
    Ok(())
}

/// The batches BatchInbox accepted, read from L1 in sequence with the address table they build
/// (without executing anything).
#[derive(Debug)]
pub struct AcceptedBatches {
    table: AddressTable,
    next_sequence: u64,
    walk: LogWalk,
    /// The L1 block of the last batch read: where a gap found later is read again from.
    last_block: u64,
}

impl Default for AcceptedBatches {
    fn default() -> Self {
        Self {
            table: AddressTable::default(),
            next_sequence: 0,
            walk: batch_logs(0),
            last_block: 0,
        }
    }
}

/// One accepted batch as [`AcceptedBatches`] hands it over.
#[derive(Debug)]
pub struct Accepted<'a> {
    pub batch: &'a L1Batch,
    /// The batch decoded, or why it does not decode (derivation skips such a batch whole).
    pub decoded: std::result::Result<&'a Batch, &'a BatchError>,
    /// The address table's size before the batch: what its indexes refer to.
    pub table_before: u64,
    /// The L1 transaction that carried it.
    pub l1_transaction: B256,
}

impl AcceptedBatches {
    /// The address table the batches read so far built.
    pub fn table(&self) -> &AddressTable {
        &self.table
    }

    /// The address table, once the batches are read.
    pub fn into_table(self) -> AddressTable {
        self.table
    }

    /// The first L1 block not read yet.
    pub fn next_l1_block(&self) -> u64 {
        self.walk.next_block()
    }

    /// Reads the batches posted in L1 blocks up to `to` (by `batcher`, when given), in sequence,
    /// and hands each one to `visit`.
    pub async fn read_to(
        &mut self,
        l1: &impl L1,
        chain_id: u64,
        batcher: Option<Address>,
        to: u64,
        mut visit: impl FnMut(Accepted<'_>),
    ) -> Result<()> {
        while let Some(window) = self.walk.next(l1, to).await? {
            for log in &window.logs {
                // Read before, in a window whose reading failed part way: no need to fetch it.
                if batch_sequence(log).is_some_and(|s| s < self.next_sequence) {
                    continue;
                }
                let batch = read_batch(l1, log).await?;
                if let Err(e) = check_accepted(&batch, batcher, self.next_sequence) {
                    self.walk.rewind(self.last_block);
                    return Err(e);
                }
                if batch.sequence < self.next_sequence {
                    continue;
                }
                self.last_block = batch.l1_block;
                self.next_sequence += 1;
                let decoded = Batch::decode(&batch.data, chain_id, &Limits::default(), &self.table);
                visit(Accepted {
                    batch: &batch,
                    decoded: decoded.as_ref().map(|(b, _)| b),
                    table_before: self.table.len() as u64,
                    l1_transaction: log.transaction_hash.unwrap_or_default(),
                });
                if let Ok((_, new)) = &decoded {
                    self.table.extend(new);
                }
            }
            self.walk.done(&window);
        }
        Ok(())
    }
}
