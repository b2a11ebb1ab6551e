//! Integration tests of tandem-state against real redb storage.
mod model;
mod proofs;
mod roots;
