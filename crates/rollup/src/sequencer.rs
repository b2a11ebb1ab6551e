//! The sequencer: executes each pooled transaction into the open L2 block as it arrives, logs it
//! to the write-ahead log, publishes its receipt (a preconfirmation), and seals the block every
//! `block_time`, or sooner when it is full and transactions wait for the next. The open block's L1 origin is the newest finalized L1 block when it opens.
use crate::{
    Error, Result,
    queue::PortalQueue,
    wal::{OpenBlock, Wal},
};
use alloy_eips::eip2718::{Decodable2718, Encodable2718};
use alloy_primitives::{Address, B256, Bytes};
use std::{
    collections::HashSet,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};
use tandem_execution::{
    Error as ExecError,
    l2::{L1Origin, L2BlockBuilder},
};
use tandem_mempool::{Candidates, Fill, InOrder, PoolTx};
use tandem_primitives::{Clock, Layer, TxEnvelope};
use tandem_rpc::{Backend, NewBlock, RpcReceipt};
use tandem_state::{NodeSource, Pending};
use tokio::sync::watch;

#[derive(Debug, Clone)]
pub struct SequencerConfig {
    /// How often the open block is sealed.
    pub block_time: Duration,
    /// Where the write-ahead log lives.
    pub wal_path: std::path::PathBuf,
    /// Senders whose pooled transactions the sequencer never includes: a censoring sequencer,
    /// to test that the Portal's forced inclusion gets around it.
    pub ignore: HashSet<Address>,
    /// Block timestamps and the sealing deadline come from here.
    pub clock: Arc<dyn Clock>,
}

