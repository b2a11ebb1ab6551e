//! `tandem dev`: one node, no consensus, anvil-like.
use alloy_primitives::Address;
use eyre::WrapErr;
use std::{net::SocketAddr, path::PathBuf, time::Duration};
use tandem_node::{Config, Mining};
use tandem_primitives::{ChainConfig, dev, genesis};
use tandem_storage::History;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// JSON-RPC port (HTTP and WebSocket).
    #[arg(long, short, default_value_t = 8545)]
    port: u16,
    /// JSON-RPC listen address.
    #[arg(long, default_value = "127.0.0.1")]
    host: std::net::IpAddr,
    /// Mine a block every this many seconds (fractions allowed) instead of on each transaction.
    #[arg(long, short = 'b', value_name = "SECONDS")]
    block_time: Option<f64>,
    /// Keep the chain in this directory across restarts (a fresh temporary directory otherwise).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
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
    /// Print the start-up summary as one JSON object on stdout, for scripts.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: Args) -> eyre::Result<()> {
    let genesis = match &args.genesis {
        Some(path) => genesis::load(path)?,
        None => tandem_execution::dev_genesis(args.chain_id),
    };
    let mining = match args.block_time {
        None => Mining::Instant,
        Some(s) if s.is_finite() && s > 0.0 => Mining::Interval(Duration::from_secs_f64(s)),
        Some(s) => eyre::bail!("--block-time must be a positive number of seconds, got {s}"),
    };
    // The temporary directory lives until the node stops, then is removed.
    let temp = match &args.data_dir {
        Some(_) => None,
        None => Some(tempfile::Builder::new().prefix("tandem-dev-").tempdir()?),
    };
    let data_dir = args.data_dir.clone().unwrap_or_else(|| {
        temp.as_ref()
            .map(|t| t.path().to_path_buf())
            .unwrap_or_default()
    });
    let config = Config {
        data_dir: data_dir.clone(),
        rpc_addr: SocketAddr::new(args.host, args.port),
        genesis: genesis.clone(),
        mining,
        beneficiary: args.fee_recipient,
        mempool: Default::default(),
        rpc_limits: Default::default(),
        history: if args.archive {
            History::Archive
        } else {
            History::Recent(args.history)
        },
        // Unlocked for eth_sendTransaction, as in anvil.
        dev_signers: dev::accounts().to_vec(),
    };
    let node = tandem_node::launch(config)
        .await
        .wrap_err("starting the dev node")?;
    print_banner(&args, &genesis, node.rpc_addr, &data_dir);
    crate::shutdown_signal().await?;
    eprintln!("\nShutting down...");
    node.shutdown().await;
    drop(temp);
    Ok(())
}

fn print_banner(
    args: &Args,
    genesis: &genesis::Genesis,
    rpc: SocketAddr,
    data_dir: &std::path::Path,
) {
    let dev_genesis = args.genesis.is_none();
    let accounts = if dev_genesis { dev::accounts() } else { &[] };
    if args.json {
        let summary = serde_json::json!({
            "rpc": format!("http://{rpc}"),
            "ws": format!("ws://{rpc}"),
            "chainId": genesis.config.chain_id,
            "dataDir": data_dir,
            "accounts": accounts.iter().map(|a| serde_json::json!({"address": a.address, "privateKey": a.secret_hex()})).collect::<Vec<_>>(),
            "mnemonic": dev_genesis.then_some(dev::DEV_MNEMONIC),
        });
        println!("{summary}");
        return;
    }
    println!(
        "tandem dev: a single-node L1 with no consensus (dev keys only: never use them for real funds)\n"
    );
    if dev_genesis {
        crate::print_dev_accounts();
    }
    println!("Chain ID:          {}", genesis.config.chain_id);
    println!("Gas limit:         {}", genesis.gas_limit);
    match args.block_time {
        Some(s) => println!("Mining:            every {s} s"),
        None => println!("Mining:            instant"),
    }
    match args.archive {
        true => println!("State history:     archive (every block)"),
        false => println!("State history:     last {} blocks", args.history),
    }
    println!("Data directory:    {}", data_dir.display());
    println!("\nListening on http://{rpc} and ws://{rpc}");
}
