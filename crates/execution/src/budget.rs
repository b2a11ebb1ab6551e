//! The witness budget of an L2 block: how much its challenge may carry, so that re-executing any
//! L2 block on L1 (EXECUTE, with the witness in the challenge's calldata) fits in one L1 block
//! ([`crate::challenge_cost`]).
//!
//! Every read is charged exactly what it adds to the witness: each trie node on its path under the
//! parent's state root that the witness does not hold yet (once, however many reads share it), a
//! contract's code, the ancestor headers BLOCKHASH needs. A write that deletes a key the parent's
//! state holds is charged one more node, the most the state-root update can need besides the
//! paths already read (the sibling a branch folds into its parent when it is left with one child).
//!
//! Nothing is read before it is paid for: a node is fetched only if the largest node still fits,
//! a code only if the longest code does. So what a challenge must carry to show that a read was
//! refused has been charged too, and a block's witness is never larger than its charge. The
//! Portal's queue comes first and keeps within [`QUEUE_WITNESS`], reserving a whole transaction's
//! share for each entry it takes, so sequenced transactions always have the other half; each
//! entry's own bytes are charged too (a challenge carries them); a deposit whose call would pass
//! its share lands as a call that cannot run (its mint stands, its gas is used).
//!
//! One transaction may charge at most [`TX_WITNESS`]. A sequenced transaction refused before it
//! runs (its sender's read) is left out. One that ran and was then refused is included, failed,
//! and pays for its whole gas limit, so no such transaction is free and a batch of them makes
//! verifiers and EXECUTE do no work nobody pays for. Only a full block is not the sender's doing:
//! the sequencer leaves a transaction the block's budget refuses for the next block, and rolls back
//! everything it tried and left out, refused or invalid ([`Meter::checkpoint`],
//! [`Meter::rollback`], and revm's cache with it): its block is exactly the block every verifier
//! derives from its transactions, charge for charge, and the budget is spent only by transactions
//! that were included and paid. A block's charge also counts in the next block's
//! base fee ([`crate::l2::next_base_fee`]), so filling the budget costs what filling the gas does.
use alloy_primitives::{Address, B256, Bytes, U256, keccak256};
use alloy_trie::{EMPTY_ROOT_HASH, TrieAccount};
use std::{
    collections::{HashMap, HashSet},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};
use tandem_state::{Error, NodeSource, Result, StateReader, trie_path};

/// Bytes one L2 block's challenge may carry besides its batch: the witness (trie nodes, codes,
/// ancestor headers) and the Portal queue entries the block takes. Sized so that the costliest
/// challenge of a block at the dev L2's 30M gas fits a 60M-gas L1 block
/// ([`crate::challenge_cost::max_challenge_cost`]).
pub const WITNESS_BUDGET: u64 = 680_000;
/// The most one transaction may charge. A transaction that reads past it has only itself to blame:
/// it is included, failed, and pays for all its gas, in the sequencer's block too. A block's budget
/// can therefore only be spent by transactions that were included and paid, and one that the
/// block's budget then refuses (left out by the sequencer) meets a block that is full.
/// (200 KB: room for BLOCKHASH 256 blocks back, whose 256 headers the witness carries.)
pub const TX_WITNESS: u64 = 200_000;
/// A block takes the Portal queue's next entry only while it has charged less than this.
pub const QUEUE_WITNESS: u64 = WITNESS_BUDGET / 2;
/// What a witness spends on one item besides its bytes (an RLP string header, for items under
/// 64 KiB).
pub const ITEM_BYTES: u64 = 3;
/// What a contract's code adds besides its length (its RLP header, with room to spare).
pub const CODE_BYTES: u64 = 64;
/// The longest code a read may bring (EIP-170). An L2 genesis holds none longer.
pub const MAX_CODE_BYTES: u64 = revm::primitives::eip170::MAX_CODE_SIZE as u64;
/// What an ancestor header (for BLOCKHASH) adds: an L2 header's RLP is at most 670 bytes. The
/// witness carries every header from the oldest one read up to the parent (each proves the next),
/// so reading block `n` is charged for every header between `n` and the oldest charged so far.
pub const HEADER_BYTES: u64 = 700;
/// The largest trie node: a branch of sixteen child hashes and an empty value (532 bytes).
pub const MAX_NODE_BYTES: u64 = 532;
/// What deleting a key the parent's state holds may add: the one node the root update folds in.
pub const DELETION_BYTES: u64 = MAX_NODE_BYTES + ITEM_BYTES;
/// What a Portal queue entry adds to a challenge besides its EIP-2718 bytes: its place in the
/// ABI-encoded `bytes[]` (offset, length, padding) and its RLP framing in EXECUTE's inputs.
pub const QUEUE_ENTRY_BYTES: u64 = 128;
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Read {
    Account(Address),
    Slot(Address, B256),
    Code(B256),
}

