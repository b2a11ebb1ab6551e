//! Which block a tag or an EIP-1898 id names, and the state after it, as every method that takes a
//! block reads them.
use crate::{RpcError, error::Result};
use alloy_eips::{BlockId, BlockNumberOrTag};
use tandem_primitives::Header;
use tandem_state::{HistoricalState, LatestState, StateReader};
use tandem_storage::{History, Reader};

/// The latest committed height. On L1 every tag but `earliest` names it, since blocks are final at
/// once; a rollup node also tracks `safe` and `finalized` behind it.
pub(crate) fn latest(reader: &Reader) -> Result<u64> {
    reader
        .last_height()
        .ok_or_else(|| RpcError::internal("no genesis block"))
}

/// The number a tag or number names, or `None` for a block that does not exist (yet).
pub(crate) fn resolve_number(reader: &Reader, tag: BlockNumberOrTag) -> Result<Option<u64>> {
    let latest = latest(reader)?;
    Ok(match tag {
        BlockNumberOrTag::Earliest => Some(0),
        BlockNumberOrTag::Number(n) => (n <= latest).then_some(n),
        BlockNumberOrTag::Safe => reader.safe_height(),
        BlockNumberOrTag::Finalized => reader.finalized_height(),
        _ => Some(latest),
    })
}

/// The block an EIP-1898 block id names.
pub(crate) fn resolve_id(reader: &Reader, id: Option<BlockId>) -> Result<Option<u64>> {
    match id.unwrap_or_default() {
        BlockId::Number(tag) => resolve_number(reader, tag),
        BlockId::Hash(hash) => Ok(reader.number_of(hash.block_hash)?),
    }
}

/// Like [`resolve_id`], but a missing block is an error, as state queries need one.
pub(crate) fn resolve_state_block(reader: &Reader, id: Option<BlockId>) -> Result<(u64, Header)> {
    let number = resolve_id(reader, id)?.ok_or_else(|| RpcError::server("header not found"))?;
    let header = reader
        .header(number)?
        .ok_or_else(|| RpcError::server("header not found"))?;
    Ok((number, header))
}

/// Runs `f` on the state after the block `id` names.
pub(crate) fn with_state<T>(
    reader: &Reader,
    id: Option<BlockId>,
    f: impl FnOnce(&dyn StateReader, &Header) -> Result<T>,
) -> Result<T> {
    let (number, header) = resolve_state_block(reader, id)?;
    if Some(number) == reader.last_height() {
        return f(&LatestState(reader), &header);
    }
    check_history(reader, number)?;
    let state = HistoricalState::new(reader, header.state_root)
        .map_err(|_| missing_state(reader, number))?;
    f(&state, &header)
}

/// [`with_state`], except that `pending` on a node with an open block (a sequencer) reads that
/// block: its header, and the state after its parent with what it has written so far over it,
/// as Flashblocks serves it. Elsewhere `pending` is the latest block.
pub(crate) fn with_state_of<T>(
    backend: &crate::Backend,
    reader: &Reader,
    id: Option<BlockId>,
    f: impl FnOnce(&dyn StateReader, &Header) -> Result<T>,
) -> Result<T> {
    if matches!(id, Some(BlockId::Number(BlockNumberOrTag::Pending)))
        && let (open, sealed) = backend.preconf.blocks()
        && (open.is_some() || sealed.is_some())
    {
        // Read on the state it was built on: the latest block, with the sealed block being
        // committed in between while storage does not have it yet. Storage only moves forward
        // and a layer goes only once storage has it, so a snapshot taken after reading the
        // layers agrees with them. (Once sealed and committed, the latest block has it all.)
        let reader = backend.storage.read()?;
        let next = reader.last_height().map(|n| n + 1);
        let sealed = sealed.filter(|s| Some(s.header.number) == next);
        let open =
            open.filter(|o| Some(o.header.number) == next.map(|n| n + u64::from(sealed.is_some())));
        let base = LatestState(&reader);
        return match (open, sealed) {
            (Some(open), Some(sealed)) => f(&open.over(&sealed.over(&base)), &open.header),
            (Some(block), None) | (None, Some(block)) => f(&block.over(&base), &block.header),
            (None, None) => with_state(&reader, id, f),
        };
    }
    with_state(reader, id, f)
}

fn missing_state(reader: &Reader, number: u64) -> RpcError {
    let keep = match reader.history() {
        History::Recent(keep) => format!(
            "the node keeps the state of the last {keep} blocks (run with --archive to keep all)"
        ),
        History::Archive => "its trie nodes are missing".to_string(),
    };
    RpcError::server(format!(
        "historical state for block {number} is not available: {keep}"
    ))
}

/// States older than the history window are pruned; say so rather than fail half-way.
pub(crate) fn check_history(reader: &Reader, number: u64) -> Result<()> {
    if number < reader.oldest_state() {
        Err(missing_state(reader, number))
    } else {
        Ok(())
    }
}
