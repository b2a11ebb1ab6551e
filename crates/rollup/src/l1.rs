//! What the L2 services read from and send to L1, over L1's Ethereum JSON-RPC.
use alloy_consensus::TxEip1559;
use alloy_eips::BlockNumberOrTag;
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::TxKind;
use alloy_primitives::{Address, B256, Bytes, U64, U256};
use alloy_rpc_types_eth::{Block, Filter, Log, TransactionRequest};
use jsonrpsee::{
    core::client::ClientT,
    http_client::{HttpClient, HttpClientBuilder},
    rpc_params,
};
use std::time::Duration;
use tandem_execution::l2::L1Origin;
use tandem_primitives::dev::DevAccount;
use tandem_rpc::{RpcReceipt, RpcTransaction};

#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    #[error("L1 RPC {url}: {message}")]
    Rpc { url: String, message: String },
    #[error("L1 answered something unexpected: {0}")]
    Unexpected(String),
}

pub type L1Result<T> = Result<T, L1Error>;

/// Whether a transaction succeeded, by its receipt.
pub fn succeeded(receipt: &RpcReceipt) -> bool {
    alloy_consensus::TxReceipt::status(&receipt.inner.inner)
}

/// A JSON-RPC client for L1.
#[derive(Debug, Clone)]
pub struct L1Client {
    url: String,
    client: HttpClient,
}

impl L1Client {
    pub fn new(url: &str) -> L1Result<Self> {
        let client = HttpClientBuilder::default()
            .request_timeout(std::time::Duration::from_secs(20))
            .max_response_size(64 * 1024 * 1024)
            .build(url)
            .map_err(|e| L1Error::Rpc {
                url: url.into(),
                message: e.to_string(),
            })?;
        Ok(Self {
            url: url.into(),
            client,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    async fn request<T: serde::de::DeserializeOwned>(
        &self,
        method: &str,
        params: jsonrpsee::core::params::ArrayParams,
    ) -> L1Result<T> {
        self.client
            .request(method, params)
            .await
            .map_err(|e| L1Error::Rpc {
                url: self.url.clone(),
                message: format!("{method}: {e}"),
            })
    }

    pub async fn chain_id(&self) -> L1Result<u64> {
        Ok(self
            .request::<U64>("eth_chainId", rpc_params![])
            .await?
            .to())
    }

    async fn block(&self, tag: BlockNumberOrTag) -> L1Result<Option<Block>> {
        self.request("eth_getBlockByNumber", rpc_params![tag, false])
            .await
    }

    /// The L1 block `tag` names, as an L2 block's origin.
    pub async fn origin(&self, tag: BlockNumberOrTag) -> L1Result<Option<L1Origin>> {
        Ok(self.block(tag).await?.map(|b| L1Origin {
            number: b.header.number,
            hash: b.header.hash,
            timestamp: b.header.timestamp,
            base_fee: b.header.base_fee_per_gas.unwrap_or_default(),
        }))
    }

    /// The newest finalized L1 block.
    pub async fn finalized(&self) -> L1Result<L1Origin> {
        self.origin(BlockNumberOrTag::Finalized)
            .await?
            .ok_or_else(|| L1Error::Unexpected("no finalized block".into()))
    }

    pub async fn nonce(&self, address: Address) -> L1Result<u64> {
        Ok(self
            .request::<U64>(
                "eth_getTransactionCount",
                rpc_params![address, BlockNumberOrTag::Pending],
            )
            .await?
            .to())
    }

    pub async fn balance(&self, address: Address) -> L1Result<U256> {
        self.request(
            "eth_getBalance",
            rpc_params![address, BlockNumberOrTag::Latest],
        )
        .await
    }

    pub async fn call(&self, to: Address, data: Bytes) -> L1Result<Bytes> {
        let request = TransactionRequest::default().to(to).input(data.into());
        self.request("eth_call", rpc_params![request, BlockNumberOrTag::Latest])
            .await
    }

    pub async fn estimate_gas(&self, request: &TransactionRequest) -> L1Result<u64> {
        Ok(self
            .request::<U64>("eth_estimateGas", rpc_params![request])
            .await?
            .to())
    }

    pub async fn send_raw(&self, raw: &Bytes) -> L1Result<B256> {
        self.request("eth_sendRawTransaction", rpc_params![raw])
            .await
    }

    pub async fn receipt(&self, hash: B256) -> L1Result<Option<RpcReceipt>> {
        self.request("eth_getTransactionReceipt", rpc_params![hash])
            .await
    }

    pub async fn transaction(&self, hash: B256) -> L1Result<Option<RpcTransaction>> {
        self.request("eth_getTransactionByHash", rpc_params![hash])
            .await
    }

    pub async fn logs(&self, filter: &Filter) -> L1Result<Vec<Log>> {
        self.request("eth_getLogs", rpc_params![filter]).await
    }

    /// Any method, with its parameters as a tuple or array.
    pub async fn request_json<T: serde::de::DeserializeOwned, P: serde::Serialize>(
        &self,
        method: &str,
        params: P,
    ) -> L1Result<T> {
        let mut array = jsonrpsee::core::params::ArrayParams::new();
        let value = serde_json::to_value(params)
            .map_err(|e| L1Error::Unexpected(format!("{method} parameters: {e}")))?;
        match value {
            serde_json::Value::Array(items) => {
                for item in items {
                    array
                        .insert(item)
                        .map_err(|e| L1Error::Unexpected(format!("{method} parameters: {e}")))?;
                }
            }
            other => array
                .insert(other)
                .map_err(|e| L1Error::Unexpected(format!("{method} parameters: {e}")))?,
        }
        self.request(method, array).await
    }

    /// Calls a contract function (at the latest block) and decodes what it returns.
    pub async fn call_sol<C: alloy_sol_types::SolCall>(
        &self,
        to: Address,
        call: &C,
    ) -> L1Result<C::Return> {
        let output = self.call(to, call.abi_encode().into()).await?;
        C::abi_decode_returns(&output)
            .map_err(|e| L1Error::Unexpected(format!("{} answered {output}: {e}", C::SIGNATURE)))
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
    ) -> L1Result<RpcReceipt> {
        let mut receipts = self
            .transact_all(key, &[(to, value, input)], patience)
            .await?;
        Ok(receipts.remove(0))
    }

    /// As [`L1Client::transact`] for several calls sent back to back, with consecutive nonces, so
    /// they land in order and usually in one block. Only the first is estimated (the later ones
    /// may only run after it): each gets its estimate plus a half.
    pub async fn transact_all(
        &self,
        key: &DevAccount,
        calls: &[(Address, U256, Bytes)],
        patience: Duration,
    ) -> L1Result<Vec<RpcReceipt>> {
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
            .ok_or_else(|| L1Error::Unexpected("no latest block".into()))?;
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
    pub async fn wait_receipt(&self, hash: B256, patience: Duration) -> L1Result<RpcReceipt> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            if let Some(receipt) = self.receipt(hash).await? {
                return Ok(receipt);
            }
            if tokio::time::Instant::now() > deadline {
                return Err(L1Error::Unexpected(format!(
                    "transaction {hash} not included in {} s",
                    patience.as_secs()
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
