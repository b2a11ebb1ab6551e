//! BatchInbox: takes the L2 batcher's batches in order and stores a commitment to each. The batch
//! bytes themselves stay in the L1 transaction's calldata, where derivation reads them.
use super::Call;
use alloy_sol_types::{SolCall, SolError, SolEvent, sol};
use revm::{
    context_interface::ContextTr,
    precompile::PrecompileOutput,
    primitives::{Address, B256, U256, keccak256},
};

sol!("../../contracts/IBatchInbox.sol");

/// Storage slot of the registered batcher (set at genesis).
pub const BATCHER_SLOT: U256 = U256::ZERO;
/// Storage slot of the next expected sequence number.
pub const NEXT_SEQUENCE_SLOT: U256 = U256::from_limbs([1, 0, 0, 0]);
/// Commitments live at keccak256(abi.encode(sequence, 2)), like `mapping(uint64 => bytes32)` at slot 2.
const COMMITMENTS_SLOT: u64 = 2;

fn commitment_slot(sequence: u64) -> U256 {
    super::mapping_slot(U256::from(sequence).into(), COMMITMENTS_SLOT)
}

/// The commitment BatchInbox stores for a batch.
pub fn batch_commitment(batch: &[u8]) -> B256 {
    keccak256(batch)
}

pub(crate) fn call<CTX: ContextTr>(call: &mut Call<'_, CTX>) -> Result<PrecompileOutput, String> {
    use IBatchInbox::IBatchInboxCalls as Calls;
    let decoded = match call.decode::<Calls>() {
        Ok(decoded) => decoded,
        Err(revert) => return call.revert(revert),
    };
    // Nothing here is payable, and only submitBatch writes.
    if !call.value.is_zero() || (call.is_static && matches!(decoded, Calls::submitBatch(_))) {
        return call.revert(IBatchInbox::NotAllowed {}.abi_encode());
    }
    let output = match decoded {
        Calls::batcher(_) => IBatchInbox::batcherCall::abi_encode_returns(&Address::from_word(
            call.sload(super::BATCHER_SLOT)?.into(),
        )),
        Calls::nextSequence(_) => IBatchInbox::nextSequenceCall::abi_encode_returns(
            &call.sload(NEXT_SEQUENCE_SLOT)?.to::<u64>(),
        ),
        Calls::commitment(c) => IBatchInbox::commitmentCall::abi_encode_returns(&B256::from(
            call.sload(commitment_slot(c.sequence))?,
        )),
        Calls::submitBatch(c) => {
            let batcher = Address::from_word(call.sload(BATCHER_SLOT)?.into());
            if call.caller != batcher {
                return call.revert(
                    IBatchInbox::NotBatcher {
                        caller: call.caller,
                    }
                    .abi_encode(),
                );
            }
            let expected = call.sload(NEXT_SEQUENCE_SLOT)?.to::<u64>();
            if c.sequence != expected {
                return call.revert(
                    IBatchInbox::WrongSequence {
                        expected,
                        got: c.sequence,
                    }
                    .abi_encode(),
                );
            }
            call.charge_keccak(c.batch.len());
            let commitment = batch_commitment(&c.batch);
            call.sstore(
                commitment_slot(c.sequence),
                U256::from_be_bytes(commitment.0),
            )?;
            call.sstore(NEXT_SEQUENCE_SLOT, U256::from(expected + 1))?;
            let event = IBatchInbox::BatchSubmitted {
                sequence: c.sequence,
                commitment,
                size: U256::from(c.batch.len()),
            };
            call.log(event.encode_log_data());
            Vec::new()
        }
    };
    call.finish(output)
}
