//! The tandem CLI: one binary for every role.
mod bench;
mod bridge;
mod cli;
mod dev;
mod devnet;
mod explorer;
mod network;

use clap::{Parser, Subcommand};
use tandem_primitives::{BridgeParams, ChainConfig, Genesis};

/// tandem: a BFT proof-of-stake L1 and an optimistic rollup on top of it, side by side.
#[derive(Debug, Parser)]
#[command(name = "tandem", version, about, long_about = None, propagate_version = true)]
struct Cli {
    /// Log filter, e.g. `info` or `node=debug,rpc=trace` (RUST_LOG works too).
    #[arg(long, global = true, env = "TANDEM_LOG", default_value = "info")]
    log: String,
    /// Write logs as JSON lines.
    #[arg(long, global = true)]
    log_json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run a single-node dev chain with no consensus, like anvil: instant or interval mining,
    /// the standard dev accounts funded.
    Dev(dev::Args),
    /// Run a local BFT network: N validators in one process over authenticated p2p on loopback,
    /// JSON-RPC on 127.0.0.1:8545, the standard dev accounts funded.
    Devnet(devnet::Args),
    /// Write keys, a shared genesis and one config file per validator for a multi-machine network.
    Setup(Box<network::SetupArgs>),
    /// Run one validator of a network from its config file (see `tandem setup`).
    Node(network::NodeArgs),
    /// The L2 rollup: sequencer, verifier, proposer, challenger, status.
    #[command(subcommand)]
    L2(tandem_rollup::cli::L2Command),
    /// Measure: a load generator for any node, and L1 vs L2 side by side.
    Bench(bench::Args),
    /// Move ETH between L1 and L2: deposit, withdraw, a withdrawal's status, finalize it on L1.
    Bridge(bridge::Args),
    /// Serve the explorer: both layers side by side in a web page, over their public JSON-RPC.
    Explorer(explorer::Args),
}

/// The settlement rules an L1 genesis fixes for the L2 on it: the flags `tandem devnet` and
/// `tandem setup` share.
#[derive(Debug, Clone, Copy, clap::Args)]
pub(crate) struct BridgeArgs {
    /// Seconds of L1 time after which an L2 output root is final (withdrawals wait this long).
    #[arg(long, default_value_t = BridgeParams::dev().challenge_window, value_name = "SECONDS")]
    pub(crate) challenge_window: u64,
    /// L2 blocks between output roots.
    #[arg(long, default_value_t = BridgeParams::dev().output_interval, value_name = "BLOCKS",
          value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) output_interval: u64,
}

impl BridgeArgs {
    /// The dev L1 genesis, carrying the dev L2 and its genesis output, with these rules.
    pub(crate) fn dev_genesis(&self) -> Genesis {
        let params = BridgeParams {
            challenge_window: self.challenge_window,
            output_interval: self.output_interval,
            ..BridgeParams::dev()
        };
        tandem_execution::dev_genesis_with(ChainConfig::L1_DEV_CHAIN_ID, &params)
    }
}

fn init_logging(filter: &str, json: bool) {
    let filter = std::env::var("RUST_LOG").unwrap_or_else(|_| filter.to_string());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr);
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}

/// Raises the soft limit on open files to the hard one, as geth and reth do: Commonware's journals
/// and archives keep a file open per section (one per 1,024 blocks and per MiB of blocks), four
/// validators of a devnet share the process, and a soft limit of 1,024 would run out in days.
fn raise_open_file_limit() {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    if let (Some(current), Some(maximum)) = (limit.current, limit.maximum)
        && current < maximum
        && let Err(e) = setrlimit(
            Resource::Nofile,
            Rlimit {
                current: limit.maximum,
                ..limit
            },
        )
    {
        tracing::warn!(error = %e, "cannot raise the open-file limit");
    }
}

fn main() -> eyre::Result<()> {
    let cli = Cli::parse();
    init_logging(&cli.log, cli.log_json);
    raise_open_file_limit();
    match cli.command {
        Command::Dev(args) => cli::block_on(dev::run(args)),
        // Consensus brings its own (tokio-based) runtime.
        Command::Devnet(args) => devnet::run(args),
        Command::Setup(args) => network::setup(&args),
        Command::Node(args) => network::node(&args),
        Command::L2(command) => cli::block_on(async {
            if let Some(running) = tandem_rollup::cli::start(command).await? {
                cli::until_stopped().await?;
                running.shutdown().await;
            }
            Ok(())
        }),
        Command::Bench(args) => cli::block_on(bench::run(args)),
        Command::Bridge(args) => cli::block_on(bridge::run(args)),
        Command::Explorer(args) => cli::block_on(explorer::run(args)),
    }
}
