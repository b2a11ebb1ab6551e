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
    redb::CommitError
);

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The chain database of one node.
#[derive(Debug)]
pub struct Storage {
    db: Database,
}

impl Storage {
    /// Opens (or creates) the database at `path`, creating every table.
    pub fn open(path: &Path) -> Result<Self> {
        let db = Database::create(path)?;
        let tx = db.begin_write()?;
        tables::create_all(&tx)?;
        tx.commit()?;
        Ok(Self { db })
    }

    /// A consistent snapshot of the chain as last committed.
    pub fn read(&self) -> Result<Reader> {
        Reader::new(&self.db.begin_read()?)
    }

    /// Commits one block and everything it changed, atomically and durably.
    pub fn commit(&self, commit: &BlockCommit) -> Result<()> {
        writer::commit(&self.db, commit)
    }
}
