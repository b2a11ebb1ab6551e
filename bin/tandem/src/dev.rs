//! `tandem dev`: one node, no consensus, anvil-like.
use crate::cli;
use alloy_primitives::Address;
use eyre::WrapErr;
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};
use tandem_client::cli::{self as flags, DataDir};
use tandem_client::started::Started;
use tandem_node::{Config, Mining};
use tandem_primitives::{ChainConfig, dev, genesis};
use tandem_storage::History;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// JSON-RPC port (HTTP and WebSocket).
    #[arg(long, short, default_value_t = 8545)]
    port: u16,
    #[command(flatten)]
    node: flags::NodeArgs,
    /// Mine a block every this many seconds (fractions allowed) instead of on each transaction.
    #[arg(long, short = 'b', value_name = "SECONDS", value_parser = flags::positive_seconds)]
    block_time: Option<Duration>,
    /// A geth-style genesis file (config.chainId, gasLimit, baseFeePerGas, alloc) instead of the dev genesis.
    #[arg(long, value_name = "FILE")]
    genesis: Option<PathBuf>,
    /// Chain id of the dev genesis.
    #[arg(long, default_value_t = ChainConfig::L1_DEV_CHAIN_ID)]
    chain_id: u64,
    /// Address that receives priority fees.
    #[arg(long, default_value_t = Address::ZERO)]
    fee_recipient: Address,
    /// Keep the state of every block (by default only the last --history blocks stay readable).
    #[arg(long, conflicts_with = "history")]
    archive: bool,
    /// Blocks of state history kept for eth_call, eth_getBalance, eth_getProof and friends at past blocks.
    #[arg(long, value_name = "BLOCKS", default_value_t = History::DEFAULT_BLOCKS)]
    history: u64,
}

pub(crate) async fn run(args: Args) -> eyre::Result<()> {
    let genesis = match &args.genesis {
        Some(path) => genesis::load(path)?,
        None => tandem_execution::dev_genesis(args.chain_id),
    };
    // The temporary directory lives until the node stops, then is removed.
    let dir = DataDir::new(args.node.data_dir.as_deref(), "tandem-dev-")?;
    let config = Config {
        data_dir: dir.path.clone(),
        rpc_addr: SocketAddr::new(args.node.host, args.port),
        genesis: genesis.clone(),
        mining: args.block_time.map_or(Mining::Instant, Mining::Interval),
        beneficiary: args.fee_recipient,
        // A test's burst from one account is taken whole, as anvil takes it.
        mempool: tandem_node::PoolConfig::default(),
        rpc_limits: Default::default(),
        history: match args.archive {
            true => History::Archive,
            false => History::Recent(args.history),
        },
        // Unlocked for eth_sendTransaction, as in anvil.
        dev_signers: dev::accounts().to_vec(),
    };
    let node = tandem_node::launch(config)
        .await
        .wrap_err("starting the dev node")?;
    print_banner(&args, &genesis, node.rpc_addr, &dir.path);
    cli::until_stopped().await?;
    node.shutdown().await;
    Ok(())
}

fn print_banner(args: &Args, genesis: &genesis::Genesis, rpc: SocketAddr, data_dir: &Path) {
    let dev_genesis = args.genesis.is_none();
    let accounts = if dev_genesis { dev::accounts() } else { &[] };
    let mut started = Started::node(rpc, genesis.config.chain_id).with_accounts(accounts);
    started.data_dir = Some(data_dir.into());
    started.mnemonic = dev_genesis.then(|| dev::DEV_MNEMONIC.into());
    let mining = match args.block_time {
        Some(every) => format!("every {} s", every.as_secs_f64()),
        None => "instant".into(),
    };
    let history = match args.archive {
        true => "archive (every block)".into(),
        false => format!("last {} blocks", args.history),
    };
    started.details = vec![
        format!("Gas limit:         {}", genesis.gas_limit),
        format!("Mining:            {mining}"),
        format!("State history:     {history}"),
    ];
    let title = "tandem dev: a single-node L1 with no consensus (dev keys only: never use them for real funds)";
    flags::announce(args.node.json, &started, title);
}
