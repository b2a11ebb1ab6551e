//! The L1 gas of the costliest challenge of one L2 block, from the rules that bound every part of
//! it. A wrong output is only ever removed if its challenge fits one L1 block, so an L1 refuses
//! at genesis to carry an L2 whose bound it cannot hold ([`check`]).
//!
//! A challenge is one transaction to the DisputeGame. Its calldata is the block's batch (at most
//! [`MAX_BATCH_BYTES`]), the witness and Portal queue entries the block charged to its budget (at
//! most [`WITNESS_BUDGET`]), the queue entry after them, and a few fixed parts (proofs, headers).
//! Under EIP-7623 it pays the larger of 16 gas per calldata byte plus its execution, and 40 gas per
//! byte. Its execution is the DisputeGame's checks (decoding the batch, checking each queue entry
//! against the Portal), EXECUTE (its bytes, one signature recovery per transaction, and the L2 gas
//! the block uses, at most the L2 gas limit) and, when it wins, returning the bonds of the
//! outputs after the wrong one (at most [`MAX_PENDING_OUTPUTS`]). Every term is an upper bound.
use crate::{
    budget::{HEADER_BYTES, MAX_CODE_BYTES, QUEUE_ENTRY_BYTES, WITNESS_BUDGET},
    l2::{MAX_QUEUE_ENTRIES, MIN_TX_GAS},
    system::{
        batch_inbox::{DECODE_GAS_PER_BYTE, DECODE_GAS_PER_RAW_BYTE, DECODE_GAS_PER_TX},
        execute::{
            EXECUTE_BASE_GAS, EXECUTE_GAS_PER_BYTE, EXECUTE_GAS_PER_L2_GAS, EXECUTE_GAS_PER_TX,
        },
        output_oracle::MAX_PENDING_OUTPUTS,
        portal::MAX_FORCED_TX_BYTES,
    },
};
use alloy_primitives::Address;
use tandem_primitives::{
    ChainConfig, Genesis,
    batch::{Limits, MAX_BATCH_BYTES},
};

/// A challenge's calldata besides its batch and what the budget charged: the ABI head and
/// padding, two Merkle proofs of at most 64 levels, the L1 origin's header, the parent's header
/// in the witness and the witness's list headers.
pub const FIXED_CHALLENGE_BYTES: u64 = 2_048 + 2 * 64 * 32 + 1_024 + HEADER_BYTES + 64;
/// The DisputeGame's fixed work: its storage reads (bond, output, window, interval, parent,
/// batch range and commitment, L2 rules, queue length), proofs, the L1 origin's hash, the bond
/// transfers and the log, with room to spare.
pub const FIXED_GAME_GAS: u64 = 250_000;
/// Checking one queue entry against the Portal: two cold storage reads, a hash, and the sender
/// recovery EXECUTE charges for (a forced transaction's).
pub const QUEUE_ENTRY_GAS: u64 = 2 * 2_100 + 100 + EXECUTE_GAS_PER_TX;
/// BatchInbox's address table for one batch transaction: it names at most two addresses, each
/// looked up (an index) or checked new (an introduced one), at 200 gas each.
pub const TABLE_GAS_PER_TX: u64 = 4 * 200;
/// Returning one later output's bond: two cold storage reads, a cold account, the transfer.
pub const LATER_OUTPUT_GAS: u64 = 2 * 2_100 + 2_600 + 9_000;
/// Intrinsic gas of any transaction.
pub const TX_BASE_GAS: u64 = 21_000;
/// EIP-2028 calldata gas per non-zero byte, and EIP-7623's floor per non-zero byte.
pub const CALLDATA_GAS_PER_BYTE: u64 = 16;
pub const CALLDATA_FLOOR_PER_BYTE: u64 = 40;

/// The bound's parts, for a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChallengeCost {
    pub calldata_bytes: u64,
    /// Everything the DisputeGame and EXECUTE charge.
    pub execution_gas: u64,
    /// The transaction's gas: the larger of the standard and the floor price.
    pub gas: u64,
}

