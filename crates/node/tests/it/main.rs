//! tandem-node over real sockets on 127.0.0.1: what its JSON-RPC and `/metrics` report.
mod devmethods;
mod figures;