/// Runs the sequencer on the calling thread until `stop` is set; then seals the open block and
/// returns once every sealed block is committed. `origin` carries the newest finalized L1 block.
///
/// A sealed block is committed on a thread of its own while the next block fills on top of its
/// state ([`Pending`]): committing (the trie written, redb's commit, fsync) costs about as much
/// as building the block. One block at most waits for its commit: sealing the next waits for it.
pub fn run(
    backend: Backend,
    config: SequencerConfig,
    origin: watch::Receiver<L1Origin>,
    queue: Arc<parking_lot::Mutex<PortalQueue>>,
    stop: Arc<AtomicBool>,
    runtime: tokio::runtime::Handle,
) -> Result<()> {
    let (mut wal, recovered) = Wal::open(&config.wal_path).map_err(Error::Wal)?;
    let mut recovered = std::collections::VecDeque::from(recovered);
    let mut committer = Committer::spawn(backend.clone())?;
    // The block sealed last, until storage has it.
    let mut sealed: Option<Sealed> = None;
    let no_pending = Pending::default();
    backend.preconf.clear();
    loop {
        let reader = backend.storage.read()?;
        let head = reader.last_height().unwrap_or_default();
        if sealed.as_ref().is_some_and(|s| s.header.number <= head) {
            sealed = None;
        }
        let (parent, pending) = match &sealed {
            Some(sealed) => (sealed.header.clone(), &sealed.pending),
            None => (
                reader
                    .header(head)?
                    .ok_or_else(|| Error::Corrupt(format!("L2 block {head} missing")))?,
                &no_pending,
            ),
        };
        let number = parent.number + 1;
        // Reopen the blocks a crash interrupted (sealed ones are sealed again as they were; the
        // last is left open), or open the next one.
        while recovered.front().is_some_and(|r| r.block.number < number) {
            recovered.pop_front();
        }
        let (open, replay, resealed) = match recovered.pop_front() {
            Some(r) if r.block.number == number => (r.block, r.transactions, !recovered.is_empty()),
            Some(r) => {
                return Err(Error::Corrupt(format!(
                    "the sequencer's log holds block {} but storage ends at block {}: start from the data directory the log belongs to",
                    r.block.number, parent.number
                )));
            }
            None => {
                let parent_origin = L1Origin::of_header(&parent).unwrap_or_default();
                let latest = *origin.borrow();
                let origin = if latest.number >= parent_origin.number {
                    latest
                } else {
                    parent_origin
                };
                let open = OpenBlock {
                    number,
                    // No further ahead of the origin than the drift allows (L1 may stall).
                    timestamp: config
                        .clock
                        .unix_seconds()
                        .max(parent.timestamp)
                        .max(origin.timestamp)
                        .min(origin.timestamp + backend.chain.max_sequencer_drift),
                    origin,
                };
                (open, Vec::new(), false)
            }
        };
        // Origins are published once the queue is read that far; should the queue lag anyway
        // (a block reopened after a restart), wait for it rather than build without it.
        let due = loop {
            {
                let queue = queue.lock();
                if queue.covers(open.origin.number) {
                    break queue.offer(L1Origin::queue_index_of(&parent));
                }
            }
            if stop.load(Ordering::Relaxed) {
                return committer.finish();
            }
            std::thread::sleep(Duration::from_millis(100));
        };
        // A block sealed again after a crash is in the log already, with the one after it. The
        // new log keeps the sealed block unless storage has it by now.
        if !resealed {
            let committed = backend.storage.read()?.last_height().unwrap_or_default();
            let sealed = sealed
                .as_ref()
                .filter(|s| s.header.number > committed)
                .map(|s| (&s.open, &s.raws[..]));
            wal.begin(sealed, &open, &replay).map_err(Error::Wal)?;
        }
        let mut builder = L2BlockBuilder::open(
            NodeSource::store(&reader, Some(pending)),
            pending.state(&reader),
            &backend.chain,
            &parent,
            open.timestamp,
            open.origin,
            &due,
        )?;
        builder.sequencing();
        let queued = builder.queued();
        if queued > 0 {
            publish(&backend, &mut builder, queued)?;
        }
        // The block's transactions as the log holds them.
        let mut raws = Vec::new();
        if !replay.is_empty() {
            let txs: Vec<PoolTx> = replay
                .iter()
                .filter_map(|raw| {
                    let tx = TxEnvelope::decode_2718_exact(raw.as_ref()).ok()?;
                    let sender = tandem_execution::recover_sender(&tx).ok()?;
                    Some(PoolTx::new(tx, sender))
                })
                .collect();
            let executed = execute_all(
                &backend,
                &mut builder,
                InOrder::new(txs),
                &mut Round::default(),
            )?;
            if !executed.is_empty() {
                publish(&backend, &mut builder, executed.len())?;
            }
            backend
                .pool
                .lock()
                .on_block(executed.nonces.iter().copied());
            tracing::info!(target: "rollup::sequencer", block = open.number, replayed = executed.len(), of = replay.len(), resealed, "reopened a block a restart interrupted");
            raws = executed.raws;
        }
        let deadline = config.clock.now() + config.block_time;
        let mut round = Round::default();
        // A block sealed again takes nothing more.
        loop {
            if resealed {
                break;
            }
            // A commit that failed stops the sequencer now, not at the next seal.
            committer.check()?;
            let base_fee = builder.header().base_fee_per_gas.unwrap_or_default();
            let mut ready = backend.pool.best(base_fee);
            for sender in round.full.iter().chain(&config.ignore) {
                ready.mark_invalid(*sender);
            }
            let executed = execute_all(&backend, &mut builder, ready, &mut round)?;
            if !executed.is_empty() {
                wal.append(executed.iter().map(|b| b.as_ref()))
                    .map_err(Error::Wal)?;
                publish(&backend, &mut builder, executed.len())?;
            }
            // Only now does the pool forget what the block took: until the block's state is
            // published, a sender's next nonce comes from its pooled transactions.
            backend
                .pool
                .lock()
                .on_block(executed.nonces.iter().copied());
            raws.extend(executed.raws);
            // Full: a round took nothing while transactions wait for room (gas, data or witness),
            // so the block is sealed now rather than at the deadline: under load blocks follow
            // one another as fast as they fill. Past the deadline, a block still takes what comes
            // while the block before is being committed (sealing would only wait for that).
            let full = executed.nonces.is_empty()
                && (!round.full.is_empty() || round.closed(builder.header().gas_limit));
            let now = config.clock.now();
            let due = now >= deadline && !committer.busy();
            if full || due || stop.load(Ordering::Relaxed) {
                break;
            }
            // The wait's timer is not tokio's: when the node shuts down, tokio's timers panic
            // ("context is being shutdown") in a thread that outlives the runtime's drivers.
            let wait = match deadline.checked_duration_since(now) {
                Some(left) if !left.is_zero() => left,
                _ => config.block_time,
            };
            runtime.block_on(async {
                let added = backend.pool.added().notified();
                let committed = committer.committed.notified();
                let timeout = futures_timer::Delay::new(wait);
                futures::pin_mut!(added, committed, timeout);
                futures::future::select(added, futures::future::select(committed, timeout)).await;
            });
        }
        let executed = builder.finish()?;
        let header = executed.block.header().clone();
        let mut next = Pending::default();
        next.push(header.number, executed.block.hash, &executed.diff);
        drop(reader);
        // Waits for the block before to be committed.
        committer.send(executed)?;
        backend.preconf.seal(&header);
        queue.lock().prune_below(L1Origin::queue_index_of(&header));
        sealed = Some(Sealed {
            header,
            pending: next,
            open,
            raws,
        });
        if stop.load(Ordering::Relaxed) {
            return committer.finish();
        }
    }
}

