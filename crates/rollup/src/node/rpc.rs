//! What an L2 node serves beside the Ethereum JSON-RPC: `tandem_rollupStatus`, outputs and
//! proposals, execution witnesses, where withdrawals stand with their proofs, and the same under
//! OP Stack's names (`optimism_*`, in `optimism.rs`).
use super::L2Config;
use crate::{
    Error, Result,
    batcher::BatcherStatus,
    challenger::ChallengerStatus,
    derivation::DerivationStatus,
    outputs::{output_at, proposal},
    withdrawals::{withdrawal_proofs, withdrawal_status},
};
use alloy_primitives::B256;
use jsonrpsee::types::ErrorObjectOwned;
use parking_lot::Mutex;
use std::{net::SocketAddr, sync::Arc};
use tandem_client::{
    L1,
    types::{Head, RollupStatus},
};
use tandem_execution::l2::L1Origin;
use tandem_rpc::{Backend, NewBlock};

pub(super) async fn serve<L: L1>(
    config: &L2Config,
    backend: &Backend,
    status: Status,
    l1: L,
) -> Result<(SocketAddr, jsonrpsee::server::ServerHandle)> {
    let mut module = jsonrpsee::RpcModule::new((status, l1));
    let register = |e: jsonrpsee::core::RegisterMethodError| Error::Config(e.to_string());
    module
        .register_blocking_method("tandem_rollupStatus", |_, context, _| {
            context.0.report().map_err(rpc_error)
        })
        .map_err(register)?;
    module
        .register_blocking_method("tandem_outputAtBlock", |params, context, _| {
            let number: alloy_primitives::U64 = params.one()?;
            let reader = context.0.backend.storage.read().map_err(rpc_error)?;
            output_at(&reader, number.to()).map_err(rpc_error)
        })
        .map_err(register)?;
    module
        .register_blocking_method("tandem_executionWitness", |params, context, _| {
            let number: alloy_primitives::U64 = params.one()?;
            let reader = context.0.backend.storage.read().map_err(rpc_error)?;
            let w = tandem_execution::witness::execution_witness(
                &reader,
                &context.0.backend.chain,
                number.to(),
            )
            .map_err(rpc_error)?;
            Ok::<_, ErrorObjectOwned>(serde_json::json!({
                "blockNumber": w.block_number,
                "parentStateRoot": w.parent_state_root,
                "state": w.state,
                "codes": w.codes,
                "keys": w.keys,
            }))
        })
        .map_err(register)?;
    module
        .register_blocking_method("tandem_outputProposal", |params, context, _| {
            let (first, last): (u64, u64) = params.parse()?;
            let reader = context.0.backend.storage.read().map_err(rpc_error)?;
            proposal(&reader, first, last).map_err(rpc_error)
        })
        .map_err(register)?;
    module
        .register_async_method("tandem_withdrawalStatus", |params, context, _| async move {
            let hash: B256 = params.one()?;
            let (status, l1) = &*context;
            withdrawal_status(&status.backend.storage, l1, hash)
                .await
                .map_err(rpc_error)
        })
        .map_err(register)?;
    module
        .register_async_method("tandem_withdrawalProof", |params, context, _| async move {
            let mut seq = params.sequence();
            let hash: B256 = seq.next()?;
            let index: Option<u64> = seq.optional_next()?;
            let (status, l1) = &*context;
            withdrawal_proofs(&status.backend.storage, l1, hash, index)
                .await
                .map_err(rpc_error)
        })
        .map_err(register)?;
    module
        .register_async_method("optimism_syncStatus", |_, context, _| async move {
            let (status, l1) = &*context;
            super::optimism::sync_status(&status.backend, l1)
                .await
                .map_err(rpc_error)
        })
        .map_err(register)?;
    module
        .register_async_method("optimism_outputAtBlock", |params, context, _| async move {
            let number: alloy_primitives::U64 = params.one()?;
            let (status, l1) = &*context;
            super::optimism::output_at_block(&status.backend, l1, number.to())
                .await
                .map_err(rpc_error)
        })
        .map_err(register)?;
    module
        .register_async_method("optimism_rollupConfig", |_, context, _| async move {
            let (status, l1) = &*context;
            super::optimism::rollup_config(&status.backend, l1)
                .await
                .map_err(rpc_error)
        })
        .map_err(register)?;
    tandem_rpc::serve_with(config.rpc_addr, backend.clone(), module.into())
        .await
        .map_err(|e| Error::Config(format!("cannot start JSON-RPC on {}: {e}", config.rpc_addr)))
}

/// Announces derived blocks to subscribers.
pub(super) fn announce_range(backend: &Backend, from: u64, to: u64) {
    let Ok(reader) = backend.storage.read() else {
        return;
    };
    for number in from..=to {
        if let (Ok(Some(block)), Ok(Some(receipts))) =
            (reader.block(number), reader.receipts(number))
        {
            backend.announce(Arc::new(NewBlock { block, receipts }));
        }
    }
}

/// A node-side failure as a JSON-RPC error (-32000, with its message).
fn rpc_error(e: impl std::fmt::Display) -> ErrorObjectOwned {
    ErrorObjectOwned::owned(-32000, e.to_string(), None::<()>)
}

/// What `tandem_rollupStatus` reports.
pub(super) struct Status {
    pub(super) role: &'static str,
    pub(super) backend: Backend,
    pub(super) l1_rpc: String,
    pub(super) batcher: Option<Arc<Mutex<BatcherStatus>>>,
    pub(super) derivation: Option<Arc<Mutex<DerivationStatus>>>,
    pub(super) challenger: ChallengerSlot,
}

/// Where a challenger started on a node (after it) reports, for `tandem_rollupStatus`.
pub(super) type ChallengerSlot = Arc<Mutex<Option<Arc<Mutex<ChallengerStatus>>>>>;

impl Status {
    fn report(&self) -> Result<RollupStatus> {
        let reader = self.backend.storage.read()?;
        let head = |number: Option<u64>| {
            let number = number.unwrap_or_default();
            let header = reader.header(number).ok().flatten();
            Head {
                number,
                hash: header.as_ref().map(|h| h.hash_slow()),
                l1_origin: header
                    .as_ref()
                    .and_then(L1Origin::of_header)
                    .map(|o| o.number),
            }
        };
        Ok(RollupStatus {
            role: self.role.into(),
            chain_id: self.backend.chain.chain_id,
            l1_rpc: self.l1_rpc.clone(),
            unsafe_head: head(reader.last_height()),
            safe: head(reader.safe_height()),
            finalized: head(reader.finalized_height()),
            preconfirmed: self.backend.preconf.len(),
            batcher: self.batcher.as_ref().map(|b| b.lock().clone()),
            derivation: self.derivation.as_ref().map(|d| d.lock().clone()),
            challenger: self.challenger.lock().as_ref().map(|c| c.lock().clone()),
        })
    }
}
