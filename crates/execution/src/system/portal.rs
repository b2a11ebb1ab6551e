//! Portal (L1): deposits and forced transactions into L2 through one queue with a rolling hash,
//! and withdrawal payouts proven against final outputs.
use super::{Call, output_oracle};
use alloy_eips::eip2718::Decodable2718;
use alloy_sol_types::{SolCall, SolError, SolEvent};
use revm::{
    context_interface::ContextTr,
    precompile::PrecompileOutput,
    primitives::{Address, B256, U256, keccak256},
};
use tandem_primitives::{
    TxEnvelope,
    system::{self, OUTPUT_ORACLE},
};

pub use tandem_primitives::abi::IPortal;

pub const QUEUE_LENGTH_SLOT: U256 = U256::ZERO;
pub const QUEUE_HASH_SLOT: U256 = U256::from_limbs([1, 0, 0, 0]);
/// `mapping(bytes32 => bool) finalizedWithdrawals` lives at slot 2.
const FINALIZED_SLOT: u64 = 2;

/// The least gas a queued transaction may ask for on L2 (a plain transfer).
pub const MIN_QUEUED_GAS: u64 = 21_000;
/// The most gas a queued transaction may ask for on L2, so any one fits in an L2 block.
pub const MAX_QUEUED_GAS: u64 = 2_000_000;
/// The most calldata a deposit may carry.
pub const MAX_DEPOSIT_DATA: usize = 64 * 1024;
/// Largest forced transaction, encoded: a deposit's data and room for the rest. Every queue entry
/// a block takes rides in the calldata of a challenge of that block, so entries are bounded.
pub const MAX_FORCED_TX_BYTES: usize = MAX_DEPOSIT_DATA + 1024;
/// L1 gas charged per unit of L2 gas a queued transaction asks for: queued gas is not free, so
/// the queue cannot be flooded for the price of a log.
pub const QUEUED_GAS_DIVISOR: u64 = 16;

/// `mapping(uint64 => bytes32)` of the queue hash after each entry, at slot 3.
const ENTRY_HASH_SLOT: u64 = 3;
/// `mapping(uint64 => uint64)` of the L1 block that queued each entry, at slot 4.
const ENTRY_BLOCK_SLOT: u64 = 4;

/// The storage slots of queue entry `index`: the hash after it, and its L1 block.
pub fn entry_slots(index: u64) -> (U256, U256) {
    let key = B256::from(U256::from(index));
    (
        super::mapping_slot(key, ENTRY_HASH_SLOT),
        super::mapping_slot(key, ENTRY_BLOCK_SLOT),
    )
}

fn finalized_slot(hash: B256) -> U256 {
    super::mapping_slot(hash, FINALIZED_SLOT)
}

