//! A small Ethereum JSON-RPC client over HTTP keep-alive or WebSocket, with batched requests:
//! what the load generator needs from any node (tandem, anvil, geth).
use alloy_primitives::{Address, B256, Bytes, U64, U256};
use jsonrpsee::{
    core::{
        client::{BatchResponse, ClientT},
        params::{ArrayParams, BatchRequestBuilder},
    },
    http_client::{HttpClient, HttpClientBuilder},
    rpc_params,
    ws_client::{WsClient, WsClientBuilder},
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("{url}: {message}")]
    Call { url: String, message: String },
}

pub type RpcResult<T> = Result<T, RpcError>;

#[derive(Debug, Clone)]
pub struct Rpc {
    url: String,
    client: Transport,
}

/// HTTP (keep-alive, one connection pool) or one WebSocket connection.
#[derive(Debug, Clone)]
enum Transport {
    Http(HttpClient),
    Ws(Arc<WsClient>),
}

/// Runs one `ClientT` call on whichever transport the client has.
macro_rules! on_transport {
    ($transport:expr, $client:ident => $call:expr) => {
        match $transport {
            Transport::Http($client) => $call,
            Transport::Ws($client) => $call,
        }
    };
}

const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
const MAX_RESPONSE: u32 = 256 * 1024 * 1024;

impl Rpc {
    /// An HTTP client for `url`.
    pub fn new(url: &str) -> RpcResult<Self> {
        let client = HttpClientBuilder::default()
            .request_timeout(TIMEOUT)
            .max_response_size(MAX_RESPONSE)
            .build(url)
            .map_err(|e| RpcError::Call {
                url: url.into(),
                message: e.to_string(),
            })?;
        Ok(Self {
            url: url.into(),
            client: Transport::Http(client),
        })
    }

    /// A client for `url`: over WebSocket for `ws://` and `wss://`, HTTP otherwise.
    pub async fn connect(url: &str) -> RpcResult<Self> {
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Self::new(url);
        }
        let client = WsClientBuilder::default()
            .request_timeout(TIMEOUT)
            .max_response_size(MAX_RESPONSE)
            .max_concurrent_requests(4_096)
            .build(url)
            .await
            .map_err(|e| RpcError::Call {
                url: url.into(),
                message: e.to_string(),
            })?;
        Ok(Self {
            url: url.into(),
            client: Transport::Ws(Arc::new(client)),
        })
    }

    /// Which transport the client uses: "http" or "ws".
    pub fn transport(&self) -> &'static str {
        match self.client {
            Transport::Http(_) => "http",
            Transport::Ws(_) => "ws",
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    fn error(&self, method: &str, e: impl std::fmt::Display) -> RpcError {
        RpcError::Call {
            url: self.url.clone(),
            message: format!("{method}: {e}"),
        }
    }

    pub async fn call<T: DeserializeOwned>(
        &self,
        method: &str,
        params: ArrayParams,
    ) -> RpcResult<T> {
        on_transport!(&self.client, c => c.request(method, params).await)
            .map_err(|e| self.error(method, e))
    }

    /// One batch of calls of `method`; each answer is its result or its error message.
    pub async fn batch<T: DeserializeOwned + std::fmt::Debug>(
        &self,
        method: &str,
        params: Vec<ArrayParams>,
    ) -> RpcResult<Vec<Result<T, String>>> {
        let mut batch = BatchRequestBuilder::new();
        for p in params {
            batch.insert(method, p).map_err(|e| self.error(method, e))?;
        }
        let response: BatchResponse<'_, T> =
            on_transport!(&self.client, c => c.batch_request(batch).await)
                .map_err(|e| self.error(method, e))?;
        Ok(response
            .into_iter()
            .map(|r| r.map_err(|e| e.message().to_string()))
            .collect())
    }

    pub async fn chain_id(&self) -> RpcResult<u64> {
        Ok(self.call::<U64>("eth_chainId", rpc_params![]).await?.to())
    }

    pub async fn block_number(&self) -> RpcResult<u64> {
        Ok(self
            .call::<U64>("eth_blockNumber", rpc_params![])
            .await?
            .to())
    }

    /// A block with its transaction hashes; `None` if it does not exist yet.
    pub async fn block(&self, number: u64) -> RpcResult<Option<Value>> {
        self.call(
            "eth_getBlockByNumber",
            rpc_params![U64::from(number), false],
        )
        .await
    }

    pub async fn nonce(&self, address: Address, tag: &str) -> RpcResult<u64> {
        Ok(self
            .call::<U64>("eth_getTransactionCount", rpc_params![address, tag])
            .await?
            .to())
    }

    pub async fn balance(&self, address: Address) -> RpcResult<U256> {
        self.call("eth_getBalance", rpc_params![address, "latest"])
            .await
    }

    pub async fn gas_price(&self) -> RpcResult<u128> {
        Ok(self.call::<U256>("eth_gasPrice", rpc_params![]).await?.to())
    }

    pub async fn send_raw(&self, raw: &Bytes) -> RpcResult<B256> {
        self.call("eth_sendRawTransaction", rpc_params![raw]).await
    }

    pub async fn receipt(&self, hash: B256) -> RpcResult<Option<Value>> {
        self.call("eth_getTransactionReceipt", rpc_params![hash])
            .await
    }

    /// Waits until `hash` has a receipt (polling), up to `timeout`.
    pub async fn wait_receipt(&self, hash: B256, timeout: std::time::Duration) -> RpcResult<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if let Some(receipt) = self.receipt(hash).await? {
                return Ok(receipt);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(self.error(
                    "eth_getTransactionReceipt",
                    format!("{hash} not mined in {timeout:?}"),
                ));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
    }
}

/// A quantity field of a JSON-RPC object (`"0x..."`) as a number; 0 when absent.
pub fn quantity(value: &Value, field: &str) -> u128 {
    value[field]
        .as_str()
        .and_then(|s| u128::from_str_radix(s.trim_start_matches("0x"), 16).ok())
        .unwrap_or_default()
}
