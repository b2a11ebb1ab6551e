//! Validates, orders, replaces and evicts pending transactions.
//!
//! Transactions wait per sender in nonce order. Those whose nonces follow the sender's state nonce
//! without a gap are pending (executable); the rest are queued. Block building takes pending
//! transactions best tip first. A transaction's cost (gas × fee cap + value) is checked arithmetic:
//! one that does not fit is refused, and a sender's pooled transactions must be payable together.
//!
//! The pool is bounded per sender, in count and in bytes, and queued transactions (which never pay,
//! since they cannot execute) are bounded per sender and to a share of the pool. When the pool is
//! full, an executable newcomer takes a queued transaction's place first, then that of an
//! executable one ranking below it; a queued newcomer only ever displaces queued ones. Eviction
//! takes a sender's last transaction only, so no gap ever opens under a pending one. Errors carry
//! geth's messages.
mod order;
mod pool;

pub use order::disputes_first;

pub use pool::{AccountState, Config, Error, Mempool, PoolTx, Status};
