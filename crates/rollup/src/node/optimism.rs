//! The rollup node's methods under OP Stack's names and field names (`optimism_syncStatus`,
//! `optimism_outputAtBlock`, `optimism_rollupConfig`), so clients written for op-node read a
//! tandem L2 node unchanged. They say what `tandem_rollupStatus` and `tandem_outputAtBlock` say.
use crate::{Error, Result, outputs::output_at};
use alloy_eips::BlockNumberOrTag;
use alloy_primitives::{Address, B256};
use serde::Serialize;
use tandem_client::L1;
use tandem_execution::l2::L1Origin;
use tandem_primitives::{Header, system};
use tandem_rpc::Backend;
use tandem_storage::Reader;

/// How far back `sequenceNumber` counts blocks on one origin, at most.
const MAX_SEQUENCE_WALK: u64 = 1_000;

/// These methods ask L1 a few questions each: at most this many run at once in the process, so
/// callers cannot make a node hammer its L1 (more wait their turn).
static AT_ONCE: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// An L1 block as op-node names it (`eth.L1BlockRef`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct L1BlockRef {
    pub(super) hash: B256,
    pub(super) number: u64,
    pub(super) parent_hash: B256,
    pub(super) timestamp: u64,
}

/// A block id (`eth.BlockID`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub(super) struct BlockId {
    pub(super) hash: B256,
    pub(super) number: u64,
}

/// An L2 block as op-node names it (`eth.L2BlockRef`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct L2BlockRef {
    pub(super) hash: B256,
    pub(super) number: u64,
    pub(super) parent_hash: B256,
    pub(super) timestamp: u64,
    #[serde(rename = "l1origin")]
    pub(super) l1_origin: BlockId,
    /// Blocks since the first one on this L1 origin.
    pub(super) sequence_number: u64,
}

/// `optimism_syncStatus` (`eth.SyncStatus`).
#[derive(Debug, Clone, Serialize)]
pub(super) struct SyncStatus {
    pub(super) current_l1: L1BlockRef,
    pub(super) current_l1_finalized: L1BlockRef,
    pub(super) head_l1: L1BlockRef,
    pub(super) safe_l1: L1BlockRef,
    pub(super) finalized_l1: L1BlockRef,
    pub(super) unsafe_l2: L2BlockRef,
    pub(super) safe_l2: L2BlockRef,
    pub(super) finalized_l2: L2BlockRef,
    pub(super) pending_safe_l2: L2BlockRef,
    pub(super) cross_unsafe_l2: L2BlockRef,
    pub(super) local_safe_l2: L2BlockRef,
}

/// `optimism_outputAtBlock` (`eth.OutputResponse`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OutputResponse {
    pub(super) version: B256,
    pub(super) output_root: B256,
    pub(super) block_ref: L2BlockRef,
    pub(super) withdrawal_storage_root: B256,
    pub(super) state_root: B256,
    pub(super) sync_status: SyncStatus,
}

/// The L2 block `number` as op-node describes it; `None` if the node does not have it.
fn l2_ref(reader: &Reader, number: u64) -> Result<Option<L2BlockRef>> {
    let Some(header) = reader.header(number)? else {
        return Ok(None);
    };
    let origin = L1Origin::of_header(&header);
    let l1_origin = origin
        .map(|o| BlockId {
            hash: o.hash,
            number: o.number,
        })
        .unwrap_or_default();
    let mut sequence_number = 0;
    let mut parent: Option<Header> = number
        .checked_sub(1)
        .map(|p| reader.header(p))
        .transpose()?
        .flatten();
    while let Some(earlier) = parent.take() {
        let same = L1Origin::of_header(&earlier)
            .is_some_and(|o| Some(o.number) == origin.map(|o| o.number));
        if !same || sequence_number >= MAX_SEQUENCE_WALK {
            break;
        }
        sequence_number += 1;
        parent = earlier
            .number
            .checked_sub(1)
            .map(|p| reader.header(p))
            .transpose()?
            .flatten();
    }
    Ok(Some(L2BlockRef {
        hash: header.hash_slow(),
        number,
        parent_hash: header.parent_hash,
        timestamp: header.timestamp,
        l1_origin,
        sequence_number,
    }))
}

/// The L1 block `tag` names, with its parent's hash.
async fn l1_ref(l1: &impl L1, tag: BlockNumberOrTag) -> Result<L1BlockRef> {
    let Some(block) = l1.origin(tag).await? else {
        return Ok(L1BlockRef::default());
    };
    let parent_hash = match block.number.checked_sub(1) {
        Some(parent) => l1
            .origin(BlockNumberOrTag::Number(parent))
            .await?
            .map(|p| p.hash)
            .unwrap_or_default(),
        None => B256::ZERO,
    };
    Ok(L1BlockRef {
        hash: block.hash,
        number: block.number,
        parent_hash,
        timestamp: block.timestamp,
    })
}

