//! What the bridge page shows of messages and token moves: the newest messages each messenger
//! sent (with the token move a standard bridge made them carry), where each stands, and the
//! transaction on the other layer that delivered it.
use crate::decode::eth;
use crate::rpc::{Node, RpcResult, b256, hex_u64};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_sol_types::{SolCall, SolEvent};
use serde_json::Value;
use tandem_client::messages::{Layer, Message, deposit_of, sent_in};
use tandem_primitives::abi::ICrossDomainMessenger;
use tandem_primitives::system::{L1_MESSENGER, L2_MESSENGER};

/// Messages shown per direction.
const SHOWN: usize = 10;

/// One message, sent on one layer for the other.
pub(crate) struct MessageRow {
    /// "L1 → L2" or "L2 → L1".
    pub(crate) direction: &'static str,
    /// Where it was sent: the layer's path segment ("l1", "l2") and the transaction.
    pub(crate) layer: &'static str,
    pub(crate) tx: String,
    pub(crate) sender: String,
    pub(crate) target: String,
    /// What it carries: a token move, or a call (with its ETH).
    pub(crate) carries: String,
    /// Where it stands: queued, relayed, failed (relay it again), initiated, in output, ...
    pub(crate) stage: String,
    /// The other layer's path segment, and the transaction that delivered it there, when known.
    pub(crate) other: &'static str,
    pub(crate) delivered: Option<String>,
}

/// The newest messages both ways, newest first.
pub(crate) async fn messages((l1, l2): (&Node, &Node), window: u64) -> RpcResult<Vec<MessageRow>> {
    let mut rows = Vec::new();
    for (from, to, layer) in [(l1, l2, Layer::L1), (l2, l1, Layer::L2)] {
        let head = from.head().await?;
        let logs = from
            .logs(
                layer.messenger(),
                ICrossDomainMessenger::SentMessage::SIGNATURE_HASH,
                head.saturating_sub(window),
                head,
            )
            .await?;
        let mut txs: Vec<B256> = logs
            .iter()
            .filter_map(|l| b256(&l["transactionHash"]))
            .collect();
        txs.dedup();
        for tx in txs.into_iter().rev().take(SHOWN) {
            let receipt = from
                .client()
                .receipt(tx)
                .await
                .map_err(|e| from.failed(e))?;
            let Some(receipt) = receipt else {
                continue;
            };
            for sent in sent_in(&receipt, layer) {
                rows.push(match layer {
                    Layer::L1 => to_l2(to, tx, deposit_of(&receipt), sent).await?,
                    Layer::L2 => to_l1((from, to), tx, sent, window).await?,
                });
            }
        }
    }
    Ok(rows)
}

fn carries(sent: &Message) -> String {
    let value: U256 = sent.value.parse().unwrap_or_default();
    match &sent.token {
        Some(t) => format!(
            "{} (smallest units) of token {}",
            t.amount,
            t.local_token.to_checksum(None)
        ),
        None if value.is_zero() => format!("call, {} bytes", sent.message.len()),
        None => format!("call, {} bytes, {}", sent.message.len(), eth(value)),
    }
}

/// Whether the messenger at `messenger` on `node` records `hash` as relayed, or as failed.
async fn recorded(node: &Node, messenger: Address, hash: B256) -> RpcResult<(bool, bool)> {
    let ask = |data: Bytes| serde_json::json!({ "to": messenger, "data": data });
    // A bool comes back as a word ending in 1; a revert or anything else reads as no.
    let flag = |answer: Result<Vec<u8>, (String, Option<Vec<u8>>)>| {
        answer.is_ok_and(|out| out.len() == 32 && out[31] == 1)
    };
    let done = ICrossDomainMessenger::successfulMessagesCall { msgHash: hash }.abi_encode();
    let failed = ICrossDomainMessenger::failedMessagesCall { msgHash: hash }.abi_encode();
    let latest = Value::from("latest");
    Ok((
        flag(node.eth_call(ask(done.into()), latest.clone()).await?),
        flag(node.eth_call(ask(failed.into()), latest).await?),
    ))
}

/// An L1 to L2 message: its deposit on L2 delivered it (or recorded it failed).
async fn to_l2(l2: &Node, tx: B256, deposit: Option<B256>, sent: Message) -> RpcResult<MessageRow> {
    let ran = match deposit {
        Some(hash) => l2.receipt(hash).await?.is_some(),
        None => false,
    };
    let (done, failed) = recorded(l2, L2_MESSENGER, sent.hash).await?;
    let stage = match (ran, done, failed) {
        (false, _, _) => "queued",
        (true, true, _) => "relayed",
        (true, false, true) => "failed: relay it again",
        (true, false, false) => "not delivered",
    };
    Ok(MessageRow {
        direction: "L1 → L2",
        layer: "l1",
        tx: tx.to_string(),
        sender: sent.sender.to_checksum(None),
        target: sent.target.to_checksum(None),
        carries: carries(&sent),
        stage: stage.into(),
        other: "l2",
        delivered: deposit.filter(|_| ran).map(|h| h.to_string()),
    })
}

/// An L2 to L1 message: a withdrawal through its stages, then its relay on L1.
async fn to_l1(
    (l2, l1): (&Node, &Node),
    tx: B256,
    sent: Message,
    window: u64,
) -> RpcResult<MessageRow> {
    let stage = match l2
        .call("tandem_withdrawalStatus", vec![tx.to_string().into()])
        .await
    {
        Ok(Value::Array(list)) => list
            .iter()
            .filter_map(|s| s["stage"].as_str())
            .next()
            .map(|s| s.replace('_', " "))
            .unwrap_or_else(|| "unknown".into()),
        _ => "unknown".into(),
    };
    let mut row = MessageRow {
        direction: "L2 → L1",
        layer: "l2",
        tx: tx.to_string(),
        sender: sent.sender.to_checksum(None),
        target: sent.target.to_checksum(None),
        carries: carries(&sent),
        stage,
        other: "l1",
        delivered: None,
    };
    if row.stage != "finalized" {
        return Ok(row);
    }
    let (done, _) = recorded(l1, L1_MESSENGER, sent.hash).await?;
    row.stage = match done {
        true => "relayed".into(),
        false => "failed: relay it again".into(),
    };
    // The L1 transaction that relayed it (or recorded its failure): the messenger's event for it.
    let head = l1.head().await?;
    for topic in [
        ICrossDomainMessenger::RelayedMessage::SIGNATURE_HASH,
        ICrossDomainMessenger::FailedRelayedMessage::SIGNATURE_HASH,
    ] {
        let filter = serde_json::json!({
            "address": L1_MESSENGER,
            "topics": [topic, sent.hash],
            "fromBlock": hex_u64(head.saturating_sub(window)),
            "toBlock": hex_u64(head),
        });
        if let Value::Array(logs) = l1.call("eth_getLogs", vec![filter]).await?
            && let Some(first) = logs.first()
        {
            row.delivered = b256(&first["transactionHash"]).map(|h| h.to_string());
            break;
        }
    }
    Ok(row)
}
