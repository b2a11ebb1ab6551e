//! L2 services for tandem: the sequencer, the batch codec and batcher, and derivation.
//!
//! - [`sequencer`] executes transactions into the open L2 block as they arrive (preconfirmations),
//!   logs them to a write-ahead log, and seals a block every 250 ms;
//! - [`batch`] (re-exported from `tandem-execution`, since L1's BatchInbox decodes batches too) packs a run of L2 blocks in columns (all nonces together, all recipients together,
//!   ...) and compresses them, so the many similar fields cost few L1 bytes;
//! - [`batcher`] posts batches to L1's BatchInbox and resumes from what L1 holds;
//! - [`derivation`] rebuilds the L2 chain from finalized L1 data alone, skipping invalid batches;
//! - [`outputs`] computes output roots and follows the outputs that became final on L1;
//! - [`proposer`] posts outputs to L1's OutputOracle and claims their bonds back;
//! - [`withdrawals`] says where a withdrawal stands and proves it for L1;
//! - [`challenger`] checks every proposed output against the node's chain and proves the first
//!   wrong block to L1's DisputeGame in one transaction;
//! - [`queue`] reads the Portal's deposits and forced transactions that every L2 block must take;
//! - [`node`] wires these into the `tandem l2 sequencer` and `tandem l2 verifier` processes, and
//!   serves their JSON-RPC.
//!
//! Every background job (the batcher, the proposer, the challenger, derivation, the finalized
//! follower, the origin tracker) is a [`service::Service`]: one round at a time with its status,
//! retried at the next poll. What they ask of L1 goes through the [`tandem_client::L1`] port (the
//! client is the real adapter; unit tests run them on a scripted L1), and the sequencer gets the
//! time from a [`tandem_primitives::Clock`].
pub mod batcher;
pub mod challenger;
pub mod cli;
pub mod derivation;
pub mod fault;
pub mod node;
pub mod outputs;
pub mod proposer;
pub mod queue;
#[cfg(test)]
mod scripted;
pub mod sequencer;
pub mod service;
pub mod wal;
pub mod withdrawals;

pub use tandem_primitives::batch::{
    self, AddressTable, Batch, BatchBlock, BatchError, Compression, Limits,
};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Storage(#[from] tandem_storage::Error),
    #[error(transparent)]
    Execution(#[from] tandem_execution::Error),
    #[error(transparent)]
    L2(#[from] tandem_execution::l2::L2Error),
    #[error(transparent)]
    Client(#[from] tandem_client::ClientError),
    #[error(transparent)]
    Open(#[from] tandem_rpc::OpenError),
    #[error("write-ahead log: {0}")]
    Wal(std::io::Error),
    #[error("corrupt database: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Config(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl From<tandem_rpc::mining::MineError> for Error {
    fn from(e: tandem_rpc::mining::MineError) -> Self {
        match e {
            tandem_rpc::mining::MineError::Storage(e) => Self::Storage(e),
            tandem_rpc::mining::MineError::Execution(e) => Self::Execution(e),
        }
    }
}
