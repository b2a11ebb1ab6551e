//! Block execution of 1,000 signed transfers, with and without sender recovery.
//! Run: `cargo bench -p tandem-execution --bench block`
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, TxKind, U256};
use criterion::{Criterion, criterion_group, criterion_main};
use std::hint::black_box;
use tandem_execution::{BlockAttributes, Executor, genesis_block, recover_senders};
use tandem_primitives::{TxEnvelope, dev, genesis};
use tandem_state::LatestState;
use tandem_storage::Storage;

const TRANSFERS: u64 = 1_000;

fn signed_transfers() -> Vec<TxEnvelope> {
    (0..TRANSFERS)
        .map(|i| {
            let from = &dev::accounts()[(i % 10) as usize];
            let tx = TxEip1559 {
                chain_id: 900,
                nonce: i / 10,
                gas_limit: 21_000,
                max_fee_per_gas: 10_000_000_000,
                max_priority_fee_per_gas: 1,
                to: TxKind::Call(Address::with_last_byte((i % 200) as u8 + 20)),
                value: U256::from(1 + i),
                ..Default::default()
            };
            from.sign(tx)
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(&dir.path().join("db")).unwrap();
    let genesis = tandem_execution::dev_genesis(900);
    let chain = genesis::chain_config(&genesis);
    storage
        .commit(
            &genesis_block(&storage.read().unwrap(), &genesis)
                .unwrap()
                .into_commit(),
        )
        .unwrap();
    let reader = storage.read().unwrap();
    let parent = reader.header(0).unwrap().unwrap();
    let attrs = BlockAttributes {
        timestamp: 1,
        beneficiary: Address::ZERO,
        prev_randao: Default::default(),
    };
    let txs = signed_transfers();
    let senders: Vec<Address> = recover_senders(&txs)
        .into_iter()
        .map(Result::unwrap)
        .collect();

    let execute = |senders: &[Address]| {
        let mut executor = Executor::new(&reader, LatestState(&reader), &chain, &parent, &attrs);
        for (tx, sender) in txs.iter().zip(senders) {
            executor.execute(tx.clone(), *sender).unwrap();
        }
        executor.finish().unwrap()
    };
    let mut group = c.benchmark_group("execution::block");
    group.sample_size(20);
    group.bench_function("transfers=1000/senders=known", |b| {
        b.iter(|| black_box(execute(&senders)))
    });
    group.bench_function("transfers=1000/senders=recovered", |b| {
        b.iter(|| {
            let recovered: Vec<Address> = recover_senders(&txs)
                .into_iter()
                .map(Result::unwrap)
                .collect();
            black_box(execute(&recovered))
        })
    });
    group.bench_function("recover_senders/txs=1000", |b| {
        b.iter(|| black_box(recover_senders(&txs)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
