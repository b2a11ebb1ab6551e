//! Integration tests of tandem-rollup.
mod codec;
mod derivation;
mod workload;
