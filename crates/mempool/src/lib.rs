//! Validates, orders, replaces and evicts pending transactions.
//!
//! Transactions wait per sender in nonce order. Those whose nonces follow the sender's state nonce
//! without a gap are pending (executable); the rest are queued. Block building takes pending
//! transactions best tip first. A transaction's cost (gas × fee cap + value) is checked arithmetic:
//! one that does not fit is refused, and a sender's pooled transactions must be payable together.
//!
//! The pool is bounded in count and in bytes, and queued transactions (which never pay, since they
//! cannot execute) are bounded per sender and to a share of the pool. Each sender has guaranteed
//! slots (geth's account slots) and may hold more while the pool has room. When the pool is full,
//! a sender past its slots gets nothing more in, and an executable newcomer takes a queued
//! transaction's place first, then that of a transaction past another sender's slots (the largest
//! sender's first, whatever it pays), then that of an executable one ranking below it; a queued
//! newcomer only ever displaces queued ones. Eviction
//! takes a sender's last transaction only, so no gap ever opens under a pending one. Errors carry
//! geth's messages.
//!
//! [`Pool`] is what a node shares: the one admission path that RPC and gossip take, best-first
//! iteration for block builders ([`BestTransactions`], which a builder tells when a sender's
//! transaction failed), and the one `settle` after a block.
mod best;
mod order;
mod pool;
mod shared;

pub use best::{BestTransactions, Candidates, Fill, InOrder};
pub use order::disputes_first;
pub use pool::{AccountState, Config, Error, Mempool, PoolTx, Rules, Status};
pub use shared::{Pool, account_in};
