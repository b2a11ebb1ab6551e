use crate::model::{Model, address, change, commit};
use alloy_primitives::U256;
use proptest::prelude::*;
use tandem_state::{EMPTY_ROOT_HASH, HistoricalState, LatestState, StateChanges, StateReader};
use tandem_storage::Storage;

/// One account's fate in a random block.
#[derive(Debug, Clone)]
enum Op {
    Set {
        account: u8,
        nonce: u64,
        balance: u64,
        slots: Vec<(u8, u64)>,
    },
    Delete {
        account: u8,
    },
    Recreate {
        account: u8,
        slots: Vec<(u8, u64)>,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let slots = prop::collection::vec((0u8..16, prop_oneof![Just(0u64), 1u64..1_000]), 0..6);
    prop_oneof![
        6 => (0u8..24, 0u64..5, 0u64..1_000_000, slots.clone()).prop_map(|(account, nonce, balance, slots)| Op::Set { account, nonce, balance, slots }),
        1 => (0u8..24).prop_map(|account| Op::Delete { account }),
        1 => (0u8..24, slots).prop_map(|(account, slots)| Op::Recreate { account, slots }),
    ]
}

fn changes_of(ops: &[Op]) -> StateChanges {
    let mut changes = StateChanges::default();
    for op in ops {
        match op {
            Op::Set {
                account,
                nonce,
                balance,
                slots,
            } => {
                let slots: Vec<(u64, u64)> =
                    slots.iter().map(|(k, v)| (u64::from(*k), *v)).collect();
                changes.accounts.insert(
                    address(*account),
                    Some(change(*nonce, *balance + 1, &slots)),
                );
            }
            Op::Delete { account } => {
                changes.accounts.insert(address(*account), None);
            }
            Op::Recreate { account, slots } => {
                let slots: Vec<(u64, u64)> =
                    slots.iter().map(|(k, v)| (u64::from(*k), *v)).collect();
                let mut c = change(1, 7, &slots);
                c.storage_cleared = true;
                changes.accounts.insert(address(*account), Some(c));
            }
        }
    }
    changes
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn incremental_root_equals_from_scratch_root_over_random_blocks(blocks in prop::collection::vec(prop::collection::vec(op(), 1..10), 1..12)) {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(&dir.path().join("db")).unwrap();
        let mut model = Model::default();
        let mut root = commit(&storage, 0, EMPTY_ROOT_HASH, &StateChanges::default());
        let mut roots = vec![root];
        for (i, ops) in blocks.iter().enumerate() {
            let changes = changes_of(ops);
            model.apply(&changes);
            root = commit(&storage, i as u64 + 1, root, &changes);
            prop_assert_eq!(root, model.root(), "block {}", i + 1);
            roots.push(root);
        }
        // The latest flat state and the trie agree on every account and slot.
        let reader = storage.read().unwrap();
        let historical = HistoricalState::new(&reader, root).unwrap();
        for i in 0u8..24 {
            let a = address(i);
            let flat = LatestState(&reader).account(a).unwrap();
            prop_assert_eq!(flat, historical.account(a).unwrap());
            prop_assert_eq!(flat, model.accounts.get(&a).map(Model::trie_account));
            for slot in 0u64..16 {
                let key = U256::from(slot).into();
                let expected = model.accounts.get(&a).and_then(|acc| acc.storage.get(&U256::from(slot)).copied()).unwrap_or_default();
                prop_assert_eq!(LatestState(&reader).storage(a, key).unwrap(), expected);
                prop_assert_eq!(historical.storage(a, key).unwrap(), expected);
            }
        }
        // Every older root is still readable.
        for old in roots {
            prop_assert!(HistoricalState::new(&reader, old).is_ok());
        }
    }
}

#[test]
fn historical_state_reads_the_value_of_its_block() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(&dir.path().join("db")).unwrap();
    let mut changes = StateChanges::default();
    changes
        .accounts
        .insert(address(1), Some(change(1, 100, &[(5, 50)])));
    let root1 = commit(&storage, 0, EMPTY_ROOT_HASH, &changes);
    changes
        .accounts
        .insert(address(1), Some(change(2, 200, &[(5, 0), (6, 60)])));
    let root2 = commit(&storage, 1, root1, &changes);
    let reader = storage.read().unwrap();
    let old = HistoricalState::new(&reader, root1).unwrap();
    let new = HistoricalState::new(&reader, root2).unwrap();
    assert_eq!(
        old.account(address(1)).unwrap().unwrap().balance,
        U256::from(100)
    );
    assert_eq!(
        new.account(address(1)).unwrap().unwrap().balance,
        U256::from(200)
    );
    assert_eq!(
        old.storage(address(1), U256::from(5).into()).unwrap(),
        U256::from(50)
    );
    assert_eq!(
        new.storage(address(1), U256::from(5).into()).unwrap(),
        U256::ZERO
    );
    assert_eq!(
        new.storage(address(1), U256::from(6).into()).unwrap(),
        U256::from(60)
    );
}
