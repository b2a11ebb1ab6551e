//! L1Block (L2 predeploy): the L1 origin of the current L2 block, for contracts to read. Only the
//! block-start update of the L2 state transition writes it; calls can only read.
use super::Call;
use alloy_sol_types::{SolCall, SolError};
use revm::{context_interface::ContextTr, precompile::PrecompileOutput, primitives::B256};

pub use tandem_primitives::abi::IL1Block;

/// Its storage layout, which the L2 state transition writes: a protocol rule.
pub use tandem_primitives::system::l1_block::*;

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
