//! redb tables for tandem: headers, bodies, receipts, the transaction index, flat state and trie nodes.
//!
//! Everything a block changes commits in one redb write transaction, so a crash at any point leaves
//! either the whole block or none of it, and `last_executed_height` always names a complete block.
//! Readers work on a snapshot ([`Reader`]) that later commits do not disturb.
mod reader;
mod tables;
mod writer;

pub use reader::{Reader, TxLocation};
pub use writer::{BlockCommit, StateDiff};

use redb::{Database, ReadableDatabase, ReadableTable};
use std::path::Path;

/// Errors from the embedded database. All of them are fatal for the operation that saw them.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("database: {0}")]
    Db(#[from] redb::Error),
    #[error("corrupt {table} entry: {reason}")]
    Corrupt { table: &'static str, reason: String },
    #[error("block {got} does not follow the last committed block {last}")]
    NotNext { last: u64, got: u64 },
    #[error(
        "the database was written by another version of tandem (layout {found:?}, this one reads \\
         {}): start from a fresh data directory",
        tables::FORMAT_VERSION
    )]
    Format { found: Option<u64> },
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(impl From<$t> for Error { fn from(e: $t) -> Self { Self::Db(e.into()) } })*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SavepointError
);

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// How much state history a node keeps.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum History {
    /// Every state since genesis stays readable.
    Archive,
    /// The states of the last this-many blocks (and the newest) stay readable; trie nodes that only
    /// older states use are deleted.
    Recent(u64),
}

impl Default for History {
    fn default() -> Self {
        Self::Recent(Self::DEFAULT_BLOCKS)
    }
}

impl History {
    /// Blocks of state history kept by default.
    pub const DEFAULT_BLOCKS: u64 = 1_024;
}

/// A state of the whole database to go back to ([`Storage::savepoint`]).
pub struct Savepoint(redb::Savepoint);

impl std::fmt::Debug for Savepoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Savepoint").finish_non_exhaustive()
    }
}

/// The chain database of one node.
#[derive(Debug)]
pub struct Storage {
    db: Database,
    history: History,
}

/// redb's page cache per database. redb's default, 1 GiB, fills as the chain grows, so a node's
/// memory grew with the chain's length (the devnet holds six databases: four validators, the
/// sequencer and the verifier). The hot set (recent blocks, the state trie's upper levels, the
/// accounts in use) fits well within this; the OS's page cache keeps the rest.
pub const CACHE_BYTES: usize = 128 * 1024 * 1024;

