use redb::{TableDefinition, WriteTransaction};

/// `last_executed_height` and other single values.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(crate) const LAST_HEIGHT: &str = "last_executed_height";
/// Rollups: the newest block derived from finalized L1 data (absent on L1, where every block is final).
pub(crate) const SAFE_HEIGHT: &str = "safe_height";
/// Rollups: the newest block whose output is final.
pub(crate) const FINALIZED_HEIGHT: &str = "finalized_height";
/// Block number -> RLP header.
pub(crate) const HEADERS: TableDefinition<u64, &[u8]> = TableDefinition::new("headers");
/// Block hash -> block number.
pub(crate) const HASHES: TableDefinition<&[u8; 32], u64> = TableDefinition::new("block_hashes");
/// (Block number, index) -> RLP (sender, transaction): one transaction is one read.
pub(crate) const BODIES: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("bodies");
/// (Block number, index) -> EIP-2718 receipt.
pub(crate) const RECEIPTS: TableDefinition<(u64, u32), &[u8]> = TableDefinition::new("receipts");
/// Transaction hash -> (block number, index in block, the block's logs before it, the block's
/// gas used before it): what a receipt needs besides its own entry.
pub(crate) const TX_INDEX: TableDefinition<&[u8; 32], (u64, u32, u32, u64)> =
    TableDefinition::new("tx_index");
/// The layout of the tables above, in META: a database of another layout is refused.
pub(crate) const FORMAT: &str = "format";
pub(crate) const FORMAT_VERSION: u64 = 2;
/// Address -> RLP trie account, the latest state.
pub(crate) const ACCOUNTS: TableDefinition<&[u8; 20], &[u8]> = TableDefinition::new("accounts");
/// Address ++ slot -> value, the latest state. Zero values are absent.
pub(crate) const STORAGE: TableDefinition<&[u8; 52], &[u8; 32]> = TableDefinition::new("storage");
/// Code hash -> bytecode.
pub(crate) const CODE: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("code");
/// Node hash -> RLP trie node, for the account trie and every storage trie.
pub(crate) const TRIE_NODES: TableDefinition<&[u8; 32], &[u8]> = TableDefinition::new("trie_nodes");
/// Node hash -> how many places in the newest tries refer to it. Zero: waiting to be pruned.
/// A node without an entry is never pruned.
pub(crate) const TRIE_REFS: TableDefinition<&[u8; 32], u64> = TableDefinition::new("trie_refs");
/// Block number -> hashes (concatenated) of the nodes that block left unreferenced.
pub(crate) const PRUNE_QUEUE: TableDefinition<u64, &[u8]> = TableDefinition::new("prune_queue");

pub(crate) fn create_all(tx: &WriteTransaction) -> Result<(), redb::TableError> {
    tx.open_table(META)?;
    tx.open_table(HEADERS)?;
    tx.open_table(HASHES)?;
    tx.open_table(BODIES)?;
    tx.open_table(RECEIPTS)?;
    tx.open_table(TX_INDEX)?;
    tx.open_table(ACCOUNTS)?;
    tx.open_table(STORAGE)?;
    tx.open_table(CODE)?;
    tx.open_table(TRIE_NODES)?;
    tx.open_table(TRIE_REFS)?;
    tx.open_table(PRUNE_QUEUE)?;
    Ok(())
}

pub(crate) fn storage_key(address: &[u8; 20], slot: &[u8; 32]) -> [u8; 52] {
    let mut key = [0u8; 52];
    key[..20].copy_from_slice(address);
    key[20..].copy_from_slice(slot);
    key
}

/// Deletes every table (they are created again by [`create_all`]).
pub(crate) fn delete_all(tx: &WriteTransaction) -> Result<(), redb::TableError> {
    tx.delete_table(META)?;
    tx.delete_table(HEADERS)?;
    tx.delete_table(HASHES)?;
    tx.delete_table(BODIES)?;
    tx.delete_table(RECEIPTS)?;
    tx.delete_table(TX_INDEX)?;
    tx.delete_table(ACCOUNTS)?;
    tx.delete_table(STORAGE)?;
    tx.delete_table(CODE)?;
    tx.delete_table(TRIE_NODES)?;
    tx.delete_table(TRIE_REFS)?;
    tx.delete_table(PRUNE_QUEUE)?;
    Ok(())
}
