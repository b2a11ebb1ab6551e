//! Stored blocks, transactions and receipts to their JSON-RPC shapes.
use alloy_consensus::Transaction as _;
use alloy_primitives::{B256, U256};
use alloy_rlp::Encodable;
use alloy_rpc_types_eth::{
    Block, BlockTransactions, Header, Log, Transaction, TransactionReceipt, Withdrawals,
};
use alloy_serde::WithOtherFields;
use tandem_execution::l2::{L1Origin, l1_fee};
use tandem_primitives::{Layer, Receipt, SealedBlock, StoredTx};

pub use tandem_client::{RpcBlock, RpcReceipt, RpcTransaction};

/// Where a transaction sits, for the fields RPC answers carry.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TxContext {
    pub(crate) block_hash: B256,
    pub(crate) block_number: u64,
    pub(crate) timestamp: u64,
    pub(crate) base_fee: u64,
    pub(crate) index: u64,
}

impl TxContext {
    pub(crate) fn new(block: &SealedBlock, index: usize) -> Self {
        Self::at(block.header(), block.hash, index as u64)
    }

    /// Transaction `index` of the block with `header` and `block_hash`.
    pub(crate) fn at(header: &alloy_consensus::Header, block_hash: B256, index: u64) -> Self {
        Self {
            block_hash,
            block_number: header.number,
            timestamp: header.timestamp,
            base_fee: header.base_fee_per_gas.unwrap_or_default(),
            index,
        }
    }
}

/// A transaction as served. `deposit_nonce` is a deposit's sender nonce (from its receipt),
/// which OP Stack nodes serve as the deposit's `nonce`.
pub(crate) fn transaction(
    stored: &StoredTx,
    at: Option<TxContext>,
    deposit_nonce: Option<u64>,
) -> RpcTransaction {
    let mut tx = WithOtherFields::new(Transaction {
        inner: alloy_consensus::transaction::Recovered::new_unchecked(
            stored.tx.clone(),
            stored.sender,
        ),
        block_hash: at.map(|c| c.block_hash),
        block_number: at.map(|c| c.block_number),
        transaction_index: at.map(|c| c.index),
        effective_gas_price: at.map(|c| stored.tx.effective_gas_price(Some(c.base_fee))),
        block_timestamp: at.map(|c| c.timestamp),
    });
    if stored.tx.is_deposit() {
        let nonce = U256::from(deposit_nonce.unwrap_or_default());
        for (key, value) in [
            ("v", U256::ZERO),
            ("r", U256::ZERO),
            ("s", U256::ZERO),
            ("nonce", nonce),
        ] {
            tx.other
                .insert_value(key.into(), value)
                .expect("U256 serializes");
        }
    }
    tx
}

/// A block as served; `receipts` give deposits their nonce (needed only with `full`).
pub(crate) fn block(block: &SealedBlock, full: bool, receipts: Option<&[Receipt]>) -> RpcBlock {
    let txs = &block.block.transactions;
    // rlp([header, transactions, uncles, withdrawals]) with empty uncles and withdrawals.
    let txs_payload: usize = txs.iter().map(|t| t.tx.length()).sum();
    let payload =
        block.header().length() + alloy_rlp::length_of_length(txs_payload) + txs_payload + 2;
    let size = alloy_rlp::length_of_length(payload) + payload;
    let transactions = if full {
        BlockTransactions::Full(
            txs.iter()
                .enumerate()
                .map(|(i, t)| {
                    let nonce = receipts
                        .and_then(|r| r.get(i))
                        .and_then(|r| r.deposit_nonce());
                    transaction(t, Some(TxContext::new(block, i)), nonce)
                })
                .collect(),
        )
    } else {
        BlockTransactions::Hashes(txs.iter().map(|t| t.tx.tx_hash()).collect())
    };
    Block {
        header: Header {
            hash: block.hash,
            inner: block.header().clone(),
            total_difficulty: Some(U256::ZERO),
            size: Some(U256::from(size)),
        },
        uncles: Vec::new(),
        transactions,
        withdrawals: Some(Withdrawals::default()),
    }
}

/// The receipts of a block in RPC form, with block-wide log indexes; on L2 each carries its data fee.
pub fn receipts(block: &SealedBlock, receipts: &[Receipt], layer: Layer) -> Vec<RpcReceipt> {
    let txs = &block.block.transactions;
    receipts_from(block.header(), block.hash, txs, receipts, layer, 0)
}