impl Storage {
    /// Opens (or creates) an archive database at `path`, creating every table.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, History::Archive)
    }

    /// Opens (or creates) the database at `path`, keeping `history`.
    pub fn open_with(path: &Path, history: History) -> Result<Self> {
        let db = Database::builder()
            .set_cache_size(CACHE_BYTES)
            .create(path)?;
        let tx = db.begin_write()?;
        {
            // Before any other table is opened: an older layout's tables have other types.
            let mut meta = tx.open_table(tables::META)?;
            let found = meta.get(tables::FORMAT)?.map(|v| v.value());
            let written = meta.get(tables::LAST_HEIGHT)?.is_some();
            match found {
                Some(tables::FORMAT_VERSION) => {}
                None if !written => {
                    meta.insert(tables::FORMAT, tables::FORMAT_VERSION)?;
                }
                found => return Err(Error::Format { found }),
            }
        }
        tables::create_all(&tx)?;
        tx.commit()?;
        Ok(Self { db, history })
    }

    /// A consistent snapshot of the chain as last committed.
    pub fn read(&self) -> Result<Reader> {
        Reader::new(&self.db.begin_read()?, self.history)
    }

    /// Records the safe head (on L2: the newest block derived from finalized L1 data).
    pub fn set_safe(&self, safe: u64) -> Result<()> {
        self.set_meta(tables::SAFE_HEIGHT, safe)
    }

    /// Records the finalized head (on L2: the newest block a final output root covers).
    pub fn set_finalized(&self, finalized: u64) -> Result<()> {
        self.set_meta(tables::FINALIZED_HEIGHT, finalized)
    }

    fn set_meta(&self, key: &str, value: u64) -> Result<()> {
        let tx = self.db.begin_write()?;
        {
            let mut meta = tx.open_table(tables::META)?;
            meta.insert(key, value)?;
        }
        tx.commit()?;
        Ok(())
    }

    /// The whole database as it stands, to go back to with [`Storage::restore`] (a dev node's
    /// `evm_snapshot`). Held in memory only; while it is held, pages later commits free are kept.
    pub fn savepoint(&self) -> Result<Savepoint> {
        let tx = self.db.begin_write()?;
        let savepoint = tx.ephemeral_savepoint()?;
        tx.commit()?;
        Ok(Savepoint(savepoint))
    }

    /// Puts every table back as it was at `savepoint`, atomically: blocks, receipts, the
    /// transaction index, state and trie nodes committed since are gone, and so are the
    /// savepoints taken after it.
    pub fn restore(&self, savepoint: &Savepoint) -> Result<()> {
        let mut tx = self.db.begin_write()?;
        tx.restore_savepoint(&savepoint.0)?;
        tx.commit()?;
        Ok(())
    }

    /// Empties every table at once (a dev node's `anvil_reset`, which writes its genesis again).
    pub fn clear(&self) -> Result<()> {
        let tx = self.db.begin_write()?;
        tables::delete_all(&tx)?;
        tables::create_all(&tx)?;
        tx.open_table(tables::META)?
            .insert(tables::FORMAT, tables::FORMAT_VERSION)?;
        tx.commit()?;
        Ok(())
    }

    /// Commits one block and everything it changed, atomically and durably. Prunes the trie nodes
    /// that only states older than the history window used, in the same transaction.
    pub fn commit(&self, commit: &BlockCommit) -> Result<()> {
        writer::commit(&self.db, commit, self.history)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_consensus::{Header, TxEip1559};
    use alloy_primitives::{Address, B256, Log, LogData, TxKind};
    use tandem_primitives::{Block, Receipt, SealedBlock, StoredTx, TxType, dev};

    /// Block `number` (on `parent`) with one transfer per entry of `logs`, each with that many logs.
    fn block(number: u64, parent: B256, logs: &[usize]) -> BlockCommit {
        let key = &dev::accounts()[0];
        let mut transactions = Vec::new();
        let mut receipts = Vec::new();
        for (i, count) in logs.iter().enumerate() {
            let tx = key.sign(TxEip1559 {
                chain_id: 900,
                nonce: number * 100 + i as u64,
                gas_limit: 30_000,
                to: TxKind::Call(Address::repeat_byte(1)),
                ..Default::default()
            });
            let log = Log {
                address: Address::repeat_byte(2),
                data: LogData::new_unchecked(vec![B256::repeat_byte(i as u8)], Default::default()),
            };
            let cumulative = 21_000 * (i as u64 + 1) + 7 * i as u64;
            let logs = vec![log; *count];
            receipts.push(Receipt::from_parts(
                true,
                cumulative,
                &logs,
                TxType::Eip1559,
                None,
                None,
            ));
            transactions.push(StoredTx {
                sender: key.address,
                tx,
            });
        }
        let header = Header {
            number,
            parent_hash: parent,
            ..Default::default()
        };
        BlockCommit {
            block: SealedBlock::seal(Block {
                header,
                transactions,
            }),
            receipts,
            state: StateDiff::default(),
        }
    }

    #[test]
    fn a_transaction_and_its_receipt_are_one_read_each_with_what_the_block_before_them_holds() {
        let dir = tempfile::tempdir().unwrap();
        let storage = Storage::open(&dir.path().join("db")).unwrap();
        let genesis = block(0, B256::ZERO, &[]);
        storage.commit(&genesis).unwrap();
        let one = block(1, genesis.block.hash, &[2, 0, 3]);
        storage.commit(&one).unwrap();
        let reader = storage.read().unwrap();
        let mut logs_before = 0;
        for (i, stored) in one.block.block.transactions.iter().enumerate() {
            let at = reader.tx_location(stored.tx.tx_hash()).unwrap().unwrap();
            assert_eq!((at.block, at.index), (1, i as u32));
            assert_eq!(at.logs_before, logs_before);
            let before = i
                .checked_sub(1)
                .map(|j| one.receipts[j].cumulative_gas_used());
            assert_eq!(at.gas_before, before.unwrap_or(0));
            assert_eq!(reader.transaction(at).unwrap().as_ref(), Some(stored));
            assert_eq!(reader.receipt(at).unwrap().as_ref(), Some(&one.receipts[i]));
            logs_before += one.receipts[i].logs().len() as u32;
        }
        // Whole blocks read back in order; an empty block has no transactions, a missing one none.
        assert_eq!(
            reader.transactions(1).unwrap().unwrap(),
            one.block.block.transactions
        );
        assert_eq!(reader.receipts(1).unwrap().unwrap(), one.receipts);
        assert_eq!(reader.block(1).unwrap().unwrap(), one.block);
        assert_eq!(reader.transactions(0).unwrap(), Some(Vec::new()));
        assert_eq!(reader.receipts(0).unwrap(), Some(Vec::new()));
        assert_eq!(reader.transactions(2).unwrap(), None);
        assert_eq!(reader.receipts(2).unwrap(), None);
    }

    #[test]
    fn a_database_of_another_layout_is_refused_and_left_as_it_is() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("db");
        let storage = Storage::open(&path).unwrap();
        storage.commit(&block(0, B256::ZERO, &[1])).unwrap();
        // As an older tandem left it: blocks, and no layout recorded.
        let tx = storage.db.begin_write().unwrap();
        tx.open_table(tables::META)
            .unwrap()
            .remove(tables::FORMAT)
            .unwrap();
        tx.commit().unwrap();
        drop(storage);
        let refused = Storage::open(&path).unwrap_err();
        assert!(
            matches!(refused, Error::Format { found: None }),
            "{refused}"
        );
        assert!(
            refused.to_string().contains("fresh data directory"),
            "{refused}"
        );
        // A fresh database records its layout, and a reset keeps it.
        let fresh = dir.path().join("fresh");
        let storage = Storage::open(&fresh).unwrap();
        storage.commit(&block(0, B256::ZERO, &[])).unwrap();
        storage.clear().unwrap();
        storage.commit(&block(0, B256::ZERO, &[])).unwrap();
        drop(storage);
        Storage::open(&fresh).unwrap();
    }
}
