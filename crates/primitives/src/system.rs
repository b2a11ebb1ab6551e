//! Fixed addresses of tandem's system contracts, all in one place.
//!
//! L1 system contracts are native Rust run inside revm as stateful precompiles; each address gets
//! nonce 1 and code `0xFE` at genesis so EIP-161 never deletes it and `EXTCODESIZE` sees code.
use alloy_primitives::{Address, Bytes, address};

/// L1: receives the L2 batcher's batches; the batch bytes stay in the transaction's calldata.
pub const BATCH_INBOX: Address = address!("0x000000000000000000000000000000000000ba70");

/// L1: deposits and forced transactions into L2, and withdrawal payouts.
pub const PORTAL: Address = address!("0x000000000000000000000000000000000000b0a1");

/// L1: L2 output roots, their bonds and challenge windows.
pub const OUTPUT_ORACLE: Address = address!("0x000000000000000000000000000000000000b0a2");

/// L1: the fault-proof game; challenges an output's block with one EXECUTE and deletes it if wrong.
pub const DISPUTE_GAME: Address = address!("0x000000000000000000000000000000000000b0a3");

/// L1: EXECUTE, stateless re-execution of one L2 block (holds the L2 chain's rules in storage).
pub const EXECUTE: Address = address!("0x000000000000000000000000000000000000b0a4");

/// L2 predeploy holding the current L1 origin (OP Stack's address).
pub const L1_BLOCK: Address = address!("0x4200000000000000000000000000000000000015");
/// L2 predeploy recording withdrawals (OP Stack's address).
pub const L2_TO_L1_MESSAGE_PASSER: Address = address!("0x4200000000000000000000000000000000000016");

/// L2: receives the priority fees of L2 blocks (OP Stack's SequencerFeeVault address).
pub const SEQUENCER_FEE_VAULT: Address = address!("0x4200000000000000000000000000000000000011");

/// L2: receives the L1 data fees L2 transactions pay (OP Stack's L1FeeVault address).
pub const L1_FEE_VAULT: Address = address!("0x420000000000000000000000000000000000001A");

/// L1: the messenger of cross-layer messages (EVM code from `contracts/src`, not native).
pub const L1_MESSENGER: Address = address!("0x000000000000000000000000000000000000b0a5");
/// L1: the standard token bridge (EVM code from `contracts/src`).
pub const L1_STANDARD_BRIDGE: Address = address!("0x000000000000000000000000000000000000b0a6");
/// L2: the messenger of cross-layer messages (OP Stack's L2CrossDomainMessenger address; EVM code).
pub const L2_MESSENGER: Address = address!("0x4200000000000000000000000000000000000007");
/// L2: the standard token bridge (OP Stack's L2StandardBridge address; EVM code).
pub const L2_STANDARD_BRIDGE: Address = address!("0x4200000000000000000000000000000000000010");

/// The L1 system contracts.
pub const L1_SYSTEM_CONTRACTS: [Address; 5] =
    [BATCH_INBOX, PORTAL, OUTPUT_ORACLE, DISPUTE_GAME, EXECUTE];

/// The L2 system contracts (native predeploys).
pub const L2_SYSTEM_CONTRACTS: [Address; 2] = [L1_BLOCK, L2_TO_L1_MESSAGE_PASSER];

/// What L1 adds to a contract's address when it deposits, so a contract on L1 never acts as the
/// contract at the same address on L2 (OP Stack's alias).
pub const ALIAS_OFFSET: Address = address!("0x1111000000000000000000000000000000001111");

/// The L2 sender of a deposit from an L1 contract at `address`: `address + ALIAS_OFFSET` mod 2^160.
pub fn alias(address: Address) -> Address {
    let sum = alloy_primitives::U160::from_be_bytes(address.0.0)
        .wrapping_add(alloy_primitives::U160::from_be_bytes(ALIAS_OFFSET.0.0));
    Address::from(sum.to_be_bytes())
}

/// Undoes [`alias`].
pub fn unalias(address: Address) -> Address {
    let difference = alloy_primitives::U160::from_be_bytes(address.0.0)
        .wrapping_sub(alloy_primitives::U160::from_be_bytes(ALIAS_OFFSET.0.0));
    Address::from(difference.to_be_bytes())
}

/// The runtime code of the bridge contracts, built from `contracts/src` by `contracts/build.mjs`
/// (solc 0.8.30, pinned; the end-to-end suite checks a fresh build gives the same bytes). Genesis
/// places it at the addresses above with no constructor run: their storage starts empty.
pub mod code {
    use alloy_primitives::Bytes;

