//! Derivation: the L2 chain as a function of finalized L1 data. Each batch the BatchInbox accepted
//! is decoded and its blocks re-executed with the same state-transition function the sequencer
//! runs. Invalid batch data is skipped, never fatal: a wrong sender or sequence number, an unknown
//! version, undecodable bytes, a gap, an L1 origin that is unknown or later than the batch.
use crate::{
    AddressTable, Batch, BatchBlock, BatchError, Error, Limits, Result,
    fault::DerivationFault,
    l1::{L1Client, L1Error},
    queue::PortalQueue,
};
use alloy_primitives::{Address, B256, Bytes};
use alloy_rpc_types_eth::Filter;
use alloy_sol_types::{SolCall, SolEvent};
use std::{collections::HashMap, sync::Arc, time::Duration};
use tandem_execution::{
    l2::{L1Origin, L2BlockInputs, L2Error, derive_l2_block, with_senders},
    system::IBatchInbox,
};
use tandem_primitives::{ChainConfig, system::BATCH_INBOX};
use tandem_state::LatestState;
use tandem_storage::Storage;
use tokio::sync::watch;

/// One batch as L1 carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct L1Batch {
    /// The L1 block that includes it.
    pub l1_block: u64,
    pub sender: Address,
    pub sequence: u64,
    pub data: Bytes,
}

/// Why a batch (or the rest of it) was skipped.
#[derive(Debug, thiserror::Error)]
pub enum Skip {
    #[error("sent by {0}, not the batcher")]
    NotBatcher(Address),
    #[error("sequence {got}, expected {expected}")]
    WrongSequence { expected: u64, got: u64 },
    #[error("undecodable: {0}")]
    Undecodable(#[from] BatchError),
    #[error("block {got} does not follow the derived head {head}")]
    Gap { head: u64, got: u64 },
    #[error("block {block} names L1 origin {origin}, after the batch's L1 block {l1_block}")]
    FutureOrigin {
        block: u64,
        origin: u64,
        l1_block: u64,
    },
    #[error("block {block} names L1 origin {origin}, which L1 does not have")]
    UnknownOrigin { block: u64, origin: u64 },
    #[error("block {block}: {reason}")]
    InvalidBlock { block: u64, reason: String },
}

/// The derivation state machine: applies L1 batches, in L1 order, to an L2 database.
#[derive(Debug)]
pub struct Deriver {
    storage: Arc<Storage>,
    chain: ChainConfig,
    batcher: Address,
    next_sequence: u64,
    limits: Limits,
    /// Addresses the batches so far introduced.
    table: AddressTable,
    /// The Portal's queue, read up to the L1 block of the batch being applied.
    queue: PortalQueue,
    /// Testing only: derive every block wrong this way (a faulty node).
    fault: Option<DerivationFault>,
}

impl Deriver {
    pub fn new(storage: Arc<Storage>, chain: ChainConfig, batcher: Address) -> Self {
        Self {
            storage,
            chain,
            batcher,
            next_sequence: 0,
            limits: Limits::default(),
            table: AddressTable::default(),
            queue: PortalQueue::default(),
            fault: None,
        }
    }

    /// Testing only: derive every block wrong this way, as a faulty node would.
    pub fn set_fault(&mut self, fault: DerivationFault) {
        self.fault = Some(fault);
    }

    /// The Portal's queue as read so far; [`Deriver::apply`] needs it read up to the batch's
    /// L1 block.
    pub fn queue_mut(&mut self) -> &mut PortalQueue {
        &mut self.queue
    }

    /// The address table as of the batches applied so far.
    pub fn table(&self) -> &AddressTable {
        &self.table
    }

    /// The sequence number the next valid batch carries.
    pub fn next_sequence(&self) -> u64 {
        self.next_sequence
    }