/// The receipts of transactions `from..` of a block (a sequencer's open block publishes only
/// what is new), the same as [`receipts`] gives them.
pub fn receipts_from(
    header: &alloy_consensus::Header,
    block_hash: B256,
    transactions: &[StoredTx],
    receipts: &[Receipt],
    layer: Layer,
    from: usize,
) -> Vec<RpcReceipt> {
    let origin = origin(header, layer);
    let before = &receipts[..from.min(receipts.len())];
    let mut logs_before: u64 = before.iter().map(|r| r.logs().len() as u64).sum();
    let mut gas_before = before.last().map_or(0, |r| r.cumulative_gas_used());
    transactions
        .iter()
        .zip(receipts)
        .enumerate()
        .skip(from)
        .map(|(i, (stored, receipt))| {
            let at = TxContext::at(header, block_hash, i as u64);
            let rpc = self::receipt(at, stored, receipt, logs_before, gas_before, origin);
            logs_before += receipt.logs().len() as u64;
            gas_before = receipt.cumulative_gas_used();
            rpc
        })
        .collect()
}

/// Where an L2 block's data fees are priced from (none on L1).
pub(crate) fn origin(header: &alloy_consensus::Header, layer: Layer) -> Option<L1Origin> {
    match layer {
        Layer::L2 => L1Origin::of_header(header),
        Layer::L1 => None,
    }
}

/// One receipt in RPC form, from what it needs alone: where it is, its transaction, and the
/// logs and gas of the block's transactions before it. On L2 (`origin`) it carries its data fee.
pub(crate) fn receipt(
    at: TxContext,
    stored: &StoredTx,
    receipt: &Receipt,
    logs_before: u64,
    gas_before: u64,
    origin: Option<L1Origin>,
) -> RpcReceipt {
    let tx_hash = stored.tx.tx_hash();
    let mut log_index = logs_before;
    let inner = receipt.clone().map_logs(|inner| {
        let log = Log {
            inner,
            block_hash: Some(at.block_hash),
            block_number: Some(at.block_number),
            block_timestamp: Some(at.timestamp),
            transaction_hash: Some(tx_hash),
            transaction_index: Some(at.index),
            log_index: Some(log_index),
            removed: false,
        };
        log_index += 1;
        log
    });
    let to = stored.tx.to();
    let mut rpc = RpcReceipt::new(TransactionReceipt {
        inner,
        transaction_hash: tx_hash,
        transaction_index: Some(at.index),
        block_hash: Some(at.block_hash),
        block_number: Some(at.block_number),
        gas_used: receipt.cumulative_gas_used().saturating_sub(gas_before),
        effective_gas_price: stored.tx.effective_gas_price(Some(at.base_fee)),
        blob_gas_used: None,
        blob_gas_price: None,
        from: stored.sender,
        to,
        contract_address: to
            .is_none()
            .then(|| stored.sender.create(stored.tx.nonce())),
    });
    // Deposits pay no fee: their L1 data came with the L1 transaction that queued them.
    if let Some(origin) = origin.filter(|_| !stored.tx.is_deposit()) {
        let fee = l1_fee(&stored.tx, origin.base_fee);
        for (key, value) in [
            ("l1Fee", fee.fee),
            ("l1GasUsed", U256::from(fee.gas_used)),
            ("l1GasPrice", U256::from(fee.gas_price)),
        ] {
            rpc.other
                .insert_value(key.into(), value)
                .expect("U256 serializes");
        }
    }
    rpc
}

/// Every log of a block in RPC form.
pub(crate) fn logs(block: &SealedBlock, receipts_of_block: &[Receipt]) -> Vec<Log> {
    receipts(block, receipts_of_block, Layer::L1)
        .into_iter()
        .flat_map(|r| r.inner.inner.logs().to_vec())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{BlockBody, TxLegacy};
    use alloy_primitives::{Address, TxKind};
    use tandem_primitives::{Block as TandemBlock, Header as ConsensusHeader, dev};

    #[test]
    fn block_size_is_the_length_of_the_rlp_block() {
        let account = &dev::accounts()[0];
        let transactions: Vec<StoredTx> = (0..3)
            .map(|nonce| {
                let tx = TxLegacy {
                    chain_id: Some(900),
                    nonce,
                    gas_limit: 21_000,
                    gas_price: 1,
                    to: TxKind::Call(Address::ZERO),
                    ..Default::default()
                };
                StoredTx {
                    sender: account.address,
                    tx: account.sign(tx),
                }
            })
            .collect();
        let header = ConsensusHeader {
            number: 4,
            base_fee_per_gas: Some(7),
            ..Default::default()
        };
        let sealed = SealedBlock::seal(TandemBlock {
            header: header.clone(),
            transactions: transactions.clone(),
        });
        let body = BlockBody {
            transactions: transactions.into_iter().map(|t| t.tx).collect(),
            ommers: Vec::new(),
            withdrawals: Some(Withdrawals::default()),
        };
        let expected = alloy_consensus::Block { header, body }.length();
        assert_eq!(
            block(&sealed, false, None).header.size,
            Some(U256::from(expected))
        );
    }
}
