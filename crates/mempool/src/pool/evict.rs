//! What leaves a full pool to make room for a newcomer.
//!
//! Only a sender's last transaction is ever evicted, so no transaction that stays loses the one
//! before it (geth, too, evicts from an account's tail). A transaction ranks at the lowest price
//! among it and its sender's transactions before it, since it cannot be mined before them.
//!
//! - An executable newcomer displaces queued transactions first, whatever they bid (they cannot
//!   execute, so their bids cost nothing), then executable ones that rank below it.
//! - A queued newcomer displaces only queued transactions that rank below it.
//! - Either may displace its own sender's later transactions, which rank no higher than it.
//! - Slots (geth's account slots): a sender past its guaranteed slots gets in only while the pool
//!   has room, and an executable newcomer displaces, after queued transactions and before ranking
//!   by price, the transactions past other senders' slots, from the sender holding most.
use super::{Error, Mempool, PENDING, PoolTx, Price, QUEUED, Sender, Status, Tail};
use alloy_primitives::{Address, B256};
use std::{
    cmp::Reverse,
    collections::{BinaryHeap, HashMap, btree_set},
    iter::{Peekable, Rev},
};

/// One sender's transactions as eviction sees them.
enum Chain<'a> {
    Other(&'a Sender),
    /// The newcomer's sender, as it would stand with the newcomer in: eviction may take only
    /// what comes after the newcomer.
    Own {
        txs: Vec<&'a PoolTx>,
        /// The first nonce that is not pending.
        pending_until: u64,
        newcomer: u64,
    },
}

/// A transaction eviction may take next: its sender's last one.
struct Candidate {
    nonce: u64,
    rank: Price,
    pending: bool,
    size: usize,
    hash: B256,
}

impl Chain<'_> {
    /// The last transaction below nonce `below`, if eviction may take it.
    fn tail_below(&self, below: u64) -> Option<Candidate> {
        match self {
            Chain::Other(sender) => {
                let (&nonce, tx) = sender.txs.range(..below).next_back()?;
                let rank = sender.txs.range(..=nonce).map(|(_, t)| t.price()).min()?;
                Some(Candidate {
                    nonce,
                    rank,
                    pending: nonce < sender.nonce + sender.pending as u64,
                    size: tx.size,
                    hash: tx.hash,
                })
            }
            Chain::Own {
                txs,
                pending_until,
                newcomer,
            } => {
                let at = txs.iter().rposition(|t| t.nonce() < below)?;
                let tx = txs[at];
                if tx.nonce() <= *newcomer {
                    return None;
                }
                let rank = txs[..=at].iter().map(|t| t.price()).min()?;
                Some(Candidate {
                    nonce: tx.nonce(),
                    rank,
                    pending: tx.nonce() < *pending_until,
                    size: tx.size,
                    hash: tx.hash,
                })
            }
        }
    }
}

/// Senders past their slots as one eviction plan reads them.
struct Crowded<'a> {
    /// The pool's index, largest first, read as far as the plan needs.
    index: Peekable<Rev<btree_set::Iter<'a, (usize, Address)>>>,
    /// Senders the plan took from, with what they have left.
    touched: BinaryHeap<(usize, Address)>,
    newcomer: Address,
    /// Only an executable newcomer displaces what is past other senders' slots.
    open: bool,
}

/// Lowest rank first; on a tie the newcomer's own sender, then by hash. Then the candidate's
/// sender, nonce and size.
type Key = Reverse<(Price, bool, B256, Address, u64, usize)>;

/// How many of `nonces` (ascending) follow `from` without a gap.
fn run_from(nonces: impl IntoIterator<Item = u64>, from: u64) -> usize {
    let mut want = Some(from);
    nonces
        .into_iter()
        .take_while(|nonce| {
            let follows = want == Some(*nonce);
            want = nonce.checked_add(1);
            follows
        })
        .count()
}

