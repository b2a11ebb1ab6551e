use crate::convert::RpcReceipt;
use crate::convert::{RpcBlock, RpcTransaction};
use crate::{
    Backend, EthApiServer, RpcError,
    blocks::{
        check_history, latest, resolve_id, resolve_number, resolve_state_block, with_state_of,
    },
    call, convert,
    error::Result,
    fees, filters,
    overrides::Overrides,
    pubsub, submit_raw_transaction,
};
use alloy_eips::{BlockId, BlockNumberOrTag};
use alloy_primitives::{Address, B256, Bytes, U64, U256, keccak256};
use alloy_rpc_types_eth::{
    BlockOverrides, EIP1186AccountProofResponse, EIP1186StorageProof, FeeHistory, Filter, Log,
    TransactionRequest, simulate::SimulatePayload, state::StateOverride,
};
use alloy_serde::JsonStorageKey;
use jsonrpsee::{PendingSubscriptionSink, core::RpcResult};
use tandem_primitives::SealedBlock;
use tandem_storage::Reader;

/// How long `eth_sendRawTransactionSync` waits by default, and at most (EIP-7966).
const SYNC_TIMEOUT_MS: u64 = 2_000;
const MAX_SYNC_TIMEOUT_MS: u64 = 10_000;

/// The JSON-RPC handlers.
#[derive(Debug, Clone)]
pub(crate) struct Rpc {
    pub(crate) backend: Backend,
}

impl Rpc {
    pub(crate) fn new(backend: Backend) -> Self {
        Self { backend }
    }

    pub(crate) fn reader(&self) -> Result<Reader> {
        Ok(self.backend.storage.read()?)
    }
}

/// The checks a pool makes of a raw transaction before it reads state ([`tandem_mempool::Pool::check`]).
fn check_stateless(backend: &Backend, raw: &Bytes) -> Result<()> {
    match backend.pool.check(raw) {
        Ok(_) => Ok(()),
        Err(tandem_mempool::Error::Decode(e)) => Err(RpcError::invalid_params(format!(
            "transaction could not be decoded: {e}"
        ))),
        Err(e) => Err(e.into()),
    }
}

/// A block's receipts when it holds deposits (whose served form needs their nonce).
fn deposit_receipts(
    reader: &Reader,
    block: &SealedBlock,
) -> Result<Option<Vec<tandem_primitives::Receipt>>> {
    if !block.block.transactions.iter().any(|t| t.tx.is_deposit()) {
        return Ok(None);
    }
    reader.receipts(block.number()).map_err(RpcError::from)
}

fn block_at(reader: &Reader, number: Option<u64>) -> Result<Option<SealedBlock>> {
    Ok(match number {
        Some(n) => reader.block(n)?,
        None => None,
    })
}

fn hex_id(id: U256) -> u64 {
    id.try_into().unwrap_or(u64::MAX)
}

#[jsonrpsee::core::async_trait]
impl EthApiServer for Rpc {
    fn chain_id(&self) -> RpcResult<U64> {
        Ok(U64::from(self.backend.chain.chain_id))
    }

    fn net_version(&self) -> RpcResult<String> {
        Ok(self.backend.chain.chain_id.to_string())
    }

    fn net_listening(&self) -> RpcResult<bool> {
        Ok(true)
    }

    fn net_peer_count(&self) -> RpcResult<U64> {
        Ok(U64::from(self.backend.network.peer_count()))
    }

    fn client_version(&self) -> RpcResult<String> {
        Ok(format!(
            "tandem/v{}/{}",
            env!("CARGO_PKG_VERSION"),
            std::env::consts::OS
        ))
    }

    fn sha3(&self, data: Bytes) -> RpcResult<B256> {
        Ok(keccak256(data))
    }

    fn syncing(&self) -> RpcResult<crate::Syncing> {
        let executed = self.reader()?.last_height().unwrap_or_default();
        Ok(self.backend.network.syncing(executed))
    }

