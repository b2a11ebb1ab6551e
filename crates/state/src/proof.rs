use crate::{NodeDb, Result, root::open};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, TrieAccount};
use eth_trie::Trie;
use std::sync::Arc;
use tandem_storage::Reader;

/// A Merkle proof of one storage slot against its account's storage root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StorageProof {
    pub key: B256,
    pub value: U256,
    pub proof: Vec<Bytes>,
}

/// A Merkle proof of one account against a state root, with proofs of some of its slots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountProof {
    pub address: Address,
    /// `None` when the account does not exist; the proof then shows its absence.
    pub account: Option<TrieAccount>,
    pub proof: Vec<Bytes>,
    pub storage: Vec<StorageProof>,
}

/// Proves an account and some of its slots in the state with `root` (EIP-1186).
pub fn prove(
    reader: &Reader,
    root: B256,
    address: Address,
    slots: &[B256],
) -> Result<AccountProof> {
    let db = Arc::new(NodeDb::new(reader));
    let mut accounts = open(&db, root).map_err(|_| crate::Error::MissingRoot(root))?;
    let key = keccak256(address);
    let account = accounts
        .get(key.as_slice())?
        .map(|raw| alloy_rlp::decode_exact::<TrieAccount>(&raw))
        .transpose()?;
    let proof = to_bytes(accounts.get_proof(key.as_slice())?);
    let storage_root = account.map(|a| a.storage_root).unwrap_or(EMPTY_ROOT_HASH);
    let mut storage_trie = open(&db, storage_root)?;
    let storage = slots
        .iter()
        .map(|slot| {
            let key = keccak256(slot);
            let value = storage_trie
                .get(key.as_slice())?
                .map(|raw| alloy_rlp::decode_exact(&raw))
                .transpose()?;
            let proof = if storage_root == EMPTY_ROOT_HASH {
                Vec::new()
            } else {
                to_bytes(storage_trie.get_proof(key.as_slice())?)
            };
            Ok(StorageProof {
                key: *slot,
                value: value.unwrap_or_default(),
                proof,
            })
        })
        .collect::<Result<_>>()?;
    Ok(AccountProof {
        address,
        account,
        proof,
        storage,
    })
}

fn to_bytes(nodes: Vec<Vec<u8>>) -> Vec<Bytes> {
    nodes.into_iter().map(Bytes::from).collect()
}

/// Walks the trie with `root` towards `key` (a hashed key: 64 nibbles) and returns the value there,
/// if the trie holds one. `fetch` is asked for each node the walk needs that is referred to by its
/// hash (the root first): exactly the nodes [`prove`] puts in a proof of the key, so a caller can
/// count, or refuse, each before it is read.
pub fn trie_path(
    root: B256,
    key: B256,
    mut fetch: impl FnMut(B256) -> Result<Vec<u8>>,
) -> Result<Option<Vec<u8>>> {
    use alloy_rlp::Decodable;
    use alloy_trie::{Nibbles, nodes::TrieNode};
    if root == EMPTY_ROOT_HASH {
        return Ok(None);
    }
    let nibbles = Nibbles::unpack(key);
    let mut at = 0;
    let mut raw = fetch(root)?;
    loop {
        let child = match TrieNode::decode(&mut raw.as_slice())? {
            TrieNode::Branch(branch) => match nibbles.get(at) {
                Some(nibble) => {
                    at += 1;
                    branch
                        .as_ref()
                        .children()
                        .find(|(n, _)| *n == nibble)
                        .and_then(|(_, child)| child.cloned())
                }
                None => None,
            },
            TrieNode::Extension(extension) => match nibbles.slice(at..).starts_with(&extension.key)
            {
                true => {
                    at += extension.key.len();
                    Some(extension.child)
                }
                false => None,
            },
            TrieNode::Leaf(leaf) => {
                return Ok((nibbles.slice(at..) == leaf.key).then_some(leaf.value));
            }
            TrieNode::EmptyRoot => None,
        };
        let Some(child) = child else {
            return Ok(None);
        };
        raw = match child.as_hash() {
            Some(hash) => fetch(hash)?,
            // Embedded in its parent: already read.
            None => child.to_vec(),
        };
    }
}