/// The costliest challenge of a block of the L2 with rules `l2`.
pub fn max_challenge_cost(l2: &ChainConfig) -> ChallengeCost {
    let limits = Limits::default();
    let entries = MAX_QUEUE_ENTRIES + 1;
    let next_entry = MAX_FORCED_TX_BYTES as u64 + QUEUE_ENTRY_BYTES;
    let calldata_bytes =
        MAX_BATCH_BYTES as u64 + WITNESS_BUDGET + next_entry + FIXED_CHALLENGE_BYTES;
    let batch_txs = limits.max_transactions as u64;
    let block_txs = l2.gas_limit / MIN_TX_GAS;
    let batch = (30 + 6 * (MAX_BATCH_BYTES as u64).div_ceil(32))
        + DECODE_GAS_PER_BYTE * MAX_BATCH_BYTES as u64
        + DECODE_GAS_PER_RAW_BYTE * limits.max_decompressed_bytes as u64
        + (DECODE_GAS_PER_TX + TABLE_GAS_PER_TX) * batch_txs;
    let execute = EXECUTE_BASE_GAS
        + EXECUTE_GAS_PER_BYTE * (WITNESS_BUDGET + HEADER_BYTES)
        + EXECUTE_GAS_PER_TX * block_txs
        + EXECUTE_GAS_PER_L2_GAS * l2.gas_limit;
    let execution_gas = FIXED_GAME_GAS
        + batch
        + QUEUE_ENTRY_GAS * entries
        + execute
        + LATER_OUTPUT_GAS * MAX_PENDING_OUTPUTS;
    let standard = CALLDATA_GAS_PER_BYTE * calldata_bytes + execution_gas;
    let floor = CALLDATA_FLOOR_PER_BYTE * calldata_bytes;
    ChallengeCost {
        calldata_bytes,
        execution_gas,
        gas: TX_BASE_GAS + standard.max(floor),
    }
}

/// Why an L1 cannot carry an L2: some block of it could have a challenge no L1 block holds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Unchallengeable {
    #[error(
        "a challenge of an L2 block at {l2_gas_limit} gas may cost {needed} L1 gas, more than \
         the L1 block gas limit of {l1_gas_limit}: lower the L2 gas limit or raise the L1's"
    )]
    Gas {
        l2_gas_limit: u64,
        needed: u64,
        l1_gas_limit: u64,
    },
    #[error("the L2 genesis puts {len} bytes of code at {address}, more than {MAX_CODE_BYTES}")]
    Code { address: Address, len: usize },
    #[error("the L2 genesis header's extra data is {0} bytes, more than 32")]
    ExtraData(usize),
}

/// Checks that every challenge of a block of the L2 of genesis `l2` fits an L1 block of
/// `l1_gas_limit`: its gas bound, no code longer than a read may bring, and a genesis header no
/// longer than [`crate::budget::HEADER_BYTES`] charges.
pub fn check(l2: &Genesis, l1_gas_limit: u64) -> Result<(), Unchallengeable> {
    // BLOCKHASH(0) brings the genesis header, charged as any header.
    if l2.extra_data.len() > 32 {
        return Err(Unchallengeable::ExtraData(l2.extra_data.len()));
    }
    if let Some((address, code)) = l2
        .alloc
        .iter()
        .filter_map(|(address, account)| Some((*address, account.code.as_ref()?)))
        .find(|(_, code)| code.len() as u64 > MAX_CODE_BYTES)
    {
        return Err(Unchallengeable::Code {
            address,
            len: code.len(),
        });
    }
    let rules = tandem_primitives::genesis::chain_config(l2);
    let needed = max_challenge_cost(&rules).gas;
    match needed <= l1_gas_limit {
        true => Ok(()),
        false => Err(Unchallengeable::Gas {
            l2_gas_limit: rules.gas_limit,
            needed,
            l1_gas_limit,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_costliest_challenge_of_a_dev_l2_block_fits_a_dev_l1_block() {
        use tandem_primitives::genesis::{chain_config, dev_l2_genesis};
        let genesis = dev_l2_genesis();
        let cost = max_challenge_cost(&chain_config(&genesis));
        assert!(
            cost.gas <= ChainConfig::L1_GAS_LIMIT,
            "{cost:?} > {}",
            ChainConfig::L1_GAS_LIMIT
        );
        assert!(check(&genesis, ChainConfig::L1_GAS_LIMIT).is_ok());
        // An L2 of twice the gas cannot settle its disputes on that L1.
        let mut heavy = genesis.clone();
        heavy.gas_limit *= 2;
        assert!(matches!(
            check(&heavy, ChainConfig::L1_GAS_LIMIT),
            Err(Unchallengeable::Gas { .. })
        ));
        // Nor one whose genesis header is longer than a header is charged.
        let mut wide = genesis.clone();
        wide.extra_data = vec![0; 33].into();
        assert_eq!(
            check(&wide, ChainConfig::L1_GAS_LIMIT),
            Err(Unchallengeable::ExtraData(33))
        );
        // Nor one whose genesis holds code longer than a read may bring.
        let mut long = genesis;
        long.alloc.insert(
            Address::with_last_byte(0xc0),
            tandem_primitives::GenesisAccount::default()
                .with_code(Some(vec![0; MAX_CODE_BYTES as usize + 1].into())),
        );
        assert!(matches!(
            check(&long, ChainConfig::L1_GAS_LIMIT),
            Err(Unchallengeable::Code { .. })
        ));
    }
}
