//! BatchInbox: takes the L2 batcher's batches in order, decodes each as it arrives and accepts it
//! only if derivation can use all of it (it decodes, continues the L2 chain where the last batch
//! ended, and names no later L1 block than its own as an origin). It stores a commitment to each batch, the
//! L2 blocks it carries, and the address table the batch format refers to. The batch bytes stay in
//! the L1 transaction's calldata, where derivation (and a challenger) read them.
use super::Call;
use alloy_sol_types::{SolCall, SolError, SolEvent};
use revm::{
    context_interface::ContextTr,
    precompile::PrecompileOutput,
    primitives::{Address, B256, U256},
};
use std::cell::RefCell;
use tandem_primitives::batch::{
    AddressBook, AddressTable, Batch, BatchError, Limits, MAX_BATCH_BYTES,
};
use tandem_primitives::system::BATCH_INBOX;

pub use tandem_primitives::abi::IBatchInbox;

/// Storage slot of the registered batcher (set at genesis).
pub const BATCHER_SLOT: U256 = U256::ZERO;
/// Storage slot of the next expected sequence number.
pub const NEXT_SEQUENCE_SLOT: U256 = U256::from_limbs([1, 0, 0, 0]);
/// Commitments live at keccak256(abi.encode(sequence, 2)), like `mapping(uint64 => bytes32)` at slot 2.
const COMMITMENTS_SLOT: u64 = 2;
/// The last L2 block the accepted batches carry.
pub(crate) const LAST_BLOCK_SLOT: U256 = U256::from_limbs([3, 0, 0, 0]);
const TABLE_SIZE_SLOT: U256 = U256::from_limbs([4, 0, 0, 0]);
const TABLE_SLOT: u64 = 5;
const POSITION_SLOT: u64 = 6;
const RANGES_SLOT: u64 = 7;

/// Gas per batch byte decoded.
pub(crate) const DECODE_GAS_PER_BYTE: u64 = 8;
/// Gas per byte the batch decompresses to.
pub(crate) const DECODE_GAS_PER_RAW_BYTE: u64 = 2;
/// Gas per transaction decoded.
pub(crate) const DECODE_GAS_PER_TX: u64 = 500;
/// Gas per address the table gains (its entry and its position).
const TABLE_ENTRY_GAS: u64 = 5_000;
/// Gas per table lookup.
const TABLE_READ_GAS: u64 = 200;

fn commitment_slot(sequence: u64) -> U256 {
    super::mapping_slot(U256::from(sequence).into(), COMMITMENTS_SLOT)
}

fn table_slot(index: u64) -> U256 {
    super::mapping_slot(U256::from(index).into(), TABLE_SLOT)
}

fn position_slot(address: &Address) -> U256 {
    super::mapping_slot(address.into_word(), POSITION_SLOT)
}

fn range_slot(sequence: u64) -> U256 {
    super::mapping_slot(U256::from(sequence).into(), RANGES_SLOT)
}

/// The first `count` entries of the address table in BatchInbox's storage (the table as it stood
/// before a batch), read through a call of BatchInbox or a neighbour (which pays for each lookup).
/// With `resolve` off, an address in range reads as zero without a lookup: enough to check that a
/// batch decodes, which never depends on which address an index names.
struct StoredTable<'c, 'a, CTX: ContextTr> {
    call: RefCell<&'c mut Call<'a, CTX>>,
    count: u64,
    resolve: bool,
}

impl<CTX: ContextTr> AddressBook for StoredTable<'_, '_, CTX> {
    fn count(&self) -> u64 {
        self.count
    }

    fn address(&self, index: u64) -> Result<Option<Address>, BatchError> {
        if index >= self.count {
            return Ok(None);
        }
        if !self.resolve {
            return Ok(Some(Address::ZERO));
        }
        let word = self
            .call
            .borrow_mut()
            .sload_priced(BATCH_INBOX, table_slot(index), TABLE_READ_GAS)
            .map_err(BatchError::Table)?;
        Ok(Some(Address::from_word(word.into())))
    }

