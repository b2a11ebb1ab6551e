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
/// What an ancestor header (for BLOCKHASH) adds. The witness carries every header from the oldest
/// one read up to the parent (each proves the next), so reading block `n` is charged for every
/// header between `n` and the oldest charged so far.
pub const HEADER_BYTES: u64 = 600;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Read {
    Account(Address),
    Slot(Address, B256),
    Code(B256),
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
    /// The oldest ancestor header the witness carries so far (the parent's number to begin with).
    oldest_header: u64,
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

    /// Charges BLOCKHASH of block `number`: the headers from it up to the oldest the witness
    /// carries already.
    fn charge_header(&self, number: u64) -> Result<()> {
        let mut count = self.count();
        if number >= count.oldest_header {
            return Ok(());
        }
        let headers = count.oldest_header - number;
        let used = count
            .used
            .saturating_add(headers.saturating_mul(HEADER_BYTES));
        if used > self.limit && self.enforce.load(Ordering::Relaxed) {
            return Err(Error::WitnessBudget(self.limit));
        }
        count.oldest_header = number;
        count.used = used;
        Ok(())
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
        self.meter.charge_header(number)?;
        self.inner.block_hash(number)
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