    fn accounts(&self) -> RpcResult<Vec<Address>> {
        Ok(self.backend.dev_signers.iter().map(|s| s.address).collect())
    }

    fn block_number(&self) -> RpcResult<U64> {
        Ok(U64::from(latest(&self.reader()?)?))
    }

    fn balance(&self, address: Address, block: Option<BlockId>) -> RpcResult<U256> {
        let reader = self.reader()?;
        Ok(with_state_of(&self.backend, &reader, block, |state, _| {
            Ok(state
                .account(address)?
                .map(|a| a.balance)
                .unwrap_or_default())
        })?)
    }

    fn transaction_count(&self, address: Address, block: Option<BlockId>) -> RpcResult<U64> {
        let reader = self.reader()?;
        let nonce = with_state_of(&self.backend, &reader, block, |state, _| {
            Ok(state.account(address)?.map(|a| a.nonce).unwrap_or_default())
        })?;
        if matches!(block, Some(BlockId::Number(BlockNumberOrTag::Pending))) {
            // A sequencer's open block counts as pending, as do pooled transactions.
            let nonce = self
                .backend
                .preconf
                .account(&address)
                .map_or(nonce, |a| a.nonce.max(nonce));
            return Ok(U64::from(
                self.backend.pool.lock().next_nonce(address, nonce),
            ));
        }
        Ok(U64::from(nonce))
    }

    fn code(&self, address: Address, block: Option<BlockId>) -> RpcResult<Bytes> {
        let reader = self.reader()?;
        Ok(with_state_of(&self.backend, &reader, block, |state, _| {
            let Some(account) = state.account(address)? else {
                return Ok(Bytes::new());
            };
            Ok(state.code(account.code_hash)?.unwrap_or_default())
        })?)
    }

    fn storage_at(
        &self,
        address: Address,
        slot: JsonStorageKey,
        block: Option<BlockId>,
    ) -> RpcResult<B256> {
        let reader = self.reader()?;
        Ok(with_state_of(&self.backend, &reader, block, |state, _| {
            Ok(B256::from(state.storage(address, slot.as_b256())?))
        })?)
    }

    fn proof(
        &self,
        address: Address,
        keys: Vec<JsonStorageKey>,
        block: Option<BlockId>,
    ) -> RpcResult<EIP1186AccountProofResponse> {
        let reader = self.reader()?;
        let (number, header) = resolve_state_block(&reader, block)?;
        check_history(&reader, number)?;
        let slots: Vec<B256> = keys.iter().map(JsonStorageKey::as_b256).collect();
        let proof = tandem_state::prove(&reader, header.state_root, address, &slots)
            .map_err(RpcError::from)?;
        // An absent account is proven absent and reported as an empty one, as geth does.
        let account = proof.account.unwrap_or_default();
        Ok(EIP1186AccountProofResponse {
            address,
            balance: account.balance,
            code_hash: account.code_hash,
            nonce: account.nonce,
            storage_hash: account.storage_root,
            account_proof: proof.proof,
            storage_proof: proof
                .storage
                .into_iter()
                .zip(keys)
                .map(|(p, key)| EIP1186StorageProof {
                    key,
                    value: p.value,
                    proof: p.proof,
                })
                .collect(),
        })
    }

    fn call(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state: Option<StateOverride>,
        header: Option<Box<BlockOverrides>>,
    ) -> RpcResult<Bytes> {
        let overrides = Overrides {
            state: state.as_ref(),
            block: header.as_deref(),
        };
        Ok(call::call(&self.backend, &request, block, overrides)?)
    }

    fn estimate_gas(
        &self,
        request: TransactionRequest,
        block: Option<BlockId>,
        state: Option<StateOverride>,
        header: Option<Box<BlockOverrides>>,
    ) -> RpcResult<U64> {
        let overrides = Overrides {
            state: state.as_ref(),
            block: header.as_deref(),
        };
        let gas = call::estimate_gas(&self.backend, &request, block, overrides)?;
        Ok(U64::from(gas))
    }