/// The running count of one block's witness, shared by the block builder, its [`Metered`] state
/// and its executor (for deletions).
#[derive(Debug)]
pub struct Meter {
    limit: u64,
    enforce: AtomicBool,
    count: Mutex<Count>,
}

#[derive(Debug, Default)]
struct Count {
    used: u64,
    /// Trie nodes the witness holds so far.
    nodes: HashSet<B256>,
    /// Reads whose paths (or codes) are charged.
    reads: HashSet<Read>,
    /// Accounts and slots the parent's state holds, as their paths showed.
    existing: HashSet<Read>,
    /// Keys whose deletion is charged.
    deleted: HashSet<Read>,
    /// The parent state's storage root of each account whose path is charged.
    storage_roots: HashMap<Address, B256>,
    /// The oldest ancestor header the witness carries so far (the parent's number to begin with).
    oldest_header: u64,
    /// Everything above, as it was added, so a [`Checkpoint`] can be rolled back to.
    journal: Vec<Undo>,
    /// `used` when the transaction being run began.
    tx_start: u64,
}

/// One addition to a [`Count`], and what the state reads that made it loaded.
#[derive(Debug, Clone, Copy)]
enum Undo {
    Node(B256),
    Read(Read),
    Existing(Read),
    StorageRoot(Address),
    Deleted(Read),
    OldestHeader(u64),
    Loaded(Loaded),
}

/// A read the state answered (and revm's cache now holds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loaded {
    Account(Address),
    Slot(Address, U256),
    Code(B256),
    BlockHash(u64),
}

/// Where a [`Meter`] stood: [`Meter::rollback`] returns it there.
#[derive(Debug, Clone, Copy)]
pub struct Checkpoint {
    used: u64,
    journal: usize,
}

impl Meter {
    /// A meter for a block whose parent is block `parent` (its header is in every witness).
    pub fn new(limit: u64, parent: u64) -> Arc<Self> {
        Arc::new(Self {
            limit,
            enforce: AtomicBool::new(false),
            count: Mutex::new(Count {
                oldest_header: parent,
                ..Count::default()
            }),
        })
    }

    fn count(&self) -> std::sync::MutexGuard<'_, Count> {
        self.count.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether reads past the budget are refused (for sequenced transactions) or only charged.
    pub fn enforce(&self, on: bool) {
        self.enforce.store(on, Ordering::Relaxed);
    }

    /// Whether reads past the budget are refused now.
    pub fn enforcing(&self) -> bool {
        self.enforce.load(Ordering::Relaxed)
    }

    /// Witness bytes charged so far.
    pub fn used(&self) -> u64 {
        self.count().used
    }

    /// Counts `bytes` a challenge of the block carries besides the witness (a Portal queue
    /// entry's encoding), never refused.
    pub fn add(&self, bytes: u64) {
        let mut count = self.count();
        count.used = count.used.saturating_add(bytes);
    }

    /// Refuses, when enforced, if `bytes` more would pass the limit.
    fn admit(&self, count: &Count, bytes: u64) -> Result<()> {
        if !self.enforce.load(Ordering::Relaxed) {
            return Ok(());
        }
        let used = count.used.saturating_add(bytes);
        if used.saturating_sub(count.tx_start) > TX_WITNESS {
            return Err(Error::TxWitness(TX_WITNESS));
        }
        match used > self.limit {
            true => Err(Error::WitnessBudget(self.limit)),
            false => Ok(()),
        }
    }

    /// Starts counting one transaction's share ([`TX_WITNESS`]).
    pub fn begin_transaction(&self) {
        let mut count = self.count();
        count.tx_start = count.used;
    }

    /// Charges BLOCKHASH of block `number`: the headers from it up to the oldest the witness
    /// carries already.
    fn charge_header(&self, number: u64) -> Result<()> {
        let mut count = self.count();
        if number >= count.oldest_header {
            return Ok(());
        }
        let bytes = (count.oldest_header - number).saturating_mul(HEADER_BYTES);
        self.admit(&count, bytes)?;
        count.used = count.used.saturating_add(bytes);
        let previous = std::mem::replace(&mut count.oldest_header, number);
        count.journal.push(Undo::OldestHeader(previous));
        Ok(())
    }

