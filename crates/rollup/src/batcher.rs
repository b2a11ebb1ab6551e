//! The batcher: packs sealed L2 blocks into batches and posts each as one L1 transaction to the
//! BatchInbox, at most every `max_interval` or sooner when a batch reaches `max_batch_bytes`.
//! It posts one batch at a time and waits for its receipt, so it never leaves a gap; after a
//! restart it replays the batches L1 holds (the address table and the last block they carry) and
//! goes on from there.
use crate::{
    AddressTable, Batch, BatchBlock, Compression, Error, Limits, Result,
    derivation::Replay,
    service::{Pace, Service},
};
pub use tandem_client::types::{BatcherStatus, PostedBatch};
use tandem_client::{ClientError, L1};

use alloy_primitives::{Address, Bytes, U256};
use alloy_sol_types::SolCall;
use parking_lot::Mutex;
use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use tandem_execution::{l2::L1Origin, system::IBatchInbox};
use tandem_primitives::{ChainConfig, dev::DevAccount, system::BATCH_INBOX};
use tandem_storage::Storage;

#[derive(Debug, Clone)]
pub struct BatcherConfig {
    /// Post at least this often while there are unposted blocks.
    pub max_interval: Duration,
    /// Post as soon as a batch reaches this many compressed bytes; never exceed it (nor
    /// BatchInbox's [`tandem_primitives::batch::MAX_BATCH_BYTES`]).
    pub max_batch_bytes: usize,
    pub compression: Compression,
    /// The registered batcher's key.
    pub key: DevAccount,
    /// Testing only: post each block that has a transaction to [`crate::fault::FAULT_MARKER`] with a timestamp
    /// past the drift rule, at the end of its batch (a faulty batcher: derivation runs that block
    /// without its transactions).
    pub fault: bool,
}

impl BatcherConfig {
    pub fn new(key: DevAccount) -> Self {
        Self {
            max_interval: Duration::from_secs(2),
            max_batch_bytes: 120_000,
            compression: Compression::Brotli,
            key,
            fault: false,
        }
    }
}

/// The batcher over the sealed L2 blocks in `storage`.
pub struct Batcher<L> {
    storage: Arc<Storage>,
    chain_id: u64,
    l1: L,
    config: BatcherConfig,
    status: Arc<Mutex<BatcherStatus>>,
    /// The last L2 block L1 holds a batch of, and the address table after the batches L1 holds;
    /// `None` until read from L1.
    posted: Option<(u64, AddressTable)>,
    /// What L1 holds, read so far: where `posted` comes from after a restart or a failure.
    replay: Replay,
    last_post: Instant,
}

impl<L: L1> Batcher<L> {
    pub fn new(storage: Arc<Storage>, chain_id: u64, l1: L, config: BatcherConfig) -> Self {
        Self {
            storage,
            chain_id,
            l1,
            config,
            status: Arc::default(),
            posted: None,
            replay: Replay::default(),
            last_post: Instant::now(),
        }
    }
}

impl<L: L1> Service for Batcher<L> {
    type Status = BatcherStatus;
    const NAME: &'static str = "batcher";

    fn poll(&self) -> Duration {
        Duration::from_millis(200)
    }

    fn status(&self) -> &Arc<Mutex<BatcherStatus>> {
        &self.status
    }

    async fn round(&mut self) -> Result<Pace> {
        let step = self.step().await;
        if step.is_err() {
            self.posted = None; // re-read from L1 where things stand
        }
        step.map(|()| Pace::Wait)
    }
}