    fn simulate_v1(
        &self,
        payload: SimulatePayload,
        block: Option<BlockId>,
    ) -> RpcResult<Vec<serde_json::Value>> {
        Ok(crate::simulate::simulate(&self.backend, &payload, block)?)
    }

    fn send_transaction(&self, request: TransactionRequest) -> RpcResult<B256> {
        Ok(crate::dev::send_transaction(&self.backend, request)?)
    }

    async fn send_raw_transaction(&self, raw: Bytes) -> RpcResult<B256> {
        if let Some(forward) = &self.backend.forward {
            // Checked here first (decoding, chain id, signature, sizes): only what could be
            // pooled is sent on.
            check_stateless(&self.backend, &raw)?;
            return Ok(forward.forward(raw).await?);
        }
        let backend = self.backend.clone();
        let hash = tokio::task::spawn_blocking(move || submit_raw_transaction(&backend, &raw))
            .await
            .map_err(RpcError::internal)??;
        Ok(hash)
    }

    async fn send_raw_transaction_sync(
        &self,
        raw: Bytes,
        timeout_ms: Option<U64>,
    ) -> RpcResult<RpcReceipt> {
        use crate::preconf::Preconf;
        let backend = self.backend.clone();
        let hash = tokio::task::spawn_blocking(move || submit_raw_transaction(&backend, &raw))
            .await
            .map_err(RpcError::internal)??;
        let timeout = timeout_ms
            .map(|t| t.to::<u64>())
            .unwrap_or(SYNC_TIMEOUT_MS)
            .min(MAX_SYNC_TIMEOUT_MS);
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_millis(timeout);
        let mut blocks = self.backend.blocks.subscribe();
        loop {
            let changed = self.backend.preconf.changed().notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            match self.backend.preconf.get(&hash) {
                Some(Preconf::Executed(receipt)) => return Ok(*receipt),
                Some(Preconf::Rejected(reason)) => return Err(RpcError::server(reason).into()),
                None => {}
            }
            let rpc = self.clone();
            let stored = tokio::task::spawn_blocking(move || rpc.transaction_receipt(hash))
                .await
                .map_err(RpcError::internal)??;
            if let Some(receipt) = stored {
                return Ok(receipt);
            }
            tokio::select! {
                _ = &mut changed => {}
                _ = blocks.recv() => {}
                _ = tokio::time::sleep_until(deadline) => {
                    return Err(RpcError {
                        code: 4,
                        message: format!("The transaction was added to the transaction pool but wasn't processed in {timeout}ms."),
                        data: Some(hash.to_string()),
                    }.into());
                }
            }
        }
    }

    fn estimate_l1_fee(&self, request: TransactionRequest) -> RpcResult<serde_json::Value> {
        use tandem_execution::l2::{L1Origin, l1_data_fee};
        if self.backend.chain.layer != tandem_primitives::Layer::L2 {
            return Err(RpcError::server("not an L2 chain: there is no L1 data fee").into());
        }
        let reader = self.reader()?;
        let head = reader
            .header(latest(&reader)?)
            .map_err(RpcError::from)?
            .ok_or_else(|| RpcError::internal("head missing"))?;
        let base_fee = L1Origin::of_header(&head)
            .map(|o| o.base_fee)
            .unwrap_or_default();
        // The data a batch carries for it: calldata and any access list (as `l1_fee` counts).
        let mut data = request.input.input().cloned().unwrap_or_default().to_vec();
        if let Some(list) = request.access_list.as_ref().filter(|l| !l.is_empty()) {
            alloy_rlp::Encodable::encode(list, &mut data);
        }
        let fee = l1_data_fee(&data, base_fee);
        Ok(serde_json::json!({
            "l1Fee": U256::from(fee.fee),
            "l1GasUsed": U64::from(fee.gas_used),
            "l1GasPrice": U64::from(fee.gas_price),
        }))
    }

