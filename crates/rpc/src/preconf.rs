//! Preconfirmations: receipts of transactions a sequencer has executed into its open block, before
//! the block is sealed. `eth_sendRawTransactionSync` (EIP-7966) returns them; once the block is
//! sealed the stored receipt takes over.
use crate::convert::RpcReceipt;
use alloy_primitives::{Address, B256};
use parking_lot::Mutex;
use std::collections::HashMap;
use tandem_mempool::AccountState;
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
}

#[derive(Debug, Default)]
struct State {
    executed: HashMap<B256, RpcReceipt>,
    /// Nonce and balance of accounts the open block changed, for validating new transactions.
    accounts: HashMap<Address, AccountState>,
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

    /// Records accounts as the open block leaves them.
    pub fn accounts(&self, accounts: impl IntoIterator<Item = (Address, AccountState)>) {
        self.state.lock().accounts.extend(accounts);
    }

    /// An account as the open block leaves it, if the block changed it.
    pub fn account(&self, address: &Address) -> Option<AccountState> {
        self.state.lock().accounts.get(address).copied()
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

    /// Forgets receipts whose block is now committed (storage serves them from here on).
    pub fn sealed<'a>(&self, hashes: impl IntoIterator<Item = &'a B256>) {
        let mut state = self.state.lock();
        for hash in hashes {
            state.executed.remove(hash);
        }
        state.accounts.clear();
        drop(state);
        self.changed.notify_waiters();
    }

    /// Forgets every preconfirmation (a restarted open block republishes its own).
    pub fn clear(&self) {
        let mut state = self.state.lock();
        state.executed.clear();
        state.accounts.clear();
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