impl<L: L1> Batcher<L> {
    async fn step(&mut self) -> Result<()> {
        let posted = match &self.posted {
            Some((posted, _)) => *posted,
            None => {
                let (table, posted) = self
                    .replay
                    .read(&self.l1, self.chain_id, self.config.key.address)
                    .await?;
                tracing::info!(target: "rollup::batcher", posted, addresses = table.len(), "resuming after what L1 holds");
                self.set_posted(posted, table)?;
                posted
            }
        };
        let head = self.storage.read()?.last_height().unwrap_or_default();
        if head <= posted {
            let mut status = self.status.lock();
            status.pending_blocks = 0;
            status.pending_batch_bytes = 0;
            return Ok(());
        }
        // Compressing is the costly part: do it when the interval is up, or when the raw
        // transactions alone could fill a batch.
        let due = self.last_post.elapsed() >= self.config.max_interval;
        if !due && self.raw_bytes(posted + 1, head)? < self.config.max_batch_bytes {
            self.status.lock().pending_blocks = head - posted;
            return Ok(());
        }
        // Compression takes a while (brotli at its best quality): keep it off the async workers.
        let (batch, encoded, new) = tokio::task::block_in_place(|| self.build(posted + 1, head))?;
        {
            let mut status = self.status.lock();
            status.pending_blocks = head - posted;
            status.pending_batch_bytes = encoded.len();
        }
        let posted_batch = self.post(&batch, encoded).await?;
        tracing::info!(
            target: "rollup::batcher",
            sequence = posted_batch.sequence,
            blocks = %format!("{}..={}", posted_batch.first_block, posted_batch.last_block),
            txs = posted_batch.transactions,
            bytes = posted_batch.bytes,
            l1_block = posted_batch.l1_block,
            "posted batch"
        );
        self.last_post = Instant::now();
        let mut table = self.posted.take().map(|(_, t)| t).unwrap_or_default();
        table.extend(&new);
        self.set_posted(posted_batch.last_block, table)?;
        self.status.lock().last_batch = Some(posted_batch);
        Ok(())
    }

    /// Data on L1 is final at once (BFT), so what L1 holds is safe.
    fn set_posted(&mut self, posted: u64, table: AddressTable) -> Result<()> {
        self.posted = Some((posted, table));
        self.storage.set_safe(posted)?;
        let mut status = self.status.lock();
        status.posted_block = posted;
        status.last_error = None;
        Ok(())
    }

    /// The encoded size of the transactions in blocks `first..=last`, before compression.
    fn raw_bytes(&self, first: u64, last: u64) -> Result<usize> {
        let reader = self.storage.read()?;
        let mut total = 0;
        for number in first..=last.min(first + MAX_BLOCKS_PER_BATCH) {
            if let Some(block) = reader.block(number)? {
                let queued = L1Origin::queued_of(block.header());
                total += block
                    .block
                    .transactions
                    .iter()
                    .skip(queued)
                    .map(|t| t.tx.eip2718_encoded_length())
                    .sum::<usize>();
            }
        }
        Ok(total)
    }