/// A sealed block, until storage has it: what the next block builds on, and what the log keeps.
struct Sealed {
    header: tandem_primitives::Header,
    pending: Pending,
    open: OpenBlock,
    raws: Vec<Bytes>,
}

/// Commits sealed blocks on a thread of its own, one at a time, in order.
struct Committer {
    blocks: Option<std::sync::mpsc::SyncSender<tandem_execution::ExecutedBlock>>,
    thread: Option<std::thread::JoinHandle<Result<()>>>,
    /// The last block handed over, and the last one committed.
    sent: u64,
    last_committed: Arc<std::sync::atomic::AtomicU64>,
    /// Told each time a block is committed.
    committed: Arc<tokio::sync::Notify>,
}

impl Committer {
    fn spawn(backend: Backend) -> Result<Self> {
        // No room in the channel: handing a block over waits until the one before is committed.
        let (blocks, sealed) = std::sync::mpsc::sync_channel::<tandem_execution::ExecutedBlock>(0);
        let last_committed = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let committed = Arc::new(tokio::sync::Notify::new());
        let (last, told) = (last_committed.clone(), committed.clone());
        let thread = std::thread::Builder::new()
            .name("l2-commit".into())
            .spawn(move || {
                for executed in sealed {
                    let number = executed.block.number();
                    seal(&backend, executed)?;
                    last.store(number, Ordering::Release);
                    told.notify_one();
                }
                Ok(())
            })
            .map_err(|e| Error::Corrupt(format!("cannot start the committing thread: {e}")))?;
        Ok(Self {
            blocks: Some(blocks),
            thread: Some(thread),
            sent: 0,
            last_committed,
            committed,
        })
    }

    /// Hands `executed` over once the block before it is committed.
    fn send(&mut self, executed: tandem_execution::ExecutedBlock) -> Result<()> {
        let number = executed.block.number();
        match self
            .blocks
            .as_ref()
            .is_some_and(|b| b.send(executed).is_ok())
        {
            true => {
                self.sent = number;
                Ok(())
            }
            false => Err(self.stopped()),
        }
    }

    /// Whether a block handed over is still being committed.
    fn busy(&self) -> bool {
        self.last_committed.load(Ordering::Acquire) < self.sent
    }

    /// The committing thread's error, if it stopped on one.
    fn check(&mut self) -> Result<()> {
        match self.thread.as_ref().is_some_and(|t| t.is_finished()) {
            true => Err(self.stopped()),
            false => Ok(()),
        }
    }

    /// Why the thread ended while blocks were still coming: its error.
    fn stopped(&mut self) -> Error {
        self.finish()
            .err()
            .unwrap_or_else(|| Error::Corrupt("the committing thread stopped".into()))
    }

    /// Waits until every block handed over is committed.
    fn finish(&mut self) -> Result<()> {
        self.blocks = None;
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(Error::Corrupt("the committing thread panicked".into())),
            None => Ok(()),
        }
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        if let Err(e) = self.finish() {
            tracing::error!(target: "rollup::sequencer", error = %e, "committing a sealed block failed");
        }
    }
}

/// What one open block has learnt about the pool: senders whose next transaction waits for the
/// next block, and the gas of transactions refused after running (for the witness budget).
#[derive(Debug, Default)]
struct Round {
    full: HashSet<Address>,
    /// Gas limits of transactions that ran and were refused for the witness budget: work nobody
    /// pays for.
    unpaid_gas: u64,
}

