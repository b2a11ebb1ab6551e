//! OutputOracle (L1): L2 output roots proposed with a bond, final after the challenge window.
use super::Call;
use alloy_sol_types::{SolCall, SolError, SolEvent};
use revm::{
    context_interface::ContextTr,
    precompile::PrecompileOutput,
    primitives::{Address, B256, U256},
};
use tandem_primitives::system::DISPUTE_GAME;

pub use tandem_primitives::abi::IOutputOracle;

pub const COUNT_SLOT: U256 = U256::ZERO;
pub const WINDOW_SLOT: U256 = U256::from_limbs([1, 0, 0, 0]);
pub const INTERVAL_SLOT: U256 = U256::from_limbs([2, 0, 0, 0]);
pub const MIN_BOND_SLOT: U256 = U256::from_limbs([3, 0, 0, 0]);
/// Outputs live at keccak256(abi.encode(index, 5)) + field.
const OUTPUTS_SLOT: u64 = 5;
const ROOT: u64 = 0;
const BLOCKS_ROOT: u64 = 1;
const NUMBER: u64 = 2;
const TIMESTAMP: u64 = 3;
const PROPOSER: u64 = 4;
const BOND: u64 = 5;
const CLAIMED: u64 = 6;

/// The storage slot of field `field` of output `index`.
pub fn output_slot(index: u64, field: u64) -> U256 {
    super::mapping_slot(U256::from(index).into(), OUTPUTS_SLOT) + U256::from(field)
}

/// The slots of output `index` that `getOutput` and the Portal read.
pub(crate) struct StoredOutput {
    pub(crate) root: B256,
    pub(crate) timestamp: u64,
}

/// Field slots for the DisputeGame.
pub(crate) mod field {
    pub(crate) const ROOT: u64 = super::ROOT;
    pub(crate) const BLOCKS_ROOT: u64 = super::BLOCKS_ROOT;
    pub(crate) const NUMBER: u64 = super::NUMBER;
    pub(crate) const TIMESTAMP: u64 = super::TIMESTAMP;
    pub(crate) const PROPOSER: u64 = super::PROPOSER;
    pub(crate) const BOND: u64 = super::BOND;
}

/// Reads output `index` through `read` (own or another contract's storage): `None` past the end.
pub(crate) fn read_output(
    index: u64,
    read: &mut dyn FnMut(U256) -> Result<U256, String>,
) -> Result<Option<StoredOutput>, String> {
    if U256::from(index) >= read(COUNT_SLOT)? {
        return Ok(None);
    }
    Ok(Some(StoredOutput {
        root: read(output_slot(index, ROOT))?.into(),
        timestamp: read(output_slot(index, TIMESTAMP))?.saturating_to(),
    }))
}

/// How many outputs are final at `now`: final outputs are a prefix, since proposal times only grow.
/// Most outputs pending (proposed, not final) at once: a successful challenge returns the bond of
/// every output after the one it deletes, and that loop must fit one L1 transaction
/// ([`crate::challenge_cost`]). An output interval of at least the challenge window / 64 of L2
/// time never meets it.
pub const MAX_PENDING_OUTPUTS: u64 = 64;

fn finalized_count<CTX: ContextTr>(call: &mut Call<'_, CTX>, window: u64) -> Result<u64, String> {
    let now = call.timestamp();
    let (mut low, mut high) = (0u64, call.sload(COUNT_SLOT)?.saturating_to::<u64>());
    while low < high {
        let middle = low + (high - low) / 2;
        let at: u64 = call.sload(output_slot(middle, TIMESTAMP))?.saturating_to();
        if at.saturating_add(window) <= now {
            low = middle + 1;
        } else {
            high = middle;
        }
    }
    Ok(low)
}

