//! The batch codec's and derivation's hot paths: encoding and compressing a batch, decoding it,
//! and deriving its blocks (sender recovery, execution, state root, commit).
//! Run: `cargo bench -p tandem-rollup --bench codec`
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, Bytes, TxKind, U256};
use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use std::{hint::black_box, sync::Arc};
use tandem_execution::l2::{L1Origin, L2BlockInputs, execute_l2_block};
use tandem_primitives::{StoredTx, dev, genesis};
use tandem_rollup::{
    AddressTable, Batch, BatchBlock, Compression, Limits,
    derivation::{Deriver, L1Batch},
};
use tandem_state::LatestState;
use tandem_storage::Storage;

const BLOCKS: u64 = 8;
const PER_BLOCK: u64 = 125;

fn l2_storage(dir: &tempfile::TempDir) -> Arc<Storage> {
    let storage = Arc::new(Storage::open(&dir.path().join("db")).unwrap());
    tandem_rpc::init_genesis(&storage, &genesis::dev_l2_genesis()).unwrap();
    storage
}

fn origin(number: u64) -> L1Origin {
    L1Origin {
        number,
        timestamp: number,
        base_fee: 1_000_000_000,
        ..Default::default()
    }
}

/// 1,000 transfers from the ten dev accounts in 8 blocks, executed by a sequencer.
fn sequenced() -> Batch {
    let dir = tempfile::tempdir().unwrap();
    let storage = l2_storage(&dir);
    let chain = genesis::chain_config(&genesis::dev_l2_genesis());
    let mut blocks = Vec::new();
    for number in 1..=BLOCKS {
        let transactions: Vec<StoredTx> = (0..PER_BLOCK)
            .map(|i| {
                let n = (number - 1) * PER_BLOCK + i;
                let account = &dev::accounts()[(n % 10) as usize];
                let tx = account.sign(TxEip1559 {
                    chain_id: 901,
                    nonce: n / 10,
                    gas_limit: 21_000,
                    max_fee_per_gas: 1_000_000_000,
                    max_priority_fee_per_gas: 1,
                    to: TxKind::Call(Address::with_last_byte((n % 200) as u8)),
                    value: U256::from(1 + n),
                    input: Bytes::new(),
                    access_list: Default::default(),
                });
                StoredTx {
                    sender: account.address,
                    tx,
                }
            })
            .collect();
        let inputs = L2BlockInputs {
            timestamp: 10 + number,
            l1_origin: origin(1),
            queue: Vec::new(),
            transactions,
        };
        let reader = storage.read().unwrap();
        let parent = reader.header(number - 1).unwrap().unwrap();
        let block = execute_l2_block(
            (&reader).into(),
            LatestState(&reader),
            &chain,
            &parent,
            &inputs,
        )
        .unwrap();
        assert!(block.skipped.is_empty());
        drop(reader);
        storage.commit(&block.executed.into_commit()).unwrap();
        blocks.push(BatchBlock {
            number,
            timestamp: inputs.timestamp,
            l1_origin: 1,
            transactions: inputs.transactions.into_iter().map(|t| t.tx).collect(),
        });
    }
    Batch { blocks }
}

fn bench(c: &mut Criterion) {
    let batch = sequenced();
    let table = AddressTable::default();
    let txs = BLOCKS * PER_BLOCK;
    for (name, compression) in [("brotli", Compression::Brotli), ("zstd", Compression::Zstd)] {
        c.bench_function(
            &format!("rollup::batch/encode/compression={name},txs={txs}"),
            |b| b.iter(|| black_box(batch.encode(901, compression, &table).unwrap())),
        );
        let (encoded, _) = batch.encode(901, compression, &table).unwrap();
        c.bench_function(
            &format!("rollup::batch/decode/compression={name},txs={txs}"),
            |b| {
                b.iter(|| {
                    black_box(Batch::decode(&encoded, 901, &Limits::default(), &table).unwrap())
                })
            },
        );
    }
    let (encoded, _) = batch.encode(901, Compression::Brotli, &table).unwrap();
    let item = L1Batch {
        l1_block: 1,
        sender: dev::accounts()[dev::DEV_BATCHER].address,
        sequence: 0,
        data: encoded.into(),
    };
    let chain = genesis::chain_config(&genesis::dev_l2_genesis());
    let mut group = c.benchmark_group("rollup::derive");
    group.sample_size(10);
    group.bench_function(format!("batch/blocks={BLOCKS},txs={txs}"), |b| {
        b.iter_batched(
            || {
                let dir = tempfile::tempdir().unwrap();
                let storage = l2_storage(&dir);
                (dir, Deriver::new(storage, chain.clone(), item.sender))
            },
            |(_dir, mut deriver)| {
                let derived = deriver.apply(&item, &mut |n| Some(origin(n))).unwrap();
                assert_eq!(derived.unwrap(), BLOCKS as usize);
            },
            BatchSize::PerIteration,
        )
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
