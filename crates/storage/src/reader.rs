use crate::{Error, History, Result, tables::*};
use alloy_consensus::Header;
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_rlp::Decodable;
use alloy_trie::TrieAccount;
use redb::{ReadOnlyTable, ReadTransaction, ReadableTableMetadata};
use tandem_primitives::{Block, Receipt, SealedBlock, StoredTx};

/// Where a transaction sits in the chain, and what its receipt needs of those before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TxLocation {
    pub block: u64,
    pub index: u32,
    /// Logs of the block's transactions before it (its first log's index in the block).
    pub logs_before: u32,
    /// Gas the block's transactions before it used (its receipt's cumulative gas less its own).
    pub gas_before: u64,
}

/// A snapshot of the database: every read sees the same committed state.
pub struct Reader {
    last: Option<u64>,
    safe: Option<u64>,
    finalized: Option<u64>,
    history: History,
    headers: ReadOnlyTable<u64, &'static [u8]>,
    hashes: ReadOnlyTable<&'static [u8; 32], u64>,
    bodies: ReadOnlyTable<(u64, u32), &'static [u8]>,
    receipts: ReadOnlyTable<(u64, u32), &'static [u8]>,
    tx_index: ReadOnlyTable<&'static [u8; 32], (u64, u32, u32, u64)>,
    accounts: ReadOnlyTable<&'static [u8; 20], &'static [u8]>,
    storage: ReadOnlyTable<&'static [u8; 52], &'static [u8; 32]>,
    code: ReadOnlyTable<&'static [u8; 32], &'static [u8]>,
    trie_nodes: ReadOnlyTable<&'static [u8; 32], &'static [u8]>,
}

impl std::fmt::Debug for Reader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reader")
            .field("last", &self.last)
            .finish_non_exhaustive()
    }
}

fn decode_receipt(mut bytes: &[u8]) -> Result<Receipt> {
    Receipt::decode_2718(&mut bytes).map_err(|e| Error::Corrupt {
        table: "receipts",
        reason: e.to_string(),
    })
}

fn decode<T: Decodable>(table: &'static str, mut bytes: &[u8]) -> Result<T> {
    T::decode(&mut bytes).map_err(|e| Error::Corrupt {
        table,
        reason: e.to_string(),
    })
}

impl Reader {
    pub(crate) fn new(tx: &ReadTransaction, history: History) -> Result<Self> {
        let meta = tx.open_table(META)?;
        let last = meta.get(LAST_HEIGHT)?.map(|v| v.value());
        let safe = meta.get(SAFE_HEIGHT)?.map(|v| v.value());
        let finalized = meta.get(FINALIZED_HEIGHT)?.map(|v| v.value());
        Ok(Self {
            last,
            safe,
            finalized,
            history,
            headers: tx.open_table(HEADERS)?,
            hashes: tx.open_table(HASHES)?,
            bodies: tx.open_table(BODIES)?,
            receipts: tx.open_table(RECEIPTS)?,
            tx_index: tx.open_table(TX_INDEX)?,
            accounts: tx.open_table(ACCOUNTS)?,
            storage: tx.open_table(STORAGE)?,
            code: tx.open_table(CODE)?,
            trie_nodes: tx.open_table(TRIE_NODES)?,
        })
    }

    /// The `safe` head: on a rollup the newest block derived from finalized L1 data; on L1 the
    /// last block (every block is final at once).
    pub fn safe_height(&self) -> Option<u64> {
        self.safe
            .or(self.last)
            .map(|s| s.min(self.last.unwrap_or_default()))
    }

    /// The `finalized` head; on L1 the last block.
    pub fn finalized_height(&self) -> Option<u64> {
        self.finalized
            .or(self.last)
            .map(|f| f.min(self.last.unwrap_or_default()))
    }

    /// The oldest block whose state is still readable.
    pub fn oldest_state(&self) -> u64 {
        match (self.history, self.last) {
            (History::Recent(keep), Some(last)) => last.saturating_sub(keep),
            _ => 0,
        }
    }

    /// How much history this database keeps.
    pub fn history(&self) -> History {
        self.history
    }

    /// The height of the last committed block, `None` before genesis.
    pub fn last_height(&self) -> Option<u64> {
        self.last
    }

    pub fn header(&self, number: u64) -> Result<Option<Header>> {
        self.headers
            .get(number)?
            .map(|v| decode("headers", v.value()))
            .transpose()
    }

    pub fn number_of(&self, hash: B256) -> Result<Option<u64>> {
        Ok(self.hashes.get(&hash.0)?.map(|v| v.value()))
    }

