use crate::{LatestState, Result, StateReader};
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_trie::TrieAccount;
use std::collections::{HashMap, HashSet};
use tandem_storage::{Reader, StateDiff};

/// The changes of executed blocks that are not committed yet, folded oldest to newest.
///
/// Consensus builds and verifies blocks on parents that are notarized but not final; this is their
/// post-state on top of the committed one. Drop it when its blocks commit or lose.
#[derive(Debug, Default, Clone)]
pub struct Pending {
    accounts: HashMap<Address, Option<TrieAccount>>,
    storage: HashMap<(Address, B256), U256>,
    wiped: HashSet<Address>,
    code: HashMap<B256, Bytes>,
    pub(crate) nodes: HashMap<B256, Vec<u8>>,
    hashes: HashMap<u64, B256>,
}

impl Pending {
    /// Adds the changes of the next uncommitted block, `number` with `hash`.
    pub fn push(&mut self, number: u64, hash: B256, diff: &StateDiff) {
        for address in &diff.wiped {
            self.wiped.insert(*address);
            self.storage.retain(|(a, _), _| a != address);
        }
        for (address, slot, value) in &diff.storage {
            self.storage.insert((*address, *slot), *value);
        }
        self.accounts.extend(diff.accounts.iter().cloned());
        self.code.extend(diff.code.iter().cloned());
        self.nodes.extend(diff.trie_nodes.iter().cloned());
        self.hashes.insert(number, hash);
    }

    /// The state after the pending blocks, over the committed state of `reader`.
    pub fn state<'r>(&'r self, reader: &'r Reader) -> PendingState<'r> {
        PendingState {
            latest: LatestState(reader),
            pending: self,
        }
    }
}

/// The committed state with pending blocks on top.
#[derive(Debug, Clone, Copy)]
pub struct PendingState<'r> {
    latest: LatestState<'r>,
    pending: &'r Pending,
}

impl StateReader for PendingState<'_> {
    fn account(&self, address: Address) -> Result<Option<TrieAccount>> {
        match self.pending.accounts.get(&address) {
            Some(account) => Ok(*account),
            None => self.latest.account(address),
        }
    }

    fn storage(&self, address: Address, slot: B256) -> Result<U256> {
        if let Some(value) = self.pending.storage.get(&(address, slot)) {
            return Ok(*value);
        }
        if self.pending.wiped.contains(&address)
            || self.pending.accounts.get(&address) == Some(&None)
        {
            return Ok(U256::ZERO);
        }
        self.latest.storage(address, slot)
    }

    fn code(&self, hash: B256) -> Result<Option<Bytes>> {
        match self.pending.code.get(&hash) {
            Some(code) => Ok(Some(code.clone())),
            None => self.latest.code(hash),
        }
    }

    fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        match self.pending.hashes.get(&number) {
            Some(hash) => Ok(Some(*hash)),
            None => self.latest.block_hash(number),
        }
    }
}
