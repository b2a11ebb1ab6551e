use crate::{Error, History, Result, tables::*};
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_trie::TrieAccount;
use redb::{Database, ReadableTable};
use tandem_primitives::{Receipt, SealedBlock};

/// What executing a block changed in the state, ready to write.
#[derive(Debug, Default, Clone)]
pub struct StateDiff {
    /// New account values; `None` deletes the account.
    pub accounts: Vec<(Address, Option<TrieAccount>)>,
    /// Accounts whose whole storage is cleared before `storage` is applied.
    pub wiped: Vec<Address>,
    /// New slot values; zero deletes the slot.
    pub storage: Vec<(Address, B256, U256)>,
    /// New bytecode by hash.
    pub code: Vec<(B256, Bytes)>,
    /// New trie nodes by hash.
    pub trie_nodes: Vec<(B256, Vec<u8>)>,
    /// Trie nodes this block replaced: one reference each fewer.
    pub trie_removed: Vec<B256>,
}

/// One block and everything it changed.
#[derive(Debug, Clone)]
pub struct BlockCommit {
    pub block: SealedBlock,
    pub receipts: Vec<Receipt>,
    pub state: StateDiff,
}

pub(crate) fn commit(db: &Database, commit: &BlockCommit, history: History) -> Result<()> {
    let number = commit.block.number();
    let tx = db.begin_write()?;
    {
        let mut meta = tx.open_table(META)?;
        let last = meta.get(LAST_HEIGHT)?.map(|v| v.value());
        let mut hashes = tx.open_table(HASHES)?;
        match last {
            // Idempotent by height: committing a block that is already there is a no-op.
            Some(last) if number <= last => {
                let stored = hashes.get(&commit.block.hash.0)?.map(|v| v.value());
                if stored == Some(number) {
                    return Ok(());
                }
                return Err(Error::NotNext { last, got: number });
            }
            Some(last) if number != last + 1 => return Err(Error::NotNext { last, got: number }),
            None if number != 0 => {
                return Err(Error::NotNext {
                    last: 0,
                    got: number,
                });
            }
            _ => {}
        }
        meta.insert(LAST_HEIGHT, number)?;
        hashes.insert(&commit.block.hash.0, number)?;
        tx.open_table(HEADERS)?.insert(
            number,
            alloy_rlp::encode(&commit.block.block.header).as_slice(),
        )?;
        if commit.block.block.transactions.len() != commit.receipts.len() {
            return Err(Error::Corrupt {
                table: "receipts",
                reason: format!(
                    "block {number} has {} transactions and {} receipts",
                    commit.block.block.transactions.len(),
                    commit.receipts.len()
                ),
            });
        }
        let mut bodies = tx.open_table(BODIES)?;
        let mut receipts = tx.open_table(RECEIPTS)?;
        let mut index = tx.open_table(TX_INDEX)?;
        let (mut logs_before, mut gas_before) = (0u32, 0u64);
        let pairs = commit.block.block.transactions.iter().zip(&commit.receipts);
        for (i, (stored, receipt)) in pairs.enumerate() {
            let at = (number, i as u32);
            bodies.insert(at, alloy_rlp::encode(stored).as_slice())?;
            receipts.insert(at, receipt.encoded_2718().as_slice())?;
            index.insert(
                &stored.tx.tx_hash().0,
                (number, i as u32, logs_before, gas_before),
            )?;
            logs_before = logs_before.saturating_add(receipt.logs().len() as u32);
            gas_before = receipt.cumulative_gas_used();
        }
        write_state(&tx, &commit.state)?;
        write_trie(&tx, &commit.state, number, history)?;
    }
    tx.commit()?;
    tracing::debug!(target: "storage", number, hash = %commit.block.hash, "committed block");
    Ok(())
}

fn write_state(tx: &redb::WriteTransaction, diff: &StateDiff) -> Result<()> {
    let mut accounts = tx.open_table(ACCOUNTS)?;
    for (address, account) in &diff.accounts {
        match account {
            Some(account) => {
                accounts.insert(&address.0.0, alloy_rlp::encode(account).as_slice())?
            }
            None => accounts.remove(&address.0.0)?,
        };
    }
    let mut storage = tx.open_table(STORAGE)?;
    for address in &diff.wiped {
        let start = storage_key(&address.0.0, &[0; 32]);
        let end = storage_key(&address.0.0, &[0xff; 32]);
        storage.retain_in::<&[u8; 52], _>(&start..=&end, |_, _| false)?;
    }
    for (address, slot, value) in &diff.storage {
        let key = storage_key(&address.0.0, &slot.0);
        if value.is_zero() {
            storage.remove(&key)?;
        } else {
            storage.insert(&key, &value.to_be_bytes::<32>())?;
        }
    }
    let mut code = tx.open_table(CODE)?;
    for (hash, bytes) in &diff.code {
        code.insert(&hash.0, bytes.as_ref())?;
    }
    Ok(())
}

/// Writes new trie nodes, counts references, and prunes what fell out of the history window.
///
/// Counts are kept in every mode, so a data directory can move between archive and pruning. A
/// count can only be too high (a node leaks), never too low: a node is deleted only when its count
/// is zero `keep` blocks after it reached zero.
fn write_trie(
    tx: &redb::WriteTransaction,
    diff: &StateDiff,
    number: u64,
    history: History,
) -> Result<()> {
    let mut nodes = tx.open_table(TRIE_NODES)?;
    let mut refs = tx.open_table(TRIE_REFS)?;
    for (hash, node) in &diff.trie_nodes {
        nodes.insert(&hash.0, node.as_slice())?;
        let count = refs.get(&hash.0)?.map(|v| v.value()).unwrap_or(0);
        refs.insert(&hash.0, count + 1)?;
    }
    let mut unreferenced = Vec::new();
    for hash in &diff.trie_removed {
        let Some(count) = refs.get(&hash.0)?.map(|v| v.value()) else {
            continue;
        };
        let count = count.saturating_sub(1);
        refs.insert(&hash.0, count)?;
        if count == 0 {
            unreferenced.extend_from_slice(hash.as_slice());
        }
    }
    let History::Recent(keep) = history else {
        return Ok(());
    };
    let mut queue = tx.open_table(PRUNE_QUEUE)?;
    if !unreferenced.is_empty() {
        queue.insert(number, unreferenced.as_slice())?;
    }
    let Some(due) = number.checked_sub(keep) else {
        return Ok(());
    };
    let Some(list) = queue.remove(due)?.map(|v| v.value().to_vec()) else {
        return Ok(());
    };
    let mut pruned = 0usize;
    for hash in list.chunks_exact(32) {
        let hash: &[u8; 32] = hash.try_into().expect("chunks of 32 bytes");
        if refs.get(hash)?.map(|v| v.value()) == Some(0) {
            nodes.remove(hash)?;
            refs.remove(hash)?;
            pruned += 1;
        }
    }
    tracing::trace!(target: "storage", number, due, pruned, "pruned trie nodes");
    Ok(())
}