    /// A block's transactions, `None` if there is no such block.
    pub fn transactions(&self, number: u64) -> Result<Option<Vec<StoredTx>>> {
        if self.headers.get(number)?.is_none() {
            return Ok(None);
        }
        self.bodies
            .range((number, 0)..=(number, u32::MAX))?
            .map(|entry| decode("bodies", entry?.1.value()))
            .collect::<Result<_>>()
            .map(Some)
    }

    /// One transaction of a block, in one read.
    pub fn transaction(&self, at: TxLocation) -> Result<Option<StoredTx>> {
        self.bodies
            .get((at.block, at.index))?
            .map(|v| decode("bodies", v.value()))
            .transpose()
    }

    /// One receipt of a block, in one read.
    pub fn receipt(&self, at: TxLocation) -> Result<Option<Receipt>> {
        self.receipts
            .get((at.block, at.index))?
            .map(|v| decode_receipt(v.value()))
            .transpose()
    }

    pub fn block(&self, number: u64) -> Result<Option<SealedBlock>> {
        let (Some(header), Some(transactions)) = (self.header(number)?, self.transactions(number)?)
        else {
            return Ok(None);
        };
        Ok(Some(SealedBlock::seal(Block {
            header,
            transactions,
        })))
    }

    /// A block's receipts, `None` if there is no such block.
    pub fn receipts(&self, number: u64) -> Result<Option<Vec<Receipt>>> {
        if self.headers.get(number)?.is_none() {
            return Ok(None);
        }
        self.receipts
            .range((number, 0)..=(number, u32::MAX))?
            .map(|entry| decode_receipt(entry?.1.value()))
            .collect::<Result<_>>()
            .map(Some)
    }

    pub fn tx_location(&self, hash: B256) -> Result<Option<TxLocation>> {
        Ok(self.tx_index.get(&hash.0)?.map(|v| {
            let (block, index, logs_before, gas_before) = v.value();
            TxLocation {
                block,
                index,
                logs_before,
                gas_before,
            }
        }))
    }

    /// An account of the latest state.
    pub fn account(&self, address: Address) -> Result<Option<TrieAccount>> {
        self.accounts
            .get(&address.0.0)?
            .map(|v| decode("accounts", v.value()))
            .transpose()
    }

    /// A storage slot of the latest state; zero when absent.
    pub fn storage(&self, address: Address, slot: B256) -> Result<U256> {
        let key = storage_key(&address.0.0, &slot.0);
        Ok(self
            .storage
            .get(&key)?
            .map(|v| U256::from_be_bytes(*v.value()))
            .unwrap_or_default())
    }

    /// Accounts of the latest state in address order, from `after` (exclusive) on, at most
    /// `limit` of them (a dev node's `anvil_dumpState`).
    pub fn accounts_after(
        &self,
        after: Option<Address>,
        limit: usize,
    ) -> Result<Vec<(Address, TrieAccount)>> {
        let entries = match after {
            Some(a) => self.accounts.range::<&[u8; 20]>((
                std::ops::Bound::Excluded(&a.0.0),
                std::ops::Bound::Unbounded,
            ))?,
            None => self.accounts.range::<&[u8; 20]>(..)?,
        };
        entries
            .take(limit)
            .map(|entry| {
                let (k, v) = entry?;
                Ok((Address::from(*k.value()), decode("accounts", v.value())?))
            })
            .collect()
    }

    /// Every non-zero slot of an account in the latest state.
    pub fn storage_slots(&self, address: Address) -> Result<Vec<(B256, U256)>> {
        let start = storage_key(&address.0.0, &[0; 32]);
        let end = storage_key(&address.0.0, &[0xff; 32]);
        self.storage
            .range::<&[u8; 52]>(&start..=&end)?
            .map(|entry| {
                let (k, v) = entry?;
                Ok((
                    B256::from_slice(&k.value()[20..]),
                    U256::from_be_bytes(*v.value()),
                ))
            })
            .collect()
    }

    pub fn code(&self, hash: B256) -> Result<Option<Bytes>> {
        Ok(self
            .code
            .get(&hash.0)?
            .map(|v| Bytes::copy_from_slice(v.value())))
    }

    /// How many trie nodes are stored, for tests and metrics.
    pub fn trie_node_count(&self) -> Result<u64> {
        Ok(self.trie_nodes.len()?)
    }

    pub fn trie_node(&self, hash: B256) -> Result<Option<Vec<u8>>> {
        Ok(self.trie_nodes.get(&hash.0)?.map(|v| v.value().to_vec()))
    }
}
