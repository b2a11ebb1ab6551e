//! A consensus node: storage, genesis, mempool, JSON-RPC, then a validator on the BFT network.
use crate::{Error, Result};
use futures::channel::mpsc;
use parking_lot::Mutex;
use std::{net::SocketAddr, path::PathBuf, sync::Arc, time::Duration};
use tandem_consensus::{Chain, FullNodeSpec, Gossip, PeerId, Runtime, ValidatorKey, ValidatorSpec};
use tandem_primitives::{Address, Bytes, Genesis, dev::DevAccount};
use tandem_rpc::{Backend, Limits, NetworkStatus, NewBlock};
use tandem_storage::History;

/// How many accepted transactions may wait to be gossiped before new ones are dropped.
const GOSSIP_BACKLOG: usize = 4_096;

/// Everything one validator needs.
#[derive(Debug, Clone)]
pub struct ValidatorConfig {
    pub key: ValidatorKey,
    pub validators: Vec<(PeerId, SocketAddr)>,
    /// Full nodes the validators accept as followers.
    pub observers: Vec<(PeerId, SocketAddr)>,
    /// p2p listen address.
    pub listen: SocketAddr,
    /// JSON-RPC address; `None` runs without RPC.
    pub rpc_addr: Option<SocketAddr>,
    pub data_dir: PathBuf,
    pub genesis: Genesis,
    pub fee_recipient: Address,
    pub block_time: Duration,
    pub leader_timeout: Duration,
    pub allow_empty_blocks: bool,
    pub history: History,
    pub mempool: tandem_mempool::Config,
    pub rpc_limits: Limits,
    /// Accounts the RPC signs for (`eth_sendTransaction`): devnet only.
    pub dev_signers: Vec<DevAccount>,
}

/// A running validator.
#[derive(Debug)]
pub struct ValidatorHandle {
    pub rpc_addr: Option<SocketAddr>,
    pub backend: Backend,
    pub rpc: Option<jsonrpsee::server::ServerHandle>,
}

/// Starts one node on `runtime`: storage, genesis, mempool, RPC, p2p and consensus, in order. A
/// node whose key is not a validator's runs as a full node: it follows and serves, but does not vote.
pub async fn launch_validator(
    runtime: &Runtime,
    config: ValidatorConfig,
) -> Result<ValidatorHandle> {
    // Commonware's listener panics when it cannot bind its address: find out first, and say so.
    std::net::TcpListener::bind(config.listen).map_err(|source| crate::Error::P2p {
        addr: config.listen,
        source,
    })?;
    let mut backend = tandem_rpc::open_backend(
        &config.data_dir,
        config.history,
        &config.genesis,
        &config.mempool,
        &config.rpc_limits,
        &config.dev_signers,
    )?;
    let (storage, pool, chain_config) = (
        backend.storage.clone(),
        backend.pool.clone(),
        backend.chain.clone(),
    );
    let eth_genesis = storage
        .read()?
        .block(0)?
        .ok_or(tandem_storage::Error::Corrupt {
            table: "headers",
            reason: "no genesis".into(),
        })?;
    // Stalled: no block for this long while blocks are due (transactions wait, or empty blocks are on).
    let stall_after = Duration::from_secs(10).max(config.leader_timeout * 10);
    backend.health = Arc::new(tandem_rpc::Health::new(
        stall_after,
        config.allow_empty_blocks,
        Some(runtime.metrics()),
    ));
    let partition = format!("node-{}", config.key.public().to_hex());
    // Peers from the p2p tracker; the finalized tip from marshal, through the chain below.
    backend.network = Arc::new(NetworkStatus::new(runtime.peer_count(&partition)));
    let (gossip_tx, gossip_rx) = mpsc::channel::<Vec<u8>>(GOSSIP_BACKLOG);
    let gossip_tx = Mutex::new(gossip_tx);
    backend.on_accept = Some(Arc::new(move |raw: &Bytes| {
        // A full backlog drops the gossip, not the transaction: it is pooled here already.
        let _ = gossip_tx.lock().try_send(raw.to_vec());
    }));

    let (rpc_addr, rpc) = match config.rpc_addr {
        Some(addr) => {
            let (addr, handle) = tandem_rpc::serve(addr, backend.clone())
                .await
                .map_err(|source| Error::Rpc { addr, source })?;
            (Some(addr), Some(handle))
        }
        None => (None, None),
    };

    tracing::debug!(target: "node", ?rpc_addr, "rpc started");
    let announcer = backend.clone();
    let on_commit: tandem_consensus::OnCommit = Arc::new(move |executed| {
        announcer.announce(Arc::new(NewBlock {
            block: executed.block.clone(),
            receipts: executed.receipts.clone(),
        }));
    });
    let network = backend.network.clone();
    let on_tip: tandem_consensus::OnTip =
        Arc::new(move |finalized, committed| network.observe_finalized(finalized, committed));
    let chain = Arc::new(
        Chain::new(
            storage,
            pool,
            chain_config,
            config.fee_recipient,
            config.allow_empty_blocks,
            Some(on_commit),
        )
        .with_on_tip(on_tip),
    );
    let (gossip_pool, gossip_storage) = (backend.pool.clone(), backend.storage.clone());
    let gossip = Gossip {
        outbound: gossip_rx,
        inbound: Arc::new(move |raw: &[u8]| {
            let admitted =
                gossip_pool.admit(raw, |sender| -> Result<_, Box<dyn std::error::Error>> {
                    let reader = gossip_storage.read()?;
                    Ok(tandem_mempool::account_in(
                        &tandem_state::LatestState(&reader),
                        sender,
                    )?)
                });
            if let Err(e) = admitted {
                tracing::trace!(target: "node::gossip", error = %e, "gossiped transaction not pooled");
            }
        }),
    };
    let namespace = format!("tandem-{}", config.genesis.config.chain_id).into_bytes();
    if !config
        .validators
        .iter()
        .any(|(id, _)| *id == config.key.public())
    {
        let spec = FullNodeSpec {
            key: config.key.clone(),
            validators: config.validators.clone(),
            listen: config.listen,
            partition,
            namespace,
            genesis: eth_genesis,
        };
        runtime
            .start_full_node(spec, chain, gossip)
            .await
            .map_err(|e| Error::Consensus(e.to_string()))?;
        tracing::info!(target: "node", key = %config.key.public(), listen = %config.listen, ?rpc_addr, "full node started");
        return Ok(ValidatorHandle {
            rpc_addr,
            backend,
            rpc,
        });
    }
    let spec = ValidatorSpec {
        key: config.key.clone(),
        validators: config.validators.clone(),
        observers: config.observers.clone(),
        listen: config.listen,
        partition,
        namespace,
        genesis: eth_genesis,
        leader_timeout: config.leader_timeout,
        certification_timeout: config.leader_timeout * 2,
        block_time: config.block_time,
    };
    runtime
        .start_validator(spec, chain, gossip)
        .await
        .map_err(|e| Error::Consensus(e.to_string()))?;
    tracing::info!(target: "node", key = %config.key.public(), listen = %config.listen, ?rpc_addr, "validator started");
    Ok(ValidatorHandle {
        rpc_addr,
        backend,
        rpc,
    })
}
