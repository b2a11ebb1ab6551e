//! `tandem l2 ...`: the rollup's processes (sequencer, verifier) and its status.
use crate::cli::{self, DataDir};
use eyre::WrapErr;
use std::{net::SocketAddr, path::PathBuf, time::Duration};
use tandem_client::started::Started;
use tandem_primitives::{dev, genesis};
use tandem_rollup::{
    batcher::BatcherConfig,
    node::{L2_HISTORY_BLOCKS, L2Config, L2Handle, launch_sequencer, launch_verifier},
};
use tandem_storage::History;

#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(subcommand)]
    command: L2Command,
}

#[derive(Debug, clap::Subcommand)]
enum L2Command {
    /// Run the sequencer: executes transactions as they arrive (preconfirmations), seals a block
    /// every --block-time, and posts batches to L1.
    Sequencer(SequencerArgs),
    /// Run a verifier: rebuilds every L2 block from finalized L1 data alone and serves it.
    Verifier(VerifierArgs),
    /// Run a proposer: posts the output root of every N-th safe L2 block to L1's OutputOracle,
    /// with a bond. Permissionless: anyone may run one.
    Proposer(ProposerArgs),
    /// Run a challenger: a verifier that checks every output posted to L1 against its own chain
    /// and proves the first wrong block of a wrong one to the DisputeGame in one L1 transaction,
    /// with a bond. Permissionless: anyone may run one.
    Challenger(ChallengerArgs),
    /// Show an L2 node's heads, pending batch data and last batch.
    Status(StatusArgs),
}

#[derive(Debug, clap::Args)]
#[command(mut_arg("l2_rpc", |a| a.default_value("http://127.0.0.1:9546")
    .help("The L2 node whose outputs to post (best a verifier: it derives from L1 alone)")))]
#[command(mut_arg("private_key", |a| a.env("TANDEM_PROPOSER_KEY")
    .help("The proposer's private key (hex); it pays the bonds")))]
struct ProposerArgs {
    #[command(flatten)]
    layers: cli::Layers,
    #[command(flatten)]
    signer: cli::KeyArgs,
    /// Testing only: post every output wrong this way (state-root, storage-root or block-hash;
    /// valid-after-wrong posts a wrong output and the right next one together), to watch a
    /// challenger remove it and take the bond.
    #[arg(long, value_name = "FAULT")]
    fault: Option<tandem_rollup::fault::OutputFault>,
}

#[derive(Debug, clap::Args)]
#[command(mut_arg("port", |a| a.default_value("9547")
    .help("JSON-RPC port (HTTP and WebSocket) of the challenger's own verifier")))]
#[command(mut_arg("private_key", |a| a.env("TANDEM_CHALLENGER_KEY")
    .help("The challenger's private key (hex); it pays the bonds of its challenges")))]
struct ChallengerArgs {
    #[command(flatten)]
    common: Common,
    #[command(flatten)]
    signer: cli::KeyArgs,
}

/// Options every L2 node shares.
#[derive(Debug, clap::Args)]
struct Common {
    /// L1's JSON-RPC URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8545")]
    l1_rpc: String,
    /// JSON-RPC port (HTTP and WebSocket).
    #[arg(long, short, default_value_t = 9545)]
    port: u16,
    #[command(flatten)]
    node: cli::NodeArgs,
    /// A geth-style L2 genesis file instead of the dev L2 genesis (chain 901, dev accounts funded).
    #[arg(long, value_name = "FILE")]
    genesis: Option<PathBuf>,
    /// Blocks of state history kept for queries at past blocks (and withdrawal proofs, which
    /// prove against the state of a final output's block: keep more than the challenge window).
    #[arg(long, value_name = "BLOCKS", default_value_t = L2_HISTORY_BLOCKS)]
    history: u64,
}

#[derive(Debug, clap::Args)]
struct SequencerArgs {
    #[command(flatten)]
    common: Common,
    /// Seal a block every this many seconds.
    #[arg(long, default_value = "0.25", value_name = "SECONDS", value_parser = cli::positive_seconds)]
    block_time: Duration,
    /// The registered batcher's private key (hex). With the dev genesis, the dev batcher's by default.
    #[arg(
        long,
        env = "TANDEM_BATCHER_KEY",
        value_name = "HEX",
        hide_env_values = true
    )]
    batcher_key: Option<String>,
    /// Do not post batches (another process does).
    #[arg(long)]
    no_batcher: bool,
    /// Never include pooled transactions from this sender (repeatable): a censoring sequencer, to
    /// see the Portal's forced inclusion get around it. Testing only.
    #[arg(long, value_name = "ADDRESS")]
    ignore_address: Vec<tandem_primitives::Address>,
}

