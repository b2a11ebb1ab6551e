//! Accounts and storage of an Ethereum state, its Merkle-Patricia trie, proofs and the revm database.
//!
//! The latest state lives in flat redb tables for fast reads; every account trie and storage trie
//! lives beside it as nodes keyed by hash (eth_trie over redb). A block's changes update only the
//! trie paths of the keys it touched, so the cost of a state root grows with the keys touched, not
//! with the size of the state. Old roots stay readable, which serves historical queries and proofs.
mod changes;
mod nodes;
mod pending;
mod proof;
mod reader;
mod revm_db;
mod root;
mod witness;

pub use changes::{AccountChange, StateChanges};
pub use nodes::{NodeDb, NodeSource, TrieWrites};
pub use pending::{Pending, PendingState};
pub use proof::{AccountProof, StorageProof, prove, trie_path};
pub use reader::{HistoricalState, LatestState, StateReader};
pub use revm_db::StateDb;
pub use root::{apply, apply_on, genesis_changes, genesis_diff};
pub use witness::WitnessState;

pub use alloy_trie::{EMPTY_ROOT_HASH, TrieAccount};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Storage(#[from] tandem_storage::Error),
    #[error("state trie: {0}")]
    Trie(#[from] eth_trie::TrieError),
    #[error("corrupt trie value: {0}")]
    Decode(#[from] alloy_rlp::Error),
    #[error("missing state for root {0}")]
    MissingRoot(alloy_primitives::B256),
    /// A stateless read reached past what its witness holds.
    #[error("incomplete witness: {0}")]
    Witness(String),
    /// An L2 block's sequenced transactions read past its witness budget (bytes).
    #[error("the block's witness budget of {0} bytes is spent")]
    WitnessBudget(u64),
    /// An L2 transaction read past the share of the witness budget one transaction may have.
    #[error("the transaction reads more than the {0} bytes of witness one transaction may")]
    TxWitness(u64),
}

impl revm::database_interface::DBErrorMarker for Error {}

pub type Result<T, E = Error> = std::result::Result<T, E>;
