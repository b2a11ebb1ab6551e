//! The L2 processes: `tandem l2 sequencer` (sequencer + batcher), `tandem l2 verifier`
//! (derivation from L1), and the proposer and challenger beside them; each node serves the
//! Ethereum JSON-RPC and tandem's own methods ([`rpc`]). Every background job is a
//! [`Service`]; what the jobs ask of L1 goes through the [`L1`] port, so tests can launch them on
//! a scripted L1.
mod optimism;
mod rpc;
#[cfg(test)]
mod tests;

use crate::{
    Error, Result,
    batcher::{Batcher, BatcherConfig},
    challenger::{Challenger, ChallengerConfig, ChallengerStatus},
    derivation::{self, Derivation, Deriver},
    outputs::FinalizedFollower,
    proposer::{Proposer, ProposerConfig, ProposerStatus},
    queue::{OriginTracker, PortalQueue},
    sequencer::{self, SequencerConfig},
    service::{Handle, Service, Stopper},
};
use alloy_primitives::B256;
use parking_lot::Mutex;
use rpc::{ChallengerSlot, Status};
use std::{
    net::SocketAddr,
    path::PathBuf,
    sync::{
        Arc,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};
use tandem_client::{Client, L1, Retrying};
use tandem_primitives::{Clock, Genesis, SystemClock, dev::DevAccount};
use tandem_rpc::{Backend, Limits};
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
    /// Verifier only: the sequencer's JSON-RPC, where it forwards the raw transactions clients
    /// send it (as OP Stack's replicas do); without one it refuses them.
    pub sequencer_rpc: Option<String>,
}

impl L2Config {
    /// A node on `genesis`, or on the dev L2 genesis with the dev accounts unlocked (`None`), with
    /// default pool and RPC limits.
    pub fn new(
        data_dir: PathBuf,
        rpc_addr: SocketAddr,
        l1_rpc: &str,
        genesis: Option<Genesis>,
        history: tandem_storage::History,
    ) -> Self {
        let dev_signers = match genesis {
            Some(_) => Vec::new(),
            None => tandem_primitives::dev::accounts().to_vec(),
        };
        Self {
            data_dir,
            rpc_addr,
            l1_rpc: l1_rpc.to_string(),
            genesis: genesis.unwrap_or_else(tandem_primitives::genesis::dev_l2_genesis),
            mempool: Default::default(),
            rpc_limits: Default::default(),
            history,
            dev_signers,
            ignore: Vec::new(),
            fault: None,
            sequencer_rpc: None,
        }
    }
}

