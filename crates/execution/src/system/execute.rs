//! EXECUTE (L1): stateless re-execution of one L2 block, from the parent's output preimage, the
//! block's inputs and a witness, with the L2's own state-transition code
//! ([`crate::stateless::execute_stateless`]). The DisputeGame settles a dispute with one call.
use super::Call;
use crate::{
    stateless::{OutputPreimage, StatelessOutput, decode_inputs_unrecovered, execute_stateless},
    witness::ExecutionWitness,
};
use alloy_consensus::Transaction;
use alloy_sol_types::{SolCall, SolError};
use revm::{context_interface::ContextTr, precompile::PrecompileOutput, primitives::U256};
use tandem_primitives::{ChainConfig, FeeParams, Layer, system::EXECUTE};

pub use tandem_primitives::abi::IExecute;

/// Base cost of one re-execution.
pub const EXECUTE_BASE_GAS: u64 = 2_000;
/// Per byte of inputs and witness: decoding and hashing every node (the bytes' calldata gas is
/// paid by the transaction besides).
pub const EXECUTE_GAS_PER_BYTE: u64 = 2;
/// Per transaction: recovering its sender.
pub const EXECUTE_GAS_PER_TX: u64 = 3_000;
/// Per unit of L2 gas the block uses: re-execution costs L1 what the same EVM work costs.
pub const EXECUTE_GAS_PER_L2_GAS: u64 = 1;

/// The L2 rules EXECUTE's storage holds (see `carry_l2` in tandem-primitives).
pub(crate) fn l2_rules<CTX: ContextTr>(call: &mut Call<'_, CTX>) -> Result<ChainConfig, String> {
    let mut word = |slot: u64| -> Result<u64, String> {
        Ok(call.sload_at(EXECUTE, U256::from(slot))?.saturating_to())
    };
    Ok(ChainConfig {
        chain_id: word(0)?,
        gas_limit: word(1)?,
        fees: FeeParams {
            elasticity_multiplier: word(2)?,
            base_fee_change_denominator: word(3)?,
            min_base_fee_wei: word(4)?,
        },
        layer: Layer::L2,
        max_sequencer_drift: word(5)?,
    })
}

/// Re-executes one L2 block for `call`, charging its gas: `Ok(Err(reason))` when the block cannot
/// be re-executed from what was given (the caller reverts); `Err` only when L1 itself fails.
pub(crate) fn run<CTX: ContextTr>(
    call: &mut Call<'_, CTX>,
    parent: &OutputPreimage,
    inputs: &[u8],
    witness: &[u8],
) -> Result<Result<StatelessOutput, String>, String> {
    call.charge(EXECUTE_GAS_PER_BYTE.saturating_mul(inputs.len() as u64));
    let inputs = match decode_inputs_unrecovered(inputs) {
        Ok(inputs) => inputs,
        Err(e) => return Ok(Err(e.to_string())),
    };
    let witness = match decode_witness(call, witness) {
        Ok(witness) => witness,
        Err(e) => return Ok(Err(e)),
    };
    // Senders are recovered only once they are paid for.
    call.charge(EXECUTE_GAS_PER_TX.saturating_mul(inputs.len() as u64));
    if call.out_of_gas() {
        return Ok(Err("out of gas before recovering senders".into()));
    }
    let inputs = match inputs.recover() {
        Ok(inputs) => inputs,
        Err(e) => return Ok(Err(e.to_string())),
    };
    run_decoded(call, parent, &inputs, &witness)
}

/// Decodes a witness, charging for its bytes first.
pub(crate) fn decode_witness<CTX: ContextTr>(
    call: &mut Call<'_, CTX>,
    witness: &[u8],
) -> Result<ExecutionWitness, String> {
    call.charge(
        EXECUTE_BASE_GAS.saturating_add(EXECUTE_GAS_PER_BYTE.saturating_mul(witness.len() as u64)),
    );
    if call.out_of_gas() {
        return Err("out of gas before execution".into());
    }
    alloy_rlp::decode_exact(witness).map_err(|e| format!("witness: {e}"))
}

/// [`run`] on decoded inputs and witness (their bytes, and sender recovery, charged already).
pub(crate) fn run_decoded<CTX: ContextTr>(
    call: &mut Call<'_, CTX>,
    parent: &OutputPreimage,
    inputs: &crate::l2::L2BlockInputs,
    witness: &ExecutionWitness,
) -> Result<Result<StatelessOutput, String>, String> {
    let chain = l2_rules(call)?;
    if chain.chain_id == 0 {
        return Ok(Err("no L2 rules at genesis".into()));
    }
    // The block cannot use more L2 gas than its transactions ask for: the call must have that
    // much left before the work starts, so nobody gets re-execution they do not pay for.
    let asked = inputs
        .queue
        .iter()
        .map(|e| e.gas_limit())
        .chain(inputs.transactions.iter().map(|t| t.tx.gas_limit()))
        .fold(0u64, u64::saturating_add)
        .min(chain.gas_limit);
    if call.out_of_gas() || call.gas_left() < EXECUTE_GAS_PER_L2_GAS.saturating_mul(asked) {
        return Ok(Err(format!(
            "out of gas: re-executing needs up to {} more",
            EXECUTE_GAS_PER_L2_GAS.saturating_mul(asked)
        )));
    }
    Ok(match execute_stateless(&chain, parent, inputs, witness) {
        Ok(output) => {
            call.charge(EXECUTE_GAS_PER_L2_GAS.saturating_mul(output.gas_used));
            Ok(output)
        }
        // Work that fails late (a node missing deep in the block) is paid as if it used all
        // it asked for, so a failing re-execution is never free.
        Err(e) => {
            call.charge(EXECUTE_GAS_PER_L2_GAS.saturating_mul(asked));
            Err(e.to_string())
        }
    })
}

pub(crate) fn call<CTX: ContextTr>(call: &mut Call<'_, CTX>) -> Result<PrecompileOutput, String> {
    use IExecute::IExecuteCalls as Calls;
    let decoded = match call.decode::<Calls>() {
        Ok(decoded) => decoded,
        Err(revert) => return call.revert(revert),
    };
    if !call.value.is_zero() {
        return call.revert(IExecute::NotAllowed {}.abi_encode());
    }
    let output = match decoded {
        Calls::l2ChainId(_) => {
            IExecute::l2ChainIdCall::abi_encode_returns(&l2_rules(call)?.chain_id)
        }
        Calls::execute(c) => {
            let parent = OutputPreimage {
                state_root: c.parentStateRoot,
                message_passer_root: c.parentMessagePasserRoot,
                block_hash: c.parentBlockHash,
            };
            match run(call, &parent, &c.inputs, &c.witness)? {
                Ok(done) => IExecute::executeCall::abi_encode_returns(&IExecute::executeReturn {
                    outputRoot: done.output.root(),
                    stateRoot: done.output.state_root,
                    messagePasserRoot: done.output.message_passer_root,
                    blockHash: done.output.block_hash,
                    l2GasUsed: done.gas_used,
                }),
                Err(reason) => {
                    return call.revert(IExecute::ExecutionFailed { reason }.abi_encode());
                }
            }
        }
    };
    call.finish(output)
}
