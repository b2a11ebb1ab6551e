//! What block builders take from the pool: best tip first, each sender's in nonce order.
use crate::PoolTx;
use alloy_primitives::{Address, B256};
use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap, HashSet, VecDeque},
};

/// What a block builder takes transactions from. A sender marked invalid yields nothing more: its
/// later transactions cannot run without the one that failed.
pub trait Candidates: Iterator<Item = PoolTx> {
    fn mark_invalid(&mut self, sender: Address);

    /// Offers the candidates one by one to `offer` (the builder's own policy: it executes the
    /// transaction and says how that went), marks the senders it refuses, and returns how many
    /// it included. The first error stops the fill.
    fn fill<E>(&mut self, mut offer: impl FnMut(PoolTx) -> Result<Fill, E>) -> Result<usize, E>
    where
        Self: Sized,
    {
        let mut included = 0;
        while let Some(tx) = self.next() {
            let sender = tx.sender;
            match offer(tx)? {
                Fill::Included => included += 1,
                Fill::Passed => {}
                Fill::Refused => self.mark_invalid(sender),
                Fill::Done => break,
            }
        }
        Ok(included)
    }
}

/// What a block builder did with one candidate ([`Candidates::fill`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fill {
    /// In the block.
    Included,
    /// Passed over; the sender's later transactions are still offered.
    Passed,
    /// Not in this block, nor any later transaction of its sender.
    Refused,
    /// The block takes nothing more.
    Done,
}

/// A heap entry: priority class, tip, then the lower hash first; the sender whose head it is.
type Head = (bool, u128, Reverse<B256>, Address);

/// The pool's pending transactions when it was asked, best first (reth's `BestTransactions`
/// shape): a sender's next transaction enters the running only once its previous one was taken.
/// It holds a snapshot, not the pool's lock, so clients keep adding while a block is built.
#[derive(Debug)]
pub struct BestTransactions {
    base_fee: u64,
    /// Each sender's pending transactions not yet yielded, in nonce order; its head is in `heads`.
    chains: HashMap<Address, VecDeque<PoolTx>>,
    heads: BinaryHeap<Head>,
    /// Senders whose chain holds a transaction that goes first (see [`Self::prioritize`]).
    first: HashSet<Address>,
}

impl BestTransactions {
    pub(crate) fn new(base_fee: u64, chains: impl IntoIterator<Item = Vec<PoolTx>>) -> Self {
        let mut best = Self {
            base_fee,
            chains: HashMap::new(),
            heads: BinaryHeap::new(),
            first: HashSet::new(),
        };
        for chain in chains {
            if let Some(sender) = chain.first().map(|tx| tx.sender) {
                best.chains.insert(sender, chain.into());
            }
        }
        best.rebuild();
        best
    }

    /// Nothing to take (a block of something else: a dev node's account edits).
    pub fn empty() -> Self {
        Self::new(0, [])
    }

    /// Moves every sender with a transaction matching `first` ahead of all others, with its whole
    /// chain so its nonces stay in order; both parts keep the tip order.
    /// Only transactions that can pay the base fee count: one that never will (it ends its
    /// sender's run) does not move the sender's others ahead.
    pub fn prioritize(mut self, first: impl Fn(&PoolTx) -> bool) -> Self {
        let base_fee = self.base_fee;
        self.first = self
            .chains
            .iter()
            .filter(|(_, chain)| {
                chain
                    .iter()
                    .take_while(|tx| tx.effective_tip(base_fee).is_some())
                    .any(&first)
            })
            .map(|(sender, _)| *sender)
            .collect();
        self.rebuild();
        self
    }

    fn rebuild(&mut self) {
        self.heads.clear();
        let senders: Vec<Address> = self.chains.keys().copied().collect();
        for sender in senders {
            self.push_head(sender);
        }
    }

    /// Puts the sender's next transaction in the running, or forgets the sender when it has none
    /// that can pay the base fee.
    fn push_head(&mut self, sender: Address) {
        let Some(chain) = self.chains.get(&sender) else {
            return;
        };
        match chain
            .front()
            .and_then(|tx| Some((tx, tx.effective_tip(self.base_fee)?)))
        {
            Some((tx, tip)) => {
                let head = (self.first.contains(&sender), tip, Reverse(tx.hash), sender);
                self.heads.push(head);
            }
            None => {
                self.chains.remove(&sender);
            }
        }
    }
}

impl Iterator for BestTransactions {
    type Item = PoolTx;

    fn next(&mut self) -> Option<PoolTx> {
        loop {
            let (_, _, _, sender) = self.heads.pop()?;
            // A sender marked invalid has no chain left: its head is stale.
            let Some(tx) = self.chains.get_mut(&sender).and_then(VecDeque::pop_front) else {
                continue;
            };
            self.push_head(sender);
            return Some(tx);
        }
    }
}

impl Candidates for BestTransactions {
    fn mark_invalid(&mut self, sender: Address) {
        self.chains.remove(&sender);
    }
}

/// Transactions in a fixed order (a block being replayed), skipping senders marked invalid.
#[derive(Debug)]
pub struct InOrder {
    txs: std::vec::IntoIter<PoolTx>,
    invalid: HashSet<Address>,
}

impl InOrder {
    pub fn new(txs: Vec<PoolTx>) -> Self {
        Self {
            txs: txs.into_iter(),
            invalid: HashSet::new(),
        }
    }
}

impl Iterator for InOrder {
    type Item = PoolTx;

    fn next(&mut self) -> Option<PoolTx> {
        self.txs.find(|tx| !self.invalid.contains(&tx.sender))
    }
}

impl Candidates for InOrder {
    fn mark_invalid(&mut self, sender: Address) {
        self.invalid.insert(sender);
    }
}
