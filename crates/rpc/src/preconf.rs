//! Preconfirmations: receipts of transactions a sequencer has executed into its open block, before
//! the block is sealed. `eth_sendRawTransactionSync` (EIP-7966) returns them; once the block is
//! sealed the stored receipt takes over.
use crate::convert::RpcReceipt;
use alloy_primitives::{Address, B256, Bytes, U256};
use parking_lot::Mutex;
use std::{collections::HashMap, sync::Arc};
use tandem_execution::Write;
use tandem_mempool::AccountState;
use tandem_primitives::Header;
use tandem_state::{StateReader, TrieAccount};
use tokio::sync::Notify;

/// Most rejections remembered for waiting clients; older ones are forgotten first.
const MAX_REJECTIONS: usize = 8_192;

/// Where a submitted transaction stands, as far as the block producer has told.
#[derive(Debug, Clone)]
pub enum Preconf {
    /// Executed into the open block: its receipt (no block hash yet).
    Executed(Box<RpcReceipt>),
    /// Dropped by the block producer, with why.
    Rejected(String),
}

#[derive(Debug, Default)]
pub struct Preconfirmations {
    state: Mutex<State>,
    changed: Notify,
    /// The open block's header and what it has written so far: `pending` reads it. A reader
    /// holds its own `Arc`, so the block producer never waits for one.
    open: Mutex<Option<Arc<OpenBlock>>>,
    /// The block sealed before the open one, while it is being committed: what it wrote stays
    /// readable under the open block's until storage has it.
    sealed: Mutex<Option<Arc<OpenBlock>>>,
}

/// A sequencer's open block as `pending` reads it: the header it will have, and every account it
/// wrote, as it now stands.
#[derive(Debug, Clone)]
pub struct OpenBlock {
    pub header: Header,
    accounts: HashMap<Address, Held>,
    codes: HashMap<B256, Bytes>,
}

/// One account the open block wrote, as it now stands.
#[derive(Debug, Clone)]
struct Held {
    account: TrieAccount,
    /// Its storage was emptied in this block (created or self-destructed).
    wiped: bool,
    destroyed: bool,
    storage: HashMap<B256, U256>,
}

impl OpenBlock {
    /// The open block's state: `base` (the state of its parent) with what the block wrote over it.
    pub fn over<'a>(&'a self, base: &'a dyn StateReader) -> impl StateReader + 'a {
        PendingState { open: self, base }
    }
}

struct PendingState<'a> {
    open: &'a OpenBlock,
    base: &'a dyn StateReader,
}

impl StateReader for PendingState<'_> {
    fn account(&self, address: Address) -> tandem_state::Result<Option<TrieAccount>> {
        match self.open.accounts.get(&address) {
            Some(held) if held.destroyed => Ok(None),
            Some(held) => Ok(Some(held.account)),
            None => self.base.account(address),
        }
    }

    fn storage(&self, address: Address, slot: B256) -> tandem_state::Result<U256> {
        let Some(held) = self.open.accounts.get(&address) else {
            return self.base.storage(address, slot);
        };
        match held.storage.get(&slot) {
            Some(value) => Ok(*value),
            None if held.wiped || held.destroyed => Ok(U256::ZERO),
            None => self.base.storage(address, slot),
        }
    }

    fn code(&self, hash: B256) -> tandem_state::Result<Option<Bytes>> {
        match self.open.codes.get(&hash) {
            Some(code) => Ok(Some(code.clone())),
            None => self.base.code(hash),
        }
    }

    fn block_hash(&self, number: u64) -> tandem_state::Result<Option<B256>> {
        self.base.block_hash(number)
    }
}

#[derive(Debug, Default)]
struct State {
    executed: HashMap<B256, RpcReceipt>,
    rejected: HashMap<B256, String>,
    rejected_order: std::collections::VecDeque<B256>,
}

impl Preconfirmations {
    /// Publishes receipts of transactions just executed into the open block.
    pub fn executed(&self, receipts: impl IntoIterator<Item = RpcReceipt>) {
        let mut state = self.state.lock();
        for receipt in receipts {
            state.executed.insert(receipt.transaction_hash, receipt);
        }
        drop(state);
        self.changed.notify_waiters();
    }

    /// An account as the open block (or the sealed one being committed) leaves it, if either
    /// changed it.
    pub fn account(&self, address: &Address) -> Option<AccountState> {
        let (open, sealed) = self.blocks();
        let held = [open, sealed]
            .into_iter()
            .flatten()
            .find_map(|block| block.accounts.get(address).cloned())?;
        Some(match held.destroyed {
            true => AccountState::default(),
            false => AccountState {
                nonce: held.account.nonce,
                balance: held.account.balance,
            },
        })
    }

    /// Records that the block producer dropped a transaction.
    pub fn rejected(&self, hash: B256, reason: String) {
        let mut state = self.state.lock();
        if state.rejected.insert(hash, reason).is_none() {
            state.rejected_order.push_back(hash);
        }
        while state.rejected_order.len() > MAX_REJECTIONS {
            if let Some(old) = state.rejected_order.pop_front() {
                state.rejected.remove(&old);
            }
        }
        drop(state);
        self.changed.notify_waiters();
    }

    /// The open block is sealed with `header`: what it wrote stays readable, under the next open
    /// block's, until [`Self::committed`] says storage has it (a block that wrote nothing is a
    /// layer too, so `pending` reads on the right header).
    pub fn seal(&self, header: &Header) {
        // Both locks at once (in `blocks`' order): no reader finds the block in neither layer.
        let mut open = self.open.lock();
        let mut block = open
            .take()
            .filter(|b| b.header.number == header.number)
            .unwrap_or_else(|| {
                Arc::new(OpenBlock {
                    header: header.clone(),
                    accounts: HashMap::new(),
                    codes: HashMap::new(),
                })
            });
        Arc::make_mut(&mut block).header = header.clone();
        *self.sealed.lock() = Some(block);
    }

