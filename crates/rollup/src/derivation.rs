//! Derivation: the L2 chain as a function of finalized L1 data. Each batch the BatchInbox accepted
//! is decoded and its blocks re-executed with the same state-transition function the sequencer
//! runs. Invalid batch data is skipped, never fatal: a wrong sender or sequence number, an unknown
//! version, undecodable bytes, a gap, an L1 origin that is unknown or later than the batch.
use crate::{
    AddressTable, Batch, BatchBlock, BatchError, Error, Limits, Result,
    fault::DerivationFault,
    queue::PortalQueue,
    service::{Pace, Service},
};
use alloy_primitives::Address;
use parking_lot::Mutex;
use std::{collections::HashMap, sync::Arc, time::Duration};
use tandem_client::{
    L1,
    logs::{AcceptedBatches, LogWalk, batch_logs, batch_sequence, check_accepted, read_batch},
};
pub use tandem_client::{
    logs::{Accepted, L1Batch},
    types::DerivationStatus,
};
use tandem_execution::{
    l2::{L1Origin, L2BlockInputs, L2Error, derive_l2_block, with_senders},
    system::IBatchInbox,
};
use tandem_primitives::{ChainConfig, system::BATCH_INBOX};
use tandem_state::LatestState;
use tandem_storage::Storage;

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

/// Most L1 origins cached.
const MAX_CACHED_ORIGINS: usize = 10_000;

/// Called with the first and last L2 block a batch derived (e.g. to announce them).
pub type OnBlocks = Arc<dyn Fn(u64, u64) + Send + Sync>;

/// Follows finalized L1 and derives L2 from it, a window of L1 blocks per round.
pub struct Derivation<L> {
    deriver: Deriver,
    l1: L,
    status: Arc<Mutex<DerivationStatus>>,
    on_blocks: OnBlocks,
    walk: LogWalk,
    origins: HashMap<u64, L1Origin>,
    /// The most origins `origins` keeps between batches.
    max_origins: usize,
    /// The L1 block of the last batch handled: where a gap found later is read again from.
    last_block: u64,
}

impl<L: L1> Derivation<L> {
    pub fn new(deriver: Deriver, l1: L, on_blocks: OnBlocks) -> Self {
        Self {
            deriver,
            l1,
            status: Arc::default(),
            on_blocks,
            walk: batch_logs(0),
            origins: HashMap::new(),
            max_origins: MAX_CACHED_ORIGINS,
            last_block: 0,
        }
    }
}

#[cfg(test)]
impl<L: L1> Derivation<L> {
    /// Keeps at most `max` origins between batches (10,000 otherwise).
    pub(crate) fn with_max_origins(mut self, max: usize) -> Self {
        self.max_origins = max;
        self
    }
}

impl<L: L1> Service for Derivation<L> {
    type Status = DerivationStatus;
    const NAME: &'static str = "derivation";

    fn poll(&self) -> Duration {
        Duration::from_millis(250)
    }

    fn status(&self) -> &Arc<Mutex<DerivationStatus>> {
        &self.status
    }

    async fn round(&mut self) -> Result<Pace> {
        let pace = self.derive_window().await?;
        self.status.lock().last_error = None;
        Ok(pace)
    }
}

impl<L: L1> Derivation<L> {
    /// Applies the batches of the next window of finalized L1 blocks.
    async fn derive_window(&mut self) -> Result<Pace> {
        let finalized = self.l1.finalized().await?.number;
        self.status.lock().l1_finalized = finalized;
        let Some(window) = self.walk.next(&self.l1, finalized).await? else {
            return Ok(Pace::Wait);
        };
        for log in &window.logs {
            // Applied when an earlier read of this window failed part way.
            if batch_sequence(log).is_some_and(|s| s < self.deriver.next_sequence) {
                continue;
            }
            let batch = read_batch(&self.l1, log).await?;
            let batcher = Some(self.deriver.batcher);
            if let Err(e) = check_accepted(&batch, batcher, self.deriver.next_sequence) {
                // An earlier answer left a batch out: read again from the last one handled.
                self.walk.rewind(self.last_block);
                return Err(e.into());
            }
            self.last_block = batch.l1_block;
            // Fetch the origins the batch names before applying it (the deriver is synchronous).
            if let Ok((decoded, _)) = Batch::decode(
                &batch.data,
                self.deriver.chain.chain_id,
                &self.deriver.limits,
                &self.deriver.table,
            ) {
                // Bounded, but never emptied within a batch: the origins of its first blocks
                // must still be here when it is applied.
                if self.origins.len() + decoded.blocks.len() > self.max_origins {
                    self.origins.clear();
                }
                for number in decoded.blocks.iter().map(|b| b.l1_origin) {
                    if number <= batch.l1_block
                        && !self.origins.contains_key(&number)
                        && let Some(origin) = self
                            .l1
                            .origin(alloy_eips::BlockNumberOrTag::Number(number))
                            .await?
                    {
                        self.origins.insert(number, origin);
                    }
                }
            }
            self.deriver.queue.sync(&self.l1, batch.l1_block).await?;
            let before = self
                .deriver
                .storage
                .read()?
                .last_height()
                .unwrap_or_default();
            let (deriver, origins) = (&mut self.deriver, &self.origins);
            let outcome = tokio::task::block_in_place(|| {
                deriver.apply(&batch, &mut |n| origins.get(&n).copied())
            })?;
            let after = self
                .deriver
                .storage
                .read()?
                .last_height()
                .unwrap_or_default();
            let mut s = self.status.lock();
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
                (self.on_blocks)(before + 1, after);
            }
        }
        self.walk.done(&window);
        self.status.lock().l1_cursor = self.walk.next_block();
        Ok(Pace::Again)
    }
}

/// The batches L1 holds, replayed (as a verifier would, without executing) as far as read: the
/// address table after them and the last L2 block they carry. What a batcher resumes from. It is
/// kept between tries, so reading again after a failure reads only what is new, not every batch
/// since L1 block 0.
#[derive(Debug, Default)]
pub struct Replay {
    batches: AcceptedBatches,
    last_block: u64,
}

impl Replay {
    /// Reads up to L1's finalized block the batches `batcher` posted; the address table after
    /// them and the last L2 block they carry.
    pub async fn read(
        &mut self,
        l1: &impl L1,
        chain_id: u64,
        batcher: Address,
    ) -> Result<(AddressTable, u64)> {
        let head = l1.finalized().await?.number;
        let last_block = &mut self.last_block;
        self.batches
            .read_to(l1, chain_id, Some(batcher), head, |accepted| {
                if let Some(last) = accepted.decoded.ok().and_then(|d| d.blocks.last()) {
                    *last_block = (*last_block).max(last.number);
                }
            })
            .await?;
        Ok((self.batches.table().clone(), self.last_block))
    }
}

/// The registered batcher, as L1's BatchInbox says.
pub async fn batcher_address(l1: &impl L1) -> Result<Address> {
    Ok(l1
        .call_sol(BATCH_INBOX, &IBatchInbox::batcherCall {})
        .await?)
}
