//! Integration tests of tandem-rollup.
mod bridge;
mod codec;
mod derivation;
mod dispute;
mod workload;