    fn decode(hex: &str) -> Bytes {
        // Committed output of the build script; a test decodes each one.
        alloy_primitives::hex::decode(hex.trim())
            .expect("contracts/build holds hex")
            .into()
    }

    pub fn l1_messenger() -> Bytes {
        decode(include_str!(
            "../../../contracts/build/L1CrossDomainMessenger.hex"
        ))
    }
    pub fn l2_messenger() -> Bytes {
        decode(include_str!(
            "../../../contracts/build/L2CrossDomainMessenger.hex"
        ))
    }
    pub fn l1_standard_bridge() -> Bytes {
        decode(include_str!(
            "../../../contracts/build/L1StandardBridge.hex"
        ))
    }
    pub fn l2_standard_bridge() -> Bytes {
        decode(include_str!(
            "../../../contracts/build/L2StandardBridge.hex"
        ))
    }
}

/// The code every system address holds: INVALID, so a plain EVM call to it fails loudly.
pub fn placeholder_code() -> Bytes {
    Bytes::from_static(&[0xfe])
}

/// The L1Block predeploy's storage, which the L2 state transition writes at the start of every
/// block and its precompile reads: a protocol rule, shared by execution, the RPC and the tools.
pub mod l1_block {
    use alloy_primitives::U256;

    /// Storage slots, in the order of the interface.
    pub const NUMBER_SLOT: U256 = U256::ZERO;
    pub const TIMESTAMP_SLOT: U256 = U256::from_limbs([1, 0, 0, 0]);
    pub const BASEFEE_SLOT: U256 = U256::from_limbs([2, 0, 0, 0]);
    pub const HASH_SLOT: U256 = U256::from_limbs([3, 0, 0, 0]);
    /// Index of the next Portal queue entry L2 will include.
    pub const QUEUE_INDEX_SLOT: U256 = U256::from_limbs([4, 0, 0, 0]);
    /// The Portal's rolling queue hash after the last entry L2 included.
    pub const QUEUE_HASH_SLOT: U256 = U256::from_limbs([5, 0, 0, 0]);
    /// Witness bytes the last L2 block charged to its budget (its successor's base fee counts them).
    pub const WITNESS_SLOT: U256 = U256::from_limbs([6, 0, 0, 0]);
    /// Bytes of sequenced transactions the last L2 block held (its successor's base fee counts them).
    pub const DATA_SLOT: U256 = U256::from_limbs([7, 0, 0, 0]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bridge_contracts_decode_and_name_these_addresses() {
        for code in [
            code::l1_messenger(),
            code::l2_messenger(),
            code::l1_standard_bridge(),
            code::l2_standard_bridge(),
        ] {
            assert!(code.len() > 1_000 && code.len() <= 24_576, "{}", code.len());
        }
        // The Solidity names the same addresses.
        let sol = include_str!("../../../contracts/src/Addresses.sol");
        for (name, address) in [
            ("PORTAL", PORTAL),
            ("OUTPUT_ORACLE", OUTPUT_ORACLE),
            ("DISPUTE_GAME", DISPUTE_GAME),
            ("EXECUTE", EXECUTE),
            ("BATCH_INBOX", BATCH_INBOX),
            ("L1_MESSENGER", L1_MESSENGER),
            ("L1_BRIDGE", L1_STANDARD_BRIDGE),
            ("L1_BLOCK", L1_BLOCK),
            ("MESSAGE_PASSER", L2_TO_L1_MESSAGE_PASSER),
            ("L2_MESSENGER", L2_MESSENGER),
            ("L2_BRIDGE", L2_STANDARD_BRIDGE),
        ] {
            let line = sol
                .lines()
                .find(|line| line.contains(&format!("constant {name} =")))
                .unwrap_or_else(|| panic!("{name} missing from Addresses.sol"));
            let value = line.split('=').nth(1).unwrap().trim().trim_end_matches(';');
            let hex = value.trim_start_matches("address(").trim_end_matches(')');
            let parsed = alloy_primitives::U160::from_str_radix(hex.trim_start_matches("0x"), 16)
                .unwrap_or_else(|_| panic!("{name}: {value}"));
            assert_eq!(Address::from(parsed.to_be_bytes()), address, "{name}");
        }
    }

    #[test]
    fn alias_matches_op_stack_and_wraps() {
        // OP Stack's AddressAliasHelper: 0x...0001 -> 0x1111...1112.
        let one = address!("0x0000000000000000000000000000000000000001");
        assert_eq!(
            alias(one),
            address!("0x1111000000000000000000000000000000001112")
        );
        let top = address!("0xffffffffffffffffffffffffffffffffffffffff");
        assert_eq!(
            alias(top),
            address!("0x1111000000000000000000000000000000001110")
        );
        assert_eq!(unalias(alias(top)), top);
    }
}