impl Round {
    /// Whether the block has done a block's worth of unpaid work and takes nothing more: a flood
    /// of transactions built to run long and then read past the witness budget costs the
    /// sequencer at most one block's gas per block besides what is paid.
    fn closed(&self, gas_limit: u64) -> bool {
        self.unpaid_gas >= gas_limit
    }
}

/// What one round put into the open block: the raw transactions, and each sender's next nonce
/// after them (for the pool, once the round is published).
#[derive(Debug, Default)]
struct Executed {
    raws: Vec<Bytes>,
    nonces: Vec<(Address, u64)>,
}

impl std::ops::Deref for Executed {
    type Target = [Bytes];
    fn deref(&self) -> &[Bytes] {
        &self.raws
    }
}

/// Executes `txs` into the open block in order; returns the raw bytes of those included. A
/// transaction that fails is dropped from the pool and its sender skipped for the rest of the
/// round; one that does not fit leaves its sender for the next block; one that no block can take
/// is dropped.
fn execute_all<S: tandem_state::StateReader>(
    backend: &Backend,
    builder: &mut L2BlockBuilder<'_, S>,
    mut txs: impl Candidates,
    round: &mut Round,
) -> Result<Executed> {
    let mut included = Vec::new();
    let mut nonces = Vec::new();
    let drop = |hash: B256, reason: String| {
        tracing::debug!(target: "rollup::sequencer", %hash, reason, "dropping a transaction");
        backend.pool.lock().remove(&hash);
        backend.preconf.rejected(hash, reason);
    };
    txs.fill(|PoolTx { tx, sender, .. }| {
        if round.closed(builder.header().gas_limit) {
            return Ok(Fill::Done);
        }
        let tx = Arc::unwrap_or_clone(tx);
        let raw = Bytes::from(tx.encoded_2718());
        let hash = tx.tx_hash();
        let nonce = alloy_consensus::Transaction::nonce(&tx);
        let gas = alloy_consensus::Transaction::gas_limit(&tx);
        // Nothing else in the block: a transaction refused now no block can take.
        let alone = builder.executed().0.len() == builder.queued();
        match builder.execute(tx, sender) {
            Ok(_) => {
                included.push(raw);
                nonces.push((sender, nonce + 1));
                Ok(Fill::Included)
            }
            Err(ExecError::InvalidTx { reason, .. }) => {
                drop(hash, reason);
                Ok(Fill::Refused)
            }
            Err(e @ ExecError::DataFull { .. }) if alone => {
                drop(hash, e.to_string());
                Ok(Fill::Refused)
            }
            Err(ExecError::BlockFull { .. } | ExecError::DataFull { .. }) => {
                round.full.insert(sender);
                Ok(Fill::Refused)
            }
            // Too much state for what is left of the block's witness budget: the next block,
            // unless no block could take it.
            Err(e @ ExecError::WitnessFull { .. }) => {
                round.unpaid_gas = round.unpaid_gas.saturating_add(gas);
                if alone && builder.queued() == 0 {
                    drop(hash, e.to_string());
                } else {
                    round.full.insert(sender);
                }
                Ok(Fill::Refused)
            }
            Err(e) => Err(Error::from(e)),
        }
    })?;
    Ok(Executed {
        raws: included,
        nonces,
    })
}

/// Publishes the receipts of the last `count` transactions of the open block, and what the block
/// has written so far.
fn publish<S: tandem_state::StateReader>(
    backend: &Backend,
    builder: &mut L2BlockBuilder<'_, S>,
    count: usize,
) -> Result<()> {
    let (txs, receipts) = builder.executed();
    // Only what is new: the open block's earlier receipts were published already.
    let header = builder.header();
    let new = tandem_rpc::receipts_from(
        header,
        B256::ZERO,
        txs,
        receipts,
        Layer::L2,
        txs.len() - count,
    );
    let fresh: Vec<RpcReceipt> = new
        .into_iter()
        .map(|mut receipt| {
            // Not sealed yet: no block hash.
            receipt.inner.block_hash = None;
            receipt.inner.inner = receipt.inner.inner.map_logs(|mut log| {
                log.block_hash = None;
                log
            });
            receipt
        })
        .collect();
    // What `pending` reads, and what the pool validates a sender's next transaction against:
    // the open block's state so far.
    let writes = builder.take_writes();
    backend.preconf.written(builder.header(), writes);
    backend.preconf.executed(fresh);
    Ok(())
}

