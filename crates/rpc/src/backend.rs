use crate::{RpcError, error::Result, filters::Filters};
use alloy_primitives::{B256, Bytes};
use parking_lot::Mutex;
use std::sync::Arc;
use tandem_mempool::Pool;
use tandem_primitives::{ChainConfig, Receipt, SealedBlock, dev::DevAccount};
use tandem_state::LatestState;
use tandem_storage::Storage;
use tokio::sync::broadcast;

/// Called with each raw transaction the pool accepts from a client.
pub type OnAccept = Arc<dyn Fn(&Bytes) + Send + Sync>;

/// A block just committed, as streamed to subscribers.
#[derive(Debug, Clone)]
pub struct NewBlock {
    pub block: SealedBlock,
    pub receipts: Vec<Receipt>,
}

/// What the server bounds, so no client can exhaust the node.
#[derive(Debug, Clone)]
pub struct Limits {
    pub max_request_bytes: u32,
    pub max_response_bytes: u32,
    pub max_connections: u32,
    pub max_batch_len: u32,
    pub max_subscriptions_per_connection: u32,
    /// Widest `eth_getLogs` block range.
    pub max_log_range: u64,
    /// Most logs one `eth_getLogs` returns.
    pub max_logs: usize,
    /// Most filters installed at once (`eth_newFilter` and friends).
    pub max_filters: usize,
    /// Most blocks one `eth_feeHistory` covers.
    pub max_fee_history: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_request_bytes: 5 * 1024 * 1024,
            max_response_bytes: 50 * 1024 * 1024,
            max_connections: 1_000,
            max_batch_len: 1_000,
            max_subscriptions_per_connection: 1_024,
            max_log_range: 10_000,
            max_logs: 10_000,
            max_filters: 1_024,
            max_fee_history: 1_024,
        }
    }
}

/// Everything the server reads from and writes to.
#[derive(Clone)]
pub struct Backend {
    pub storage: Arc<Storage>,
    pub pool: Arc<Pool>,
    pub chain: ChainConfig,
    /// Committed blocks, in order.
    pub blocks: broadcast::Sender<Arc<NewBlock>>,
    pub limits: Limits,
    /// Unlocked accounts for `eth_accounts` and `eth_sendTransaction`: dev mode only, empty otherwise.
    pub dev_signers: Arc<Vec<DevAccount>>,
    /// Called with each raw transaction a client submits and the pool accepts, e.g. to gossip it.
    pub on_accept: Option<OnAccept>,
    /// What `/health` and `/metrics` report.
    pub health: Arc<crate::Health>,
    /// Set on nodes that take no transactions (an L2 verifier): why, as the error clients get.
    pub refuses_transactions: Option<String>,
    /// A dev node's miner control; its dev methods (`evm_mine`, `evm_setAutomine`, ...) are served
    /// only when it has one.
    pub dev: Option<Arc<crate::mining::DevControl>>,
    /// Where such a node sends the raw transactions clients submit (`eth_sendRawTransaction`):
    /// a verifier to its sequencer, as OP Stack's replicas do.
    pub forward: Option<Arc<dyn Forward>>,
    /// Receipts from a sequencer's open block (empty elsewhere).
    pub preconf: Arc<crate::Preconfirmations>,
    /// Peers and the finalized tip as consensus sees them (empty on nodes without consensus).
    pub network: Arc<crate::NetworkStatus>,
    pub(crate) filters: Arc<Mutex<Filters>>,
    /// The calls running now, bounded together.
    pub(crate) calls: Arc<crate::call::CallSlots>,
}

impl std::fmt::Debug for Backend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Backend")
            .field("chain", &self.chain)
            .finish_non_exhaustive()
    }
}

impl Backend {
    pub fn new(storage: Arc<Storage>, pool: Arc<Pool>, chain: ChainConfig, limits: Limits) -> Self {
        let (blocks, _) = broadcast::channel(256);
        Self {
            storage,
            pool,
            chain,
            blocks,
            limits,
            dev_signers: Arc::default(),
            on_accept: None,
            health: Arc::default(),
            refuses_transactions: None,
            forward: None,
            dev: None,
            preconf: Arc::default(),
            network: Arc::default(),
            filters: Arc::default(),
            calls: Arc::default(),
        }
    }
}

impl Backend {
    /// Announces a block that just committed durably: to subscribers, filters and `/health`.
    pub fn announce(&self, block: Arc<NewBlock>) {
        self.health.record_commit();
        let _ = self.blocks.send(block);
    }
}

/// Where a node that pools no transactions sends those clients submit.
pub trait Forward: Send + Sync {
    /// Sends `raw` on: the transaction's hash, or the error to answer the client with (the
    /// receiving node's own, or that it is unavailable).
    fn forward(
        &self,
        raw: Bytes,
    ) -> std::pin::Pin<Box<dyn Future<Output = std::result::Result<B256, RpcError>> + Send>>;
}

/// Pools a signed transaction from a client ([`Pool::admit`]) and passes it on (`on_accept`). The
/// sender's account is the sequencer's open block's where it has one. On an error nothing
/// changed: the pool and the sender's nonce are as before.
pub fn submit_raw_transaction(backend: &Backend, raw: &Bytes) -> Result<B256> {
    if let Some(reason) = &backend.refuses_transactions {
        return Err(RpcError::server(reason));
    }
    let hash = backend
        .pool
        .admit(raw, |sender| match backend.preconf.account(&sender) {
            Some(account) => Ok::<_, RpcError>(account),
            None => Ok(tandem_mempool::account_in(
                &LatestState(&backend.storage.read()?),
                sender,
            )?),
        })?;
    if let Some(on_accept) = &backend.on_accept {
        on_accept(raw);
    }
    Ok(hash)
}
