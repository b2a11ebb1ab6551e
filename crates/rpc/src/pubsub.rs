//! `eth_subscribe` over WebSocket: `newHeads` and `logs`.
use crate::{Backend, RpcError, convert};
use alloy_rpc_types_eth::Filter;
use jsonrpsee::{
    PendingSubscriptionSink,
    core::{SubscriptionResult, to_json_raw_value},
    types::SubscriptionId,
};
use tokio::sync::broadcast::error::RecvError;

/// Subscription ids as geth writes them: 0x and 32 hex digits.
#[derive(Debug, Clone, Copy)]
pub(crate) struct HexIdProvider;

impl jsonrpsee::core::traits::IdProvider for HexIdProvider {
    fn next_id(&self) -> SubscriptionId<'static> {
        let bytes: [u8; 16] = rand_bytes();
        SubscriptionId::Str(format!("0x{}", alloy_primitives::hex::encode(bytes)).into())
    }
}

/// Unique per process: a counter hashed with the start time, so ids do not repeat across restarts.
fn rand_bytes() -> [u8; 16] {
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let start = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    let hash =
        alloy_primitives::keccak256([n.to_be_bytes().as_slice(), &start.to_be_bytes()].concat());
    hash.0[..16].try_into().unwrap_or_default()
}

enum Topic {
    Heads,
    Logs(Box<Filter>),
}

pub(crate) async fn subscribe(
    backend: Backend,
    pending: PendingSubscriptionSink,
    kind: String,
    filter: Option<Filter>,
) -> SubscriptionResult {
    let topic = match kind.as_str() {
        "newHeads" => Topic::Heads,
        "logs" => Topic::Logs(Box::new(filter.unwrap_or_default())),
        other => {
            pending
                .reject(RpcError::invalid_params(format!(
                    "unsupported subscription: {other}"
                )))
                .await;
            return Ok(());
        }
    };
    let mut blocks = backend.blocks.subscribe();
    let sink = pending.accept().await?;
    loop {
        let new = tokio::select! {
            _ = sink.closed() => return Ok(()),
            new = blocks.recv() => new,
        };
        let new = match new {
            Ok(new) => new,
            Err(RecvError::Lagged(skipped)) => {
                tracing::debug!(target: "rpc::pubsub", skipped, "subscriber lagged; blocks skipped");
                continue;
            }
            Err(RecvError::Closed) => return Ok(()),
        };
        match &topic {
            Topic::Heads => {
                let header = convert::block(&new.block, false, None).header;
                sink.send(to_json_raw_value(&header)?).await?;
            }
            Topic::Logs(filter) => {
                for log in convert::logs(&new.block, &new.receipts) {
                    if filter.matches(&log.inner) {
                        sink.send(to_json_raw_value(&log)?).await?;
                    }
                }
            }
        }
    }
}