pub(crate) fn call<CTX: ContextTr>(call: &mut Call<'_, CTX>) -> Result<PrecompileOutput, String> {
    use IOutputOracle::IOutputOracleCalls as Calls;
    let decoded = match call.decode::<Calls>() {
        Ok(decoded) => decoded,
        Err(revert) => return call.revert(revert),
    };
    let payable = matches!(decoded, Calls::proposeOutput(_));
    let writes = matches!(
        decoded,
        Calls::proposeOutput(_) | Calls::claimBond(_) | Calls::deleteOutputs(_)
    );
    if (!payable && !call.value.is_zero()) || (writes && call.is_static) {
        return call.revert(IOutputOracle::NotAllowed {}.abi_encode());
    }
    let output = match decoded {
        Calls::outputCount(_) => {
            IOutputOracle::outputCountCall::abi_encode_returns(&call.sload(COUNT_SLOT)?)
        }
        Calls::challengeWindow(_) => IOutputOracle::challengeWindowCall::abi_encode_returns(
            &call.sload(WINDOW_SLOT)?.saturating_to::<u64>(),
        ),
        Calls::interval(_) => IOutputOracle::intervalCall::abi_encode_returns(
            &call.sload(INTERVAL_SLOT)?.saturating_to::<u64>(),
        ),
        Calls::minBond(_) => {
            IOutputOracle::minBondCall::abi_encode_returns(&call.sload(MIN_BOND_SLOT)?)
        }
        Calls::maxPendingOutputs(_) => {
            IOutputOracle::maxPendingOutputsCall::abi_encode_returns(&MAX_PENDING_OUTPUTS)
        }
        Calls::nextBlockNumber(_) => {
            IOutputOracle::nextBlockNumberCall::abi_encode_returns(&next_block_number(call)?)
        }
        Calls::finalizedCount(_) => {
            let window = call.sload(WINDOW_SLOT)?.saturating_to();
            IOutputOracle::finalizedCountCall::abi_encode_returns(&U256::from(finalized_count(
                call, window,
            )?))
        }
        Calls::getOutput(c) => {
            let index = c.index.saturating_to::<u64>();
            if c.index >= call.sload(COUNT_SLOT)? {
                return call.revert(IOutputOracle::OutputNotFound { index: c.index }.abi_encode());
            }
            let output = IOutputOracle::Output {
                outputRoot: call.sload(output_slot(index, ROOT))?.into(),
                blocksRoot: call.sload(output_slot(index, BLOCKS_ROOT))?.into(),
                l2BlockNumber: call.sload(output_slot(index, NUMBER))?.saturating_to(),
                timestamp: call.sload(output_slot(index, TIMESTAMP))?.saturating_to(),
                proposer: Address::from_word(call.sload(output_slot(index, PROPOSER))?.into()),
                bond: call.sload(output_slot(index, BOND))?,
            };
            IOutputOracle::getOutputCall::abi_encode_returns(&output)
        }
        Calls::proposeOutput(c) => {
            let expected = next_block_number(call)?;
            if c.l2BlockNumber != expected {
                return call.revert(
                    IOutputOracle::WrongBlockNumber {
                        expected,
                        got: c.l2BlockNumber,
                    }
                    .abi_encode(),
                );
            }
            // Only blocks L1 holds the batches of: their inputs, so any claim can be checked.
            let batched: u64 = call
                .sload_at(
                    tandem_primitives::system::BATCH_INBOX,
                    super::batch_inbox::LAST_BLOCK_SLOT,
                )?
                .saturating_to();
            if c.l2BlockNumber > batched {
                return call.revert(
                    IOutputOracle::BlockNotBatched {
                        block: c.l2BlockNumber,
                        lastBatched: batched,
                    }
                    .abi_encode(),
                );
            }
            let minimum = call.sload(MIN_BOND_SLOT)?;
            if call.value < minimum {
                return call.revert(
                    IOutputOracle::BondTooLow {
                        minimum,
                        got: call.value,
                    }
                    .abi_encode(),
                );
            }
            // The parent: what L1 holds for the previous output's block is what the proposer
            // holds, so no challenge can win against this output through its parent.
            let count = call.sload(COUNT_SLOT)?;
            let stored = match count.saturating_to::<u64>().checked_sub(1) {
                Some(previous) => call.sload(output_slot(previous, ROOT))?,
                None => call.sload_at(DISPUTE_GAME, super::dispute_game::GENESIS_OUTPUT_SLOT)?,
            };
            let stored = B256::from(stored);
            if stored != c.parentOutputRoot || stored.is_zero() {
                return call.revert(
                    IOutputOracle::WrongParent {
                        stored,
                        given: c.parentOutputRoot,
                    }
                    .abi_encode(),
                );
            }
            let window = call.sload(WINDOW_SLOT)?.saturating_to::<u64>();
            let pending = count
                .saturating_to::<u64>()
                .saturating_sub(finalized_count(call, window)?);
            if pending >= MAX_PENDING_OUTPUTS {
                return call.revert(
                    IOutputOracle::TooManyPending {
                        pending,
                        limit: MAX_PENDING_OUTPUTS,
                    }
                    .abi_encode(),
                );
            }
            let interval = call.sload(INTERVAL_SLOT)?.saturating_to::<u64>().max(1);
            let last_is_output = c.blockRoots.last() == Some(&c.outputRoot);
            if c.blockRoots.len() as u64 != interval || !last_is_output {
                return call.revert(
                    IOutputOracle::WrongBlockRoots {
                        expectedCount: interval,
                        lastIsOutputRoot: last_is_output,
                    }
                    .abi_encode(),
                );
            }
            call.charge_keccak(64 * c.blockRoots.len());
            let blocks_root = tandem_primitives::protocol::blocks_root(&c.blockRoots);
            let index = count.saturating_to::<u64>();
            let now = call.timestamp();
            let proposer = call.caller;
            for (field, value) in [
                (ROOT, U256::from_be_bytes(c.outputRoot.0)),
                (BLOCKS_ROOT, U256::from_be_bytes(blocks_root.0)),
                (NUMBER, U256::from(c.l2BlockNumber)),
                (TIMESTAMP, U256::from(now)),
                (PROPOSER, U256::from_be_slice(proposer.as_slice())),
                (BOND, call.value),
                (CLAIMED, U256::ZERO),
            ] {
                call.sstore(output_slot(index, field), value)?;
            }
            call.sstore(COUNT_SLOT, count + U256::from(1))?;
            let event = IOutputOracle::OutputProposed {
                index: count,
                outputRoot: c.outputRoot,
                l2BlockNumber: c.l2BlockNumber,
                blocksRoot: blocks_root,
                timestamp: now,
                proposer,
            };
            call.log(event.encode_log_data());
            call.log(
                IOutputOracle::OutputBlockRoots {
                    index: count,
                    blockRoots: c.blockRoots,
                }
                .encode_log_data(),
            );
            Vec::new()
        }
        Calls::claimBond(c) => {
            let window = call.sload(WINDOW_SLOT)?.saturating_to::<u64>();
            if c.index >= call.sload(COUNT_SLOT)? {
                return call.revert(IOutputOracle::OutputNotFound { index: c.index }.abi_encode());
            }
            let index = c.index.saturating_to::<u64>();
            let at: u64 = call.sload(output_slot(index, TIMESTAMP))?.saturating_to();
            if at.saturating_add(window) > call.timestamp() {
                return call.revert(
                    IOutputOracle::OutputNotFinal {
                        index: c.index,
                        finalAt: at.saturating_add(window),
                    }
                    .abi_encode(),
                );
            }
            if !call.sload(output_slot(index, CLAIMED))?.is_zero() {
                return call
                    .revert(IOutputOracle::BondAlreadyClaimed { index: c.index }.abi_encode());
            }
            call.sstore(output_slot(index, CLAIMED), U256::from(1))?;
            let proposer = Address::from_word(call.sload(output_slot(index, PROPOSER))?.into());
            let bond = call.sload(output_slot(index, BOND))?;
            if !call.pay(proposer, bond)? {
                // Bonds of deleted outputs may have been awarded away; never abort the block.
                return call.revert(IOutputOracle::NotAllowed {}.abi_encode());
            }
            call.log(
                IOutputOracle::BondClaimed {
                    index: c.index,
                    proposer,
                    amount: bond,
                }
                .encode_log_data(),
            );
            Vec::new()
        }
        Calls::deleteOutputs(c) => {
            if call.caller != DISPUTE_GAME {
                return call.revert(
                    IOutputOracle::NotDisputeGame {
                        caller: call.caller,
                    }
                    .abi_encode(),
                );
            }
            let count = call.sload(COUNT_SLOT)?;
            if c.index >= count {
                return call.revert(IOutputOracle::OutputNotFound { index: c.index }.abi_encode());
            }
            let window = call.sload(WINDOW_SLOT)?.saturating_to();
            if c.index < U256::from(finalized_count(call, window)?) {
                return call.revert(IOutputOracle::OutputFinal { index: c.index }.abi_encode());
            }
            // The bonds of deleted outputs stay here for the DisputeGame to award.
            call.sstore(COUNT_SLOT, c.index)?;
            call.log(
                IOutputOracle::OutputsDeleted {
                    fromIndex: c.index,
                    count: count - c.index,
                }
                .encode_log_data(),
            );
            Vec::new()
        }
    };
    call.finish(output)
}

/// The L2 block the next output must be for: the previous output's plus the interval.
fn next_block_number<CTX: ContextTr>(call: &mut Call<'_, CTX>) -> Result<u64, String> {
    let interval: u64 = call.sload(INTERVAL_SLOT)?.saturating_to();
    let count: u64 = call.sload(COUNT_SLOT)?.saturating_to();
    let previous: u64 = match count.checked_sub(1) {
        Some(last) => call.sload(output_slot(last, NUMBER))?.saturating_to(),
        None => 0,
    };
    Ok(previous.saturating_add(interval.max(1)))
}
