//! Integration tests of tandem-rollup.
mod codec;
mod workload;
