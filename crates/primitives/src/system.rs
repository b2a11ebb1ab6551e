//! Fixed addresses of tandem's system contracts, all in one place.
//!
//! L1 system contracts are native Rust run inside revm as stateful precompiles; each address gets
//! nonce 1 and code `0xFE` at genesis so EIP-161 never deletes it and `EXTCODESIZE` sees code.
use alloy_primitives::{Address, Bytes, address};

/// L1: receives the L2 batcher's batches; the batch bytes stay in the transaction's calldata.
pub const BATCH_INBOX: Address = address!("0x000000000000000000000000000000000000ba70");

/// L2 predeploy holding the current L1 origin (OP Stack's address).
pub const L1_BLOCK: Address = address!("0x4200000000000000000000000000000000000015");
/// L2 predeploy recording withdrawals (OP Stack's address).
pub const L2_TO_L1_MESSAGE_PASSER: Address = address!("0x4200000000000000000000000000000000000016");

/// L2: receives the priority fees of L2 blocks (OP Stack's SequencerFeeVault address).
pub const SEQUENCER_FEE_VAULT: Address = address!("0x4200000000000000000000000000000000000011");

/// L2: receives the L1 data fees L2 transactions pay (OP Stack's L1FeeVault address).
pub const L1_FEE_VAULT: Address = address!("0x420000000000000000000000000000000000001A");

/// The L1 system contracts.
pub const L1_SYSTEM_CONTRACTS: [Address; 1] = [BATCH_INBOX];

/// The code every system address holds: INVALID, so a plain EVM call to it fails loudly.
pub fn placeholder_code() -> Bytes {
    Bytes::from_static(&[0xfe])
}
