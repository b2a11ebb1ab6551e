//! The L2 processes: `tandem l2 sequencer` (sequencer + batcher) and `tandem l2 verifier`
//! (derivation from L1), each with the Ethereum JSON-RPC and `tandem_rollupStatus`.
use crate::{
    Error, Result,
    batcher::{self, BatcherConfig, BatcherStatus},
    bridge, challenger,
    derivation::{self, DerivationStatus, Deriver},
    l1::L1Client,
    queue::PortalQueue,
    sequencer::{self, SequencerConfig},
};
use alloy_primitives::B256;
use jsonrpsee::types::ErrorObjectOwned;
use parking_lot::Mutex;
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};
use tandem_execution::l2::L1Origin;
use tandem_primitives::{Genesis, dev::DevAccount};
use tandem_rpc::{Backend, Limits, NewBlock};
use tokio::sync::watch;

/// What every L2 node needs.
#[derive(Debug, Clone)]
pub struct L2Config {
    pub data_dir: PathBuf,
    pub rpc_addr: SocketAddr,
    /// L1's JSON-RPC.
    pub l1_rpc: String,
    pub genesis: Genesis,
    pub mempool: tandem_mempool::Config,
    pub rpc_limits: Limits,
    pub history: tandem_storage::History,
    /// Accounts the node signs for (`eth_sendTransaction`). Dev mode only.
    pub dev_signers: Vec<DevAccount>,
    /// Sequencer only: senders whose transactions it never includes (to test forced inclusion).
    pub ignore: Vec<alloy_primitives::Address>,
    /// Verifier only, testing only: derive every block wrong this way, a faulty node whose
    /// outputs a challenger should remove.
    pub fault: Option<crate::fault::DerivationFault>,
}

/// A running L2 node.
pub struct L2Handle {
    pub rpc_addr: SocketAddr,
    pub backend: Backend,
    challenger: ChallengerSlot,
    rpc: jsonrpsee::server::ServerHandle,
    stop: watch::Sender<bool>,
    stop_sequencer: Arc<AtomicBool>,
    sequencer: Option<std::thread::JoinHandle<Result<()>>>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl std::fmt::Debug for L2Handle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("L2Handle")
            .field("rpc_addr", &self.rpc_addr)
            .finish_non_exhaustive()
    }
}

impl L2Handle {
    /// Seals the open block, stops the services, then the RPC server.
    pub async fn shutdown(mut self) {
        self.stop_sequencer.store(true, Ordering::Relaxed);
        self.backend.tx_added.notify_one();
        if let Some(thread) = self.sequencer.take() {
            match tokio::task::spawn_blocking(move || thread.join()).await {
                Ok(Ok(Err(e))) => {
                    tracing::error!(target: "rollup", error = %e, "sequencer stopped with an error")
                }
                Ok(Err(_)) | Err(_) => {
                    tracing::error!(target: "rollup", "sequencer thread panicked")
                }
                Ok(Ok(Ok(()))) => {}
            }
        }
        let _ = self.stop.send(true);
        for task in self.tasks.drain(..) {
            let _ = task.await;
        }
        let _ = self.rpc.stop();
        self.rpc.stopped().await;
        tracing::info!(target: "rollup", "stopped");
    }
}

