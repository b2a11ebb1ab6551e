use crate::{AccountChange, NodeDb, NodeSource, Result, StateChanges};
use alloy_primitives::{B256, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, TrieAccount};
use eth_trie::{EthTrie, Trie};
use std::sync::Arc;
use tandem_primitives::Genesis;
use tandem_storage::{Reader, StateDiff};

/// Opens the trie with `root` over `db`.
pub(crate) fn open<'r>(db: &Arc<NodeDb<'r>>, root: B256) -> Result<EthTrie<NodeDb<'r>>> {
    if root == EMPTY_ROOT_HASH {
        Ok(EthTrie::new(db.clone()))
    } else {
        Ok(EthTrie::from(db.clone(), root)?)
    }
}

/// Applies a block's changes on top of the state with `parent_root` and returns the new state root
/// with everything to write. Only the trie paths of changed keys are touched.
pub fn apply(
    reader: &Reader,
    parent_root: B256,
    changes: &StateChanges,
) -> Result<(B256, StateDiff)> {
    apply_on(reader.into(), parent_root, changes)
}

/// Like [`apply`], with the parent's trie nodes read from `nodes`: the store with uncommitted
/// blocks on top, or a witness (then a node the update needs and the witness lacks is an error).
pub fn apply_on(
    nodes: NodeSource<'_>,
    parent_root: B256,
    changes: &StateChanges,
) -> Result<(B256, StateDiff)> {
    let db = Arc::new(NodeDb::over(nodes));
    let mut accounts = open(&db, parent_root)?;
    let mut diff = StateDiff::default();
    for (address, change) in &changes.accounts {
        let key = keccak256(address);
        let previous = accounts
            .get(key.as_slice())?
            .map(|raw| alloy_rlp::decode_exact::<TrieAccount>(&raw))
            .transpose()?;
        let Some(change) = change else {
            if let Some(previous) = previous {
                accounts.remove(key.as_slice())?;
                diff.wiped.push(*address);
                db.release_root(previous.storage_root);
            }
            diff.accounts.push((*address, None));
            continue;
        };
        let mut storage_root = previous.map(|a| a.storage_root).unwrap_or(EMPTY_ROOT_HASH);
        if change.storage_cleared {
            db.release_root(storage_root);
            storage_root = EMPTY_ROOT_HASH;
            diff.wiped.push(*address);
        }
        if !change.storage.is_empty() {
            storage_root = update_storage(&db, storage_root, change)?;
            diff.storage.extend(
                change
                    .storage
                    .iter()
                    .map(|(slot, value)| (*address, B256::from(*slot), *value)),
            );
        }
        if let Some(code) = &change.code {
            diff.code.push((change.code_hash, code.clone()));
        }
        let account = TrieAccount {
            nonce: change.nonce,
            balance: change.balance,
            storage_root,
            code_hash: change.code_hash,
        };
        accounts.insert(key.as_slice(), &alloy_rlp::encode(account))?;
        diff.accounts.push((*address, Some(account)));
    }
    let root = accounts.root_hash()?;
    if root != parent_root {
        db.release_root(parent_root);
    }
    let writes = db.take_writes();
    diff.trie_nodes = writes.inserted;
    diff.trie_removed = writes.removed;
    Ok((root, diff))
}

fn update_storage(db: &Arc<NodeDb<'_>>, root: B256, change: &AccountChange) -> Result<B256> {
    let mut trie = open(db, root)?;
    for (slot, value) in &change.storage {
        let key = keccak256(slot.to_be_bytes::<32>());
        if value.is_zero() {
            // Deleting an absent key would still report the nodes on its path as replaced (and
            // so drop their reference counts) though they stay; only delete what is there.
            if trie.get(key.as_slice())?.is_some() {
                trie.remove(key.as_slice())?;
            }
        } else {
            trie.insert(key.as_slice(), &alloy_rlp::encode(value))?;
        }
    }
    let new_root = trie.root_hash()?;
    if new_root != root {
        db.release_root(root);
    }
    Ok(new_root)
}

/// The state of a genesis `alloc` as changes to an empty state.
pub fn genesis_changes(genesis: &Genesis) -> StateChanges {
    let accounts = genesis
        .alloc
        .iter()
        .map(|(address, account)| {
            let code = account.code.clone().filter(|c| !c.is_empty());
            let code_hash = code
                .as_ref()
                .map(keccak256)
                .unwrap_or(alloy_trie::KECCAK_EMPTY);
            let storage = account
                .storage
                .iter()
                .flatten()
                .map(|(slot, value)| (U256::from_be_bytes(slot.0), U256::from_be_bytes(value.0)))
                .filter(|(_, value)| !value.is_zero())
                .collect();
            let change = AccountChange {
                nonce: account.nonce.unwrap_or_default(),
                balance: account.balance,
                code_hash,
                code,
                storage_cleared: false,
                storage,
            };
            (*address, Some(change))
        })
        .collect();
    StateChanges { accounts }
}

/// The genesis state root and everything to write for it.
pub fn genesis_diff(reader: &Reader, genesis: &Genesis) -> Result<(B256, StateDiff)> {
    apply(reader, EMPTY_ROOT_HASH, &genesis_changes(genesis))
}
