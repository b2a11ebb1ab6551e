//! `tandem bench ...`: load any Ethereum JSON-RPC node, and compare tandem's two layers.
use eyre::WrapErr;
use std::{io::IsTerminal, path::PathBuf};
use tandem_bench::{CompareConfig, LoadConfig, Mix, compare, load, report, rpc};

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: BenchCommand,
}

#[derive(Debug, clap::Subcommand)]
enum BenchCommand {
    /// Send a workload to any Ethereum JSON-RPC node and measure throughput, latency and fees.
    Load(LoadArgs),
    /// Run the same workload on L1 and L2 (and a peer) and write report.json, report.md and report.html.
    Compare(CompareArgs),
}

#[derive(Debug, clap::Args)]
#[command(mut_arg("private_key", |a| a.env("TANDEM_BENCH_KEY")
    .help("The key that funds the fresh accounts (hex)")))]
struct LoadArgs {
    /// The node's JSON-RPC URL: http:// (keep-alive, batched requests) or ws:// (one WebSocket).
    #[arg(long, default_value = "http://127.0.0.1:8545")]
    rpc: String,
    /// Fresh accounts that send the workload, round robin.
    #[arg(long, default_value_t = 32)]
    accounts: usize,
    /// Transactions to send.
    #[arg(long, default_value_t = 2_000, conflicts_with = "duration")]
    txs: usize,
    /// Send for this many seconds at --rate (instead of --txs).
    #[arg(long, value_name = "SECONDS", requires = "rate")]
    duration: Option<f64>,
    /// Transactions per second, open loop.
    #[arg(long, value_name = "TPS", conflicts_with = "max")]
    rate: Option<f64>,
    /// As fast as the node takes them, closed loop (the default without --rate).
    #[arg(long)]
    max: bool,
    /// transfer, erc20 or mixed (70/30).
    #[arg(long, default_value = "transfer")]
    mix: Mix,
    /// Send with eth_sendRawTransactionSync and time each answer (an L2 sequencer's preconfirmation).
    #[arg(long, conflicts_with = "receipts")]
    sync: bool,
    /// How the client learns its transactions are in: `blocks` (follow the blocks, send in
    /// batches: the most the node takes) or `poll` (as ethers' tx.wait() and viem do: one lane per
    /// account sends one request each, and every transaction's receipt is polled until it appears).
    #[arg(long, default_value = "blocks", value_name = "MODE")]
    receipts: load::Receipts,
    /// With --receipts poll: milliseconds between two polls of a missing receipt.
    #[arg(long, default_value_t = 100, value_name = "MS")]
    poll_ms: u64,
    /// Who funds the fresh accounts (dev account 0 by default).
    #[command(flatten)]
    funder: tandem_client::cli::KeyArgs,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct CompareArgs {
    /// A short run (1,500 transactions per layer) that finishes in minutes.
    #[arg(long)]
    quick: bool,
    /// Transactions per layer (default 10,000, or 1,500 with --quick).
    #[arg(long)]
    txs: Option<usize>,
    /// Transactions of the client pattern (every receipt polled) per node.
    #[arg(long, default_value_t = tandem_bench::compare::CLIENT_TXS, value_name = "N")]
    client_txs: usize,
    /// Where the reports go.
    #[arg(long, default_value = "bench-report")]
    out: PathBuf,
    /// Attach to this L1 instead of starting a devnet (needs --l2-rpc too).
    #[arg(long, requires = "l2_rpc")]
    l1_rpc: Option<String>,
    /// Attach to this L2 sequencer.
    #[arg(long, requires = "l1_rpc")]
    l2_rpc: Option<String>,
    /// A third column: the same workload against this node (e.g. anvil), in the same run, and the
    /// client pattern (every receipt polled) against it next to a `tandem dev` node, those two
    /// before the devnet starts so it does not share the cores with them.
    #[arg(long, value_name = "URL")]
    peer: Option<String>,
    /// The `tandem dev` node for the client pattern's comparison with the peer (default with
    /// --peer: one started here, mining as `tandem dev` does by default, or every
    /// --dev-block-time seconds).
    #[arg(long, value_name = "URL")]
    dev: Option<String>,
    /// Block time of the `tandem dev` node started for --peer, in seconds (to match a peer run
    /// with e.g. `anvil --block-time 1`); mining on each transaction without it.
    #[arg(long, value_name = "SECONDS")]
    dev_block_time: Option<f64>,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: Args) -> eyre::Result<()> {
    match args.command {
        BenchCommand::Load(args) => load_command(args).await,
        BenchCommand::Compare(args) => compare_command(args).await,
    }
}

async fn load_command(args: LoadArgs) -> eyre::Result<()> {
    let funder = args.funder.key(Some(0))?;
    let txs = match (args.duration, args.rate) {
        (Some(seconds), Some(rate)) => (seconds * rate).ceil() as usize,
        _ => args.txs,
    };
    let config = LoadConfig {
        accounts: args.accounts,
        txs,
        rate: args.rate,
        mix: args.mix,
        funder,
        seed: load::unix_ms(std::time::Instant::now()) as u64,
        sync: args.sync,
        receipts: args.receipts,
        poll_interval: std::time::Duration::from_millis(args.poll_ms),
        progress: !args.json && std::io::stderr().is_terminal(),
    };
    let rpc = rpc::connect(&args.rpc).await?;
    let report = load::run(&rpc, &config).await?;
    Ok(tandem_client::cli::report(args.json, &report)?)
}

async fn compare_command(args: CompareArgs) -> eyre::Result<()> {
    let progress = !args.json && std::io::stderr().is_terminal();
    // The client pattern on `tandem dev` and the peer first, before a devnet shares the cores.
    let mut client = std::collections::BTreeMap::new();
    if let Some(peer) = &args.peer {
        let (dev, dev_rpc) = match &args.dev {
            Some(url) => (None, url.clone()),
            None => {
                let (dev, url) = tandem_bench::devnet::spawn_dev(
                    &std::env::current_exe()?,
                    args.dev_block_time,
                )?;
                eprintln!("started tandem dev: {url}");
                (Some(dev), url)
            }
        };
        let nodes = [("dev", dev_rpc.as_str()), ("peer", peer.as_str())];
        let seed = load::unix_ms(std::time::Instant::now()) as u64;
        client = compare::client_pattern(&nodes, args.client_txs, seed, progress).await;
        drop(dev);
    }
    let (devnet, l1_rpc, l2_rpc) = match (&args.l1_rpc, &args.l2_rpc) {
        (Some(l1), Some(l2)) => (None, l1.clone(), l2.clone()),
        _ => {
            let (devnet, l1, l2) = tandem_bench::devnet::spawn(&std::env::current_exe()?)?;
            eprintln!("started a devnet: L1 {l1}, L2 {l2}");
            (Some(devnet), l1, l2)
        }
    };
    let config = CompareConfig {
        l1_rpc,
        l2_rpc,
        peer_rpc: args.peer.clone(),
        client,
        txs: args.txs.unwrap_or(if args.quick { 1_500 } else { 10_000 }),
        client_txs: args.client_txs,
        accounts: 32,
        progress,
    };
    let result = compare::run(&config).await;
    drop(devnet);
    let report = result?;
    report::write(&report, &args.out)
        .wrap_err_with(|| format!("writing the reports to {}", args.out.display()))?;
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report::table(&report));
        println!("{}", report::client_table(&report));
        println!(
            "Reports: {0}/report.json, {0}/report.md, {0}/report.html",
            args.out.display()
        );
    }
    Ok(())
}
