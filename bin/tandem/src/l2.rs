//! `tandem l2 ...`: the rollup's processes (sequencer, verifier) and its status.
use eyre::WrapErr;
use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};
use tandem_primitives::{B256, dev, genesis};
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
struct ProposerArgs {
    /// L1's JSON-RPC URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8545")]
    l1_rpc: String,
    /// The L2 node whose outputs to post (best a verifier: it derives from L1 alone).
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9546")]
    l2_rpc: String,
    /// The proposer's private key (hex); it pays the bonds.
    #[arg(
        long,
        env = "TANDEM_PROPOSER_KEY",
        value_name = "HEX",
        hide_env_values = true
    )]
    private_key: Option<String>,
    /// Use dev account N of the standard dev mnemonic instead (dev chains only).
    #[arg(long, value_name = "N", conflicts_with = "private_key")]
    mnemonic_index: Option<usize>,
    /// Testing only: post every output wrong this way (state-root, storage-root or block-hash;
    /// valid-after-wrong posts a wrong output and the right next one together), to watch a
    /// challenger remove it and take the bond.
    #[arg(long, value_name = "FAULT")]
    fault: Option<tandem_rollup::fault::OutputFault>,
}

#[derive(Debug, clap::Args)]
struct ChallengerArgs {
    #[command(flatten)]
    common: Common,
    /// JSON-RPC port (HTTP and WebSocket) of the challenger's own verifier.
    #[arg(long, short, default_value_t = 9547)]
    port: u16,
    /// The challenger's private key (hex); it pays the bonds of its challenges.
    #[arg(
        long,
        env = "TANDEM_CHALLENGER_KEY",
        value_name = "HEX",
        hide_env_values = true
    )]
    private_key: Option<String>,
    /// Use dev account N of the standard dev mnemonic instead (dev chains only).
    #[arg(long, value_name = "N", conflicts_with = "private_key")]
    mnemonic_index: Option<usize>,
}

