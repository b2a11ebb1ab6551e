//! [`Client`]: JSON-RPC over HTTP keep-alive or one WebSocket, typed where tandem reads a method.
use crate::{ClientError, L1, Result, RpcBlock, RpcReceipt, RpcTransaction};
use alloy_consensus::TxEip1559;
use alloy_eips::{BlockNumberOrTag, eip2718::Encodable2718};
use alloy_primitives::{Address, B256, Bytes, TxKind, U64, U256};
use alloy_rpc_types_eth::{Filter, Log, TransactionRequest};
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
use std::{sync::Arc, time::Duration};
use tandem_primitives::{dev::DevAccount, protocol::L1Origin};

/// How long a call may take and how large an answer may be.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub timeout: Duration,
    pub max_response_bytes: u32,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(20),
            max_response_bytes: 64 * 1024 * 1024,
        }
    }
}

/// A JSON-RPC client of one node.
#[derive(Debug, Clone)]
pub struct Client {
    url: String,
    transport: Transport,
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

/// Why a node did not take a transaction sent on someone's behalf.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Relayed {
    /// The node answered with this error.
    Refused { code: i32, message: String },
    /// The node could not be reached or did not answer (the detail is for logs, not callers).
    Unreachable(String),
}

/// An `eth_call` that reverted: the node's message and the revert data, if it gave any.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reverted {
    pub message: String,
    pub data: Option<Bytes>,
}

impl Client {
    /// An HTTP client for `url`, with the default [`Options`].
    pub fn new(url: &str) -> Result<Self> {
        Self::http(url, Options::default())
    }

    /// An HTTP client for `url`.
    pub fn http(url: &str, options: Options) -> Result<Self> {
        let client = HttpClientBuilder::default()
            .request_timeout(options.timeout)
            .max_response_size(options.max_response_bytes)
            .build(url)
            .map_err(|e| rpc_error(url, e))?;
        Ok(Self {
            url: url.into(),
            transport: Transport::Http(client),
        })
    }

