//! geth's `txpool_` namespace: what the pool holds, pending (runnable now: each sender's run from
//! its state nonce) and queued (behind a gap).
use crate::{Backend, convert};
use alloy_consensus::Transaction;
use alloy_primitives::{Address, U64};
use jsonrpsee::{core::RpcResult, proc_macros::rpc};
use std::collections::BTreeMap;
use tandem_mempool::PoolTx;
use tandem_primitives::StoredTx;

#[rpc(server)]
pub trait TxPoolApi {
    #[method(name = "txpool_status")]
    fn status(&self) -> RpcResult<serde_json::Value>;
    #[method(name = "txpool_content", blocking)]
    fn content(&self) -> RpcResult<serde_json::Value>;
    #[method(name = "txpool_inspect", blocking)]
    fn inspect(&self) -> RpcResult<serde_json::Value>;
}

pub(crate) struct TxPool {
    backend: Backend,
}

impl TxPool {
    pub(crate) fn new(backend: Backend) -> Self {
        Self { backend }
    }

    /// The pool's transactions by sender and nonce, each as `show` gives it.
    fn by_sender<T: serde::Serialize>(&self, show: impl Fn(&PoolTx) -> T) -> serde_json::Value {
        let (pending, queued) = self.backend.pool.lock().content();
        let group = |txs: Vec<PoolTx>| {
            let mut out: BTreeMap<Address, BTreeMap<u64, T>> = BTreeMap::new();
            for tx in &txs {
                out.entry(tx.sender)
                    .or_default()
                    .insert(tx.tx.nonce(), show(tx));
            }
            // geth keys nonces as decimal strings.
            out.into_iter()
                .map(|(sender, txs)| {
                    let txs: BTreeMap<String, T> =
                        txs.into_iter().map(|(n, t)| (n.to_string(), t)).collect();
                    (sender, txs)
                })
                .collect::<BTreeMap<_, _>>()
        };
        serde_json::json!({ "pending": group(pending), "queued": group(queued) })
    }
}

impl TxPoolApiServer for TxPool {
    fn status(&self) -> RpcResult<serde_json::Value> {
        let (pending, queued) = self.backend.pool.lock().counts();
        Ok(serde_json::json!({
            "pending": U64::from(pending as u64),
            "queued": U64::from(queued as u64),
        }))
    }

    fn content(&self) -> RpcResult<serde_json::Value> {
        // Every transaction in full, calldata as hex: refused before it is built when it could
        // not be sent anyway.
        let bytes = self.backend.pool.lock().bytes() as u64;
        let most = u64::from(self.backend.limits.max_response_bytes);
        if bytes.saturating_mul(2).saturating_add(1 << 20) > most {
            return Err(crate::RpcError::limit(format!(
                "the pool holds {bytes} bytes of transactions, more than an answer may carry: use txpool_inspect or txpool_status"
            ))
            .into());
        }
        Ok(self.by_sender(|p| {
            let stored = StoredTx {
                sender: p.sender,
                tx: (*p.tx).clone(),
            };
            convert::transaction(&stored, None, None)
        }))
    }

    fn inspect(&self) -> RpcResult<serde_json::Value> {
        Ok(self.by_sender(|p| {
            let to = match p.tx.to() {
                Some(to) => format!("{to:#x}"),
                None => "contract creation".into(),
            };
            format!(
                "{to}: {} wei + {} gas × {} wei",
                p.tx.value(),
                p.tx.gas_limit(),
                p.tx.max_fee_per_gas()
            )
        }))
    }
}