/// Options every L2 node shares.
#[derive(Debug, clap::Args)]
struct Common {
    /// L1's JSON-RPC URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8545")]
    l1_rpc: String,
    /// JSON-RPC listen address.
    #[arg(long, default_value = "127.0.0.1")]
    host: IpAddr,
    /// Keep the chain in this directory across restarts (a fresh temporary directory otherwise).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// A geth-style L2 genesis file instead of the dev L2 genesis (chain 901, dev accounts funded).
    #[arg(long, value_name = "FILE")]
    genesis: Option<PathBuf>,
    /// Blocks of state history kept for queries at past blocks (and withdrawal proofs, which
    /// prove against the state of a final output's block: keep more than the challenge window).
    #[arg(long, value_name = "BLOCKS", default_value_t = L2_HISTORY_BLOCKS)]
    history: u64,
    /// Print the start-up summary as one JSON object on stdout, for scripts.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct SequencerArgs {
    #[command(flatten)]
    common: Common,
    /// JSON-RPC port (HTTP and WebSocket).
    #[arg(long, short, default_value_t = 9545)]
    port: u16,
    /// Seal a block every this many seconds.
    #[arg(long, default_value_t = 0.25, value_name = "SECONDS")]
    block_time: f64,
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
struct VerifierArgs {
    #[command(flatten)]
    common: Common,
    /// JSON-RPC port (HTTP and WebSocket).
    #[arg(long, short, default_value_t = 9546)]
    port: u16,
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

/// A node's data directory: the given one, or a temporary one removed when the node stops.
fn data_dir(
    given: &Option<PathBuf>,
    prefix: &str,
) -> eyre::Result<(PathBuf, Option<tempfile::TempDir>)> {
    Ok(match given {
        Some(dir) => (dir.clone(), None),
        None => {
            let temp = tempfile::Builder::new().prefix(prefix).tempdir()?;
            (temp.path().to_path_buf(), Some(temp))
        }
    })
}

fn config(common: &Common, port: u16, data_dir: PathBuf) -> eyre::Result<L2Config> {
    let dev_genesis = common.genesis.is_none();
    Ok(L2Config {
        data_dir,
        rpc_addr: SocketAddr::new(common.host, port),
        l1_rpc: common.l1_rpc.clone(),
        genesis: match &common.genesis {
            Some(path) => genesis::load(path)?,
            None => genesis::dev_l2_genesis(),
        },
        mempool: Default::default(),
        rpc_limits: Default::default(),
        history: History::Recent(common.history),
        dev_signers: if dev_genesis {
            dev::accounts().to_vec()
        } else {
            Vec::new()
        },
        ignore: Vec::new(),
        fault: None,
    })
}

/// The batcher's key: given, or the dev batcher's with the dev genesis.
pub(crate) fn batcher_key(given: Option<&str>, dev_genesis: bool) -> eyre::Result<dev::DevAccount> {
    match given {
        Some(hex) => {
            let secret: B256 = hex
                .trim()
                .parse()
                .wrap_err("--batcher-key must be 32 bytes of hex")?;
            dev::DevAccount::from_secret(secret)
                .ok_or_else(|| eyre::eyre!("--batcher-key is not a valid secp256k1 key"))
        }
        None if dev_genesis => Ok(dev::accounts()[dev::DEV_BATCHER].clone()),
        None => {
            eyre::bail!("--batcher-key is required with a custom genesis (or pass --no-batcher)")
        }
    }
}

pub(crate) fn block_time(seconds: f64) -> eyre::Result<Duration> {
    if !(seconds.is_finite() && seconds > 0.0) {
        eyre::bail!("--block-time must be a positive number of seconds, got {seconds}");
    }
    Ok(Duration::from_secs_f64(seconds))
}

async fn sequencer(args: SequencerArgs) -> eyre::Result<()> {
    let block_time = block_time(args.block_time)?;
    let batcher = match args.no_batcher {
        true => None,
        false => Some(BatcherConfig::new(batcher_key(
            args.batcher_key.as_deref(),
            args.common.genesis.is_none(),
        )?)),
    };
    let (dir, temp) = data_dir(&args.common.data_dir, "tandem-l2-sequencer-")?;
    let mut config = config(&args.common, args.port, dir.clone())?;
    config.ignore = args.ignore_address.clone();
    let node = launch_sequencer(config, block_time, batcher)
        .await
        .wrap_err("starting the L2 sequencer")?;
    banner("sequencer", &args.common, &node, &dir);
    serve_until_signal(node, temp).await
}

async fn verifier(args: VerifierArgs) -> eyre::Result<()> {
    let (dir, temp) = data_dir(&args.common.data_dir, "tandem-l2-verifier-")?;
    let mut config = config(&args.common, args.port, dir.clone())?;
    config.fault = args.fault;
    let node = launch_verifier(config)
        .await
        .wrap_err("starting the L2 verifier")?;
    banner("verifier", &args.common, &node, &dir);
    serve_until_signal(node, temp).await
}

async fn proposer(args: ProposerArgs) -> eyre::Result<()> {
    let key = crate::bridge::key(args.private_key.as_deref(), args.mnemonic_index)?;
    let address = key.address;
    let proposer =
        tandem_rollup::node::launch_proposer(&args.l1_rpc, &args.l2_rpc, key, args.fault)?;
    println!(
        "tandem l2 proposer {address}: outputs of {} to L1 {}",
        args.l2_rpc, args.l1_rpc
    );
    crate::shutdown_signal().await?;
    eprintln!("\nShutting down...");
    proposer.shutdown().await;
    Ok(())
}

async fn challenger(args: ChallengerArgs) -> eyre::Result<()> {
    let key = crate::bridge::key(args.private_key.as_deref(), args.mnemonic_index)?;
    let address = key.address;
    let (dir, temp) = data_dir(&args.common.data_dir, "tandem-l2-challenger-")?;
    let config = config(&args.common, args.port, dir.clone())?;
    let node = launch_verifier(config)
        .await
        .wrap_err("starting the challenger's verifier")?;
    let challenger = tandem_rollup::node::launch_challenger(&node, &args.common.l1_rpc, key)?;
    banner("challenger", &args.common, &node, &dir);
    if !args.common.json {
        println!("Challenging wrong outputs on L1 as {address}");
    }
    crate::shutdown_signal().await?;
    eprintln!("\nShutting down...");
    challenger.shutdown().await;
    node.shutdown().await;
    drop(temp);
    Ok(())
}

async fn serve_until_signal(node: L2Handle, temp: Option<tempfile::TempDir>) -> eyre::Result<()> {
    crate::shutdown_signal().await?;
    eprintln!("\nShutting down...");
    node.shutdown().await;
    drop(temp);
    Ok(())
}

fn banner(role: &str, common: &Common, node: &L2Handle, dir: &std::path::Path) {
    let rpc = node.rpc_addr;
    if common.json {
        let summary = serde_json::json!({
            "role": role,
            "rpc": format!("http://{rpc}"),
            "ws": format!("ws://{rpc}"),
            "chainId": node.backend.chain.chain_id,
            "l1Rpc": common.l1_rpc,
            "dataDir": dir,
            "accounts": node.backend.dev_signers.iter().map(|a| serde_json::json!({"address": a.address, "privateKey": a.secret_hex()})).collect::<Vec<_>>(),
        });
        println!("{summary}");
        return;
    }
    println!(
        "tandem l2 {role} (chain {}) on L1 {}",
        node.backend.chain.chain_id, common.l1_rpc
    );
    println!("Data directory:    {}", dir.display());
    println!("\nListening on http://{rpc} and ws://{rpc}");
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
    if args.json {
        println!("{}", serde_json::to_string(&status)?);
        return Ok(());
    }
    print!("{status}");
    Ok(())
}
