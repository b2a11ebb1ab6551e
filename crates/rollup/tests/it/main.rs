//! Integration tests of tandem-rollup.
mod adversary;
mod bridge;
mod codec;
mod derivation;
mod dispute;
mod fuzz;
mod messages;
mod workload;