    fn holds(&self, address: &Address) -> Result<bool, BatchError> {
        // Position + 1 in storage: held before the batch if within its first `count` entries.
        let position = self
            .call
            .borrow_mut()
            .sload_priced(BATCH_INBOX, position_slot(address), TABLE_READ_GAS)
            .map_err(BatchError::Table)?;
        Ok(!position.is_zero() && position <= U256::from(self.count))
    }
}

/// Decodes batch data against the first `count` entries of the table in storage (the table as it
/// stood before the batch), resolving addresses when `resolve`, and charging for the work.
/// `Ok(Err(..))` for data that does not decode.
pub(crate) fn decode_stored<CTX: ContextTr>(
    call: &mut Call<'_, CTX>,
    data: &[u8],
    chain_id: u64,
    count: u64,
    resolve: bool,
) -> Result<Result<(Batch, Vec<Address>), BatchError>, String> {
    call.charge(DECODE_GAS_PER_BYTE * data.len() as u64);
    let table = StoredTable {
        call: RefCell::new(call),
        count,
        resolve,
    };
    let decoded = Batch::decode_measured(data, chain_id, &Limits::default(), &table);
    let call = table.call.into_inner();
    match decoded {
        Err(BatchError::Table(e)) => Err(e),
        Err(e) => Ok(Err(e)),
        Ok((batch, new, raw)) => {
            let txs: usize = batch.blocks.iter().map(|b| b.transactions.len()).sum();
            call.charge(DECODE_GAS_PER_TX * txs as u64 + DECODE_GAS_PER_RAW_BYTE * raw as u64);
            Ok(Ok((batch, new)))
        }
    }
}

/// What BatchInbox recorded of an accepted batch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Accepted {
    pub(crate) first: u64,
    pub(crate) last: u64,
    /// The address table's size before the batch: what its indexes refer to.
    pub(crate) table_before: u64,
}

/// What BatchInbox recorded of batch `sequence`, `None` if there is no such batch.
pub(crate) fn batch_range<CTX: ContextTr>(
    call: &mut Call<'_, CTX>,
    sequence: u64,
) -> Result<Option<Accepted>, String> {
    let packed = call.sload_at(BATCH_INBOX, range_slot(sequence))?;
    if packed.is_zero() {
        return Ok(None);
    }
    let word = |shift: usize| -> u64 { ((packed >> shift) & U256::from(u64::MAX)).saturating_to() };
    Ok(Some(Accepted {
        first: word(64),
        last: word(0),
        table_before: word(128),
    }))
}