/// Retries `f` every half second for up to `patience`, for services that start before L1 answers.
async fn retry<T, F, Fut>(what: &str, patience: Duration, mut f: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let deadline = tokio::time::Instant::now() + patience;
    loop {
        match f().await {
            Ok(value) => return Ok(value),
            Err(e) if tokio::time::Instant::now() >= deadline => return Err(e),
            Err(e) => {
                tracing::debug!(target: "rollup", what, error = %e, "L1 not ready; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

const L1_PATIENCE: Duration = Duration::from_secs(60);

/// Starts a sequencer: the open block on the newest finalized L1 origin, sealed every
/// `block_time`, and (with `batcher`) the batcher posting to L1.
pub async fn launch_sequencer(
    config: L2Config,
    block_time: Duration,
    batcher: Option<BatcherConfig>,
) -> Result<L2Handle> {
    let backend = open(&config, block_time)?;
    let l1 = L1Client::new(&config.l1_rpc)?;
    let first = retry("finalized L1 block", L1_PATIENCE, || async {
        Ok(l1.finalized().await?)
    })
    .await?;
    let read = retry("the Portal queue", L1_PATIENCE, || {
        let l1 = l1.clone();
        async move {
            let mut queue = PortalQueue::default();
            queue.sync(&l1, first.number).await?;
            Ok(queue)
        }
    })
    .await?;
    let queue = Arc::new(Mutex::new(read));
    let (origin_tx, origin_rx) = watch::channel(first);
    let (stop, stopped) = watch::channel(false);
    let mut tasks = vec![
        tokio::spawn(track_origin(
            l1.clone(),
            origin_tx,
            queue.clone(),
            stopped.clone(),
        )),
        tokio::spawn(bridge::follow_finalized(
            backend.storage.clone(),
            l1.clone(),
            stopped.clone(),
        )),
    ];

    let batcher_status = Arc::new(Mutex::new(BatcherStatus::default()));
    if let Some(batcher) = batcher {
        tasks.push(tokio::spawn(batcher::run(
            backend.storage.clone(),
            backend.chain.chain_id,
            l1.clone(),
            batcher,
            batcher_status.clone(),
            stopped.clone(),
        )));
    }
    let status = Status {
        role: "sequencer",
        backend: backend.clone(),
        l1_rpc: config.l1_rpc.clone(),
        batcher: Some(batcher_status),
        derivation: None,
        challenger: ChallengerSlot::default(),
    };
    let challenger = status.challenger.clone();
    let (rpc_addr, rpc) = serve(&config, &backend, status).await?;

    let stop_sequencer = Arc::new(AtomicBool::new(false));
    let sequencer_config = SequencerConfig {
        block_time,
        wal_path: config.data_dir.join("sequencer.wal"),
        ignore: config.ignore.iter().copied().collect(),
    };
    let runtime = tokio::runtime::Handle::current();
    let (thread_backend, thread_stop) = (backend.clone(), stop_sequencer.clone());
    let sequencer = std::thread::Builder::new()
        .name("sequencer".into())
        .spawn(move || {
            let result = sequencer::run(
                thread_backend,
                sequencer_config,
                origin_rx,
                queue,
                thread_stop,
                runtime,
            );
            if let Err(e) = &result {
                tracing::error!(target: "rollup::sequencer", error = %e, "sequencer failed");
            }
            result
        })
        .map_err(|e| Error::Config(format!("cannot start the sequencer thread: {e}")))?;
    Ok(L2Handle {
        rpc_addr,
        backend,
        challenger,
        rpc,
        stop,
        stop_sequencer,
        sequencer: Some(sequencer),
        tasks,
    })
}

/// Starts a verifier: derives every L2 block from finalized L1 data and serves it.
pub async fn launch_verifier(config: L2Config) -> Result<L2Handle> {
    let mut backend = open(&config, Duration::from_secs(5))?;
    backend.refuses_transactions = Some(
        "this L2 verifier derives blocks from L1 and takes no transactions: send them to the sequencer"
            .into(),
    );
    let l1 = L1Client::new(&config.l1_rpc)?;
    let batcher = retry("BatchInbox batcher", L1_PATIENCE, || {
        derivation::batcher_address(&l1)
    })
    .await?;
    let mut deriver = Deriver::new(backend.storage.clone(), backend.chain.clone(), batcher);
    if let Some(fault) = config.fault {
        tracing::warn!(target: "rollup::derivation", ?fault, "deriving every block wrong (testing only): this node's chain is not L2's");
        deriver.set_fault(fault);
    }
    let derivation_status = Arc::new(Mutex::new(DerivationStatus::default()));
    let (stop, stopped) = watch::channel(false);
    let announcer = backend.clone();
    let on_blocks = Arc::new(move |from: u64, to: u64| announce_range(&announcer, from, to));
    let tasks = vec![
        tokio::spawn(derivation::follow(
            deriver,
            l1.clone(),
            derivation_status.clone(),
            on_blocks,
            stopped.clone(),
        )),
        tokio::spawn(bridge::follow_finalized(
            backend.storage.clone(),
            l1,
            stopped,
        )),
    ];
    let status = Status {
        role: "verifier",
        backend: backend.clone(),
        l1_rpc: config.l1_rpc.clone(),
        batcher: None,
        derivation: Some(derivation_status),
        challenger: ChallengerSlot::default(),
    };
    let challenger = status.challenger.clone();
    let (rpc_addr, rpc) = serve(&config, &backend, status).await?;
    Ok(L2Handle {
        rpc_addr,
        backend,
        challenger,
        rpc,
        stop,
        stop_sequencer: Arc::new(AtomicBool::new(false)),
        sequencer: None,
        tasks,
    })
}

/// A running background service (the proposer, the challenger) and what it reports.
pub struct ServiceHandle<S> {
    pub status: Arc<Mutex<S>>,
    stop: watch::Sender<bool>,
    task: tokio::task::JoinHandle<()>,
}

/// A running proposer.
pub type ProposerHandle = ServiceHandle<bridge::ProposerStatus>;
/// A running challenger.
pub type ChallengerHandle = ServiceHandle<challenger::ChallengerStatus>;

impl<S> std::fmt::Debug for ServiceHandle<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceHandle").finish_non_exhaustive()
    }
}

impl<S> ServiceHandle<S> {
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

/// Starts a proposer posting the outputs of the L2 node at `l2_rpc` (best a verifier: it
/// derives from L1 alone) to L1's OutputOracle, signed by `key`.
pub fn launch_proposer(
    l1_rpc: &str,
    l2_rpc: &str,
    key: DevAccount,
    fault: Option<crate::fault::OutputFault>,
) -> Result<ProposerHandle> {
    let (l1, l2) = (L1Client::new(l1_rpc)?, L1Client::new(l2_rpc)?);
    let status = Arc::new(Mutex::new(bridge::ProposerStatus::default()));
    let (stop, stopped) = watch::channel(false);
    let config = bridge::ProposerConfig {
        key,
        poll: Duration::from_millis(500),
        fault,
    };
    let task = tokio::spawn(bridge::run_proposer(
        l1,
        l2,
        config,
        status.clone(),
        stopped,
    ));
    Ok(ServiceHandle { status, stop, task })
}

/// Starts a challenger on `node` (best a verifier: it derives from L1 alone): checks every output
/// posted to L1 against the node's chain and challenges wrong ones in the DisputeGame, signing with
/// `key`.
pub fn launch_challenger(
    node: &L2Handle,
    l1_rpc: &str,
    key: DevAccount,
) -> Result<ChallengerHandle> {
    let l1 = L1Client::new(l1_rpc)?;
    let status = Arc::new(Mutex::new(challenger::ChallengerStatus::default()));
    *node.challenger.lock() = Some(status.clone());
    let (stop, stopped) = watch::channel(false);
    let config = challenger::ChallengerConfig {
        key,
        poll: Duration::from_millis(500),
    };
    let task = tokio::spawn(challenger::run_challenger(
        node.backend.storage.clone(),
        node.backend.chain.clone(),
        l1,
        config,
        status.clone(),
        stopped,
    ));
    Ok(ServiceHandle { status, stop, task })
}

fn open(config: &L2Config, block_time: Duration) -> Result<Backend> {
    // No L2 block holds more transaction bytes than this (the state transition's rule).
    let mempool = tandem_mempool::Config {
        max_tx_bytes: config
            .mempool
            .max_tx_bytes
            .min(tandem_execution::l2::MAX_BLOCK_DATA_BYTES as usize),
        ..config.mempool.clone()
    };
    let mut backend = tandem_node::open_backend(
        &config.data_dir,
        config.history,
        &config.genesis,
        &mempool,
        &config.rpc_limits,
        &config.dev_signers,
    )?;
    if backend.chain.layer != tandem_primitives::Layer::L2 {
        return Err(Error::Config(
            "the genesis is not an L2 genesis (no L1Block predeploy)".into(),
        ));
    }
    // Until L1 holds a batch, only genesis is safe.
    if backend.storage.read()?.last_height() == Some(0) {
        backend.storage.set_safe(0)?;
        backend.storage.set_finalized(0)?;
    }
    backend.health = Arc::new(tandem_rpc::Health::new(
        Duration::from_secs(10).max(block_time * 3),
        true,
        None,
    ));
    Ok(backend)
}

async fn serve(
    config: &L2Config,
    backend: &Backend,
    status: Status,
) -> Result<(SocketAddr, jsonrpsee::server::ServerHandle)> {
    let l1 = L1Client::new(&status.l1_rpc)?;
    let mut module = jsonrpsee::RpcModule::new((status, l1));
    let register = |e: jsonrpsee::core::RegisterMethodError| Error::Config(e.to_string());
    module
        .register_blocking_method("tandem_rollupStatus", |_, context, _| {
            Ok::<_, ErrorObjectOwned>(context.0.report())
        })
        .map_err(register)?;
    module
        .register_blocking_method("tandem_outputAtBlock", |params, context, _| {
            let number: alloy_primitives::U64 = params.one()?;
            let reader = context.0.backend.storage.read().map_err(rpc_error)?;
            bridge::output_at(&reader, number.to()).map_err(rpc_error)
        })
        .map_err(register)?;
    module
        .register_blocking_method("tandem_executionWitness", |params, context, _| {
            let number: alloy_primitives::U64 = params.one()?;
            let reader = context.0.backend.storage.read().map_err(rpc_error)?;
            let w = tandem_execution::witness::execution_witness(
                &reader,
                &context.0.backend.chain,
                number.to(),
            )
            .map_err(rpc_error)?;
            Ok::<_, ErrorObjectOwned>(serde_json::json!({
                "blockNumber": w.block_number,
                "parentStateRoot": w.parent_state_root,
                "state": w.state,
                "codes": w.codes,
                "keys": w.keys,
            }))
        })
        .map_err(register)?;
    module
        .register_blocking_method("tandem_outputProposal", |params, context, _| {
            let (first, last): (u64, u64) = params.parse()?;
            let reader = context.0.backend.storage.read().map_err(rpc_error)?;
            bridge::proposal(&reader, first, last).map_err(rpc_error)
        })
        .map_err(register)?;
    module
        .register_async_method("tandem_withdrawalStatus", |params, context, _| async move {
            let hash: B256 = params.one()?;
            let (status, l1) = &*context;
            bridge::withdrawal_status(&status.backend.storage, l1, hash)
                .await
                .map_err(rpc_error)
        })
        .map_err(register)?;
    module
        .register_async_method("tandem_withdrawalProof", |params, context, _| async move {
            let mut seq = params.sequence();
            let hash: B256 = seq.next()?;
            let index: Option<u64> = seq.optional_next()?;
            let (status, l1) = &*context;
            bridge::withdrawal_proofs(&status.backend.storage, l1, hash, index)
                .await
                .map_err(rpc_error)
        })
        .map_err(register)?;
    tandem_rpc::serve_with(config.rpc_addr, backend.clone(), module.into())
        .await
        .map_err(|e| Error::Config(format!("cannot start JSON-RPC on {}: {e}", config.rpc_addr)))
}

/// Polls L1 for its newest finalized block, and publishes it once the Portal's queue is read up
/// to it.
async fn track_origin(
    l1: L1Client,
    origin: watch::Sender<L1Origin>,
    queue: Arc<Mutex<PortalQueue>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
        let latest = async {
            let latest = l1.finalized().await?;
            // Copy the queue only when there is something to read (the sync awaits L1), and keep
            // what the sequencer pruned meanwhile.
            let covered = queue.lock().covers(latest.number);
            if !covered {
                let mut read = queue.lock().clone();
                read.sync(&l1, latest.number).await?;
                let mut current = queue.lock();
                read.prune_below(current.first());
                *current = read;
            }
            Ok::<_, Error>(latest)
        };
        match latest.await {
            Ok(latest) => {
                origin.send_if_modified(|current| {
                    let newer = latest.number > current.number;
                    if newer {
                        *current = latest;
                    }
                    newer
                });
            }
            Err(e) => {
                tracing::warn!(target: "rollup", error = %e, "cannot read L1's finalized block")
            }
        }
    }
}

/// Announces derived blocks to subscribers.
fn announce_range(backend: &Backend, from: u64, to: u64) {
    let Ok(reader) = backend.storage.read() else {
        return;
    };
    for number in from..=to {
        if let (Ok(Some(block)), Ok(Some(receipts))) =
            (reader.block(number), reader.receipts(number))
        {
            backend.announce(Arc::new(NewBlock { block, receipts }));
        }
    }
}

/// A node-side failure as a JSON-RPC error (-32000, with its message).
fn rpc_error(e: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32000, e.to_string(), None::<()>)
}

/// What `tandem_rollupStatus` reports.
struct Status {
    role: &'static str,
    backend: Backend,
    l1_rpc: String,
    batcher: Option<Arc<Mutex<BatcherStatus>>>,
    derivation: Option<Arc<Mutex<DerivationStatus>>>,
    challenger: ChallengerSlot,
}

/// Where a challenger started on a node (after it) reports, for `tandem_rollupStatus`.
type ChallengerSlot = Arc<Mutex<Option<Arc<Mutex<challenger::ChallengerStatus>>>>>;

impl Status {
    fn report(&self) -> serde_json::Value {
        let head = |number: Option<u64>, reader: &tandem_storage::Reader| {
            let number = number.unwrap_or_default();
            let header = reader.header(number).ok().flatten();
            serde_json::json!({
                "number": number,
                "hash": header.as_ref().map(|h| h.hash_slow()),
                "l1Origin": header.as_ref().and_then(L1Origin::of_header).map(|o| o.number),
            })
        };
        let Ok(reader) = self.backend.storage.read() else {
            return serde_json::json!({ "error": "storage unavailable" });
        };
        serde_json::json!({
            "role": self.role,
            "chainId": self.backend.chain.chain_id,
            "l1Rpc": self.l1_rpc,
            "unsafe": head(reader.last_height(), &reader),
            "safe": head(reader.safe_height(), &reader),
            "finalized": head(reader.finalized_height(), &reader),
            "preconfirmed": self.backend.preconf.len(),
            "batcher": self.batcher.as_ref().map(|b| b.lock().clone()),
            "derivation": self.derivation.as_ref().map(|d| d.lock().clone()),
            "challenger": self.challenger.lock().as_ref().map(|c| c.lock().clone()),
        })
    }
}
