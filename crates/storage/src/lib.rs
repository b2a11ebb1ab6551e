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

use redb::{Database, ReadableDatabase};
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

impl Storage {
    /// Opens (or creates) an archive database at `path`, creating every table.
    pub fn open(path: &Path) -> Result<Self> {
        Self::open_with(path, History::Archive)
    }

    /// Opens (or creates) the database at `path`, keeping `history`.
    pub fn open_with(path: &Path, history: History) -> Result<Self> {
        let db = Database::create(path)?;
        let tx = db.begin_write()?;
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
        tx.commit()?;
        Ok(())
    }

    /// Commits one block and everything it changed, atomically and durably. Prunes the trie nodes
    /// that only states older than the history window used, in the same transaction.
    pub fn commit(&self, commit: &BlockCommit) -> Result<()> {
        writer::commit(&self.db, commit, self.history)
    }
}
