//! `tandem devnet`: N validators in one process, each with its own storage, agreeing over real
//! authenticated p2p on loopback, with JSON-RPC from the first one.
use eyre::WrapErr;
use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};
use tandem_node::network::{Devnet, launch_devnet};
use tandem_primitives::{ChainConfig, dev, system};
use tandem_rollup::node::{L2_HISTORY_BLOCKS, Stack, StackConfig, launch_stack};
use tandem_storage::History;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Number of validators (tolerates (N-1)/3 faulty ones).
    #[arg(long, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    validators: u16,
    /// JSON-RPC port (HTTP and WebSocket) of the first validator.
    #[arg(long, short, default_value_t = 8545)]
    port: u16,
    /// JSON-RPC listen address.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// p2p port of the first validator; validator i listens on this + i, on loopback.
    #[arg(long, default_value_t = 30_400)]
    p2p_port: u16,
    /// The least time between blocks, in seconds.
    #[arg(long, default_value_t = 0.25, value_name = "SECONDS")]
    block_time: f64,
    /// Produce blocks even when there is nothing to include.
    #[arg(long)]
    empty_blocks: bool,
    /// Keep the chains in this directory across restarts (a fresh temporary directory otherwise).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Blocks of state history kept for queries at past blocks.
    #[arg(long, value_name = "BLOCKS", default_value_t = History::DEFAULT_BLOCKS)]
    history: u64,
    /// JSON-RPC port of the L2 sequencer.
    #[arg(long, default_value_t = 9545)]
    l2_port: u16,
    /// JSON-RPC port of the L2 verifier.
    #[arg(long, default_value_t = 9546)]
    verifier_port: u16,
    /// Seal an L2 block every this many seconds.
    #[arg(long, default_value_t = 0.25, value_name = "SECONDS")]
    l2_block_time: f64,
    /// Run only the L1 (no L2 sequencer, batcher, verifier or proposer).
    #[arg(long)]
    no_l2: bool,
    #[command(flatten)]
    bridge: crate::BridgeArgs,
    /// Port of the explorer (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    explorer_port: u16,
    /// Do not start the explorer.
    #[arg(long)]
    no_explorer: bool,
    /// Do not start the output proposer (run `tandem l2 proposer` yourself; the challenger still runs).
    #[arg(long)]
    no_proposer: bool,
    /// Testing only: the batcher posts each L2 block that has a transaction to
    /// 0x000000000000000000000000000000000000fa17 with a timestamp that breaks the drift rule, so
    /// L2 runs it without its transactions (a faulty batcher, for `tandem l2 verifier --fault
    /// invalid-batch`). The sequencer's own chain then differs from L2's from that block on.
    #[arg(long)]
    faulty_batcher: bool,
    /// Print the start-up summary as one JSON object on stdout, for scripts.
    #[arg(long)]
    json: bool,
}

pub(crate) fn run(args: Args) -> eyre::Result<()> {
    if !(args.block_time.is_finite() && args.block_time >= 0.0) {
        eyre::bail!(
            "--block-time must be a non-negative number of seconds, got {}",
            args.block_time
        );
    }
    let temp = match &args.data_dir {
        Some(_) => None,
        None => Some(
            tempfile::Builder::new()
                .prefix("tandem-devnet-")
                .tempdir()?,
        ),
    };
    let data_dir = args.data_dir.clone().unwrap_or_else(|| {
        temp.as_ref()
            .map(|t| t.path().to_path_buf())
            .unwrap_or_default()
    });
    let devnet = Devnet {
        validators: args.validators,
        rpc_addr: SocketAddr::new(args.host, args.port),
        p2p_port: args.p2p_port,
        block_time: Duration::from_secs_f64(args.block_time),
        empty_blocks: args.empty_blocks,
        data_dir: data_dir.clone(),
        history: History::Recent(args.history),
        genesis: args.bridge.dev_genesis(),
    };
    let stack = StackConfig {
        data_dir: data_dir.clone(),
        host: args.host,
        sequencer_port: args.l2_port,
        verifier_port: args.verifier_port,
        block_time: crate::l2::block_time(args.l2_block_time)?,
        history: History::Recent(args.history.max(L2_HISTORY_BLOCKS)),
        proposer: !args.no_proposer,
        faulty_batcher: args.faulty_batcher,
    };
    let consensus_dir = data_dir.join("consensus");
    std::fs::create_dir_all(&consensus_dir)?;
    tandem_consensus::run(&consensus_dir, |runtime| async move {
        // Dropping the validators stops them: keep them until shutdown.
        let (rpc, validators) = launch_devnet(&runtime, &devnet)
            .await
            .wrap_err("starting the validators")?;
        let l2 = match args.no_l2 {
            true => None,
            false => Some(
                launch_stack(&format!("http://{rpc}"), &stack)
                    .await
                    .wrap_err("starting the L2")?,
            ),
        };
        let explorer = match args.no_explorer {
            true => None,
            false => Some(
                tandem_explorer::serve(tandem_explorer::ExplorerConfig {
                    l1_rpc: format!("http://{rpc}"),
                    l2_rpc: l2
                        .as_ref()
                        .map(|l2| format!("http://{}", l2.sequencer.rpc_addr)),
                    listen: SocketAddr::new(args.host, args.explorer_port),
                })
                .await
                .wrap_err("starting the explorer")?,
            ),
        };
        print_banner(
            &args,
            rpc,
            l2.as_ref(),
            explorer.as_ref().map(|e| e.addr),
            &data_dir,
        );
        crate::shutdown_signal().await?;
        eprintln!("\nShutting down...");
        if let Some(explorer) = explorer {
            explorer.shutdown().await;
        }
        if let Some(l2) = l2 {
            l2.shutdown().await;
        }
        drop(validators);
        Ok::<_, eyre::Report>(())
    })?;
    drop(temp);
    Ok(())
}