    /// Block `number` is committed, with the transactions `hashes`: storage serves their receipts
    /// and its state from here on.
    pub fn committed<'a>(&self, number: u64, hashes: impl IntoIterator<Item = &'a B256>) {
        let mut state = self.state.lock();
        for hash in hashes {
            state.executed.remove(hash);
        }
        drop(state);
        for layer in [&self.sealed, &self.open] {
            let mut layer = layer.lock();
            if layer.as_ref().is_some_and(|b| b.header.number <= number) {
                *layer = None;
            }
        }
        self.changed.notify_waiters();
    }

    /// Forgets every preconfirmation (a restarted open block republishes its own).
    pub fn clear(&self) {
        let mut state = self.state.lock();
        state.executed.clear();
        drop(state);
        *self.open.lock() = None;
        *self.sealed.lock() = None;
    }

    /// Adds what the open block (with `header` so far) wrote since it last said: a new block
    /// number starts over.
    pub fn written(&self, header: &Header, writes: Vec<Write>) {
        let mut open = self.open.lock();
        let fresh = || {
            Arc::new(OpenBlock {
                header: header.clone(),
                accounts: HashMap::new(),
                codes: HashMap::new(),
            })
        };
        let block = match open.as_mut() {
            Some(block) if block.header.number == header.number => block,
            _ => open.insert(fresh()),
        };
        // Copies the maps only if a reader holds the block now.
        let block = Arc::make_mut(block);
        block.header = header.clone();
        for write in writes {
            if let Some(code) = &write.code {
                block.codes.insert(write.code_hash, code.clone());
            }
            let account = TrieAccount {
                nonce: write.nonce,
                balance: write.balance,
                // Not computed for an open block; nothing that reads `pending` state uses it.
                storage_root: tandem_state::EMPTY_ROOT_HASH,
                code_hash: write.code_hash,
            };
            let held = block.accounts.entry(write.address).or_insert_with(|| Held {
                account,
                wiped: false,
                destroyed: false,
                storage: HashMap::new(),
            });
            if write.wiped {
                held.storage.clear();
                held.wiped = true;
            }
            held.account = account;
            held.destroyed = write.destroyed;
            held.storage
                .extend(write.storage.into_iter().map(|(k, v)| (B256::from(k), v)));
        }
    }

    /// The open block, if this node has one (a sequencer between blocks has none), and the block
    /// sealed before it while that one is being committed.
    pub fn blocks(&self) -> (Option<Arc<OpenBlock>>, Option<Arc<OpenBlock>>) {
        // The open block first: a block moves from open to sealed, never back.
        let open = self.open.lock().clone();
        (open, self.sealed.lock().clone())
    }

    pub fn get(&self, hash: &B256) -> Option<Preconf> {
        let state = self.state.lock();
        if let Some(receipt) = state.executed.get(hash) {
            return Some(Preconf::Executed(Box::new(receipt.clone())));
        }
        state.rejected.get(hash).cloned().map(Preconf::Rejected)
    }

    /// How many transactions sit preconfirmed in the open block.
    pub fn len(&self) -> usize {
        self.state.lock().executed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn changed(&self) -> &Notify {
        &self.changed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(number: u64) -> Header {
        Header {
            number,
            ..Default::default()
        }
    }

    fn write(address: Address, nonce: u64) -> Write {
        Write {
            address,
            balance: U256::from(nonce * 10),
            nonce,
            code_hash: B256::ZERO,
            code: None,
            wiped: false,
            destroyed: false,
            storage: Vec::new(),
        }
    }

    #[test]
    fn a_sealed_block_stays_readable_under_the_next_until_it_is_committed() {
        let (a, b) = (Address::repeat_byte(0xa), Address::repeat_byte(0xb));
        let nonce = |p: &Preconfirmations, who| p.account(&who).map(|s| s.nonce);
        let p = Preconfirmations::default();
        p.written(&header(5), vec![write(a, 3)]);
        p.seal(&header(5));
        // Between the seal and the next block's first write: the sealed block alone.
        let (open, sealed) = p.blocks();
        assert!(open.is_none());
        assert_eq!(sealed.map(|s| s.header.number), Some(5));
        assert_eq!(nonce(&p, a), Some(3));
        // The next block's writes come first; the sealed block's stay under them.
        p.written(&header(6), vec![write(b, 1)]);
        p.written(&header(6), vec![write(a, 4)]);
        assert_eq!((nonce(&p, a), nonce(&p, b)), (Some(4), Some(1)));
        p.committed(5, []);
        assert_eq!(p.blocks().1.map(|s| s.header.number), None);
        assert_eq!((nonce(&p, a), nonce(&p, b)), (Some(4), Some(1)));
        p.seal(&header(6));
        p.committed(6, []);
        assert_eq!((nonce(&p, a), nonce(&p, b)), (None, None));
        // A block that wrote nothing is sealed as a layer of its own header, and a commit that
        // lands before the seal leaves nothing behind.
        p.seal(&header(7));
        assert_eq!(p.blocks().1.map(|s| s.header.number), Some(7));
        p.written(&header(8), vec![write(a, 9)]);
        p.committed(8, []);
        p.seal(&header(8));
        p.committed(8, []);
        assert!(matches!(p.blocks(), (None, None)));
    }
}
