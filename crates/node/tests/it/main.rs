//! tandem-node over real sockets on 127.0.0.1: what its JSON-RPC and `/metrics` report.
mod devmethods;
mod figures;

/// A dev node's configuration over `dir`: instant mining, chain 900, the dev accounts unlocked.
pub(crate) fn dev_config(dir: &std::path::Path) -> tandem_node::Config {
    tandem_node::Config {
        data_dir: dir.to_path_buf(),
        rpc_addr: "127.0.0.1:0".parse().unwrap(),
        genesis: tandem_execution::dev_genesis(900),
        mining: tandem_node::Mining::Instant,
        beneficiary: tandem_primitives::Address::ZERO,
        mempool: tandem_node::PoolConfig::default(),
        rpc_limits: Default::default(),
        history: Default::default(),
        dev_signers: tandem_primitives::dev::accounts().to_vec(),
    }
}
