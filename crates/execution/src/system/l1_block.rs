//! L1Block (L2 predeploy): the L1 origin of the current L2 block, for contracts to read. Only the
//! block-start update of the L2 state transition writes it; calls can only read.
use super::Call;
use alloy_sol_types::{SolCall, SolError};
use revm::{
    context_interface::ContextTr,
    precompile::PrecompileOutput,
    primitives::{B256, U256},
};

pub use tandem_primitives::abi::IL1Block;

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

pub(crate) fn call<CTX: ContextTr>(call: &mut Call<'_, CTX>) -> Result<PrecompileOutput, String> {
    use IL1Block::IL1BlockCalls as Calls;
    if !call.value.is_zero() {
        return call.revert(IL1Block::NotAllowed {}.abi_encode());
    }
    let decoded = match call.decode::<Calls>() {
        Ok(decoded) => decoded,
        Err(revert) => return call.revert(revert),
    };
    let output = match decoded {
        Calls::number(_) => {
            IL1Block::numberCall::abi_encode_returns(&call.sload(NUMBER_SLOT)?.to::<u64>())
        }
        Calls::timestamp(_) => {
            IL1Block::timestampCall::abi_encode_returns(&call.sload(TIMESTAMP_SLOT)?.to::<u64>())
        }
        Calls::basefee(_) => IL1Block::basefeeCall::abi_encode_returns(&call.sload(BASEFEE_SLOT)?),
        Calls::hash(_) => {
            IL1Block::hashCall::abi_encode_returns(&B256::from(call.sload(HASH_SLOT)?))
        }
        Calls::queueIndex(_) => {
            IL1Block::queueIndexCall::abi_encode_returns(&call.sload(QUEUE_INDEX_SLOT)?.to::<u64>())
        }
        Calls::witnessUsed(_) => IL1Block::witnessUsedCall::abi_encode_returns(
            &call.sload(WITNESS_SLOT)?.saturating_to::<u64>(),
        ),
        Calls::dataBytes(_) => IL1Block::dataBytesCall::abi_encode_returns(
            &call.sload(DATA_SLOT)?.saturating_to::<u64>(),
        ),
        Calls::queueHash(_) => {
            IL1Block::queueHashCall::abi_encode_returns(&B256::from(call.sload(QUEUE_HASH_SLOT)?))
        }
    };
    call.finish(output)
}