    /// Applies one batch: derives and commits the blocks it adds, each with the Portal queue's
    /// due entries first (the queue must be read up to the batch's L1 block). `Ok(Err(skip))` when the batch
    /// (or its rest) is invalid; `Err` only when the node itself fails (storage).
    pub fn apply(
        &mut self,
        batch: &L1Batch,
        origin_of: &mut dyn FnMut(u64) -> Option<L1Origin>,
    ) -> Result<Result<usize, Skip>> {
        if batch.sender != self.batcher {
            return Ok(Err(Skip::NotBatcher(batch.sender)));
        }
        if batch.sequence != self.next_sequence {
            return Ok(Err(Skip::WrongSequence {
                expected: self.next_sequence,
                got: batch.sequence,
            }));
        }
        self.next_sequence += 1;
        let decoded =
            match Batch::decode(&batch.data, self.chain.chain_id, &self.limits, &self.table) {
                Ok((decoded, new)) => {
                    // The batch is the batcher's and in order: its addresses count from here on,
                    // whatever becomes of its blocks.
                    self.table.extend(&new);
                    decoded
                }
                Err(e) => return Ok(Err(e.into())),
            };
        let mut derived = 0;
        for block in decoded.blocks {
            let reader = self.storage.read()?;
            let head = reader.last_height().unwrap_or_default();
            if block.number <= head {
                continue; // already derived (a repeated post)
            }
            if block.number != head + 1 {
                return Ok(Err(Skip::Gap {
                    head,
                    got: block.number,
                }));
            }
            if block.l1_origin > batch.l1_block {
                return Ok(Err(Skip::FutureOrigin {
                    block: block.number,
                    origin: block.l1_origin,
                    l1_block: batch.l1_block,
                }));
            }
            let Some(origin) = origin_of(block.l1_origin) else {
                return Ok(Err(Skip::UnknownOrigin {
                    block: block.number,
                    origin: block.l1_origin,
                }));
            };
            let parent = reader
                .header(head)?
                .ok_or_else(|| Error::Corrupt(format!("L2 block {head} missing")))?;
            let mut inputs = block_inputs(block, origin, &self.queue, &parent);
            let outcome = match self.fault {
                Some(fault) => {
                    fault.apply(&mut inputs, &LatestState(&reader), &self.chain)?;
                    fault.derive(&reader, &self.chain, &parent, &inputs)
                }
                None => derive_l2_block(
                    (&reader).into(),
                    LatestState(&reader),
                    &self.chain,
                    &parent,
                    &inputs,
                ),
            };
            let executed = match outcome {
                Ok((executed, None)) => executed,
                Ok((executed, Some(broken))) => {
                    tracing::warn!(target: "rollup::derivation", block = head + 1, %broken, "batch block breaks a rule: derived without its transactions");
                    executed
                }
                Err(L2Error::Execution(e)) => return Err(e.into()),
                Err(e) => {
                    return Ok(Err(Skip::InvalidBlock {
                        block: head + 1,
                        reason: e.to_string(),
                    }));
                }
            };
            drop(reader);
            let number = executed.executed.block.number();
            let included = L1Origin::queue_index_of(executed.executed.block.header());
            self.storage.commit(&executed.executed.into_commit())?;
            self.queue.prune_below(included);
            self.storage.set_safe(number)?;
            derived += 1;
        }
        Ok(Ok(derived))
    }
}

/// The inputs of one batch block: its transactions with their senders ([`with_senders`]), its L1
/// origin, and the Portal queue's
/// entries from the parent's next index up to what the origin reaches (from L1, whatever the
/// batch says).
pub fn block_inputs(
    block: BatchBlock,
    origin: L1Origin,
    queue: &PortalQueue,
    parent: &tandem_primitives::Header,
) -> L2BlockInputs {
    let transactions = with_senders(block.transactions);
    L2BlockInputs {
        timestamp: block.timestamp,
        l1_origin: origin,
        queue: queue.offer(L1Origin::queue_index_of(parent)),
        transactions,
    }
}

/// What a verifier reports.
#[derive(Debug, Clone, Default, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DerivationStatus {
    /// The next L1 block to read.
    pub l1_cursor: u64,
    /// The newest finalized L1 block seen.
    pub l1_finalized: u64,
    pub batches_applied: u64,
    pub batches_skipped: u64,
    pub last_skip: Option<String>,
    pub last_error: Option<String>,
}

