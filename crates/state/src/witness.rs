//! State read from a witness alone: the trie nodes a block touches and the code it runs, keyed by
//! their hashes. What EXECUTE (and any stateless re-execution) reads instead of a database.
//! Reading anything the witness lacks is an error, never a default value.
use crate::{
    Error, Result, StateReader,
    reader::{trie_account, trie_slot},
};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, TrieAccount};
use eth_trie::{DB, EthTrie, MemoryDB};
use std::{collections::HashMap, sync::Arc};

/// The state under `root` as far as a witness reaches.
pub struct WitnessState {
    nodes: HashMap<B256, Vec<u8>>,
    db: Arc<MemoryDB>,
    accounts: EthTrie<MemoryDB>,
    codes: HashMap<B256, Bytes>,
    block_hashes: HashMap<u64, B256>,
}

impl std::fmt::Debug for WitnessState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WitnessState").finish_non_exhaustive()
    }
}

impl WitnessState {
    /// The state with `root`, from trie `nodes` and `codes` (each stored under its keccak hash,
    /// so a node that does not belong simply never matches).
    pub fn new(root: B256, nodes: &[Bytes], codes: &[Bytes]) -> Result<Self> {
        let nodes: HashMap<B256, Vec<u8>> =
            nodes.iter().map(|n| (keccak256(n), n.to_vec())).collect();
        let db = Arc::new(MemoryDB::new(false));
        for (hash, node) in &nodes {
            db.insert(hash.as_slice(), node.clone())
                .map_err(|e| Error::Witness(e.to_string()))?;
        }
        let accounts = trie(&db, root)?;
        Ok(Self {
            nodes,
            db,
            accounts,
            codes: codes.iter().map(|c| (keccak256(c), c.clone())).collect(),
            block_hashes: HashMap::new(),
        })
    }

    /// Also answers BLOCKHASH for these blocks (the caller has checked the hashes).
    pub fn with_block_hashes(mut self, hashes: HashMap<u64, B256>) -> Self {
        self.block_hashes = hashes;
        self
    }

    /// The witness's trie nodes by hash.
    pub fn nodes(&self) -> &HashMap<B256, Vec<u8>> {
        &self.nodes
    }
}

fn trie(db: &Arc<MemoryDB>, root: B256) -> Result<EthTrie<MemoryDB>> {
    if root == EMPTY_ROOT_HASH {
        return Ok(EthTrie::new(db.clone()));
    }
    EthTrie::from(db.clone(), root).map_err(|_| Error::Witness(format!("no node for root {root}")))
}

impl StateReader for WitnessState {
    fn account(&self, address: Address) -> Result<Option<TrieAccount>> {
        trie_account(&self.accounts, address)
    }

    fn storage(&self, address: Address, slot: B256) -> Result<U256> {
        trie_slot(self.account(address)?, |root| trie(&self.db, root), slot)
    }

    fn code(&self, hash: B256) -> Result<Option<Bytes>> {
        match self.codes.get(&hash) {
            Some(code) => Ok(Some(code.clone())),
            None => Err(Error::Witness(format!("no code {hash}"))),
        }
    }

    fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        match self.block_hashes.get(&number) {
            Some(hash) => Ok(Some(*hash)),
            None => Err(Error::Witness(format!("no hash of block {number}"))),
        }
    }
}
