use crate::convert::RpcReceipt;
use crate::convert::{RpcBlock, RpcTransaction};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, B256, Bytes, U64, U256};
use alloy_rpc_types_eth::{
    BlockOverrides, EIP1186AccountProofResponse, FeeHistory, Filter, Log, TransactionRequest,
    simulate::SimulatePayload, state::StateOverride,
};
use alloy_serde::JsonStorageKey;
use jsonrpsee::{core::RpcResult, proc_macros::rpc};

/// The Ethereum JSON-RPC methods tandem serves.
#[rpc(server)]
pub trait EthApi {
    #[method(name = "eth_chainId")]
    fn chain_id(&self) -> RpcResult<U64>;
    #[method(name = "net_version")]
    fn net_version(&self) -> RpcResult<String>;
    #[method(name = "net_listening")]
    fn net_listening(&self) -> RpcResult<bool>;
    #[method(name = "net_peerCount")]
    fn net_peer_count(&self) -> RpcResult<U64>;
    #[method(name = "web3_clientVersion")]
    fn client_version(&self) -> RpcResult<String>;
    #[method(name = "web3_sha3")]
    fn sha3(&self, data: Bytes) -> RpcResult<B256>;
    #[method(name = "eth_syncing")]
    fn syncing(&self) -> RpcResult<crate::Syncing>;
    #[method(name = "eth_accounts")]
    fn accounts(&self) -> RpcResult<Vec<Address>>;
    #[method(name = "eth_blockNumber")]
    fn block_number(&self) -> RpcResult<U64>;

    #[method(name = "eth_getBalance", blocking)]
    fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256>;
    #[method(name = "eth_getTransactionCount", blocking)]
    fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U64>;
    #[method(name = "eth_getCode", blocking)]
    fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes>;
    #[method(name = "eth_getStorageAt", blocking)]
    fn storage_at(
        &self,
        address: Address,
        slot: JsonStorageKey,
        block: Option<BlockId>,
    ) -> RpcResult<B256>;
    #[method(name = "eth_getProof", blocking)]
    fn proof(
        &self,
        address: Address,
        keys: Vec<JsonStorageKey>,
        block: Option<BlockId>,
    ) -> RpcResult<EIP1186AccountProofResponse>;

    /// A call on a block's state, with geth's optional state and block overrides.
    #[method(name = "eth_call", blocking)]
    fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state: Option<StateOverride>,
        header: Option<Box<BlockOverrides>>,
    ) -> RpcResult<Bytes>;
    #[method(name = "eth_estimateGas", blocking)]
    fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state: Option<StateOverride>,
        header: Option<Box<BlockOverrides>>,
    ) -> RpcResult<U64>;
    /// Blocks of calls simulated one after another on a block's state (geth's `eth_simulateV1`).
    #[method(name = "eth_simulateV1", blocking)]
    fn simulate_v1(
        &self,
        payload: SimulatePayload,
        block: Option<BlockId>,
    ) -> RpcResult<Vec<serde_json::Value>>;
    #[method(name = "eth_sendTransaction", blocking)]
    fn send_transaction(&self, request: TransactionRequest) -> RpcResult<B256>;
    #[method(name = "eth_sendRawTransaction")]
    async fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256>;

    /// EIP-7966: submits a transaction and answers with its receipt once executed: on a sequencer
    /// the preconfirmation from the open block (block hash still null), elsewhere the mined receipt.
    #[method(name = "eth_sendRawTransactionSync")]
    async fn send_raw_transaction_sync(
        &self,
        raw: Bytes,
        timeout_ms: Option<U64>,
    ) -> RpcResult<RpcReceipt>;
    /// L2: the L1 data fee a transaction with this calldata pays at the current L1 origin.
    #[method(name = "tandem_estimateL1Fee", blocking)]
    fn estimate_l1_fee(&self, request: TransactionRequest) -> RpcResult<serde_json::Value>;

    #[method(name = "eth_getTransactionByHash", blocking)]
    fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<RpcTransaction>>;
    #[method(name = "eth_getTransactionByBlockNumberAndIndex", blocking)]
    fn transaction_by_number_and_index(
        &self,
        block: BlockNumberOrTag,
        index: U64,
    ) -> RpcResult<Option<RpcTransaction>>;
    #[method(name = "eth_getTransactionByBlockHashAndIndex", blocking)]
    fn transaction_by_hash_and_index(
        &self,
        block: B256,
        index: U64,
    ) -> RpcResult<Option<RpcTransaction>>;
    #[method(name = "eth_getTransactionReceipt", blocking)]
    fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<RpcReceipt>>;
    #[method(name = "eth_getBlockByNumber", blocking)]
    fn block_by_number(&self, block: BlockNumberOrTag, full: bool) -> RpcResult<Option<RpcBlock>>;
    #[method(name = "eth_getBlockByHash", blocking)]
    fn block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<RpcBlock>>;
    /// geth's `debug_getRawHeader`: the RLP of a block's header (what hashes to the block hash).
    #[method(name = "debug_getRawHeader", blocking)]
    fn raw_header(&self, block: BlockNumberOrTag) -> RpcResult<Option<Bytes>>;
    #[method(name = "eth_getBlockTransactionCountByNumber", blocking)]
    fn block_tx_count_by_number(&self, block: BlockNumberOrTag) -> RpcResult<Option<U64>>;
    #[method(name = "eth_getBlockTransactionCountByHash", blocking)]
    fn block_tx_count_by_hash(&self, hash: B256) -> RpcResult<Option<U64>>;
    #[method(name = "eth_getBlockReceipts", blocking)]
    fn block_receipts(&self, block: BlockId) -> RpcResult<Option<Vec<RpcReceipt>>>;

    #[method(name = "eth_getLogs", blocking)]
    fn logs(&self, filter: Filter) -> RpcResult<Vec<Log>>;
    #[method(name = "eth_newFilter")]
    fn new_filter(&self, filter: Filter) -> RpcResult<U256>;
    #[method(name = "eth_newBlockFilter")]
    fn new_block_filter(&self) -> RpcResult<U256>;
    #[method(name = "eth_getFilterChanges", blocking)]
    fn filter_changes(&self, id: U256) -> RpcResult<serde_json::Value>;
    #[method(name = "eth_getFilterLogs", blocking)]
    fn filter_logs(&self, id: U256) -> RpcResult<Vec<Log>>;
    #[method(name = "eth_uninstallFilter")]
    fn uninstall_filter(&self, id: U256) -> RpcResult<bool>;

    #[method(name = "eth_gasPrice", blocking)]
    fn gas_price(&self) -> RpcResult<U256>;
    #[method(name = "eth_maxPriorityFeePerGas", blocking)]
    fn max_priority_fee_per_gas(&self) -> RpcResult<U256>;
    #[method(name = "eth_feeHistory", blocking)]
    fn fee_history(
        &self,
        block_count: U64,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory>;

    #[subscription(name = "eth_subscribe" => "eth_subscription", unsubscribe = "eth_unsubscribe", item = serde_json::Value)]
    async fn subscribe(
        &self,
        kind: String,
        filter: Option<Filter>,
    ) -> jsonrpsee::core::SubscriptionResult;
}