impl Mempool {
    /// What to evict so that `new` fits, as (sender, nonce) in the order to remove them, when the
    /// sender's state nonce is `state_nonce` and `new` would be `status`. Removes nothing itself,
    /// so a refusal changes nothing.
    pub(super) fn victims_for(
        &self,
        new: &PoolTx,
        state_nonce: u64,
        status: Status,
    ) -> Result<Vec<(Address, u64)>, Error> {
        let own = self.senders.get(&new.sender);
        let mut mine: Vec<&PoolTx> = own
            .map(|s| {
                s.txs
                    .range(state_nonce..)
                    .filter(|(n, _)| **n != new.nonce())
                    .map(|(_, t)| t)
                    .collect()
            })
            .unwrap_or_default();
        let at = mine.partition_point(|t| t.nonce() < new.nonce());
        mine.insert(at, new);
        let mine_pending = run_from(mine.iter().map(|t| t.nonce()), state_nonce);
        let new_rank = mine[..=at]
            .iter()
            .map(|t| t.price())
            .min()
            .unwrap_or(new.price());

        // The pool as it would stand with `new` in, before any eviction.
        let (stale_count, stale_bytes) = own.map_or((0, 0), |s| {
            s.txs
                .range(..state_nonce)
                .fold((0, 0), |(n, b), (_, t)| (n + 1, b + t.size))
        });
        let replaced = own.and_then(|s| s.txs.get(&new.nonce()));
        let mut count = self.len() - stale_count - usize::from(replaced.is_some()) + 1;
        let mut bytes = self.bytes - stale_bytes - replaced.map_or(0, |t| t.size) + new.size;
        let mut queued = self.queued - own.map_or(0, |s| s.queued) + (mine.len() - mine_pending);
        let config = &self.rules.config;
        let over = |count: usize, bytes: usize, queued: usize| {
            count > config.max_total || bytes > config.max_total_bytes || queued > config.max_queued
        };
        if !over(count, bytes, queued) {
            return Ok(Vec::new());
        }

        // A sender past its slots gets in only while the pool has room, a replacement too (a
        // larger one needs bytes).
        if mine.len() > config.account_slots {
            return Err(Error::PoolFull);
        }

        // Candidates come in rank order from the pool's index of tails (other senders'), merged
        // with those this plan uncovers: the newcomer's own sender's, and the transaction before
        // each tail the plan takes (it ranks no lower, so the index never lists it earlier).
        let own = Chain::Own {
            pending_until: state_nonce + mine_pending as u64,
            newcomer: new.nonce(),
            txs: mine,
        };
        let others = |tail: &&Tail| tail.2 != new.sender;
        let mut index = [
            self.tails[QUEUED].iter().filter(others).peekable(),
            self.tails[PENDING].iter().filter(others).peekable(),
        ];
        let mut found: [BinaryHeap<Key>; 2] = Default::default();
        let push = |found: &mut [BinaryHeap<Key>; 2], address: Address, c: Candidate| {
            let other = address != new.sender;
            let class = if c.pending { PENDING } else { QUEUED };
            found[class].push(Reverse((c.rank, other, c.hash, address, c.nonce, c.size)));
        };
        if let Some(c) = own.tail_below(u64::MAX) {
            push(&mut found, new.sender, c);
        }
        // Other senders past their slots, largest first: the index, read lazily, and those the
        // plan took from, re-entered with what they have left.
        let mut crowded = Crowded {
            index: self.crowded.iter().rev().peekable(),
            touched: BinaryHeap::new(),
            newcomer: new.sender,
            open: status == Status::Pending,
        };
        // Per sender the plan took from: the lowest nonce taken, and how many.
        let mut taken: HashMap<Address, (u64, usize)> = HashMap::new();

        let mut victims = Vec::new();
        while over(count, bytes, queued) {
            // What the plan already took is no candidate: a sender's listed tail once anything of
            // it is taken, an uncovered one at or past what was taken.
            for class in [QUEUED, PENDING] {
                while index[class]
                    .peek()
                    .is_some_and(|tail| taken.contains_key(&tail.2))
                {
                    index[class].next();
                }
                while found[class]
                    .peek()
                    .is_some_and(|Reverse((.., address, nonce, _))| {
                        taken.get(address).is_some_and(|(low, _)| low <= nonce)
                    })
                {
                    found[class].pop();
                }
            }
            let queued_left = index[QUEUED].peek().is_some() || !found[QUEUED].is_empty();
            // An executable newcomer takes any queued transaction's place, then the place of
            // transactions past other senders' slots.
            let any_queued = status == Status::Pending && queued_left;
            let past_slots = match status == Status::Pending && !queued_left {
                true => self.past_slots(&mut crowded, &taken),
                false => None,
            };
            let (address, nonce, size, class) = if let Some(victim) = past_slots {
                victim
            } else {
                let class = if status == Status::Pending && !queued_left {
                    PENDING
                } else {
                    QUEUED
                };
                let listed = index[class]
                    .peek()
                    .map(|&&(rank, hash, _)| (rank, true, hash));
                let uncovered = found[class]
                    .peek()
                    .map(|Reverse((rank, other, hash, ..))| (*rank, *other, *hash));
                let from_index = match (listed, uncovered) {
                    (None, None) => return Err(Error::PoolFull),
                    (Some(listed), Some(uncovered)) => listed <= uncovered,
                    (listed, _) => listed.is_some(),
                };
                let Some((rank, other, _)) = (if from_index { listed } else { uncovered }) else {
                    return Err(Error::PoolFull);
                };
                if !any_queued && other && rank >= new_rank {
                    return Err(Error::Underpriced {
                        tip: new_rank.0,
                        min: rank.0.saturating_add(1),
                    });
                }
                if from_index {
                    let Some(&(_, _, address)) = index[class].next() else {
                        return Err(Error::PoolFull);
                    };
                    let Some((&nonce, tx)) = self
                        .senders
                        .get(&address)
                        .and_then(|s| s.txs.last_key_value())
                    else {
                        continue;
                    };
                    (address, nonce, tx.size, class)
                } else {
                    let Some(Reverse((.., address, nonce, size))) = found[class].pop() else {
                        return Err(Error::PoolFull);
                    };
                    (address, nonce, size, class)
                }
            };
            victims.push((address, nonce));
            count -= 1;
            bytes -= size;
            if class == QUEUED {
                queued -= 1;
            }
            let entry = taken.entry(address).or_insert((nonce, 0));
            *entry = (nonce, entry.1 + 1);
            let before = if address == new.sender {
                own.tail_below(nonce)
            } else {
                self.senders
                    .get(&address)
                    .and_then(|s| Chain::Other(s).tail_below(nonce))
            };
            if let Some(c) = before {
                push(&mut found, address, c);
            }
        }
        Ok(victims)
    }

