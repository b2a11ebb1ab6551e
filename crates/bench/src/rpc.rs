//! What the load generator reads from any node (tandem, anvil, geth) through tandem's client:
//! blocks and receipts as plain JSON, so another node's extra or missing fields never fail a run.
use alloy_primitives::{B256, U64};
use jsonrpsee::rpc_params;
use serde_json::Value;
use std::time::Duration;
use tandem_client::{Client, ClientError, Options};

/// Long enough for a batch of thousands of sends; large enough for a block's receipts.
const OPTIONS: Options = Options {
    timeout: Duration::from_secs(30),
    max_response_bytes: 256 * 1024 * 1024,
};

/// A client for `url`: over WebSocket for `ws://` and `wss://`, HTTP otherwise.
pub async fn connect(url: &str) -> Result<Client, ClientError> {
    Client::connect(url, OPTIONS).await
}

/// A block with its transaction hashes; `None` if it does not exist yet.
pub async fn block(rpc: &Client, number: u64) -> Result<Option<Value>, ClientError> {
    rpc.call(
        "eth_getBlockByNumber",
        rpc_params![U64::from(number), false],
    )
    .await
}

/// Waits until `hash` has a receipt (polling), up to `timeout`.
pub async fn wait_receipt(
    rpc: &Client,
    hash: B256,
    timeout: Duration,
) -> Result<Value, ClientError> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        let receipt: Option<Value> = rpc
            .call("eth_getTransactionReceipt", rpc_params![hash])
            .await?;
        if let Some(receipt) = receipt {
            return Ok(receipt);
        }
        if tokio::time::Instant::now() > deadline {
            return Err(ClientError::Failed(format!(
                "{}: {hash} not mined in {timeout:?}",
                rpc.url()
            )));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A quantity field of a JSON-RPC object (`"0x..."`) as a number; 0 when absent.
pub fn quantity(value: &Value, field: &str) -> u128 {
    value[field]
        .as_str()
        .and_then(|s| u128::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or_default()
}
