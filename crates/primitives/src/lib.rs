//! Block, header, transaction and receipt types, genesis and chain config shared by every tandem crate.
//!
//! The Ethereum types are alloy's; this crate adds the pieces tandem fixes for itself: the chain
//! parameters, the genesis format (geth-style `alloc`), the dev accounts and a few helpers. It does no I/O.
mod block;
mod chain;
pub mod dev;
pub mod genesis;
pub mod system;

pub use alloy_consensus::{Header, ReceiptEnvelope, TxEnvelope};
pub use alloy_primitives::{Address, B256, Bloom, Bytes, U256};
pub use block::{Block, SealedBlock, StoredTx};
pub use chain::{ChainConfig, FeeParams, Layer, next_base_fee};
pub use genesis::{Genesis, GenesisAccount, GenesisError};

/// An L1 receipt as stored and hashed into `receiptsRoot`.
pub type Receipt = ReceiptEnvelope<alloy_primitives::Log>;
