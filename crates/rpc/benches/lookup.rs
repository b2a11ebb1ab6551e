//! `eth_getTransactionReceipt` and `eth_getTransactionByHash` at block sizes 10, 1,000 and 10,000:
//! one lookup reads one receipt, one transaction and one header, so the time is flat in the block's
//! size (it was linear: every receipt of the block was built to answer one).
use alloy_consensus::{Header, TxEip1559};
use alloy_primitives::{Address, B256, Log, LogData, TxKind, U256};
use criterion::{Criterion, criterion_group, criterion_main};
use std::{hint::black_box, sync::Arc};
use tandem_mempool::{Mempool, Pool};
use tandem_primitives::{
    Block, Receipt, SealedBlock, StoredTx, TxType, dev, genesis::chain_config,
};
use tandem_rpc::{Backend, Limits};
use tandem_storage::{BlockCommit, StateDiff, Storage};

/// A chain whose block 1 holds `n` transfers, each with one log; the hash of the one in the middle.
fn chain(n: usize, dir: &std::path::Path) -> (Backend, B256) {
    let storage = Arc::new(Storage::open(&dir.join("chain.redb")).unwrap());
    let genesis = tandem_execution::dev_genesis(900);
    let first = tandem_execution::genesis_block(&storage.read().unwrap(), &genesis).unwrap();
    storage.commit(&first.clone().into_commit()).unwrap();
    let key = &dev::accounts()[0];
    let mut transactions = Vec::with_capacity(n);
    let mut receipts = Vec::with_capacity(n);
    for nonce in 0..n as u64 {
        let tx = key.sign(TxEip1559 {
            chain_id: 900,
            nonce,
            gas_limit: 21_000,
            max_fee_per_gas: 2_000_000_000,
            max_priority_fee_per_gas: 1,
            to: TxKind::Call(Address::repeat_byte(7)),
            value: U256::from(1),
            ..Default::default()
        });
        let log = Log {
            address: Address::repeat_byte(7),
            data: LogData::new_unchecked(vec![B256::repeat_byte(1)], Default::default()),
        };
        let cumulative = 21_000 * (nonce + 1);
        receipts.push(Receipt::from_parts(
            true,
            cumulative,
            &[log],
            TxType::Eip1559,
            None,
            None,
        ));
        transactions.push(StoredTx {
            sender: key.address,
            tx,
        });
    }
    let middle = transactions[n / 2].tx.tx_hash();
    let parent = first.block.header();
    let header = Header {
        parent_hash: first.block.hash,
        number: 1,
        gas_limit: u64::MAX / 2,
        gas_used: 21_000 * n as u64,
        timestamp: parent.timestamp + 1,
        base_fee_per_gas: parent.base_fee_per_gas,
        ..parent.clone()
    };
    let block = SealedBlock::seal(Block {
        header,
        transactions,
    });
    storage
        .commit(&BlockCommit {
            block,
            receipts,
            state: StateDiff::default(),
        })
        .unwrap();
    let chain = chain_config(&genesis);
    let pool = Mempool::new(Default::default(), 900, chain.gas_limit, 1);
    let pool = Arc::new(Pool::new(pool, chain.layer));
    (
        Backend::new(storage, pool, chain, Limits::default()),
        middle,
    )
}

fn lookups(c: &mut Criterion) {
    let mut group = c.benchmark_group("lookup by hash");
    for n in [10, 1_000, 10_000] {
        let dir = tempfile::tempdir().unwrap();
        let (backend, hash) = chain(n, dir.path());
        let receipt = tandem_rpc::receipt_by_hash(&backend, hash)
            .unwrap()
            .unwrap();
        assert_eq!(receipt.inner.transaction_index, Some(n as u64 / 2));
        group.bench_function(format!("receipt, block of {n}"), |b| {
            b.iter(|| tandem_rpc::receipt_by_hash(&backend, black_box(hash)).unwrap())
        });
        group.bench_function(format!("transaction, block of {n}"), |b| {
            b.iter(|| tandem_rpc::transaction_by_hash(&backend, black_box(hash)).unwrap())
        });
        // What one receipt cost before: the whole block's, read and built.
        group.bench_function(format!("every receipt of the block, block of {n}"), |b| {
            b.iter(|| {
                let reader = backend.storage.read().unwrap();
                let block = reader.block(1).unwrap().unwrap();
                let receipts = reader.receipts(1).unwrap().unwrap();
                tandem_rpc::receipts(&block, &receipts, backend.chain.layer)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, lookups);
criterion_main!(benches);
