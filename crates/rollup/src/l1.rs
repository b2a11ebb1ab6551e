//! What the L2 services read from and send to L1, over L1's Ethereum JSON-RPC.
use alloy_eips::BlockNumberOrTag;
use alloy_primitives::{Address, B256, Bytes, U64, U256};
use alloy_rpc_types_eth::{
    Block, Filter, Log, Transaction, TransactionReceipt, TransactionRequest,
};
use jsonrpsee::{
    core::client::ClientT,
    http_client::{HttpClient, HttpClientBuilder},
    rpc_params,
};
use tandem_execution::l2::L1Origin;

#[derive(Debug, thiserror::Error)]
pub enum L1Error {
    #[error("L1 RPC {url}: {message}")]
    Rpc { url: String, message: String },
    #[error("L1 answered something unexpected: {0}")]
    Unexpected(String),
}

pub type L1Result<T> = Result<T, L1Error>;

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

    pub async fn receipt(&self, hash: B256) -> L1Result<Option<TransactionReceipt>> {
        self.request("eth_getTransactionReceipt", rpc_params![hash])
            .await
    }

    pub async fn transaction(&self, hash: B256) -> L1Result<Option<Transaction>> {
        self.request("eth_getTransactionByHash", rpc_params![hash])
            .await
    }

    pub async fn logs(&self, filter: &Filter) -> L1Result<Vec<Log>> {
        self.request("eth_getLogs", rpc_params![filter]).await
    }
}