fn print_banner(
    args: &Args,
    rpc: SocketAddr,
    l2: Option<&Stack>,
    explorer: Option<SocketAddr>,
    data_dir: &std::path::Path,
) {
    let accounts = dev::accounts();
    let endpoint = |addr: SocketAddr| serde_json::json!({ "rpc": format!("http://{addr}"), "ws": format!("ws://{addr}") });
    if args.json {
        let summary = serde_json::json!({
            "l2": l2.map(|l2| {
                let mut e = endpoint(l2.sequencer.rpc_addr);
                e["chainId"] = ChainConfig::L2_DEV_CHAIN_ID.into();
                e
            }),
            "l2Verifier": l2.map(|l2| endpoint(l2.verifier.rpc_addr)),
            "bridge": l2.map(|_| serde_json::json!({
                "portal": system::PORTAL,
                "outputOracle": system::OUTPUT_ORACLE,
                "batchInbox": system::BATCH_INBOX,
                "l2ToL1MessagePasser": system::L2_TO_L1_MESSAGE_PASSER,
                "challengeWindow": args.bridge.challenge_window,
                "outputInterval": args.bridge.output_interval,
                "proposer": dev::accounts()[dev::DEV_PROPOSER].address,
                "challenger": dev::accounts()[dev::DEV_CHALLENGER].address,
                "disputeGame": system::DISPUTE_GAME,
            })),
            "rpc": format!("http://{rpc}"),
            "ws": format!("ws://{rpc}"),
            "explorer": explorer.map(|addr| format!("http://{addr}")),
            "chainId": ChainConfig::L1_DEV_CHAIN_ID,
            "validators": args.validators,
            "dataDir": data_dir,
            "accounts": accounts.iter().map(|a| serde_json::json!({"address": a.address, "privateKey": a.secret_hex()})).collect::<Vec<_>>(),
            "mnemonic": dev::DEV_MNEMONIC,
        });
        println!("{summary}");
        return;
    }
    println!(
        "tandem devnet: {} BFT validators (Commonware simplex) on loopback (dev keys only)\n",
        args.validators
    );
    crate::print_dev_accounts();
    println!("Chain ID:          {}", ChainConfig::L1_DEV_CHAIN_ID);
    println!(
        "Block time:        at least {} s, final on commit",
        args.block_time
    );
    println!(
        "p2p:               127.0.0.1:{}..{}",
        args.p2p_port,
        args.p2p_port + args.validators - 1
    );
    println!("Data directory:    {}", data_dir.display());
    println!(
        "\nL1 (chain {}) on http://{rpc} and ws://{rpc}",
        ChainConfig::L1_DEV_CHAIN_ID
    );
    if let Some(l2) = l2 {
        let (s, v) = (l2.sequencer.rpc_addr, l2.verifier.rpc_addr);
        println!(
            "L2 (chain {}) sequencer on http://{s} and ws://{s}, blocks every {} s, batches to L1 every 2 s",
            ChainConfig::L2_DEV_CHAIN_ID,
            args.l2_block_time
        );
        println!("L2 verifier (from L1 data alone) on http://{v}");
        if let Some(addr) = explorer {
            println!("Explorer:          http://{addr}");
        }
        println!(
            "Bridge:            Portal {} and OutputOracle {} on L1; an output every {} L2 blocks, final after {} s",
            system::PORTAL,
            system::OUTPUT_ORACLE,
            args.bridge.output_interval,
            args.bridge.challenge_window
        );
        println!(
            "Fault proofs:      a challenger ({}) removes wrong outputs through the DisputeGame {}",
            dev::accounts()[dev::DEV_CHALLENGER].address,
            system::DISPUTE_GAME
        );
    }
}
