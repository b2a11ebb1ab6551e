use crate::{NodeDb, Result, root::open};
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, TrieAccount};
use eth_trie::{EthTrie, Trie};
use std::sync::Arc;
use tandem_storage::Reader;

/// Read access to one state: the latest, or the state after some past block.
pub trait StateReader {
    fn account(&self, address: Address) -> Result<Option<TrieAccount>>;
    /// A storage slot; zero when absent.
    fn storage(&self, address: Address, slot: B256) -> Result<U256>;
    fn code(&self, hash: B256) -> Result<Option<Bytes>>;
    /// The hash of a canonical block, for the BLOCKHASH opcode.
    fn block_hash(&self, number: u64) -> Result<Option<B256>>;
}

impl<T: StateReader + ?Sized> StateReader for &T {
    fn account(&self, address: Address) -> Result<Option<TrieAccount>> {
        (**self).account(address)
    }

    fn storage(&self, address: Address, slot: B256) -> Result<U256> {
        (**self).storage(address, slot)
    }

    fn code(&self, hash: B256) -> Result<Option<Bytes>> {
        (**self).code(hash)
    }

    fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        (**self).block_hash(number)
    }
}

/// The latest committed state, read from the flat tables.
#[derive(Debug, Clone, Copy)]
pub struct LatestState<'r>(pub &'r Reader);

impl StateReader for LatestState<'_> {
    fn account(&self, address: Address) -> Result<Option<TrieAccount>> {
        Ok(self.0.account(address)?)
    }

    fn storage(&self, address: Address, slot: B256) -> Result<U256> {
        Ok(self.0.storage(address, slot)?)
    }

    fn code(&self, hash: B256) -> Result<Option<Bytes>> {
        Ok(self.0.code(hash)?)
    }

    fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        block_hash(self.0, number)
    }
}

/// An account as the accounts trie holds it.
pub(crate) fn trie_account<D: eth_trie::DB>(
    accounts: &EthTrie<D>,
    address: Address,
) -> Result<Option<TrieAccount>> {
    let raw = accounts.get(keccak256(address).as_slice())?;
    Ok(raw.map(|raw| alloy_rlp::decode_exact(&raw)).transpose()?)
}

/// A slot of `account` (zero when the account or the slot is absent), opening its storage trie
/// with `open_storage`.
pub(crate) fn trie_slot<D: eth_trie::DB>(
    account: Option<TrieAccount>,
    open_storage: impl FnOnce(B256) -> Result<EthTrie<D>>,
    slot: B256,
) -> Result<U256> {
    let Some(account) = account.filter(|a| a.storage_root != EMPTY_ROOT_HASH) else {
        return Ok(U256::ZERO);
    };
    let raw = open_storage(account.storage_root)?.get(keccak256(slot).as_slice())?;
    Ok(raw
        .map(|raw| alloy_rlp::decode_exact(&raw))
        .transpose()?
        .unwrap_or_default())
}

fn block_hash(reader: &Reader, number: u64) -> Result<Option<B256>> {
    Ok(reader.header(number)?.map(|h| h.hash_slow()))
}

/// The state with a given root, read through the trie; serves any block whose nodes are kept.
pub struct HistoricalState<'r> {
    reader: &'r Reader,
    db: Arc<NodeDb<'r>>,
    accounts: EthTrie<NodeDb<'r>>,
}

impl std::fmt::Debug for HistoricalState<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HistoricalState").finish_non_exhaustive()
    }
}

impl<'r> HistoricalState<'r> {
    pub fn new(reader: &'r Reader, root: B256) -> Result<Self> {
        let db = Arc::new(NodeDb::new(reader));
        let accounts = open(&db, root).map_err(|_| crate::Error::MissingRoot(root))?;
        Ok(Self {
            reader,
            db,
            accounts,
        })
    }
}

impl StateReader for HistoricalState<'_> {
    fn account(&self, address: Address) -> Result<Option<TrieAccount>> {
        trie_account(&self.accounts, address)
    }

    fn storage(&self, address: Address, slot: B256) -> Result<U256> {
        trie_slot(self.account(address)?, |root| open(&self.db, root), slot)
    }

    fn code(&self, hash: B256) -> Result<Option<Bytes>> {
        Ok(self.reader.code(hash)?)
    }

    fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        block_hash(self.reader, number)
    }
}
