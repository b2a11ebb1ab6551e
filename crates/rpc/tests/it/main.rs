//! tandem-rpc against a real server on 127.0.0.1: envelopes, limits and fuzzed requests.
mod envelope;
mod fuzz;
mod support;
