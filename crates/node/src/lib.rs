//! The L1 node: over a chain opened by [`tandem_rpc::open_backend`] (storage, genesis, pool, RPC
//! backend, shared with the L2 node), it starts JSON-RPC and the block producer.
//!
//! [`launch`] reads top to bottom: storage, genesis, mempool, RPC, then the dev-mode miner
//! ([`tandem_rpc::mining`]). Every block commits durably before it is announced, so a crash at any
//! point restarts on the last committed block.

pub mod network;
mod validator;

pub use tandem_mempool::Config as PoolConfig;
pub use tandem_rpc::mining::Mining;
pub use tandem_rpc::{init_genesis, open_backend};
pub use validator::{ValidatorConfig, ValidatorHandle, launch_validator};

use std::{net::SocketAddr, path::PathBuf, sync::Arc};
use tandem_primitives::{Address, Genesis};
use tandem_rpc::{Backend, Limits};
use tokio::sync::watch;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Storage(#[from] tandem_storage::Error),
    #[error(transparent)]
    Execution(#[from] tandem_execution::Error),
    #[error("cannot start JSON-RPC on {addr}: {source}")]
    Rpc {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot listen for peers on {addr}: {source}")]
    P2p {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("consensus: {0}")]
    Consensus(String),
    #[error(transparent)]
    Open(Box<tandem_rpc::OpenError>),
}

impl From<tandem_rpc::OpenError> for Error {
    fn from(e: tandem_rpc::OpenError) -> Self {
        Self::Open(Box::new(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything one dev node needs.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub rpc_addr: SocketAddr,
    pub genesis: Genesis,
    pub mining: Mining,
    /// Receives the priority fees of mined blocks.
    pub beneficiary: Address,
    pub mempool: tandem_mempool::Config,
    pub rpc_limits: Limits,
    /// How many blocks of state stay readable.
    pub history: tandem_storage::History,
    /// Accounts the node signs for (`eth_sendTransaction`). Dev mode only.
    pub dev_signers: Vec<tandem_primitives::dev::DevAccount>,
}

/// A running node.
#[derive(Debug)]
pub struct Handle {
    pub rpc_addr: SocketAddr,
    pub backend: Backend,
    rpc: jsonrpsee::server::ServerHandle,
    stop: watch::Sender<bool>,
    miner: tokio::task::JoinHandle<()>,
}

impl Handle {
    /// Stops the miner after its current block, then the RPC server.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.miner.await;
        let _ = self.rpc.stop();
        self.rpc.stopped().await;
        tracing::info!(target: "node", "stopped");
    }
}

/// Starts a dev node: storage, genesis, mempool, JSON-RPC and the miner, in that order.
pub async fn launch(config: Config) -> Result<Handle> {
    let mut backend = open_backend(
        &config.data_dir,
        config.history,
        &config.genesis,
        &config.mempool,
        &config.rpc_limits,
        &config.dev_signers,
    )?;
    let stall_after = match config.mining {
        Mining::Instant => std::time::Duration::from_secs(10),
        Mining::Interval(every) => std::time::Duration::from_secs(10).max(every * 3),
    };
    backend.health = Arc::new(tandem_rpc::Health::new(
        stall_after,
        matches!(config.mining, Mining::Interval(_)),
        None,
    ));

    // Dev methods (evm_mine, evm_setAutomine, evm_increaseTime, ...) steer the miner.
    let clock = Arc::new(tandem_primitives::SystemClock);
    let control = Arc::new(
        tandem_rpc::DevControl::new(config.beneficiary, clock, true)
            .with_genesis(config.genesis.clone()),
    );
    backend.dev = Some(control.clone());
    let (rpc_addr, rpc) = tandem_rpc::serve(config.rpc_addr, backend.clone())
        .await
        .map_err(|source| Error::Rpc {
            addr: config.rpc_addr,
            source,
        })?;

    let (stop, stopped) = watch::channel(false);
    let miner = tokio::spawn(tandem_rpc::mining::run(
        backend.clone(),
        config.mining,
        control,
        stopped,
    ));
    Ok(Handle {
        rpc_addr,
        backend,
        rpc,
        stop,
        miner,
    })
}