pub(crate) fn call<CTX: ContextTr>(call: &mut Call<'_, CTX>) -> Result<PrecompileOutput, String> {
    use IPortal::IPortalCalls as Calls;
    let decoded = match call.decode::<Calls>() {
        Ok(decoded) => decoded,
        Err(revert) => return call.revert(revert),
    };
    let payable = matches!(decoded, Calls::depositTransaction(_));
    let writes = matches!(
        decoded,
        Calls::depositTransaction(_) | Calls::forceTransaction(_) | Calls::finalizeWithdrawal(_)
    );
    if (!payable && !call.value.is_zero()) || (writes && call.is_static) {
        return call.revert(IPortal::NotAllowed {}.abi_encode());
    }
    let output = match decoded {
        Calls::queueLength(_) => IPortal::queueLengthCall::abi_encode_returns(
            &call.sload(QUEUE_LENGTH_SLOT)?.saturating_to::<u64>(),
        ),
        Calls::queueHash(_) => {
            IPortal::queueHashCall::abi_encode_returns(&B256::from(call.sload(QUEUE_HASH_SLOT)?))
        }
        Calls::queueEntry(c) => {
            let (hash_slot, block_slot) = entry_slots(c.index);
            IPortal::queueEntryCall::abi_encode_returns(&IPortal::queueEntryReturn {
                hashAfter: call.sload(hash_slot)?.into(),
                l1Block: call.sload(block_slot)?.saturating_to(),
            })
        }
        Calls::finalizedWithdrawals(c) => IPortal::finalizedWithdrawalsCall::abi_encode_returns(
            &!call.sload(finalized_slot(c.withdrawalHash))?.is_zero(),
        ),
        Calls::depositTransaction(c) => {
            if !(MIN_QUEUED_GAS..=MAX_QUEUED_GAS).contains(&c.gasLimit) {
                return call.revert(
                    IPortal::GasLimitOutOfRange {
                        gasLimit: c.gasLimit,
                    }
                    .abi_encode(),
                );
            }
            if c.data.len() > MAX_DEPOSIT_DATA {
                return call.revert(
                    IPortal::DataTooLarge {
                        size: U256::from(c.data.len()),
                    }
                    .abi_encode(),
                );
            }
            // A contract caller acts on L2 as its alias, never as the contract at its address.
            let from = l2_sender(call.caller, call.origin());
            let (index, previous) = queue_head(call)?;
            let deposit = tandem_primitives::protocol::deposit_transaction(
                index,
                from,
                c.to,
                call.value,
                c.value,
                c.gasLimit,
                c.data.clone(),
            );
            call.charge_keccak(alloy_eips::eip2718::Encodable2718::encode_2718_len(
                &deposit,
            ));
            let queue_hash = push(call, index, previous, deposit.tx_hash(), c.gasLimit)?;
            let event = IPortal::TransactionDeposited {
                index,
                from,
                to: c.to,
                mint: call.value,
                value: c.value,
                gasLimit: c.gasLimit,
                data: c.data,
                queueHash: queue_hash,
            };
            call.log(event.encode_log_data());
            Vec::new()
        }
        Calls::forceTransaction(c) => {
            if c.signedL2Tx.len() > MAX_FORCED_TX_BYTES {
                return call.revert(
                    IPortal::DataTooLarge {
                        size: U256::from(c.signedL2Tx.len()),
                    }
                    .abi_encode(),
                );
            }
            call.charge_keccak(c.signedL2Tx.len());
            // ecrecover's price.
            call.charge(3_000);
            let Ok(tx) = TxEnvelope::decode_2718_exact(c.signedL2Tx.as_ref()) else {
                return call.revert(IPortal::BadTransaction {}.abi_encode());
            };
            let Ok(sender) = crate::recover_sender(&tx) else {
                return call.revert(IPortal::BadTransaction {}.abi_encode());
            };
            let gas_limit = alloy_consensus::Transaction::gas_limit(&tx);
            if !(MIN_QUEUED_GAS..=MAX_QUEUED_GAS).contains(&gas_limit) {
                return call.revert(
                    IPortal::GasLimitOutOfRange {
                        gasLimit: gas_limit,
                    }
                    .abi_encode(),
                );
            }
            let (index, previous) = queue_head(call)?;
            let queue_hash = push(call, index, previous, tx.tx_hash(), gas_limit)?;
            let event = IPortal::TransactionForced {
                index,
                sender,
                transaction: c.signedL2Tx,
                queueHash: queue_hash,
            };
            call.log(event.encode_log_data());
            Vec::new()
        }
        Calls::finalizeWithdrawal(c) => {
            let index = c.outputIndex.saturating_to::<u64>();
            let output = {
                let mut read = |slot| call.sload_at(OUTPUT_ORACLE, slot);
                output_oracle::read_output(index, &mut read)?
            };
            let Some(output) = output else {
                return call.revert(
                    IPortal::OutputNotFound {
                        index: c.outputIndex,
                    }
                    .abi_encode(),
                );
            };
            let window: u64 = call
                .sload_at(OUTPUT_ORACLE, output_oracle::WINDOW_SLOT)?
                .saturating_to();
            let final_at = output.timestamp.saturating_add(window);
            if final_at > call.timestamp() {
                return call.revert(
                    IPortal::OutputNotFinal {
                        index: c.outputIndex,
                        finalAt: final_at,
                    }
                    .abi_encode(),
                );
            }
            let proof = &c.outputRootProof;
            call.charge_keccak(128);
            if proof.version != tandem_primitives::protocol::OUTPUT_VERSION
                || tandem_primitives::protocol::output_root(
                    proof.stateRoot,
                    proof.messagePasserStorageRoot,
                    proof.blockHash,
                ) != output.root
            {
                return call.revert(IPortal::BadOutputRootProof {}.abi_encode());
            }
            let w = &c.withdrawal;
            // A withdrawal with data is a message for its target (the L1 messenger relays the
            // L2 messenger's): only the target's own call may take it, or anyone could spend the
            // message without the call it carries.
            if !w.data.is_empty() && call.caller != w.target {
                return call.revert(IPortal::OnlyTarget { target: w.target }.abi_encode());
            }
            let withdrawal = tandem_primitives::protocol::Withdrawal {
                nonce: w.nonce,
                sender: w.sender,
                target: w.target,
                value: w.value,
                gas_limit: w.gasLimit,
                data: w.data.clone(),
            };
            call.charge_keccak(32 * 7 + w.data.len());
            let hash = withdrawal.hash();
            if !call.sload(finalized_slot(hash))?.is_zero() {
                return call.revert(
                    IPortal::AlreadyFinalized {
                        withdrawalHash: hash,
                    }
                    .abi_encode(),
                );
            }
            // sentMessages[hash] == true in the message passer's storage trie.
            let proof_bytes: usize = c.withdrawalProof.iter().map(|node| node.len()).sum();
            call.charge_keccak(proof_bytes);
            call.charge(30 * c.withdrawalProof.len() as u64);
            let slot = super::message_passer::sent_message_slot(hash);
            let key = keccak256(slot.to_be_bytes::<32>());
            let verified = alloy_trie::proof::verify_proof(
                proof.messagePasserStorageRoot,
                alloy_trie::Nibbles::unpack(key),
                Some(alloy_rlp::encode(U256::from(1))),
                c.withdrawalProof.iter(),
            );
            if verified.is_err() {
                return call.revert(IPortal::BadWithdrawalProof {}.abi_encode());
            }
            call.sstore(finalized_slot(hash), U256::from(1))?;
            if !call.pay(w.target, w.value)? {
                let locked = call.balance()?;
                return call.revert(
                    IPortal::InsufficientLocked {
                        locked,
                        value: w.value,
                    }
                    .abi_encode(),
                );
            }
            call.log(
                IPortal::WithdrawalFinalized {
                    withdrawalHash: hash,
                    target: w.target,
                    value: w.value,
                }
                .encode_log_data(),
            );
            Vec::new()
        }
    };
    call.finish(output)
}

