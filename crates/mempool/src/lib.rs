//! Validates, orders, replaces and evicts pending transactions.
//!
//! Transactions wait per sender in nonce order. Those whose nonces follow the sender's state nonce
//! without a gap are pending (executable); the rest are queued. Block building takes pending
//! transactions best tip first. A transaction's cost (gas × fee cap + value) is checked arithmetic:
//! one that does not fit is refused, and a sender's pooled transactions must be payable together.
//! The pool is bounded per sender and in total; when it is full, a new transaction must outbid the
//! cheapest evictable one. Errors carry geth's messages.
mod pool;

pub use pool::{AccountState, Config, Error, Mempool, PoolTx, Status};
