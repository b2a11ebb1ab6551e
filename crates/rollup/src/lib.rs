//! L2 services for tandem. Today: the batch codec that packs L2 blocks for L1.
//!
//! A batch is a run of consecutive L2 blocks, encoded in columns (all nonces together, all
//! recipients together, all signatures together, ...) and then compressed, so the many similar
//! fields of a block's transactions cost few L1 bytes. The sequencer, batcher and derivation come next.
pub mod batch;

pub use batch::{Batch, BatchBlock, BatchError, Compression, Limits};
