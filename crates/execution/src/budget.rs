//! The witness budget of an L2 block: how much state its sequenced transactions may read, so that
//! re-executing any L2 block on L1 (EXECUTE, with the witness in the challenge's calldata) fits in
//! one L1 block.
//!
//! Every distinct account, storage slot, contract code and block hash a block reads is charged what
//! it adds to the witness: the proof nodes an account or slot brings (measured on a state of
//! 100,000 accounts, rounded up), the code's length, a header. A sequenced transaction whose next
//! read would pass the budget fails with [`crate::Error::WitnessFull`] and changes nothing: the
//! sequencer leaves it for the next block, derivation and EXECUTE leave it out. The refused read
//! never happens, so no block's witness passes the budget. The Portal's queue comes first: a block
//! takes its entries while it has read less than [`QUEUE_WITNESS`], so each has at least half the
//! budget; a deposit whose call reads past the budget lands as a call that cannot run (its mint
//! stands, its gas is used), a forced transaction is passed over.
//!
//! The sequencer's count for a block is never below derivation's: derivation re-runs only the
//! transactions the sequencer included, so it reads a subset of what the sequencer read. A block
//! the sequencer built within the budget is within it for every verifier.
use alloy_primitives::{Address, B256, Bytes, U256};
use alloy_trie::TrieAccount;
use std::{
    collections::HashSet,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
};
use tandem_state::{Error, Result, StateReader};

/// Witness bytes one L2 block may read: with its 30M gas, one challenge of any L2 block fits a
/// 60M-gas L1 block (the README's "What EXECUTE costs").
pub const WITNESS_BUDGET: u64 = 1_200_000;
/// A block takes the Portal queue's next entry only while it has read less than this.
pub const QUEUE_WITNESS: u64 = WITNESS_BUDGET / 2;
/// What one account adds to a witness: its proof's nodes not shared with other reads.
pub const ACCOUNT_BYTES: u64 = 1_000;
/// What one storage slot adds: its storage-trie proof's nodes.
pub const SLOT_BYTES: u64 = 700;
/// What a contract's code adds besides its length.
pub const CODE_BYTES: u64 = 64;
/// What an ancestor header (for BLOCKHASH) adds.
pub const HEADER_BYTES: u64 = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Read {
    Account(Address),
    Slot(Address, B256),
    Code(B256),
    Header(u64),
}

/// The running count of one block's witness, shared by the block builder and its [`Metered`]
/// state.
#[derive(Debug)]
pub struct Meter {
    limit: u64,
    enforce: AtomicBool,
    count: Mutex<Count>,
}

#[derive(Debug, Default)]
struct Count {
    used: u64,
    seen: HashSet<Read>,
}

impl Meter {
    pub fn new(limit: u64) -> Arc<Self> {
        Arc::new(Self {
            limit,
            enforce: AtomicBool::new(false),
            count: Mutex::new(Count::default()),
        })
    }

    fn count(&self) -> std::sync::MutexGuard<'_, Count> {
        self.count.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether reads past the budget are refused (for sequenced transactions) or only charged.
    pub fn enforce(&self, on: bool) {
        self.enforce.store(on, Ordering::Relaxed);
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

    fn charge(&self, read: Read, bytes: impl FnOnce() -> u64) -> Result<()> {
        let mut count = self.count();
        if count.seen.contains(&read) {
            return Ok(());
        }
        let used = count.used.saturating_add(bytes());
        if used > self.limit && self.enforce.load(Ordering::Relaxed) {
            return Err(Error::WitnessBudget(self.limit));
        }
        count.seen.insert(read);
        count.used = used;
        Ok(())
    }
}

/// A state reader that charges each distinct read to a [`Meter`] before it happens.
#[derive(Debug)]
pub struct Metered<S> {
    inner: S,
    meter: Arc<Meter>,
}

impl<S> Metered<S> {
    pub fn new(inner: S, meter: Arc<Meter>) -> Self {
        Self { inner, meter }
    }
}

impl<S: StateReader> StateReader for Metered<S> {
    fn account(&self, address: Address) -> Result<Option<TrieAccount>> {
        self.meter
            .charge(Read::Account(address), || ACCOUNT_BYTES)?;
        self.inner.account(address)
    }

    fn storage(&self, address: Address, slot: B256) -> Result<U256> {
        self.meter
            .charge(Read::Slot(address, slot), || SLOT_BYTES)?;
        self.inner.storage(address, slot)
    }

    fn code(&self, hash: B256) -> Result<Option<Bytes>> {
        // The length is only known once read: read, then charge (a refused code is not used).
        let code = self.inner.code(hash)?;
        let len = code.as_ref().map_or(0, |c| c.len() as u64);
        self.meter.charge(Read::Code(hash), || CODE_BYTES + len)?;
        Ok(code)
    }

    fn block_hash(&self, number: u64) -> Result<Option<B256>> {
        self.meter.charge(Read::Header(number), || HEADER_BYTES)?;
        self.inner.block_hash(number)
    }
}