    fn transaction_by_hash(&self, hash: B256) -> RpcResult<Option<RpcTransaction>> {
        Ok(transaction_by_hash(&self.backend, hash)?)
    }

    fn transaction_by_number_and_index(
        &self,
        block: BlockNumberOrTag,
        index: U64,
    ) -> RpcResult<Option<RpcTransaction>> {
        let reader = self.reader()?;
        let Some(block) = block_at(&reader, resolve_number(&reader, block)?)? else {
            return Ok(None);
        };
        let index = index.to::<usize>();
        let Some(stored) = block.block.transactions.get(index) else {
            return Ok(None);
        };
        let deposit_nonce = match stored.tx.is_deposit() {
            true => deposit_receipts(&reader, &block)?
                .and_then(|r| r.get(index).and_then(|r| r.deposit_nonce())),
            false => None,
        };
        Ok(Some(convert::transaction(
            stored,
            Some(convert::TxContext::new(&block, index)),
            deposit_nonce,
        )))
    }

    fn transaction_by_hash_and_index(
        &self,
        block: B256,
        index: U64,
    ) -> RpcResult<Option<RpcTransaction>> {
        let reader = self.reader()?;
        let Some(number) = reader.number_of(block).map_err(RpcError::from)? else {
            return Ok(None);
        };
        self.transaction_by_number_and_index(BlockNumberOrTag::Number(number), index)
    }

    fn transaction_receipt(&self, hash: B256) -> RpcResult<Option<RpcReceipt>> {
        Ok(receipt_by_hash(&self.backend, hash)?)
    }

    fn block_by_number(&self, block: BlockNumberOrTag, full: bool) -> RpcResult<Option<RpcBlock>> {
        let reader = self.reader()?;
        let Some(block) = block_at(&reader, resolve_number(&reader, block)?)? else {
            return Ok(None);
        };
        let receipts = if full {
            deposit_receipts(&reader, &block)?
        } else {
            None
        };
        Ok(Some(convert::block(&block, full, receipts.as_deref())))
    }

    fn raw_header(&self, block: BlockNumberOrTag) -> RpcResult<Option<Bytes>> {
        let reader = self.reader()?;
        let Some(block) = block_at(&reader, resolve_number(&reader, block)?)? else {
            return Ok(None);
        };
        Ok(Some(alloy_rlp::encode(block.header()).into()))
    }

    fn block_by_hash(&self, hash: B256, full: bool) -> RpcResult<Option<RpcBlock>> {
        let reader = self.reader()?;
        let Some(block) = block_at(&reader, reader.number_of(hash).map_err(RpcError::from)?)?
        else {
            return Ok(None);
        };
        let receipts = if full {
            deposit_receipts(&reader, &block)?
        } else {
            None
        };
        Ok(Some(convert::block(&block, full, receipts.as_deref())))
    }

    fn block_tx_count_by_number(&self, block: BlockNumberOrTag) -> RpcResult<Option<U64>> {
        let reader = self.reader()?;
        Ok(block_at(&reader, resolve_number(&reader, block)?)?
            .map(|b| U64::from(b.block.transactions.len())))
    }

    fn block_tx_count_by_hash(&self, hash: B256) -> RpcResult<Option<U64>> {
        let reader = self.reader()?;
        Ok(
            block_at(&reader, reader.number_of(hash).map_err(RpcError::from)?)?
                .map(|b| U64::from(b.block.transactions.len())),
        )
    }

    fn block_receipts(&self, block: BlockId) -> RpcResult<Option<Vec<RpcReceipt>>> {
        let reader = self.reader()?;
        let Some(block) = block_at(&reader, resolve_id(&reader, Some(block))?)? else {
            return Ok(None);
        };
        let receipts = reader
            .receipts(block.number())
            .map_err(RpcError::from)?
            .unwrap_or_default();
        Ok(Some(convert::receipts(
            &block,
            &receipts,
            self.backend.chain.layer,
        )))
    }

    fn logs(&self, filter: Filter) -> RpcResult<Vec<Log>> {
        Ok(filters::logs(&self.backend, &self.reader()?, &filter)?)
    }

