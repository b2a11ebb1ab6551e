//! One Ethereum JSON-RPC client for everything in tandem that talks to a node: the rollup's
//! services (to L1 and to their own L2), the bridge CLI, the load generator and the explorer.
//!
//! - [`Client`] speaks HTTP (keep-alive, batched requests) or WebSocket, with typed calls for the
//!   `eth_` methods tandem uses and [`Client::call_sol`] for the system contracts' ABIs;
//! - [`types`] holds what tandem's own methods answer (`tandem_rollupStatus`,
//!   `tandem_withdrawalStatus`, `tandem_withdrawalProof`, `tandem_outputAtBlock`, ...), shared
//!   with the server that builds them;
//! - [`oracle`] reads L1's OutputOracle; [`bridge`] deposits, withdraws and finalizes ETH;
//!   [`messages`] sends messages and tokens through the messengers and bridges, and relays again;
//! - [`logs`] walks L1's logs in bounded windows, and reads the batches BatchInbox accepted, for
//!   derivation, the challenger, a restarted batcher and the explorer alike.
//!
//! - [`cli`] and [`started`] hold the flags and the output tandem's commands share (who signs, where
//!   the layers are, a node's start-up summary), so a tool built on the client speaks the same way;
//! - [`L1`] is what the rollup's services need from L1: the client is its real adapter, and tests
//!   put a scripted L1 behind it.
//!
//! It depends on `tandem-primitives` alone: a tool built on it compiles neither storage nor
//! consensus.
pub mod bridge;
pub mod cli;
mod client;
mod l1;
pub mod logs;
pub mod messages;
pub mod oracle;
pub mod started;
pub mod types;

pub use client::{Client, Options, Relayed, Reverted};
pub use l1::{L1, Retrying};
pub use oracle::Oracle;
pub use types::{RpcBlock, RpcReceipt, RpcTransaction};

/// Why a call to a node failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The node could not be reached, or answered the call with an error.
    #[error("RPC {url}: {message}")]
    Rpc { url: String, message: String },
    /// The node answered something that is not what the call expects.
    #[error("the node answered something unexpected: {0}")]
    Unexpected(String),
    /// A transaction reverted, or a flow cannot go on (said why).
    #[error("{0}")]
    Failed(String),
}

pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// Whether a transaction succeeded, by its receipt.
pub fn succeeded(receipt: &RpcReceipt) -> bool {
    alloy_consensus::TxReceipt::status(&receipt.inner.inner)
}