/// How many L1 blocks one log query covers.
pub(crate) const LOG_WINDOW: u64 = 2_000;
/// Most L1 origins cached.
const MAX_CACHED_ORIGINS: usize = 10_000;

/// Follows finalized L1 and derives L2 from it until `stop` turns true. `on_block` is called
/// after each batch that derived blocks (e.g. to announce them).
pub async fn follow(
    mut deriver: Deriver,
    l1: L1Client,
    status: Arc<parking_lot::Mutex<DerivationStatus>>,
    on_blocks: Arc<dyn Fn(u64, u64) + Send + Sync>,
    mut stop: watch::Receiver<bool>,
) {
    let mut cursor = 0u64;
    let mut origins: HashMap<u64, L1Origin> = HashMap::new();
    loop {
        let step = async {
            let finalized = l1.finalized().await?.number;
            status.lock().l1_finalized = finalized;
            if cursor > finalized {
                return Ok::<bool, Error>(false);
            }
            let to = finalized.min(cursor + LOG_WINDOW - 1);
            let filter = Filter::new()
                .address(BATCH_INBOX)
                .event_signature(IBatchInbox::BatchSubmitted::SIGNATURE_HASH)
                .from_block(cursor)
                .to_block(to);
            for log in l1.logs(&filter).await? {
                let batch = read_batch(&l1, &log).await?;
                let Some(batch) = batch else { continue };
                // Fetch the origins the batch names before applying it (the deriver is synchronous).
                if let Ok((decoded, _)) = Batch::decode(
                    &batch.data,
                    deriver.chain.chain_id,
                    &deriver.limits,
                    &deriver.table,
                ) {
                    for number in decoded.blocks.iter().map(|b| b.l1_origin) {
                        if number <= batch.l1_block && !origins.contains_key(&number) {
                            if origins.len() >= MAX_CACHED_ORIGINS {
                                origins.clear();
                            }
                            if let Some(origin) = l1
                                .origin(alloy_eips::BlockNumberOrTag::Number(number))
                                .await?
                            {
                                origins.insert(number, origin);
                            }
                        }
                    }
                }
                deriver.queue.sync(&l1, batch.l1_block).await?;
                let before = deriver.storage.read()?.last_height().unwrap_or_default();
                let outcome = tokio::task::block_in_place(|| {
                    deriver.apply(&batch, &mut |n| origins.get(&n).copied())
                })?;
                let after = deriver.storage.read()?.last_height().unwrap_or_default();
                let mut s = status.lock();
                match outcome {
                    Ok(_) => s.batches_applied += 1,
                    Err(skip) => {
                        tracing::warn!(target: "rollup::derivation", sequence = batch.sequence, l1_block = batch.l1_block, reason = %skip, "skipped batch");
                        s.batches_skipped += 1;
                        s.last_skip = Some(format!("batch {}: {skip}", batch.sequence));
                    }
                }
                drop(s);
                if after > before {
                    on_blocks(before + 1, after);
                }
            }
            cursor = to + 1;
            status.lock().l1_cursor = cursor;
            Ok(true)
        };
        let more = match step.await {
            Ok(more) => {
                status.lock().last_error = None;
                more
            }
            Err(e) => {
                tracing::warn!(target: "rollup::derivation", error = %e, "derivation step failed; retrying");
                status.lock().last_error = Some(e.to_string());
                false
            }
        };
        if !more {
            tokio::select! {
                _ = stop.changed() => return,
                _ = tokio::time::sleep(Duration::from_millis(250)) => {}
            }
        } else if *stop.borrow() {
            return;
        }
    }
}

