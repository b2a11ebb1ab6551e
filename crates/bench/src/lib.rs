//! Measurements of tandem: a load generator that works against any Ethereum JSON-RPC node, and
//! the side-by-side comparison of L1 and L2 (`tandem bench compare`) with its reports.
pub mod compare;
pub mod devnet;
pub mod load;
pub mod report;
pub mod rpc;
pub mod stats;

pub use compare::{CompareConfig, Report};
pub use load::{LoadConfig, LoadReport, Mix};
pub use tandem_client::Client;