    fn charged(&self, read: Read) -> bool {
        self.count().reads.contains(&read)
    }

    /// Reads trie node `hash` from `nodes`: paid for before it is read, unless the witness holds it
    /// already, with the room the largest node needs; then charged what it is.
    fn fetch_node(&self, nodes: &NodeSource<'_>, hash: B256) -> Result<Vec<u8>> {
        {
            let count = self.count();
            if !count.nodes.contains(&hash) {
                self.admit(&count, MAX_NODE_BYTES + ITEM_BYTES)?;
            }
        }
        let node = nodes.fetch(hash)?;
        let mut count = self.count();
        if count.nodes.insert(hash) {
            count.journal.push(Undo::Node(hash));
            count.used = count.used.saturating_add(node.len() as u64 + ITEM_BYTES);
        }
        Ok(node)
    }

    /// Notes a read whose path is charged; `exists` when the parent's state holds the key.
    fn note_read(&self, read: Read, exists: bool) {
        let mut count = self.count();
        if count.reads.insert(read) {
            count.journal.push(Undo::Read(read));
        }
        if exists && count.existing.insert(read) {
            count.journal.push(Undo::Existing(read));
        }
    }

    fn storage_root(&self, address: Address) -> B256 {
        self.count()
            .storage_roots
            .get(&address)
            .copied()
            .unwrap_or(EMPTY_ROOT_HASH)
    }

    /// Where the count stands now.
    pub fn checkpoint(&self) -> Checkpoint {
        let count = self.count();
        Checkpoint {
            used: count.used,
            journal: count.journal.len(),
        }
    }

    /// Returns the count to `checkpoint`, as if nothing since had been read, and the reads the
    /// state answered since (for the caller to drop from its caches).
    pub fn rollback(&self, checkpoint: Checkpoint) -> Vec<Loaded> {
        let mut count = self.count();
        let mut loaded = Vec::new();
        while count.journal.len() > checkpoint.journal {
            match count.journal.pop() {
                Some(Undo::Node(hash)) => {
                    count.nodes.remove(&hash);
                }
                Some(Undo::Read(read)) => {
                    count.reads.remove(&read);
                }
                Some(Undo::Existing(read)) => {
                    count.existing.remove(&read);
                }
                Some(Undo::StorageRoot(address)) => {
                    count.storage_roots.remove(&address);
                }
                Some(Undo::Deleted(read)) => {
                    count.deleted.remove(&read);
                }
                Some(Undo::OldestHeader(number)) => count.oldest_header = number,
                Some(Undo::Loaded(read)) => loaded.push(read),
                None => break,
            }
        }
        count.used = checkpoint.used;
        loaded
    }

    fn loaded(&self, read: Loaded) {
        self.count().journal.push(Undo::Loaded(read));
    }

    /// Charges what one transaction's writes (`state`, before it is committed) delete from the
    /// parent's state: [`DELETION_BYTES`] for each account or slot the parent holds that the
    /// transaction destroys or zeroes, once a key. Refused, when enforced, past the budget:
    /// the caller then drops the transaction's state.
    pub fn charge_writes(&self, state: &revm::state::EvmState) -> Result<()> {
        let mut count = self.count();
        let mut deleted = HashSet::new();
        for (address, account) in state {
            let gone = account.is_selfdestructed() || (account.is_touched() && account.is_empty());
            let slots = account
                .storage
                .iter()
                .filter(|(_, slot)| slot.is_changed() && slot.present_value.is_zero())
                .map(|(slot, _)| Read::Slot(*address, B256::from(*slot)));
            for read in gone
                .then_some(Read::Account(*address))
                .into_iter()
                .chain(slots)
            {
                if count.existing.contains(&read) && !count.deleted.contains(&read) {
                    deleted.insert(read);
                }
            }
        }
        if deleted.is_empty() {
            return Ok(());
        }
        let bytes = DELETION_BYTES.saturating_mul(deleted.len() as u64);
        self.admit(&count, bytes)?;
        count.used = count.used.saturating_add(bytes);
        for read in deleted {
            count.deleted.insert(read);
            count.journal.push(Undo::Deleted(read));
        }
        Ok(())
    }
}

/// A state reader that charges each distinct read to a [`Meter`] before it happens: the path of
/// an account or slot is walked in the parent's trie (over `nodes`, the store or the witness),
/// node by node.
#[derive(Debug)]
pub struct Metered<'r, S> {
    inner: S,
    meter: Arc<Meter>,
    nodes: NodeSource<'r>,
    /// The parent's state root.
    root: B256,
}