/// The batch a BatchSubmitted log announces, from its transaction's calldata; `None` if the
/// calldata does not match the log (not a direct call, or a different payload).
async fn read_batch(l1: &L1Client, log: &alloy_rpc_types_eth::Log) -> Result<Option<L1Batch>> {
    let (Some(hash), Some(l1_block)) = (log.transaction_hash, log.block_number) else {
        return Err(L1Error::Unexpected("log without transaction or block".into()).into());
    };
    let Ok(event) = IBatchInbox::BatchSubmitted::decode_log_data(log.data()) else {
        return Ok(None);
    };
    let tx = l1
        .transaction(hash)
        .await?
        .ok_or_else(|| L1Error::Unexpected(format!("batch transaction {hash} missing")))?;
    let input = alloy_consensus::Transaction::input(tx.inner.inner.inner());
    let Ok(call) = IBatchInbox::submitBatchCall::abi_decode(input) else {
        return Ok(None);
    };
    if tandem_primitives::protocol::batch_commitment(&call.batch) != event.commitment
        || call.sequence != event.sequence
    {
        return Ok(None);
    }
    Ok(Some(L1Batch {
        l1_block,
        sender: tx.inner.inner.signer(),
        sequence: call.sequence,
        data: call.batch,
    }))
}

/// The batches BatchInbox accepted, read from L1 in sequence with the address table they build
/// (without executing anything): what a restarted batcher and the challenger follow.
#[derive(Debug, Default)]
pub struct AcceptedBatches {
    table: AddressTable,
    next_sequence: u64,
    /// The next L1 block to read.
    cursor: u64,
}

/// One accepted batch as [`AcceptedBatches`] hands it over.
#[derive(Debug)]
pub struct Accepted<'a> {
    pub batch: &'a L1Batch,
    pub decoded: &'a Batch,
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

    /// Reads the batches `batcher` posted in L1 blocks up to `to`, in sequence, and hands each one
    /// that decodes to `visit`.
    pub async fn read_to(
        &mut self,
        l1: &L1Client,
        chain_id: u64,
        batcher: Address,
        to: u64,
        mut visit: impl FnMut(Accepted<'_>),
    ) -> Result<()> {
        while self.cursor <= to {
            let end = to.min(self.cursor + LOG_WINDOW - 1);
            let filter = Filter::new()
                .address(BATCH_INBOX)
                .event_signature(IBatchInbox::BatchSubmitted::SIGNATURE_HASH)
                .from_block(self.cursor)
                .to_block(end);
            for log in l1.logs(&filter).await? {
                let Some(batch) = read_batch(l1, &log).await? else {
                    continue;
                };
                if batch.sender != batcher || batch.sequence != self.next_sequence {
                    continue;
                }
                self.next_sequence += 1;
                if let Ok((decoded, new)) =
                    Batch::decode(&batch.data, chain_id, &Limits::default(), &self.table)
                {
                    visit(Accepted {
                        batch: &batch,
                        decoded: &decoded,
                        table_before: self.table.len() as u64,
                        l1_transaction: log.transaction_hash.unwrap_or_default(),
                    });
                    self.table.extend(&new);
                }
            }
            self.cursor = end + 1;
        }
        Ok(())
    }
}

/// Replays every batch L1 holds (as a verifier would, without executing): the address table
/// after them and the last L2 block they carry. What a restarted batcher resumes from.
pub async fn replay_batches(
    l1: &L1Client,
    chain_id: u64,
    batcher: Address,
) -> Result<(AddressTable, u64)> {
    let mut batches = AcceptedBatches::default();
    let mut last_block = 0u64;
    let head = l1.finalized().await?.number;
    batches
        .read_to(l1, chain_id, batcher, head, |accepted| {
            if let Some(last) = accepted.decoded.blocks.last() {
                last_block = last_block.max(last.number);
            }
        })
        .await?;
    Ok((batches.table, last_block))
}

/// The registered batcher, as L1's BatchInbox says.
pub async fn batcher_address(l1: &L1Client) -> Result<Address> {
    let out = l1
        .call(BATCH_INBOX, IBatchInbox::batcherCall {}.abi_encode().into())
        .await?;
    IBatchInbox::batcherCall::abi_decode_returns(&out)
        .map_err(|e| L1Error::Unexpected(format!("batcher(): {e}")).into())
}
