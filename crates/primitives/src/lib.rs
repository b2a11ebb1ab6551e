//! Block, header, transaction and receipt types, genesis and chain config shared by every tandem crate.
//!
//! The Ethereum types are alloy's; this crate adds the pieces tandem fixes for itself: the chain
//! parameters, the genesis format (geth-style `alloc`), the dev accounts, the system contracts'
//! interfaces ([`abi`]), the protocol rules every layer and client computes alike ([`protocol`])
//! and the batch codec ([`batch`]), and the [`Clock`] protocol code is handed. It does no I/O.
pub mod abi;
pub mod batch;
mod block;
pub mod body;
mod chain;
mod clock;
pub mod dev;
pub mod genesis;
pub mod protocol;
pub mod system;

pub use alloy_consensus::Header;
pub use alloy_primitives::{Address, B256, Bloom, Bytes, U256};
pub use block::{Block, SealedBlock, StoredTx};
pub use chain::{ChainConfig, FeeParams, Layer, next_base_fee};
pub use clock::{Clock, FixedClock, SystemClock};
pub use genesis::{BridgeParams, Genesis, GenesisAccount, GenesisError};
/// Every transaction either layer stores: Ethereum's signed types plus the L2 deposit (0x7E),
/// as OP Stack defines them. Blob transactions are not supported.
pub use op_alloy_consensus::{
    OpReceiptEnvelope as ReceiptEnvelope, OpTxEnvelope as TxEnvelope, OpTxType as TxType, TxDeposit,
};

/// A receipt as stored and hashed into `receiptsRoot`; a deposit's carries its deposit nonce.
pub type Receipt = ReceiptEnvelope<alloy_primitives::Log>;
