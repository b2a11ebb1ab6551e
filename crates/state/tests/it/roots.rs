use crate::model::{Model, address, change, commit};
use alloy_primitives::U256;
use proptest::prelude::*;
use tandem_state::{EMPTY_ROOT_HASH, HistoricalState, LatestState, StateChanges, StateReader};
use tandem_storage::{History, Storage};

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
        check_random_blocks(&blocks, History::Archive)?;
    }

    /// With a one-block window, pruning runs after every block: any live node it deleted would break
    /// the reads of the newest state below.
    #[test]
    fn pruning_never_deletes_a_node_the_newest_state_uses(blocks in prop::collection::vec(prop::collection::vec(op(), 1..10), 1..16)) {
        check_random_blocks(&blocks, History::Recent(1))?;
    }
}

fn check_random_blocks(blocks: &[Vec<Op>], history: History) -> Result<(), TestCaseError> {
    {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open_with(&dir.path().join("db"), history).unwrap();
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
                let expected = model
                    .accounts
                    .get(&a)
                    .and_then(|acc| acc.storage.get(&U256::from(slot)).copied())
                    .unwrap_or_default();
                prop_assert_eq!(LatestState(&reader).storage(a, key).unwrap(), expected);
                prop_assert_eq!(historical.storage(a, key).unwrap(), expected);
            }
        }
        if history == History::Archive {
            for old in roots {
                prop_assert!(
                    HistoricalState::new(&reader, old).is_ok(),
                    "every older root stays readable"
                );
            }
        }
    }
    Ok(())
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

#[test]
fn a_node_shared_by_two_storage_tries_survives_when_one_of_them_changes() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open_with(&dir.path().join("db"), History::Recent(1)).unwrap();
    // Ten accounts with identical storage: their storage tries are the same nodes.
    let mut changes = StateChanges::default();
    for i in 0..10 {
        changes
            .accounts
            .insert(address(i), Some(change(1, 1, &[(0, 1), (1, 2)])));
    }
    let mut model = Model::default();
    model.apply(&changes);
    let mut root = commit(&storage, 0, EMPTY_ROOT_HASH, &changes);
    // Change half of them, then let pruning run over several blocks.
    for block in 1..6u64 {
        let mut changes = StateChanges::default();
        for i in 0..5 {
            changes
                .accounts
                .insert(address(i), Some(change(1, block, &[(0, block + 10)])));
        }
        model.apply(&changes);
        root = commit(&storage, block, root, &changes);
        assert_eq!(root, model.root());
    }
    let reader = storage.read().unwrap();
    let state = HistoricalState::new(&reader, root).unwrap();
    for i in 5..10 {
        assert_eq!(
            state.storage(address(i), U256::from(1).into()).unwrap(),
            U256::from(2),
            "untouched account {i} keeps its storage"
        );
    }
}

#[test]
fn pruning_bounds_the_trie_and_keeps_exactly_the_window() {
    let run = |history: History| {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open_with(&dir.path().join("db"), history).unwrap();
        let mut root = EMPTY_ROOT_HASH;
        let mut roots = Vec::new();
        for block in 0..60u64 {
            let mut changes = StateChanges::default();
            for i in 0..20 {
                changes.accounts.insert(
                    address(i),
                    Some(change(
                        block,
                        block * 100 + u64::from(i),
                        &[(block % 4, block + 1)],
                    )),
                );
            }
            root = commit(&storage, block, root, &changes);
            roots.push(root);
        }
        let reader = storage.read().unwrap();
        let count = reader.trie_node_count().unwrap();
        let readable: Vec<bool> = roots
            .iter()
            .map(|r| {
                HistoricalState::new(&reader, *r)
                    .and_then(|s| s.account(address(3)))
                    .is_ok()
            })
            .collect();
        (count, readable, reader.oldest_state())
    };
    let (archive_nodes, archive_readable, oldest) = run(History::Archive);
    assert!(archive_readable.iter().all(|r| *r));
    assert_eq!(oldest, 0);
    let (pruned_nodes, readable, oldest) = run(History::Recent(4));
    assert_eq!(oldest, 55);
    assert!(
        readable[55..].iter().all(|r| *r),
        "the last four blocks and the newest stay readable: {readable:?}"
    );
    assert!(
        readable[..50].iter().all(|r| !*r),
        "older states are pruned: {readable:?}"
    );
    assert!(
        pruned_nodes * 5 < archive_nodes,
        "pruned {pruned_nodes} nodes vs archive {archive_nodes}"
    );
}
