//! The cross-layer messengers are EVM code (contracts/src), not native: the one rule the L2 state
//! transition keeps for them is that a message from L1 is never lost (see
//! `Executor::execute_deposit`), which needs to know a message's deposit and where the L2
//! messenger records a failed one.
use revm::primitives::{B256, TxKind, U256};
use tandem_primitives::{
    TxDeposit,
    system::{self, L1_MESSENGER, L2_MESSENGER},
};

/// `mapping(bytes32 => bool) failedMessages` is the messengers' slot 1 (contracts/build.mjs
/// checks the compiled layout).
const FAILED_MESSAGES_SLOT: u64 = 1;

/// The storage slot of `failedMessages[hash]`.
pub fn failed_message_slot(hash: B256) -> U256 {
    super::mapping_slot(hash, FAILED_MESSAGES_SLOT)
}

/// The hash of the message `deposit` carries, if it carries one: the L1 messenger's deposit (from
/// its alias) to the L2 messenger, whose data is the message's `relayMessage` call, encoded as
/// the messenger encodes it (so the hash is the one the L2 messenger keys on) with the deposit's
/// value.
pub fn message_hash(deposit: &TxDeposit) -> Option<B256> {
    use alloy_sol_types::SolCall;
    use tandem_primitives::abi::ICrossDomainMessenger::relayMessageCall;
    if deposit.from != system::alias(L1_MESSENGER) || deposit.to != TxKind::Call(L2_MESSENGER) {
        return None;
    }
    let call = relayMessageCall::abi_decode(&deposit.input).ok()?;
    let canonical = call.value == deposit.value && call.abi_encode() == deposit.input.as_ref();
    canonical.then(|| revm::primitives::keccak256(&deposit.input))
}