/// A running L2 node.
pub struct L2Handle {
    pub rpc_addr: SocketAddr,
    pub backend: Backend,
    challenger: ChallengerSlot,
    rpc: jsonrpsee::server::ServerHandle,
    stop_sequencer: Arc<AtomicBool>,
    sequencer: Option<std::thread::JoinHandle<Result<()>>>,
    services: Vec<Stopper>,
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
        self.backend.pool.added().notify_one();
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
        for service in self.services.drain(..) {
            service.stop().await;
        }
        let _ = self.rpc.stop();
        self.rpc.stopped().await;
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

/// Starts a sequencer on the L1 at `config.l1_rpc`: the open block on the newest finalized L1
/// origin, sealed every `block_time`, and (with `batcher`) the batcher posting to L1.
pub async fn launch_sequencer(
    config: L2Config,
    block_time: Duration,
    batcher: Option<BatcherConfig>,
) -> Result<L2Handle> {
    let l1 = Client::new(&config.l1_rpc)?;
    launch_sequencer_on(l1, config, block_time, batcher, Arc::new(SystemClock)).await
}

/// [`launch_sequencer`] on any [`L1`], with block timestamps from `clock`.
pub async fn launch_sequencer_on<L: L1>(
    l1: L,
    config: L2Config,
    block_time: Duration,
    batcher: Option<BatcherConfig>,
    clock: Arc<dyn Clock>,
) -> Result<L2Handle> {
    let l1 = Retrying::new(l1);
    let backend = open(&config, block_time)?;
    let first = retry("finalized L1 block", L1_PATIENCE, || async {
        Ok(l1.finalized().await?)
    })
    .await?;
    // The queue as far as L1 is final; a read that fails part way goes on where it stopped, and
    // what L2 has included already is not kept.
    let mut read = PortalQueue::default();
    let deadline = tokio::time::Instant::now() + L1_PATIENCE;
    while let Err(e) = read.sync(&l1, first.number).await {
        if tokio::time::Instant::now() >= deadline {
            return Err(e);
        }
        tracing::debug!(target: "rollup", error = %e, "reading the Portal queue; retrying");
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let included = {
        let reader = backend.storage.read()?;
        let head = reader.last_height().unwrap_or_default();
        reader
            .header(head)?
            .map_or(0, |h| tandem_execution::l2::L1Origin::queue_index_of(&h))
    };
    read.prune_below(included);
    let queue = Arc::new(Mutex::new(read));
    let (origin_tx, origin_rx) = watch::channel(first);
    let mut services = vec![
        OriginTracker::new(l1.clone(), origin_tx, queue.clone())
            .spawn()
            .into_stopper(),
        FinalizedFollower::new(backend.storage.clone(), l1.clone())
            .spawn()
            .into_stopper(),
    ];
    let batcher = batcher.map(|batcher| {
        Batcher::new(
            backend.storage.clone(),
            backend.chain.chain_id,
            l1.clone(),
            batcher,
        )
        .spawn()
    });
    let status = Status {
        role: "sequencer",
        backend: backend.clone(),
        l1_rpc: config.l1_rpc.clone(),
        batcher: batcher.as_ref().map(Handle::reports),
        derivation: None,
        challenger: ChallengerSlot::default(),
    };
    services.extend(batcher.map(Handle::into_stopper));
    let challenger = status.challenger.clone();
    let (rpc_addr, rpc) = rpc::serve(&config, &backend, status, l1).await?;

    let stop_sequencer = Arc::new(AtomicBool::new(false));
    let sequencer_config = SequencerConfig {
        block_time,
        wal_path: config.data_dir.join("sequencer.wal"),
        ignore: config.ignore.iter().copied().collect(),
        clock,
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
        stop_sequencer,
        sequencer: Some(sequencer),
        services,
    })
}

/// A verifier's way to its sequencer for the raw transactions clients send it: at most
/// [`MAX_FORWARDS`] at once; the sequencer's refusals go back as it gave them, and its being out
/// of reach as "the sequencer is unavailable" (the detail goes to the log).
struct ToSequencer {
    sequencer: Client,
    in_flight: Arc<tokio::sync::Semaphore>,
}

/// Transactions a verifier forwards at once; more are refused as busy.
const MAX_FORWARDS: usize = 64;

impl ToSequencer {
    fn new(sequencer: Client) -> Self {
        let in_flight = Arc::new(tokio::sync::Semaphore::new(MAX_FORWARDS));
        Self {
            sequencer,
            in_flight,
        }
    }
}

impl tandem_rpc::Forward for ToSequencer {
    fn forward(
        &self,
        raw: alloy_primitives::Bytes,
    ) -> std::pin::Pin<
        Box<dyn Future<Output = std::result::Result<B256, tandem_rpc::RpcError>> + Send>,
    > {
        let (sequencer, in_flight) = (self.sequencer.clone(), self.in_flight.clone());
        Box::pin(async move {
            let Ok(_slot) = in_flight.try_acquire_owned() else {
                return Err(tandem_rpc::RpcError::limit(
                    "the verifier is forwarding as many transactions as it can; try again",
                ));
            };
            match sequencer.send_raw_relayed(&raw).await {
                Ok(hash) => Ok(hash),
                Err(tandem_client::Relayed::Refused { code, message }) => {
                    Err(tandem_rpc::RpcError {
                        code,
                        message,
                        data: None,
                    })
                }
                Err(tandem_client::Relayed::Unreachable(why)) => {
                    tracing::warn!(target: "rollup::verifier", %why, "forwarding a transaction to the sequencer failed");
                    Err(tandem_rpc::RpcError::server(
                        "the sequencer is unavailable; try again",
                    ))
                }
            }
        })
    }
}

/// Starts a verifier on the L1 at `config.l1_rpc`: derives every L2 block from finalized L1 data
/// and serves it.
pub async fn launch_verifier(config: L2Config) -> Result<L2Handle> {
    let l1 = Client::new(&config.l1_rpc)?;
    launch_verifier_on(l1, config).await
}

/// [`launch_verifier`] on any [`L1`].
pub async fn launch_verifier_on<L: L1>(l1: L, config: L2Config) -> Result<L2Handle> {
    let l1 = Retrying::new(l1);
    let mut backend = open(&config, Duration::from_secs(5))?;
    backend.refuses_transactions = Some(
        "this L2 verifier derives blocks from L1 and takes no transactions: send them to the sequencer"
            .into(),
    );
    if let Some(url) = &config.sequencer_rpc {
        let options = tandem_client::Options {
            timeout: Duration::from_secs(10),
            ..Default::default()
        };
        backend.forward = Some(Arc::new(ToSequencer::new(Client::http(url, options)?)));
    }
    let batcher = retry("BatchInbox batcher", L1_PATIENCE, || {
        derivation::batcher_address(&l1)
    })
    .await?;
    let mut deriver = Deriver::new(backend.storage.clone(), backend.chain.clone(), batcher);
    if let Some(fault) = config.fault {
        tracing::warn!(target: "rollup::derivation", ?fault, "deriving every block wrong (testing only): this node's chain is not L2's");
        deriver.set_fault(fault);
    }
    let announcer = backend.clone();
    let on_blocks = Arc::new(move |from: u64, to: u64| rpc::announce_range(&announcer, from, to));
    let derivation = Derivation::new(deriver, l1.clone(), on_blocks).spawn();
    let status = Status {
        role: "verifier",
        backend: backend.clone(),
        l1_rpc: config.l1_rpc.clone(),
        batcher: None,
        derivation: Some(derivation.reports()),
        challenger: ChallengerSlot::default(),
    };
    let services = vec![
        derivation.into_stopper(),
        FinalizedFollower::new(backend.storage.clone(), l1.clone())
            .spawn()
            .into_stopper(),
    ];
    let challenger = status.challenger.clone();
    let (rpc_addr, rpc) = rpc::serve(&config, &backend, status, l1).await?;
    Ok(L2Handle {
        rpc_addr,
        backend,
        challenger,
        rpc,
        stop_sequencer: Arc::new(AtomicBool::new(false)),
        sequencer: None,
        services,
    })
}

/// A running proposer.
pub type ProposerHandle = Handle<ProposerStatus>;
/// A running challenger.
pub type ChallengerHandle = Handle<ChallengerStatus>;

/// Starts a proposer posting the outputs of the L2 node at `l2_rpc` (best a verifier: it
/// derives from L1 alone) to L1's OutputOracle, signed by `key`.
pub fn launch_proposer(
    l1_rpc: &str,
    l2_rpc: &str,
    key: DevAccount,
    fault: Option<crate::fault::OutputFault>,
) -> Result<ProposerHandle> {
    let (l1, l2) = (Client::new(l1_rpc)?, Client::new(l2_rpc)?);
    Ok(launch_proposer_on(l1, l2, key, fault))
}

/// [`launch_proposer`] on any [`L1`], reading the L2 node `l2`.
pub fn launch_proposer_on<L: L1>(
    l1: L,
    l2: Client,
    key: DevAccount,
    fault: Option<crate::fault::OutputFault>,
) -> ProposerHandle {
    let config = ProposerConfig {
        key,
        poll: Duration::from_millis(500),
        fault,
    };
    Proposer::new(Retrying::new(l1), l2, config).spawn()
}

/// Starts a challenger on `node` (best a verifier: it derives from L1 alone): checks every output
/// posted to L1 against the node's chain and challenges wrong ones in the DisputeGame, signing with
/// `key`.
pub fn launch_challenger(
    node: &L2Handle,
    l1_rpc: &str,
    key: DevAccount,
) -> Result<ChallengerHandle> {
    Ok(launch_challenger_on(node, Client::new(l1_rpc)?, key))
}

/// [`launch_challenger`] on any [`L1`].
pub fn launch_challenger_on<L: L1>(node: &L2Handle, l1: L, key: DevAccount) -> ChallengerHandle {
    let config = ChallengerConfig {
        key,
        poll: Duration::from_millis(500),
    };
    let handle = Challenger::new(
        node.backend.storage.clone(),
        node.backend.chain.clone(),
        Retrying::new(l1),
        config,
    )
    .spawn();
    *node.challenger.lock() = Some(handle.reports());
    handle
}

/// L2 state history a node keeps by default: 20,000 blocks, 83 minutes at 250 ms blocks, so
/// withdrawals can be proven against outputs past a one-hour challenge window.
pub const L2_HISTORY_BLOCKS: u64 = 20_000;

/// What [`launch_stack`] starts: the devnet's L2 on the dev L2 genesis, with the dev keys.
#[derive(Debug, Clone)]
pub struct StackConfig {
    /// The sequencer's and the verifier's data go in subdirectories of this one.
    pub data_dir: PathBuf,
    pub host: std::net::IpAddr,
    pub sequencer_port: u16,
    pub verifier_port: u16,
    pub block_time: Duration,
    pub history: tandem_storage::History,
    /// Start the output proposer (the challenger always runs).
    pub proposer: bool,
    /// Testing only: a faulty batcher ([`BatcherConfig::fault`]).
    pub faulty_batcher: bool,
}

/// The devnet's L2: a sequencer (with the batcher) and a verifier, a proposer posting the
/// verifier's outputs to L1 and a challenger checking every output against the verifier's chain.
#[derive(Debug)]
pub struct Stack {
    pub sequencer: L2Handle,
    pub verifier: L2Handle,
    pub proposer: Option<ProposerHandle>,
    pub challenger: ChallengerHandle,
}

impl Stack {
    /// Stops the challenger and the proposer, then the verifier, then the sequencer.
    pub async fn shutdown(self) {
        self.challenger.shutdown().await;
        if let Some(proposer) = self.proposer {
            proposer.shutdown().await;
        }
        self.verifier.shutdown().await;
        self.sequencer.shutdown().await;
    }
}

/// Starts the devnet's L2 on the L1 at `l1_rpc`.
pub async fn launch_stack(l1_rpc: &str, config: &StackConfig) -> Result<Stack> {
    let node = |dir: &str, port: u16| {
        let rpc_addr = SocketAddr::new(config.host, port);
        L2Config::new(
            config.data_dir.join(dir),
            rpc_addr,
            l1_rpc,
            None,
            config.history,
        )
    };
    let accounts = tandem_primitives::dev::accounts();
    let batcher = BatcherConfig {
        fault: config.faulty_batcher,
        ..BatcherConfig::new(accounts[tandem_primitives::dev::DEV_BATCHER].clone())
    };
    let sequencer = launch_sequencer(
        node("l2-sequencer", config.sequencer_port),
        config.block_time,
        Some(batcher),
    )
    .await?;
    // The verifier forwards the transactions clients send it to the sequencer.
    let verifier = L2Config {
        sequencer_rpc: Some(format!("http://{}", sequencer.rpc_addr)),
        ..node("l2-verifier", config.verifier_port)
    };
    let verifier = launch_verifier(verifier).await?;
    let proposer = match config.proposer {
        false => None,
        true => Some(launch_proposer(
            l1_rpc,
            &format!("http://{}", verifier.rpc_addr),
            accounts[tandem_primitives::dev::DEV_PROPOSER].clone(),
            None,
        )?),
    };
    let challenger = launch_challenger(
        &verifier,
        l1_rpc,
        accounts[tandem_primitives::dev::DEV_CHALLENGER].clone(),
    )?;
    Ok(Stack {
        sequencer,
        verifier,
        proposer,
        challenger,
    })
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
    let mut backend = tandem_rpc::open_backend(
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
