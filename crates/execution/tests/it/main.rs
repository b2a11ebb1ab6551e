//! Integration tests of the block executor against real redb storage.
mod blocks;
mod budget;
mod chain;
mod fees;
mod l2;
mod stateless;
mod system;