    /// The last transaction not yet taken of the sender furthest past its slots, as (sender,
    /// nonce, size, class), when any sender still is past them.
    fn past_slots(
        &self,
        crowded: &mut Crowded<'_>,
        taken: &HashMap<Address, (u64, usize)>,
    ) -> Option<(Address, u64, usize, usize)> {
        if !crowded.open {
            return None;
        }
        let slots = self.rules.config.account_slots;
        loop {
            // The larger of the index's next and the largest re-entered one.
            let listed = crowded.index.peek().map(|&&entry| entry);
            let from_index = match (listed, crowded.touched.peek()) {
                (None, None) => return None,
                (Some(listed), Some(touched)) => listed >= *touched,
                (listed, _) => listed.is_some(),
            };
            let (held, address) = match from_index {
                true => *crowded.index.next()?,
                false => crowded.touched.pop()?,
            };
            if address == crowded.newcomer {
                continue;
            }
            let Some(sender) = self.senders.get(&address) else {
                continue;
            };
            let (below, gone) = taken.get(&address).copied().unwrap_or((u64::MAX, 0));
            let now = sender.txs.len() - gone;
            if now <= slots {
                continue;
            }
            // Taken from by other means since it was listed: re-entered with what it has left.
            if now != held {
                crowded.touched.push((now, address));
                continue;
            }
            let Some((&nonce, tx)) = sender.txs.range(..below).next_back() else {
                continue;
            };
            crowded.touched.push((now - 1, address));
            let pending = nonce < sender.nonce + sender.pending as u64;
            let class = if pending { PENDING } else { QUEUED };
            return Some((address, nonce, tx.size, class));
        }
    }
}