    /// The batch of blocks `first..=last`, shortened until it fits `max_batch_bytes`. Brotli at
    /// its best quality is most of the batcher's cost (a profile under L2 load put it at 85% of
    /// the process), so the first try is cut to what should fit at the expected compression, and
    /// an overshoot shrinks the batch in proportion rather than by halves.
    fn build(&self, first: u64, last: u64) -> Result<(Batch, Vec<u8>, Vec<Address>)> {
        let reader = self.storage.read()?;
        let table = self
            .posted
            .as_ref()
            .map(|(_, t)| t)
            .ok_or_else(|| Error::Config("the batcher has not read L1 yet".into()))?;
        let mut blocks = Vec::new();
        let mut raw = Vec::new();
        let mut counts = Vec::new();
        for number in first..=last.min(first + MAX_BLOCKS_PER_BATCH - 1) {
            let block = reader
                .block(number)?
                .ok_or_else(|| Error::Corrupt(format!("L2 block {number} missing")))?;
            let origin = L1Origin::of_header(block.header())
                .ok_or_else(|| Error::Corrupt(format!("L2 block {number} has no L1 origin")))?;
            // The queue's transactions come from L1 itself: derivation adds them again.
            let queued = L1Origin::queued_of(block.header());
            let timestamp = block.header().timestamp;
            let transactions: Vec<_> = block
                .block
                .transactions
                .into_iter()
                .skip(queued)
                .map(|t| t.tx)
                .collect();
            let bytes: usize = transactions
                .iter()
                .map(|t| t.eip2718_encoded_length())
                .sum();
            raw.push(raw.last().copied().unwrap_or(0) + bytes);
            counts.push(counts.last().copied().unwrap_or(0) + transactions.len());
            let faulty = self.config.fault
                && transactions.iter().any(|t| {
                    alloy_consensus::Transaction::to(t) == Some(crate::fault::FAULT_MARKER)
                });
            blocks.push(BatchBlock {
                number,
                timestamp: match faulty {
                    true => origin.timestamp + ChainConfig::DEFAULT_MAX_SEQUENCER_DRIFT * 2,
                    false => timestamp,
                },
                l1_origin: origin.number,
                transactions,
            });
            if faulty {
                // Later blocks would go back in time within the batch.
                break;
            }
            // Far more than fits even at the best compression: stop reading.
            if bytes > 0 && raw[raw.len() - 1] > self.config.max_batch_bytes * 8 {
                break;
            }
        }
        // Blocks whose raw transactions fit `budget` bytes (at least one).
        let fitting = |budget: usize| raw.iter().take_while(|r| **r <= budget).count().max(1);
        // Within what L1 decodes (one block always is: the state transition bounds a block's
        // transactions and their bytes well inside these).
        let limits = Limits::default();
        let decodable = fitting(limits.max_decompressed_bytes / 2)
            .min(
                counts
                    .iter()
                    .take_while(|n| **n <= limits.max_transactions)
                    .count()
                    .max(1),
            )
            .min(limits.max_blocks);
        let mut count =
            fitting(self.config.max_batch_bytes * EXPECTED_COMPRESSION / 10).min(decodable);
        loop {
            let batch = Batch {
                blocks: blocks[..count].to_vec(),
            };
            let (encoded, new) = batch
                .encode(self.chain_id, self.config.compression, table)
                .map_err(|e| Error::Corrupt(format!("cannot batch L2 blocks: {e}")))?;
            if encoded.len() <= self.config.max_batch_bytes || count == 1 {
                return Ok((batch, encoded, new));
            }
            // Shrink in proportion to the overshoot, with a margin.
            let scaled = raw[count - 1] * self.config.max_batch_bytes / encoded.len() * 9 / 10;
            count = fitting(scaled).min(count - 1);
        }
    }

    /// Posts one batch and waits for L1 to include it.
    async fn post(&self, batch: &Batch, encoded: Vec<u8>) -> Result<PostedBatch> {
        let key = &self.config.key;
        let sequence = next_sequence(&self.l1).await?;
        let bytes = encoded.len();
        let input = Bytes::from(
            IBatchInbox::submitBatchCall {
                sequence,
                batch: encoded.into(),
            }
            .abi_encode(),
        );
        let receipt = self
            .l1
            .transact(key, BATCH_INBOX, U256::ZERO, input, Duration::from_secs(60))
            .await?;
        let hash = receipt.transaction_hash;
        if !tandem_client::succeeded(&receipt) {
            return Err(
                ClientError::Unexpected(format!("batch {sequence} ({hash}) reverted")).into(),
            );
        }
        Ok(PostedBatch {
            sequence,
            first_block: batch.blocks.first().map(|b| b.number).unwrap_or_default(),
            last_block: batch.blocks.last().map(|b| b.number).unwrap_or_default(),
            transactions: batch.blocks.iter().map(|b| b.transactions.len()).sum(),
            bytes,
            l1_block: receipt.block_number.unwrap_or_default(),
            l1_transaction: hash,
        })
    }
}

/// The compression the first try at a batch assumes, in tenths (1.8x; measured 1.7-1.9x).
const EXPECTED_COMPRESSION: usize = 18;

/// Most L2 blocks one batch carries.
const MAX_BLOCKS_PER_BATCH: u64 = 2_000;

/// The sequence number the next batch must carry.
pub async fn next_sequence(l1: &impl L1) -> Result<u64> {
    Ok(l1
        .call_sol(BATCH_INBOX, &IBatchInbox::nextSequenceCall {})
        .await?)
}
