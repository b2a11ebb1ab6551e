//! State-root update: 1,000 touched accounts over states of growing size. The cost should grow with
//! the keys touched (and the trie depth), not with the number of accounts in the state.
//! Run: `cargo bench -p tandem-state --bench root`
use alloy_primitives::{Address, U256};
use alloy_trie::KECCAK_EMPTY;
use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rand::{Rng, SeedableRng, rngs::StdRng};
use std::{collections::BTreeMap, hint::black_box};
use tandem_primitives::{Block, Header, SealedBlock};
use tandem_state::{AccountChange, EMPTY_ROOT_HASH, StateChanges, apply};
use tandem_storage::{BlockCommit, Storage};

fn account(balance: u64, slots: &[(u64, u64)]) -> Option<AccountChange> {
    Some(AccountChange {
        nonce: 1,
        balance: U256::from(balance),
        code_hash: KECCAK_EMPTY,
        code: None,
        storage_cleared: false,
        storage: slots
            .iter()
            .map(|(k, v)| (U256::from(*k), U256::from(*v)))
            .collect(),
    })
}

fn address(i: u64) -> Address {
    let mut bytes = [0u8; 20];
    bytes[12..].copy_from_slice(&i.to_be_bytes());
    Address::from(bytes)
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("state::root_update");
    group.sample_size(20);
    for size in [10_000u64, 100_000] {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(&dir.path().join("db")).unwrap();
        let genesis = StateChanges {
            accounts: (0..size)
                .map(|i| (address(i), account(i + 1, &[(1, i + 1)])))
                .collect(),
        };
        let reader = storage.read().unwrap();
        let (root, diff) = apply(&reader, EMPTY_ROOT_HASH, &genesis).unwrap();
        drop(reader);
        let block = SealedBlock::seal(Block {
            header: Header {
                state_root: root,
                ..Default::default()
            },
            transactions: Vec::new(),
        });
        storage
            .commit(&BlockCommit {
                block,
                receipts: Vec::new(),
                state: diff,
            })
            .unwrap();
        let reader = storage.read().unwrap();
        let mut rng = StdRng::seed_from_u64(7);
        let touched: BTreeMap<Address, Option<AccountChange>> = (0..1_000)
            .map(|_| {
                let i = rng.random_range(0..size);
                (address(i), account(i + 2, &[(1, i + 2), (2, 1)]))
            })
            .collect();
        let changes = StateChanges { accounts: touched };
        group.bench_with_input(
            BenchmarkId::new("touched=1000", format!("accounts={size}")),
            &changes,
            |b, changes| b.iter(|| black_box(apply(&reader, root, changes).unwrap())),
        );
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
