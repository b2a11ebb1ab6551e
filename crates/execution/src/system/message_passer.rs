//! L2ToL1MessagePasser (L2 predeploy): records withdrawals in its storage, where L1's Portal checks
//! them with a storage proof against an output root.
use super::Call;
use alloy_sol_types::{SolCall, SolError, SolEvent};
use revm::{
    context_interface::ContextTr,
    precompile::PrecompileOutput,
    primitives::{B256, U256},
};

pub use tandem_primitives::abi::IL2ToL1MessagePasser;

/// `mapping(bytes32 => bool) sentMessages` lives at slot 0.
pub const SENT_MESSAGES_SLOT: u64 = 0;
/// The nonce of the next withdrawal.
pub const MESSAGE_NONCE_SLOT: U256 = U256::from_limbs([1, 0, 0, 0]);

/// The most calldata a withdrawal may carry: what a deposit may (L1 pays to hash and relay it).
pub const MAX_WITHDRAWAL_DATA: usize = super::portal::MAX_DEPOSIT_DATA;

/// The storage slot that holds `sentMessages[hash]`.
pub fn sent_message_slot(hash: B256) -> U256 {
    super::mapping_slot(hash, SENT_MESSAGES_SLOT)
}

pub(crate) fn call<CTX: ContextTr>(call: &mut Call<'_, CTX>) -> Result<PrecompileOutput, String> {
    use IL2ToL1MessagePasser::IL2ToL1MessagePasserCalls as Calls;
    let decoded = match call.decode::<Calls>() {
        Ok(decoded) => decoded,
        Err(revert) => return call.revert(revert),
    };
    let payable = matches!(decoded, Calls::initiateWithdrawal(_));
    if (!payable && !call.value.is_zero()) || (payable && call.is_static) {
        return call.revert(IL2ToL1MessagePasser::NotAllowed {}.abi_encode());
    }
    let output = match decoded {
        Calls::sentMessages(c) => IL2ToL1MessagePasser::sentMessagesCall::abi_encode_returns(
            &!call.sload(sent_message_slot(c.withdrawalHash))?.is_zero(),
        ),
        Calls::messageNonce(_) => IL2ToL1MessagePasser::messageNonceCall::abi_encode_returns(
            &call.sload(MESSAGE_NONCE_SLOT)?,
        ),
        Calls::initiateWithdrawal(c) => {
            if c.data.len() > MAX_WITHDRAWAL_DATA {
                return call.revert(
                    IL2ToL1MessagePasser::DataTooLarge {
                        size: U256::from(c.data.len()),
                    }
                    .abi_encode(),
                );
            }
            let nonce = call.sload(MESSAGE_NONCE_SLOT)?;
            let withdrawal = tandem_primitives::protocol::Withdrawal {
                nonce,
                sender: call.caller,
                target: c.to,
                value: call.value,
                gas_limit: U256::from(c.gasLimit),
                data: c.data,
            };
            call.charge_keccak(32 * 7 + withdrawal.data.len());
            let hash = withdrawal.hash();
            call.sstore(sent_message_slot(hash), U256::from(1))?;
            call.sstore(MESSAGE_NONCE_SLOT, nonce + U256::from(1))?;
            // The value was credited to this contract before the call; it leaves circulation.
            if !call.burn(withdrawal.value)? {
                // Cannot happen (the value was credited just before); refuse rather than abort.
                return call.revert(IL2ToL1MessagePasser::NotAllowed {}.abi_encode());
            }
            let event = IL2ToL1MessagePasser::MessagePassed {
                nonce,
                sender: withdrawal.sender,
                target: withdrawal.target,
                value: withdrawal.value,
                gasLimit: withdrawal.gas_limit,
                data: withdrawal.data,
                withdrawalHash: hash,
            };
            call.log(event.encode_log_data());
            Vec::new()
        }
    };
    call.finish(output)
}
