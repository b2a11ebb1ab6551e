use crate::model::{Model, address, change, commit};
use alloy_primitives::{B256, U256, keccak256};
use alloy_trie::{Nibbles, proof::verify_proof};
use tandem_state::{EMPTY_ROOT_HASH, StateChanges, prove};
use tandem_storage::Storage;

#[test]
fn account_and_storage_proofs_verify_against_the_state_root() {
    let dir = tempfile::tempdir().unwrap();
    let storage = Storage::open(&dir.path().join("db")).unwrap();
    let mut model = Model::default();
    let mut changes = StateChanges::default();
    for i in 0..200u8 {
        let slots: Vec<(u64, u64)> = (0..u64::from(i % 7))
            .map(|s| (s * 3, s + u64::from(i)))
            .collect();
        changes.accounts.insert(
            address(i),
            Some(change(u64::from(i), 1_000 + u64::from(i), &slots)),
        );
    }
    model.apply(&changes);
    let root = commit(&storage, 0, EMPTY_ROOT_HASH, &changes);
    assert_eq!(root, model.root());
    let reader = storage.read().unwrap();

    // Present and absent accounts; present and absent slots.
    for i in [0u8, 1, 6, 99, 199, 200, 250] {
        let a = address(i);
        let slots: Vec<B256> = [0u64, 3, 6, 4, 1_000]
            .iter()
            .map(|s| U256::from(*s).into())
            .collect();
        let proof = prove(&reader, root, a, &slots).unwrap();
        let expected = model.accounts.get(&a).map(Model::trie_account);
        assert_eq!(proof.account, expected);
        verify_proof(
            root,
            Nibbles::unpack(keccak256(a)),
            expected.map(alloy_rlp::encode),
            proof.proof.iter(),
        )
        .unwrap_or_else(|e| panic!("account proof of {a} does not verify: {e}"));
        let Some(account) = expected else { continue };
        for sp in &proof.storage {
            let value = model.accounts[&a]
                .storage
                .get(&U256::from_be_bytes(sp.key.0))
                .copied();
            assert_eq!(sp.value, value.unwrap_or_default());
            if account.storage_root == EMPTY_ROOT_HASH {
                assert!(sp.proof.is_empty());
                continue;
            }
            verify_proof(
                account.storage_root,
                Nibbles::unpack(keccak256(sp.key)),
                value.map(alloy_rlp::encode),
                sp.proof.iter(),
            )
            .unwrap_or_else(|e| {
                panic!("storage proof of {a} slot {} does not verify: {e}", sp.key)
            });
        }
    }

    // A proof of a wrong value fails.
    let proof = prove(&reader, root, address(5), &[]).unwrap();
    let mut wrong = proof.account.unwrap();
    wrong.balance += U256::from(1);
    assert!(
        verify_proof(
            root,
            Nibbles::unpack(keccak256(address(5))),
            Some(alloy_rlp::encode(wrong)),
            proof.proof.iter()
        )
        .is_err()
    );
}