/// The stored commitment of batch `sequence` (zero if none).
pub(crate) fn stored_commitment<CTX: ContextTr>(
    call: &mut Call<'_, CTX>,
    sequence: u64,
) -> Result<B256, String> {
    Ok(call
        .sload_at(BATCH_INBOX, commitment_slot(sequence))?
        .into())
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
        Calls::nextBlock(_) => IBatchInbox::nextBlockCall::abi_encode_returns(
            &(call.sload(LAST_BLOCK_SLOT)?.saturating_to::<u64>() + 1),
        ),
        Calls::batchRange(c) => {
            let accepted = batch_range(call, c.sequence)?;
            IBatchInbox::batchRangeCall::abi_encode_returns(&IBatchInbox::batchRangeReturn {
                firstBlock: accepted.map_or(0, |a| a.first),
                lastBlock: accepted.map_or(0, |a| a.last),
            })
        }
        Calls::tableSize(_) => IBatchInbox::tableSizeCall::abi_encode_returns(
            &call.sload(TABLE_SIZE_SLOT)?.saturating_to::<u64>(),
        ),
        Calls::tableEntry(c) => IBatchInbox::tableEntryCall::abi_encode_returns(
            &Address::from_word(call.sload(table_slot(c.index))?.into()),
        ),
        Calls::submitBatch(c) => {
            let batcher = Address::from_word(call.sload(BATCHER_SLOT)?.into());
            // Derivation reads a batch from its transaction's calldata: only a transaction sent
            // straight to BatchInbox by the batcher carries exactly one batch there.
            if call.caller != batcher || !call.is_top_level() {
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
            // A challenge carries the whole batch of its block, with the witness, in one L1
            // transaction: batches are bounded (the batcher posts at most 120 KB).
            if c.batch.len() > MAX_BATCH_BYTES {
                return call.revert(
                    IBatchInbox::BadBatch {
                        reason: format!(
                            "{} bytes, more than the {MAX_BATCH_BYTES} a batch may have",
                            c.batch.len()
                        ),
                    }
                    .abi_encode(),
                );
            }
            if let Err(revert) = accept(call, c.sequence, &c.batch)? {
                return call.revert(revert);
            }
            call.charge_keccak(c.batch.len());
            let commitment = tandem_primitives::protocol::batch_commitment(&c.batch);
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

/// Checks that derivation can use all of `data` and records its blocks and new addresses;
/// `Ok(Err(revert))` when it cannot.
fn accept<CTX: ContextTr>(
    call: &mut Call<'_, CTX>,
    sequence: u64,
    data: &[u8],
) -> Result<Result<(), Vec<u8>>, String> {
    let rules = super::execute::l2_rules(call)?;
    let table_before = call.sload(TABLE_SIZE_SLOT)?.saturating_to::<u64>();
    let (batch, new) = match decode_stored(call, data, rules.chain_id, table_before, false)? {
        Ok(decoded) => decoded,
        Err(e) => {
            return Ok(Err(IBatchInbox::BadBatch {
                reason: e.to_string(),
            }
            .abi_encode()));
        }
    };
    let next = call.sload(LAST_BLOCK_SLOT)?.saturating_to::<u64>() + 1;
    let (Some(first), Some(last)) = (batch.blocks.first(), batch.blocks.last()) else {
        return Ok(Err(IBatchInbox::BadBatch {
            reason: "no blocks".into(),
        }
        .abi_encode()));
    };
    if first.number != next {
        return Ok(Err(IBatchInbox::WrongFirstBlock {
            expected: next,
            got: first.number,
        }
        .abi_encode()));
    }
    let now = call.block_number();
    if let Some(block) = batch.blocks.iter().find(|b| b.l1_origin > now) {
        return Ok(Err(IBatchInbox::FutureOrigin {
            l2Block: block.number,
            l1Origin: block.l1_origin,
        }
        .abi_encode()));
    }
    // Every block as the state transition could have built it, so that a challenge of any block
    // of the batch stays within one L1 block.
    if let Some(broken) = batch
        .blocks
        .iter()
        .find_map(|block| crate::l2::check_block_data(&block.transactions, rules.gas_limit).err())
    {
        return Ok(Err(IBatchInbox::BadBatch {
            reason: broken.to_string(),
        }
        .abi_encode()));
    }
    let (first, last) = (first.number, last.number);
    call.sstore(LAST_BLOCK_SLOT, U256::from(last))?;
    call.sstore(
        range_slot(sequence),
        (U256::from(table_before) << 128usize) | (U256::from(first) << 64usize) | U256::from(last),
    )?;
    let mut size = table_before;
    for address in new {
        if size >= AddressTable::MAX_ENTRIES as u64 {
            break;
        }
        call.sstore_priced(
            table_slot(size),
            U256::from_be_slice(address.as_slice()),
            TABLE_ENTRY_GAS,
        )?;
        call.sstore_priced(position_slot(&address), U256::from(size + 1), 0)?;
        size += 1;
    }
    call.sstore(TABLE_SIZE_SLOT, U256::from(size))?;
    Ok(Ok(()))
}