    /// A client for `url`: over WebSocket for `ws://` and `wss://`, HTTP otherwise.
    pub async fn connect(url: &str, options: Options) -> Result<Self> {
        if !(url.starts_with("ws://") || url.starts_with("wss://")) {
            return Self::http(url, options);
        }
        let client = WsClientBuilder::default()
            .request_timeout(options.timeout)
            .max_response_size(options.max_response_bytes)
            .max_concurrent_requests(4_096)
            .build(url)
            .await
            .map_err(|e| rpc_error(url, e))?;
        Ok(Self {
            url: url.into(),
            transport: Transport::Ws(Arc::new(client)),
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Which transport the client uses: "http" or "ws".
    pub fn transport(&self) -> &'static str {
        match self.transport {
            Transport::Http(_) => "http",
            Transport::Ws(_) => "ws",
        }
    }

    fn error(&self, method: &str, e: impl std::fmt::Display) -> ClientError {
        rpc_error(&self.url, format!("{method}: {e}"))
    }

    /// Any method, with its parameters as jsonrpsee builds them.
    pub async fn call<T: DeserializeOwned>(&self, method: &str, params: ArrayParams) -> Result<T> {
        on_transport!(&self.transport, c => c.request(method, params).await)
            .map_err(|e| self.error(method, e))
    }

    /// Any method, with its parameters as a tuple or array (or one value; `()` for none).
    pub async fn request_json<T: DeserializeOwned, P: serde::Serialize>(
        &self,
        method: &str,
        params: P,
    ) -> Result<T> {
        let value = serde_json::to_value(params)
            .map_err(|e| ClientError::Unexpected(format!("{method} parameters: {e}")))?;
        let items = match value {
            serde_json::Value::Array(items) => items,
            serde_json::Value::Null => Vec::new(),
            other => vec![other],
        };
        let mut array = ArrayParams::new();
        for item in items {
            array
                .insert(item)
                .map_err(|e| ClientError::Unexpected(format!("{method} parameters: {e}")))?;
        }
        self.call(method, array).await
    }

    /// One batch of calls of `method`; each answer is its result or its error message.
    pub async fn batch<T: DeserializeOwned + std::fmt::Debug>(
        &self,
        method: &str,
        params: Vec<ArrayParams>,
    ) -> Result<Vec<Result<T, String>>> {
        let mut batch = BatchRequestBuilder::new();
        for p in params {
            batch.insert(method, p).map_err(|e| self.error(method, e))?;
        }
        let response: BatchResponse<'_, T> =
            on_transport!(&self.transport, c => c.batch_request(batch).await)
                .map_err(|e| self.error(method, e))?;
        Ok(response
            .into_iter()
            .map(|r| r.map_err(|e| e.message().to_string()))
            .collect())
    }

    pub async fn chain_id(&self) -> Result<u64> {
        Ok(self.call::<U64>("eth_chainId", rpc_params![]).await?.to())
    }

    pub async fn block_number(&self) -> Result<u64> {
        Ok(self
            .call::<U64>("eth_blockNumber", rpc_params![])
            .await?
            .to())
    }

    pub async fn gas_price(&self) -> Result<u128> {
        Ok(self.call::<U256>("eth_gasPrice", rpc_params![]).await?.to())
    }

    /// The block `tag` names, with its transaction hashes; `None` if the node has none.
    pub async fn block(&self, tag: BlockNumberOrTag) -> Result<Option<RpcBlock>> {
        self.call("eth_getBlockByNumber", rpc_params![tag, false])
            .await
    }

    /// The L1 block `tag` names, as an L2 block's origin.
    /// The hash is the header's own (checked against what the node says), since an L2 block
    /// commits to it: a garbled hash would derive another chain.
    pub async fn origin(&self, tag: BlockNumberOrTag) -> Result<Option<L1Origin>> {
        let Some(block) = self.block(tag).await? else {
            return Ok(None);
        };
        let hash = block.header.inner.hash_slow();
        if hash != block.header.hash {
            return Err(ClientError::Unexpected(format!(
                "block {} has hash {hash}, the node says {}",
                block.header.number, block.header.hash
            )));
        }
        Ok(Some(L1Origin {
            number: block.header.number,
            hash,
            timestamp: block.header.timestamp,
            base_fee: block.header.base_fee_per_gas.unwrap_or_default(),
        }))
    }

    /// The newest finalized block.
    pub async fn finalized(&self) -> Result<L1Origin> {
        L1::finalized(self).await
    }

    /// The account's nonce at `tag` (the pending one counts what the pool holds).
    pub async fn nonce_at(&self, address: Address, tag: BlockNumberOrTag) -> Result<u64> {
        Ok(self
            .call::<U64>("eth_getTransactionCount", rpc_params![address, tag])
            .await?
            .to())
    }

    /// The account's next nonce, counting what the pool holds.
    pub async fn nonce(&self, address: Address) -> Result<u64> {
        self.nonce_at(address, BlockNumberOrTag::Pending).await
    }

    pub async fn balance(&self, address: Address) -> Result<U256> {
        self.call(
            "eth_getBalance",
            rpc_params![address, BlockNumberOrTag::Latest],
        )
        .await
    }

    pub async fn code(&self, address: Address) -> Result<Bytes> {
        self.call(
            "eth_getCode",
            rpc_params![address, BlockNumberOrTag::Latest],
        )
        .await
    }

    /// `eth_call` of `data` to `to` at the latest block.
    pub async fn call_to(&self, to: Address, data: Bytes) -> Result<Bytes> {
        let request = TransactionRequest::default().to(to).input(data.into());
        self.call("eth_call", rpc_params![request, BlockNumberOrTag::Latest])
            .await
    }

    /// `eth_call` of any request at `block`, telling a revert (with its data) apart from a failure
    /// to ask.
    pub async fn eth_call(
        &self,
        request: &serde_json::Value,
        block: &serde_json::Value,
    ) -> Result<Result<Bytes, Reverted>> {
        let params = rpc_params![request, block];
        let answer: std::result::Result<Bytes, _> =
            on_transport!(&self.transport, c => c.request("eth_call", params).await);
        match answer {
            Ok(output) => Ok(Ok(output)),
            Err(jsonrpsee::core::client::Error::Call(e)) => Ok(Err(Reverted {
                message: e.message().to_string(),
                data: e
                    .data()
                    .and_then(|raw| serde_json::from_str::<Bytes>(raw.get()).ok()),
            })),
            Err(e) => Err(self.error("eth_call", e)),
        }
    }

    /// Calls a contract function (at the latest block) and decodes what it returns.
    pub async fn call_sol<C: alloy_sol_types::SolCall + Sync>(
        &self,
        to: Address,
        call: &C,
    ) -> Result<C::Return> {
        L1::call_sol(self, to, call).await
    }

    pub async fn estimate_gas(&self, request: &TransactionRequest) -> Result<u64> {
        Ok(self
            .call::<U64>("eth_estimateGas", rpc_params![request])
            .await?
            .to())
    }

    pub async fn send_raw(&self, raw: &Bytes) -> Result<B256> {
        self.call("eth_sendRawTransaction", rpc_params![raw]).await
    }

    /// `eth_sendRawTransaction`, telling the node's refusal (its own error) from the node being
    /// out of reach, for relaying the answer to someone else.
    pub async fn send_raw_relayed(&self, raw: &Bytes) -> std::result::Result<B256, Relayed> {
        let sent: std::result::Result<B256, _> = on_transport!(
            &self.transport,
            c => c.request("eth_sendRawTransaction", rpc_params![raw]).await
        );
        sent.map_err(|e| match e {
            jsonrpsee::core::client::Error::Call(refusal) => Relayed::Refused {
                code: refusal.code(),
                message: refusal.message().to_string(),
            },
            other => Relayed::Unreachable(other.to_string()),
        })
    }

    pub async fn receipt(&self, hash: B256) -> Result<Option<RpcReceipt>> {
        self.call("eth_getTransactionReceipt", rpc_params![hash])
            .await
    }

    pub async fn transaction(&self, hash: B256) -> Result<Option<RpcTransaction>> {
        self.call("eth_getTransactionByHash", rpc_params![hash])
            .await
    }

    pub async fn logs(&self, filter: &Filter) -> Result<Vec<Log>> {
        self.call("eth_getLogs", rpc_params![filter]).await
    }

    /// Signs a call from `key` (EIP-1559, gas estimated plus a quarter, fee cap twice the base
    /// fee plus a 1 gwei tip), sends it and waits up to `patience` for its receipt.
    pub async fn transact(
        &self,
        key: &DevAccount,
        to: Address,
        value: U256,
        input: Bytes,
        patience: Duration,
    ) -> Result<RpcReceipt> {
        L1::transact(self, key, to, value, input, patience).await
    }

    /// As [`Client::transact`] for several calls sent back to back, with consecutive nonces, so
    /// they land in order and usually in one block. Only the first is estimated (the later ones
    /// may only run after it): each gets its estimate plus a half.
    pub async fn transact_all(
        &self,
        key: &DevAccount,
        calls: &[(Address, U256, Bytes)],
        patience: Duration,
    ) -> Result<Vec<RpcReceipt>> {
        let Some((to, value, input)) = calls.first() else {
            return Ok(Vec::new());
        };
        let request = TransactionRequest::default()
            .from(key.address)
            .to(*to)
            .value(*value)
            .input(input.clone().into());
        let gas = self.estimate_gas(&request).await?;
        let chain_id = self.chain_id().await?;
        let nonce = self.nonce(key.address).await?;
        let latest = self
            .block(BlockNumberOrTag::Latest)
            .await?
            .ok_or_else(|| ClientError::Unexpected("no latest block".into()))?;
        let base_fee = latest.header.base_fee_per_gas.unwrap_or_default();
        // No more than a block holds (a challenge can be most of one).
        let gas = match calls.len() {
            1 => gas + gas / 4,
            _ => gas + gas / 2,
        }
        .min(latest.header.gas_limit)
        .max(gas);
        // 1 gwei, or the base fee where gas is cheaper than that (L2).
        let tip: u128 = 1_000_000_000.min(u128::from(base_fee).max(1));
        let mut hashes = Vec::with_capacity(calls.len());
        for (i, (to, value, input)) in calls.iter().enumerate() {
            let tx = TxEip1559 {
                chain_id,
                nonce: nonce + i as u64,
                gas_limit: gas,
                max_fee_per_gas: u128::from(base_fee) * 2 + tip,
                max_priority_fee_per_gas: tip,
                to: TxKind::Call(*to),
                value: *value,
                input: input.clone(),
                access_list: Default::default(),
            };
            let raw = Bytes::from(key.sign(tx).encoded_2718());
            hashes.push(self.send_raw(&raw).await?);
        }
        let mut receipts = Vec::with_capacity(hashes.len());
        for hash in hashes {
            receipts.push(self.wait_receipt(hash, patience).await?);
        }
        Ok(receipts)
    }

    /// Waits up to `patience` for a transaction's receipt.
    pub async fn wait_receipt(&self, hash: B256, patience: Duration) -> Result<RpcReceipt> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if let Some(receipt) = self.receipt(hash).await? {
                return Ok(receipt);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(ClientError::Unexpected(format!(
                    "transaction {hash} not included in {} s",
                    patience.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}

fn rpc_error(url: &str, message: impl std::fmt::Display) -> ClientError {
    ClientError::Rpc {
        url: url.into(),
        message: message.to_string(),
    }
}