    fn new_filter(&self, filter: Filter) -> RpcResult<U256> {
        Ok(filters::install(
            &self.backend,
            filters::Kind::Logs(Box::new(filter)),
        )?)
    }

    fn new_block_filter(&self) -> RpcResult<U256> {
        Ok(filters::install(&self.backend, filters::Kind::Blocks)?)
    }

    fn filter_changes(&self, id: U256) -> RpcResult<serde_json::Value> {
        Ok(filters::changes(&self.backend, hex_id(id))?)
    }

    fn filter_logs(&self, id: U256) -> RpcResult<Vec<Log>> {
        Ok(filters::all_logs(&self.backend, hex_id(id))?)
    }

    fn uninstall_filter(&self, id: U256) -> RpcResult<bool> {
        Ok(self.backend.filters.lock().remove(hex_id(id)))
    }

    fn gas_price(&self) -> RpcResult<U256> {
        Ok(fees::gas_price(&self.backend)?)
    }

    fn max_priority_fee_per_gas(&self) -> RpcResult<U256> {
        Ok(U256::from(fees::suggested_tip(&self.reader()?)?))
    }

    fn fee_history(
        &self,
        block_count: U64,
        newest: BlockNumberOrTag,
        percentiles: Option<Vec<f64>>,
    ) -> RpcResult<FeeHistory> {
        Ok(fees::fee_history(
            &self.backend,
            block_count.to(),
            newest,
            percentiles.as_deref(),
        )?)
    }

    async fn subscribe(
        &self,
        pending: PendingSubscriptionSink,
        kind: String,
        filter: Option<Filter>,
    ) -> jsonrpsee::core::SubscriptionResult {
        pubsub::subscribe(self.backend.clone(), pending, kind, filter).await
    }
}

/// `eth_getTransactionReceipt`: one receipt, one transaction and one header are read, whatever
/// the size of the block ([`tandem_storage::TxLocation`] carries what the receipt needs of the
/// block's other transactions).
pub fn receipt_by_hash(backend: &Backend, hash: B256) -> Result<Option<RpcReceipt>> {
    let reader = backend.storage.read()?;
    let Some(at) = reader.tx_location(hash)? else {
        return Ok(None);
    };
    let found = (
        reader.header(at.block)?,
        reader.transaction(at)?,
        reader.receipt(at)?,
    );
    let (Some(header), Some(stored), Some(receipt)) = found else {
        return Ok(None);
    };
    let context = convert::TxContext::at(&header, header.hash_slow(), u64::from(at.index));
    let origin = convert::origin(&header, backend.chain.layer);
    Ok(Some(convert::receipt(
        context,
        &stored,
        &receipt,
        u64::from(at.logs_before),
        at.gas_before,
        origin,
    )))
}

/// `eth_getTransactionByHash`: a mined transaction in one read of it and one of its header (and a
/// deposit's receipt, for its nonce), else a pooled one.
pub fn transaction_by_hash(backend: &Backend, hash: B256) -> Result<Option<RpcTransaction>> {
    let reader = backend.storage.read()?;
    let Some(at) = reader.tx_location(hash)? else {
        let pool = backend.pool.lock();
        return Ok(pool.get(&hash).map(|p| {
            let stored = tandem_primitives::StoredTx {
                sender: p.sender,
                tx: (*p.tx).clone(),
            };
            convert::transaction(&stored, None, None)
        }));
    };
    let (Some(header), Some(stored)) = (reader.header(at.block)?, reader.transaction(at)?) else {
        return Ok(None);
    };
    let deposit_nonce = match stored.tx.is_deposit() {
        true => reader.receipt(at)?.and_then(|r| r.deposit_nonce()),
        false => None,
    };
    let context = convert::TxContext::at(&header, header.hash_slow(), u64::from(at.index));
    Ok(Some(convert::transaction(
        &stored,
        Some(context),
        deposit_nonce,
    )))
}