impl<'r, S> Metered<'r, S> {
    pub fn new(inner: S, meter: Arc<Meter>, nodes: NodeSource<'r>, root: B256) -> Self {
        Self {
            inner,
            meter,
            nodes,
            root,
        }
    }

    /// Charges the path of `address` in the parent's account trie, and notes its storage root.
    fn charge_account(&self, address: Address) -> Result<()> {
        let read = Read::Account(address);
        if self.meter.charged(read) {
            return Ok(());
        }
        let value = trie_path(self.root, keccak256(address), |hash| {
            self.meter.fetch_node(&self.nodes, hash)
        })?;
        let account = value
            .as_deref()
            .map(alloy_rlp::decode_exact::<TrieAccount>)
            .transpose()?;
        if let Some(account) = account {
            let mut count = self.meter.count();
            if count
                .storage_roots
                .insert(address, account.storage_root)
                .is_none()
            {
                count.journal.push(Undo::StorageRoot(address));
            }
        }
        self.meter.note_read(read, account.is_some());
        Ok(())
    }

    /// Charges the path of `slot` in `address`'s storage trie in the parent's state.
    fn charge_slot(&self, address: Address, slot: B256) -> Result<()> {
        self.charge_account(address)?;
        let read = Read::Slot(address, slot);
        if self.meter.charged(read) {
            return Ok(());
        }
        let root = self.meter.storage_root(address);
        let value = trie_path(root, keccak256(slot), |hash| {
            self.meter.fetch_node(&self.nodes, hash)
        })?;
        self.meter.note_read(read, value.is_some());
        Ok(())
    }
}

impl<S: StateReader> StateReader for Metered<'_, S> {
    fn account(&self, address: Address) -> Result<Option<TrieAccount>> {
        self.charge_account(address)?;
        let account = self.inner.account(address)?;
        self.meter.loaded(Loaded::Account(address));
        Ok(account)
    }

    fn storage(&self, address: Address, slot: B256) -> Result<U256> {
        self.charge_slot(address, slot)?;
        let value = self.inner.storage(address, slot)?;
        self.meter.loaded(Loaded::Slot(address, slot.into()));
        Ok(value)
    }

    fn code(&self, hash: B256) -> Result<Option<Bytes>> {
        let read = Read::Code(hash);
        if self.meter.charged(read) {
            let code = self.inner.code(hash)?;
            self.meter.loaded(Loaded::Code(hash));
            return Ok(code);
        }
        // Paid for before it is read, with the room the longest code needs.
        self.meter
            .admit(&self.meter.count(), CODE_BYTES + MAX_CODE_BYTES)?;
        let code = self.inner.code(hash)?;
        let len = code.as_ref().map_or(0, |c| c.len() as u64);
        let mut count = self.meter.count();
        if count.reads.insert(read) {
            count.journal.push(Undo::Read(read));
            count.used = count.used.saturating_add(CODE_BYTES + len);
        }
        count.journal.push(Undo::Loaded(Loaded::Code(hash)));
        Ok(code)
    }

    fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        self.meter.charge_header(number)?;
        let hash = self.inner.block_hash(number)?;
        self.meter.loaded(Loaded::BlockHash(number));
        Ok(hash)
    }
}

#[cfg(test)]
mod header_tests {
    use super::*;

    #[test]
    fn blockhash_far_back_is_charged_for_every_header_the_witness_carries_up_to_the_parent() {
        let meter = Meter::new(WITNESS_BUDGET, 1_000);
        // The parent's header is in every witness: free.
        meter.charge_header(1_000).unwrap();
        assert_eq!(meter.used(), 0);
        // 255 blocks back: 255 headers (745..=999).
        meter.charge_header(745).unwrap();
        assert_eq!(meter.used(), 255 * HEADER_BYTES);
        // Anything newer is in the witness already; one older adds one header.
        meter.charge_header(900).unwrap();
        meter.charge_header(744).unwrap();
        assert_eq!(meter.used(), 256 * HEADER_BYTES);
        // Past the budget, refused when enforced and nothing charged.
        let small = Meter::new(10 * HEADER_BYTES, 1_000);
        small.enforce(true);
        assert!(small.charge_header(980).is_err());
        assert_eq!(small.used(), 0);
        small.charge_header(990).unwrap();
        assert_eq!(small.used(), 10 * HEADER_BYTES);
    }
}