#[derive(Debug, clap::Args)]
#[command(mut_arg("port", |a| a.default_value("9546")))]
struct VerifierArgs {
    #[command(flatten)]
    common: Common,
    /// Testing only: derive blocks wrong this way, a faulty node: point a proposer at it to watch
    /// a challenger remove its outputs. skip-deposits, reorder-deposits, drop-transaction,
    /// extra-transaction, gas-used, forged-withdrawal, invalid-batch (keeps the transactions of a
    /// batch block that breaks a rule), timestamp, l1-fee or l1-origin.
    #[arg(long, value_name = "FAULT")]
    fault: Option<tandem_rollup::fault::DerivationFault>,
}

#[derive(Debug, clap::Args)]
struct StatusArgs {
    /// The L2 node's JSON-RPC URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9545")]
    rpc: String,
    /// Print the status as JSON.
    #[arg(long)]
    json: bool,
}

pub(crate) async fn run(args: Args) -> eyre::Result<()> {
    match args.command {
        L2Command::Sequencer(args) => sequencer(args).await,
        L2Command::Verifier(args) => verifier(args).await,
        L2Command::Proposer(args) => proposer(args).await,
        L2Command::Challenger(args) => challenger(args).await,
        L2Command::Status(args) => status(args).await,
    }
}

/// Starts the L2 node `role` with `launch` on the flags every node shares, and announces it. The
/// directory lives as long as the node.
async fn start<F>(
    role: &str,
    common: &Common,
    launch: impl FnOnce(L2Config) -> F,
) -> eyre::Result<(L2Handle, DataDir)>
where
    F: Future<Output = tandem_rollup::Result<L2Handle>>,
{
    let dir = DataDir::new(
        common.node.data_dir.as_deref(),
        &format!("tandem-l2-{role}-"),
    )?;
    let genesis = common.genesis.as_deref().map(genesis::load).transpose()?;
    let rpc_addr = SocketAddr::new(common.node.host, common.port);
    let history = History::Recent(common.history);
    let config = L2Config::new(dir.path.clone(), rpc_addr, &common.l1_rpc, genesis, history);
    let node = launch(config)
        .await
        .wrap_err_with(|| format!("starting the L2 {role}"))?;
    let mut started = Started::node(node.rpc_addr, node.backend.chain.chain_id)
        .with_accounts(&node.backend.dev_signers);
    started.data_dir = Some(dir.path.clone());
    started.role = Some(role.into());
    started.l1_rpc = Some(common.l1_rpc.clone());
    let title = format!("tandem l2 {role} on L1 {}", common.l1_rpc);
    cli::announce(common.node.json, &started, &title);
    Ok((node, dir))
}

async fn sequencer(args: SequencerArgs) -> eyre::Result<()> {
    let dev_batcher = args.common.genesis.is_none().then_some(dev::DEV_BATCHER);
    let batcher = match args.no_batcher {
        true => None,
        false => Some(cli::key(
            "--batcher-key",
            args.batcher_key.as_deref(),
            None,
            dev_batcher,
        )?),
    };
    let (node, _dir) = start("sequencer", &args.common, |mut config| {
        config.ignore = args.ignore_address.clone();
        launch_sequencer(config, args.block_time, batcher.map(BatcherConfig::new))
    })
    .await?;
    cli::until_stopped().await?;
    node.shutdown().await;
    Ok(())
}

async fn verifier(args: VerifierArgs) -> eyre::Result<()> {
    let (node, _dir) = start("verifier", &args.common, |mut config| {
        config.fault = args.fault;
        launch_verifier(config)
    })
    .await?;
    cli::until_stopped().await?;
    node.shutdown().await;
    Ok(())
}

async fn proposer(args: ProposerArgs) -> eyre::Result<()> {
    let key = args.signer.key(None)?;
    let (address, l) = (key.address, &args.layers);
    let proposer = tandem_rollup::node::launch_proposer(&l.l1_rpc, &l.l2_rpc, key, args.fault)?;
    println!(
        "tandem l2 proposer {address}: outputs of {} to L1 {}",
        l.l2_rpc, l.l1_rpc
    );
    cli::until_stopped().await?;
    proposer.shutdown().await;
    Ok(())
}

async fn challenger(args: ChallengerArgs) -> eyre::Result<()> {
    let key = args.signer.key(None)?;
    let address = key.address;
    let (node, _dir) = start("challenger", &args.common, launch_verifier).await?;
    let challenger = tandem_rollup::node::launch_challenger(&node, &args.common.l1_rpc, key)?;
    if !args.common.node.json {
        println!("Challenging wrong outputs on L1 as {address}");
    }
    cli::until_stopped().await?;
    challenger.shutdown().await;
    node.shutdown().await;
    Ok(())
}

async fn status(args: StatusArgs) -> eyre::Result<()> {
    let options = tandem_client::Options {
        timeout: Duration::from_secs(10),
        ..Default::default()
    };
    let client = tandem_client::Client::http(&args.rpc, options)?;
    let status: tandem_client::types::RollupStatus = client
        .request_json("tandem_rollupStatus", ())
        .await
        .wrap_err_with(|| format!("asking {} for tandem_rollupStatus", args.rpc))?;
    cli::report(args.json, &status)
}
