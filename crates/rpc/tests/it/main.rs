//! tandem-rpc against a real server on 127.0.0.1: envelopes over HTTP and WebSocket, limits, fuzzed
//! requests, and the figures (`net_peerCount`, `eth_syncing`, `/metrics`).
mod envelope;
mod fuzz;
mod simulate;
mod status;
mod support;
mod trace;
mod ws;
