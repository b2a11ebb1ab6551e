//! What the explorer reads from a node: plain Ethereum JSON-RPC (and tandem's rollup methods) as
//! JSON values, read defensively. Every answer is untrusted: a field that is missing or malformed
//! is an error for the page, never a panic.
use alloy_primitives::{Address, B256, U256};
use serde_json::Value;
use std::time::Duration;
use tandem_client::{Client, ClientError, Options};

#[derive(Debug, thiserror::Error)]
pub enum RpcError {
    #[error("{layer} node at {url}: {message}")]
    Call {
        layer: &'static str,
        url: String,
        message: String,
    },
    #[error("{layer} node answered something unexpected: {what}")]
    Malformed { layer: &'static str, what: String },
}

pub type RpcResult<T> = Result<T, RpcError>;

/// One layer's node.
#[derive(Debug, Clone)]
pub struct Node {
    pub layer: &'static str,
    pub url: String,
    client: Client,
}

/// A page waits at most so long for a node; answers stay page-sized.
const OPTIONS: Options = Options {
    timeout: Duration::from_secs(5),
    max_response_bytes: 16 * 1024 * 1024,
};

impl Node {
    pub fn new(layer: &'static str, url: &str) -> RpcResult<Self> {
        let client = Client::http(url, OPTIONS).map_err(|e| RpcError::Call {
            layer,
            url: url.into(),
            message: e.to_string(),
        })?;
        Ok(Self {
            layer,
            url: url.into(),
            client,
        })
    }

    /// The node's typed client.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// A failure of the typed client, for the page.
    pub fn failed(&self, e: ClientError) -> RpcError {
        match e {
            ClientError::Rpc { message, .. } => RpcError::Call {
                layer: self.layer,
                url: self.url.clone(),
                message,
            },
            other => self.malformed(other.to_string()),
        }
    }

    /// The WebSocket URL of the same endpoint (tandem serves both on one port).
    pub fn ws_url(&self) -> String {
        if let Some(rest) = self.url.strip_prefix("https://") {
            format!("wss://{rest}")
        } else if let Some(rest) = self.url.strip_prefix("http://") {
            format!("ws://{rest}")
        } else {
            self.url.clone()
        }
    }

    pub fn malformed(&self, what: impl Into<String>) -> RpcError {
        RpcError::Malformed {
            layer: self.layer,
            what: what.into(),
        }
    }

    pub async fn call(&self, method: &str, params: Vec<Value>) -> RpcResult<Value> {
        self.client
            .request_json(method, params)
            .await
            .map_err(|e| self.failed(e))
    }

    pub async fn head(&self) -> RpcResult<u64> {
        let v = self.call("eth_blockNumber", vec![]).await?;
        quantity(&v).ok_or_else(|| self.malformed("eth_blockNumber is not a number"))
    }

    /// A block by number or hash; `None` if the node does not have it.
    pub async fn block(&self, id: BlockId, full: bool) -> RpcResult<Option<Value>> {
        let v = match id {
            BlockId::Number(n) => {
                self.call("eth_getBlockByNumber", vec![hex_u64(n), full.into()])
                    .await?
            }
            BlockId::Hash(h) => {
                self.call(
                    "eth_getBlockByHash",
                    vec![h.to_string().into(), full.into()],
                )
                .await?
            }
        };
        self.object_or_null(v, "block")
    }

    pub async fn transaction(&self, hash: B256) -> RpcResult<Option<Value>> {
        let v = self
            .call("eth_getTransactionByHash", vec![hash.to_string().into()])
            .await?;
        self.object_or_null(v, "transaction")
    }

    pub async fn receipt(&self, hash: B256) -> RpcResult<Option<Value>> {
        let v = self
            .call("eth_getTransactionReceipt", vec![hash.to_string().into()])
            .await?;
        self.object_or_null(v, "receipt")
    }

    pub async fn balance(&self, address: Address) -> RpcResult<U256> {
        let v = self
            .call(
                "eth_getBalance",
                vec![address.to_string().into(), "latest".into()],
            )
            .await?;
        u256(&v).ok_or_else(|| self.malformed("eth_getBalance is not a number"))
    }

    pub async fn nonce(&self, address: Address) -> RpcResult<u64> {
        let v = self
            .call(
                "eth_getTransactionCount",
                vec![address.to_string().into(), "latest".into()],
            )
            .await?;
        quantity(&v).ok_or_else(|| self.malformed("eth_getTransactionCount is not a number"))
    }

    pub async fn code_size(&self, address: Address) -> RpcResult<usize> {
        let v = self
            .call(
                "eth_getCode",
                vec![address.to_string().into(), "latest".into()],
            )
            .await?;
        let code = v
            .as_str()
            .ok_or_else(|| self.malformed("eth_getCode is not a string"))?;
        Ok(code.trim_start_matches("0x").len() / 2)
    }

    /// `eth_call` to `to` with `data` at `block` ("latest" or a number); the output bytes, or the
    /// error message and revert data.
    pub async fn eth_call(
        &self,
        call: Value,
        block: Value,
    ) -> RpcResult<Result<Vec<u8>, (String, Option<Vec<u8>>)>> {
        let answer = self
            .client
            .eth_call(&call, &block)
            .await
            .map_err(|e| self.failed(e))?;
        Ok(answer
            .map(|output| output.to_vec())
            .map_err(|r| (r.message, r.data.map(|d| d.to_vec()))))
    }

    /// Logs of `address` with `topic0` in blocks `from..=to`.
    pub async fn logs(
        &self,
        address: Address,
        topic0: B256,
        from: u64,
        to: u64,
    ) -> RpcResult<Vec<Value>> {
        let filter = serde_json::json!({
            "address": address,
            "topics": [topic0],
            "fromBlock": hex_u64(from),
            "toBlock": hex_u64(to),
        });
        let v = self.call("eth_getLogs", vec![filter]).await?;
        match v {
            Value::Array(logs) => Ok(logs),
            _ => Err(self.malformed("eth_getLogs is not a list")),
        }
    }

    fn object_or_null(&self, v: Value, what: &str) -> RpcResult<Option<Value>> {
        match v {
            Value::Null => Ok(None),
            Value::Object(_) => Ok(Some(v)),
            _ => Err(self.malformed(format!("the {what} is not an object"))),
        }
    }
}

/// A block by number or by hash.
#[derive(Debug, Clone, Copy)]
pub enum BlockId {
    Number(u64),
    Hash(B256),
}

pub fn hex_u64(n: u64) -> Value {
    format!("0x{n:x}").into()
}

/// A JSON quantity (`"0x1a"`) as a u64.
pub fn quantity(v: &Value) -> Option<u64> {
    u64::from_str_radix(v.as_str()?.strip_prefix("0x")?, 16).ok()
}

pub fn u256(v: &Value) -> Option<U256> {
    v.as_str()?.parse().ok()
}

pub fn bytes(v: &Value) -> Option<Vec<u8>> {
    alloy_primitives::hex::decode(v.as_str()?).ok()
}

pub fn b256(v: &Value) -> Option<B256> {
    v.as_str()?.parse().ok()
}

pub fn address(v: &Value) -> Option<Address> {
    v.as_str()?.parse().ok()
}
