//! Validates, orders, replaces and evicts pending transactions.
//!
//! Transactions wait per sender in nonce order. Those whose nonces follow the sender's state nonce
//! without a gap are pending (executable); the rest are queued. Block building takes pending
//! transactions best tip first. The pool is bounded per sender and in total; when it is full, a new
//! transaction must outbid the cheapest evictable one. Errors carry geth's messages.
mod order;
mod pool;

pub use order::disputes_first;

pub use pool::{AccountState, Config, Error, Mempool, PoolTx, Status};