/// The next queue index and the queue hash so far.
fn queue_head<CTX: ContextTr>(call: &mut Call<'_, CTX>) -> Result<(u64, B256), String> {
    let index = call.sload(QUEUE_LENGTH_SLOT)?.saturating_to::<u64>();
    Ok((index, call.sload(QUEUE_HASH_SLOT)?.into()))
}

/// Appends entry `index` (L2 transaction hash `entry`) to the queue; returns the new queue hash.
fn push<CTX: ContextTr>(
    call: &mut Call<'_, CTX>,
    index: u64,
    previous: B256,
    entry: B256,
    l2_gas: u64,
) -> Result<B256, String> {
    call.charge_keccak(64);
    call.charge(l2_gas / QUEUED_GAS_DIVISOR);
    let queue_hash = tandem_primitives::protocol::next_queue_hash(previous, entry);
    call.sstore(QUEUE_HASH_SLOT, U256::from_be_bytes(queue_hash.0))?;
    call.sstore(QUEUE_LENGTH_SLOT, U256::from(index + 1))?;
    let (hash_slot, block_slot) = entry_slots(index);
    call.sstore(hash_slot, U256::from_be_bytes(queue_hash.0))?;
    let l1_block = call.block_number();
    call.sstore(block_slot, U256::from(l1_block))?;
    Ok(queue_hash)
}

/// The L2 sender a deposit from `caller` (in a transaction signed by `origin`) gets.
pub fn l2_sender(caller: Address, origin: Address) -> Address {
    if caller == origin {
        caller
    } else {
        system::alias(caller)
    }
}
