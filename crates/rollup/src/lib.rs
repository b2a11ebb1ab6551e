//! L2 services for tandem: the sequencer, the batch codec and batcher, and derivation.
//!
//! - [`sequencer`] executes transactions into the open L2 block as they arrive (preconfirmations),
//!   logs them to a write-ahead log, and seals a block every 250 ms;
//! - [`batch`] (re-exported from `tandem-execution`, since L1's BatchInbox decodes batches too) packs a run of L2 blocks in columns (all nonces together, all recipients together,
//!   ...) and compresses them, so the many similar fields cost few L1 bytes;
//! - [`batcher`] posts batches to L1's BatchInbox and resumes from what L1 holds;
//! - [`derivation`] rebuilds the L2 chain from finalized L1 data alone, skipping invalid batches;
//! - [`bridge`] computes output roots, runs the proposer, follows final outputs and tracks withdrawals;
//! - [`challenger`] checks every proposed output against the node's chain and proves the first
//!   wrong block to L1's DisputeGame in one transaction;
//! - [`queue`] reads the Portal's deposits and forced transactions that every L2 block must take;
//! - [`node`] wires these into the `tandem l2 sequencer` and `tandem l2 verifier` processes.
pub mod batcher;
pub mod bridge;
pub mod challenger;
pub mod derivation;
pub mod fault;
pub mod l1;
pub mod node;
pub mod queue;
pub mod sequencer;
pub mod wal;

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
    L1(#[from] l1::L1Error),
    #[error(transparent)]
    Node(#[from] tandem_node::Error),
    #[error("write-ahead log: {0}")]
    Wal(std::io::Error),
    #[error("corrupt database: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Config(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
