//! A plain in-memory model of the state, its root computed from scratch by alloy-trie's HashBuilder
//! (an implementation independent of the incremental eth_trie one), and a helper that commits changes.
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, HashBuilder, KECCAK_EMPTY, Nibbles, TrieAccount};
use std::collections::BTreeMap;
use tandem_primitives::{Block, Header, SealedBlock};
use tandem_state::{AccountChange, StateChanges};
use tandem_storage::{BlockCommit, Storage};

#[derive(Debug, Clone, Default)]
pub(crate) struct Account {
    pub(crate) nonce: u64,
    pub(crate) balance: U256,
    pub(crate) storage: BTreeMap<U256, U256>,
}

#[derive(Debug, Default)]
pub(crate) struct Model {
    pub(crate) accounts: BTreeMap<Address, Account>,
}

fn root_of(leaves: BTreeMap<B256, Vec<u8>>) -> B256 {
    let mut builder = HashBuilder::default();
    for (key, value) in leaves {
        builder.add_leaf(Nibbles::unpack(key), &value);
    }
    builder.root()
}

impl Model {
    pub(crate) fn storage_root(account: &Account) -> B256 {
        let leaves = account
            .storage
            .iter()
            .filter(|(_, v)| !v.is_zero())
            .map(|(k, v)| (keccak256(k.to_be_bytes::<32>()), alloy_rlp::encode(v)))
            .collect::<BTreeMap<_, _>>();
        if leaves.is_empty() {
            EMPTY_ROOT_HASH
        } else {
            root_of(leaves)
        }
    }

    pub(crate) fn trie_account(account: &Account) -> TrieAccount {
        TrieAccount {
            nonce: account.nonce,
            balance: account.balance,
            storage_root: Self::storage_root(account),
            code_hash: KECCAK_EMPTY,
        }
    }

    /// The state root computed from scratch.
    pub(crate) fn root(&self) -> B256 {
        let leaves = self
            .accounts
            .iter()
            .map(|(address, account)| {
                (
                    keccak256(address),
                    alloy_rlp::encode(Self::trie_account(account)),
                )
            })
            .collect::<BTreeMap<_, _>>();
        if leaves.is_empty() {
            EMPTY_ROOT_HASH
        } else {
            root_of(leaves)
        }
    }

    /// Applies changes to the model.
    pub(crate) fn apply(&mut self, changes: &StateChanges) {
        for (address, change) in &changes.accounts {
            match change {
                None => {
                    self.accounts.remove(address);
                }
                Some(change) => {
                    let account = self.accounts.entry(*address).or_default();
                    if change.storage_cleared {
                        account.storage.clear();
                    }
                    account.nonce = change.nonce;
                    account.balance = change.balance;
                    for (slot, value) in &change.storage {
                        if value.is_zero() {
                            account.storage.remove(slot);
                        } else {
                            account.storage.insert(*slot, *value);
                        }
                    }
                }
            }
        }
    }
}

/// A change that sets an account's nonce and balance and some slots.
pub(crate) fn change(nonce: u64, balance: u64, slots: &[(u64, u64)]) -> AccountChange {
    AccountChange {
        nonce,
        balance: U256::from(balance),
        code_hash: KECCAK_EMPTY,
        code: None,
        storage_cleared: false,
        storage: slots
            .iter()
            .map(|(k, v)| (U256::from(*k), U256::from(*v)))
            .collect(),
    }
}

/// Applies `changes` on top of the last committed state and commits them as block `number`.
pub(crate) fn commit(
    storage: &Storage,
    number: u64,
    parent_root: B256,
    changes: &StateChanges,
) -> B256 {
    let reader = storage.read().unwrap();
    let (root, diff) = tandem_state::apply(&reader, parent_root, changes).unwrap();
    drop(reader);
    let header = Header {
        number,
        state_root: root,
        ..Default::default()
    };
    let block = SealedBlock::seal(Block {
        header,
        transactions: Vec::new(),
    });
    storage
        .commit(&BlockCommit {
            block,
            receipts: Vec::new(),
            state: diff,
        })
        .unwrap();
    root
}

pub(crate) fn address(i: u8) -> Address {
    Address::with_last_byte(i)
}
