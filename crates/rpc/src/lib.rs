//! Ethereum JSON-RPC (eth_, net_, web3_) for tandem, over HTTP and WebSocket on one port.
//!
//! The server reads committed blocks and state from a storage snapshot per request, submits
//! transactions to the mempool, and streams new blocks to subscribers. Answers and errors follow
//! geth's: quantities in minimal hex, -32000 with geth's messages for rejected transactions, code 3
//! with the revert data for reverts. Request size, batch length, log ranges, filters and
//! subscriptions are bounded. Every HTTP request's and WebSocket message's envelope is checked before
//! jsonrpsee sees it, so a malformed request gets -32700 or -32600, never an empty or
//! internal-error answer.
mod api;
mod backend;
mod blocks;
mod call;
mod convert;
mod dev;
mod envelope;
mod error;
mod eth;
mod fees;
mod filters;
mod layer;
pub mod mining;
mod open;
mod overrides;
mod preconf;
mod probes;
mod pubsub;
mod simulate;
mod status;
pub mod trace;
mod txpool;
mod ws;

pub use api::EthApiServer;
pub use backend::{Backend, Forward, Limits, NewBlock, OnAccept, submit_raw_transaction};
pub use convert::{RpcBlock, RpcReceipt, RpcTransaction, receipts, receipts_from};
pub use dev::MAX_MINE_BLOCKS;
pub use error::RpcError;
pub use eth::{receipt_by_hash, transaction_by_hash};
pub use mining::DevControl;
pub use open::{OpenError, init_genesis, open_backend};
pub use preconf::{Preconf, Preconfirmations};
pub use probes::{ExtraMetrics, Health};
pub use status::{AT_TIP_BLOCKS, NetworkStatus, PeerCount, SyncProgress, Syncing};

use jsonrpsee::server::{BatchRequestConfig, Server, ServerConfig, ServerHandle};
use std::{net::SocketAddr, sync::Arc};

/// Starts the JSON-RPC server (HTTP and WebSocket on the same port) and returns its address.
pub async fn serve(
    addr: SocketAddr,
    backend: Backend,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    serve_with(addr, backend, jsonrpsee::Methods::new()).await
}

/// [`serve`], with `extra` methods beside the Ethereum ones (e.g. a rollup's `tandem_*`).
pub async fn serve_with(
    addr: SocketAddr,
    backend: Backend,
    extra: jsonrpsee::Methods,
) -> std::io::Result<(SocketAddr, ServerHandle)> {
    let limits = backend.limits.clone();
    let config = ServerConfig::builder()
        .max_request_body_size(limits.max_request_bytes)
        .max_response_body_size(limits.max_response_bytes)
        .max_connections(limits.max_connections)
        .max_subscriptions_per_connection(limits.max_subscriptions_per_connection)
        .set_batch_request_config(BatchRequestConfig::Limit(limits.max_batch_len))
        .set_id_provider(pubsub::HexIdProvider)
        .build();
    let mut module = eth::Rpc::new(backend.clone()).into_rpc();
    // Tracing and access lists share one node's limit on traces running at once.
    let tracing = trace::Tracing::new(backend.clone());
    module
        .merge(trace::AccessListApiServer::into_rpc(tracing.clone()))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    module
        .merge(trace::TraceApiServer::into_rpc(tracing))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    if !backend.dev_signers.is_empty() {
        module
            .merge(dev::SignApiServer::into_rpc(dev::Signer(backend.clone())))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
    }
    if let Some(control) = &backend.dev {
        let dev = dev::Dev::new(backend.clone(), control.clone());
        module
            .merge(dev::DevApiServer::into_rpc(dev))
            .map_err(|e| std::io::Error::other(e.to_string()))?;
    }
    module
        .merge(txpool::TxPoolApiServer::into_rpc(txpool::TxPool::new(
            backend.clone(),
        )))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    module
        .merge(extra)
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let methods = jsonrpsee::Methods::from(module);
    let rules = Arc::new(envelope::Rules::new(&limits, &methods));
    let http = tower::ServiceBuilder::new()
        .layer(tower_http::cors::CorsLayer::permissive())
        .layer(probes::ProbesLayer { backend })
        .layer(layer::EnvelopeLayer(rules));
    let server = Server::builder()
        .set_config(config)
        .set_http_middleware(http)
        .build(addr)
        .await?;
    let local = server.local_addr()?;
    let handle = server.start(methods);
    tracing::info!(target: "rpc", %local, "JSON-RPC listening (HTTP and WebSocket)");
    Ok((local, handle))
}