/// Commits a sealed block, updates the pool and announces it.
fn seal(backend: &Backend, executed: tandem_execution::ExecutedBlock) -> Result<()> {
    let commit = executed.into_commit();
    tandem_rpc::mining::commit_produced(backend, &commit)?;
    let hashes: Vec<B256> = commit
        .block
        .block
        .transactions
        .iter()
        .map(|t| t.tx.tx_hash())
        .collect();
    backend.preconf.committed(commit.block.number(), &hashes);
    let header = commit.block.header();
    tracing::debug!(
        target: "rollup::sequencer",
        number = header.number,
        hash = %commit.block.hash,
        txs = hashes.len(),
        origin = L1Origin::of_header(header).map(|o| o.number),
        "sealed L2 block"
    );
    backend.announce(Arc::new(NewBlock {
        block: commit.block,
        receipts: commit.receipts,
    }));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::TxEip1559;
    use alloy_primitives::{TxKind, U256, keccak256};
    use tandem_execution::budget::{CODE_BYTES, WITNESS_BUDGET};
    use tandem_primitives::{GenesisAccount, dev, genesis};
    use tandem_state::LatestState;

    /// Calls EXTCODESIZE on every 32-byte address word of its calldata.
    const PROBE: Address = Address::new([0x9b; 20]);
    const CODE: usize = 20_000;

    #[test]
    fn transactions_refused_for_the_witness_budget_cost_at_most_a_block_of_unpaid_work() {
        let contracts: Vec<Address> = (0..80u64)
            .map(|i| Address::from_word(keccak256(i.to_be_bytes())))
            .collect();
        let mut g = genesis::dev_l2_genesis();
        let code = |bytes: Vec<u8>| GenesisAccount::default().with_code(Some(bytes.into()));
        let probe = alloy_primitives::hex::decode("5f5b8036111560135780353b506020016001565b00");
        g.alloc.insert(PROBE, code(probe.unwrap()));
        for (i, address) in contracts.iter().enumerate() {
            let mut bytes = vec![0u8; CODE];
            bytes[1..9].copy_from_slice(&(i as u64).to_be_bytes());
            g.alloc.insert(*address, code(bytes));
        }
        let dir = tempfile::tempdir().unwrap();
        let backend = tandem_rpc::open_backend(
            dir.path(),
            Default::default(),
            &g,
            &Default::default(),
            &Default::default(),
            &[],
        )
        .unwrap();
        let read = |from: usize, of: &[Address], gas: u64| {
            let account = &dev::accounts()[from];
            let tx = account.sign(TxEip1559 {
                chain_id: 901,
                gas_limit: gas,
                max_fee_per_gas: 1_000_000_000,
                to: TxKind::Call(PROBE),
                value: U256::ZERO,
                input: of
                    .iter()
                    .flat_map(|a| a.into_word().0)
                    .collect::<Vec<u8>>()
                    .into(),
                ..Default::default()
            });
            PoolTx::new(tx, account.address)
        };
        // Four, each within one transaction's share, take most of the budget (and pay for it);
        // each after them runs, then reads past what is left.
        let per = 7;
        assert!(4 * per as u64 * (CODE as u64 + CODE_BYTES) > WITNESS_BUDGET * 3 / 4);
        let mut txs: Vec<PoolTx> = (0..4)
            .map(|i| read(i, &contracts[per * i..per * (i + 1)], 2_000_000))
            .collect();
        txs.extend((4..10).map(|i| read(i, &contracts[per * i..per * (i + 1)], 9_000_000)));
        let reader = backend.storage.read().unwrap();
        let parent = reader.header(0).unwrap().unwrap();
        let mut builder = L2BlockBuilder::open(
            (&reader).into(),
            LatestState(&reader),
            &backend.chain,
            &parent,
            parent.timestamp + 1,
            L1Origin::default(),
            &[],
        )
        .unwrap();
        builder.sequencing();
        let mut round = Round::default();
        let included = execute_all(&backend, &mut builder, InOrder::new(txs), &mut round).unwrap();
        assert_eq!(included.len(), 4);
        // Four refused (36M gas of unpaid work past the 30M limit), and the block takes nothing more.
        assert_eq!(round.unpaid_gas, 4 * 9_000_000);
        assert!(round.closed(backend.chain.gas_limit));
        assert_eq!(round.full.len(), 4, "the refused wait for the next block");
    }
}