/// Where the node stands, in op-node's words: its L2 heads from its store, and L1's head and
/// finalized block as the node's L1 answers (BFT finality: L1's safe block is its finalized one).
pub(super) async fn sync_status(backend: &Backend, l1: &impl L1) -> Result<SyncStatus> {
    let _turn = AT_ONCE
        .acquire()
        .await
        .map_err(|e| Error::Config(e.to_string()))?;
    sync_status_now(backend, l1).await
}

async fn sync_status_now(backend: &Backend, l1: &impl L1) -> Result<SyncStatus> {
    let store = backend.clone();
    let (unsafe_l2, safe_l2, finalized_l2) = blocking(move || {
        let reader = store.storage.read()?;
        let at = |number: Option<u64>| -> Result<L2BlockRef> {
            Ok(l2_ref(&reader, number.unwrap_or_default())?.unwrap_or_default())
        };
        Ok((
            at(reader.last_height())?,
            at(reader.safe_height())?,
            at(reader.finalized_height())?,
        ))
    })
    .await?;
    let head_l1 = l1_ref(l1, BlockNumberOrTag::Latest).await?;
    let finalized_l1 = l1_ref(l1, BlockNumberOrTag::Finalized).await?;
    let current_l1 = l1_ref(l1, BlockNumberOrTag::Number(unsafe_l2.l1_origin.number)).await?;
    Ok(SyncStatus {
        current_l1,
        current_l1_finalized: finalized_l1,
        head_l1,
        safe_l1: finalized_l1,
        finalized_l1,
        unsafe_l2,
        safe_l2,
        finalized_l2,
        pending_safe_l2: safe_l2,
        cross_unsafe_l2: unsafe_l2,
        local_safe_l2: safe_l2,
    })
}

/// The output root of L2 block `number` with its preimage, as op-node answers it.
pub(super) async fn output_at_block(
    backend: &Backend,
    l1: &impl L1,
    number: u64,
) -> Result<OutputResponse> {
    let _turn = AT_ONCE
        .acquire()
        .await
        .map_err(|e| Error::Config(e.to_string()))?;
    let store = backend.clone();
    let (output, block_ref) = blocking(move || {
        let reader = store.storage.read()?;
        let missing = || Error::Config(format!("L2 block {number} is not known"));
        let output = output_at(&reader, number)?.ok_or_else(missing)?;
        Ok((output, l2_ref(&reader, number)?.ok_or_else(missing)?))
    })
    .await?;
    Ok(OutputResponse {
        version: output.version,
        output_root: output.output_root,
        block_ref,
        withdrawal_storage_root: output.message_passer_storage_root,
        state_root: output.state_root,
        sync_status: sync_status_now(backend, l1).await?,
    })
}

/// op-node's rollup configuration, as far as tandem has its fields: the genesis on both layers,
/// the chain ids, the addresses its batches and deposits go to, and the sequencer drift.
pub(super) async fn rollup_config(backend: &Backend, l1: &impl L1) -> Result<serde_json::Value> {
    let _turn = AT_ONCE
        .acquire()
        .await
        .map_err(|e| Error::Config(e.to_string()))?;
    let genesis = {
        let reader = backend.storage.read()?;
        reader
            .header(0)?
            .ok_or_else(|| Error::Config("no L2 genesis".into()))?
    };
    let l1_genesis = l1
        .origin(BlockNumberOrTag::Number(0))
        .await?
        .unwrap_or_default();
    let l1_chain_id = l1.chain_id().await?;
    let batcher = crate::derivation::batcher_address(l1).await?;
    let chain = &backend.chain;
    Ok(serde_json::json!({
        "genesis": {
            "l1": {"hash": l1_genesis.hash, "number": 0},
            "l2": {"hash": genesis.hash_slow(), "number": 0},
            "l2_time": genesis.timestamp,
            "system_config": {
                "batcherAddr": batcher,
                "overhead": B256::ZERO,
                "scalar": B256::ZERO,
                "gasLimit": chain.gas_limit,
            },
        },
        // L2 blocks come every 250 ms by default; a timestamp counts whole seconds and repeats.
        "block_time": 1,
        "max_sequencer_drift": chain.max_sequencer_drift,
        "l1_chain_id": l1_chain_id,
        "l2_chain_id": chain.chain_id,
        "batch_inbox_address": system::BATCH_INBOX,
        "deposit_contract_address": system::PORTAL,
        "l1_system_config_address": Address::ZERO,
    }))
}

/// Store work off the async runtime's threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| Error::Config(format!("a store read failed: {e}")))?
}
