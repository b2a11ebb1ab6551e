//! Integration tests of tandem-mempool through its public API, with real signed transactions.
mod adversary;
mod shared;
