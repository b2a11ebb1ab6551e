//! `tandem l2 ...`: the rollup's roles (sequencer, verifier, proposer, challenger) started from
//! their flags, and an L2 node's status. The binary waits for the signal that stops them.
use crate::{
    Error, Result,
    batcher::BatcherConfig,
    node::{
        ChallengerHandle, L2_HISTORY_BLOCKS, L2Config, L2Handle, ProposerHandle, launch_challenger,
        launch_proposer, launch_sequencer, launch_verifier,
    },
};
use std::{net::SocketAddr, path::PathBuf, time::Duration};
use tandem_client::{
    cli::{self as flags, DataDir},
    started::Started,
};
use tandem_primitives::{dev, genesis};
use tandem_storage::History;

#[derive(Debug, clap::Subcommand)]
pub enum L2Command {
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
pub struct ProposerArgs {
    #[command(flatten)]
    pub layers: flags::Layers,
    #[command(flatten)]
    pub signer: flags::KeyArgs,
    /// Testing only: post every output wrong this way (state-root, storage-root or block-hash;
    /// valid-after-wrong posts a wrong output and the right next one together), to watch a
    /// challenger remove it and take the bond.
    #[arg(long, value_name = "FAULT")]
    pub fault: Option<crate::fault::OutputFault>,
}

#[derive(Debug, clap::Args)]
#[command(mut_arg("port", |a| a.default_value("9547")
    .help("JSON-RPC port (HTTP and WebSocket) of the challenger's own verifier")))]
#[command(mut_arg("private_key", |a| a.env("TANDEM_CHALLENGER_KEY")
    .help("The challenger's private key (hex); it pays the bonds of its challenges")))]
pub struct ChallengerArgs {
    #[command(flatten)]
    pub common: Common,
    #[command(flatten)]
    pub signer: flags::KeyArgs,
}

/// Options every L2 node shares.
#[derive(Debug, clap::Args)]
pub struct Common {
    /// L1's JSON-RPC URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8545")]
    pub l1_rpc: String,
    /// JSON-RPC port (HTTP and WebSocket).
    #[arg(long, short, default_value_t = 9545)]
    pub port: u16,
    #[command(flatten)]
    pub node: flags::NodeArgs,
    /// A geth-style L2 genesis file instead of the dev L2 genesis (chain 901, dev accounts funded).
    #[arg(long, value_name = "FILE")]
    pub genesis: Option<PathBuf>,
    /// Blocks of state history kept for queries at past blocks (and withdrawal proofs, which
    /// prove against the state of a final output's block: keep more than the challenge window).
    #[arg(long, value_name = "BLOCKS", default_value_t = L2_HISTORY_BLOCKS)]
    pub history: u64,
}

#[derive(Debug, clap::Args)]
pub struct SequencerArgs {
    #[command(flatten)]
    pub common: Common,
    /// Seal a block every this many seconds.
    #[arg(long, default_value = "0.25", value_name = "SECONDS", value_parser = flags::positive_seconds)]
    pub block_time: Duration,
    /// The registered batcher's private key (hex). With the dev genesis, the dev batcher's by default.
    #[arg(
        long,
        env = "TANDEM_BATCHER_KEY",
        value_name = "HEX",
        hide_env_values = true
    )]
    pub batcher_key: Option<String>,
    /// Do not post batches (another process does).
    #[arg(long)]
    pub no_batcher: bool,
    /// Never include pooled transactions from this sender (repeatable): a censoring sequencer, to
    /// see the Portal's forced inclusion get around it. Testing only.
    #[arg(long, value_name = "ADDRESS")]
    pub ignore_address: Vec<tandem_primitives::Address>,
}

#[derive(Debug, clap::Args)]
#[command(mut_arg("port", |a| a.default_value("9546")))]
pub struct VerifierArgs {
    #[command(flatten)]
    pub common: Common,
    /// Testing only: derive blocks wrong this way, a faulty node: point a proposer at it to watch
    /// a challenger remove its outputs. skip-deposits, reorder-deposits, drop-transaction,
    /// extra-transaction, gas-used, forged-withdrawal, invalid-batch (keeps the transactions of a
    /// batch block that breaks a rule), timestamp, l1-fee or l1-origin.
    #[arg(long, value_name = "FAULT")]
    pub fault: Option<crate::fault::DerivationFault>,
    /// The sequencer's JSON-RPC URL: the verifier forwards the raw transactions clients send it
    /// there (eth_sendRawTransaction), as OP Stack replicas do. Without it, it refuses them.
    #[arg(long, value_name = "URL")]
    pub sequencer_rpc: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct StatusArgs {
    /// The L2 node's JSON-RPC URL.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:9545")]
    pub rpc: String,
    /// Print the status as JSON.
    #[arg(long)]
    pub json: bool,
}

/// What [`start`] left running, until [`Running::shutdown`]. Its data directory (a temporary
/// one unless given) lives as long as it does.
pub enum Running {
    Node(L2Handle, DataDir),
    Proposer(ProposerHandle),
    Challenger(ChallengerHandle, L2Handle, DataDir),
}

impl Running {
    pub async fn shutdown(self) {
        match self {
            Self::Node(node, _dir) => node.shutdown().await,
            Self::Proposer(proposer) => proposer.shutdown().await,
            Self::Challenger(challenger, node, _dir) => {
                challenger.shutdown().await;
                node.shutdown().await;
            }
        }
    }
}

/// Starts what `command` names and announces it on stdout; `None` for a command that is done
/// once it has printed (`status`).
pub async fn start(command: L2Command) -> Result<Option<Running>> {
    Ok(Some(match command {
        L2Command::Sequencer(args) => sequencer(args).await?,
        L2Command::Verifier(args) => {
            let (fault, sequencer_rpc) = (args.fault, args.sequencer_rpc.clone());
            let (node, dir) = node("verifier", &args.common, |mut config| {
                config.fault = fault;
                config.sequencer_rpc = sequencer_rpc;
                launch_verifier(config)
            })
            .await?;
            Running::Node(node, dir)
        }
        L2Command::Proposer(args) => {
            let key = args.signer.key(None).map_err(flag)?;
            let (address, l) = (key.address, &args.layers);
            let proposer = launch_proposer(&l.l1_rpc, &l.l2_rpc, key, args.fault)?;
            println!(
                "tandem l2 proposer {address}: outputs of {} to L1 {}",
                l.l2_rpc, l.l1_rpc
            );
            Running::Proposer(proposer)
        }
        L2Command::Challenger(args) => {
            let key = args.signer.key(None).map_err(flag)?;
            let address = key.address;
            let (node, dir) = node("challenger", &args.common, launch_verifier).await?;
            let challenger = launch_challenger(&node, &args.common.l1_rpc, key)?;
            if !args.common.node.json {
                println!("Challenging wrong outputs on L1 as {address}");
            }
            Running::Challenger(challenger, node, dir)
        }
        L2Command::Status(args) => {
            status(args).await?;
            return Ok(None);
        }
    }))
}

fn flag(e: flags::FlagError) -> Error {
    Error::Config(e.0)
}

/// Starts the L2 node `role` with `launch` on the flags every node shares, and announces it.
async fn node<F>(
    role: &str,
    common: &Common,
    launch: impl FnOnce(L2Config) -> F,
) -> Result<(L2Handle, DataDir)>
where
    F: Future<Output = Result<L2Handle>>,
{
    let dir = DataDir::new(
        common.node.data_dir.as_deref(),
        &format!("tandem-l2-{role}-"),
    )
    .map_err(|e| Error::Config(format!("a data directory: {e}")))?;
    let genesis = match &common.genesis {
        Some(path) => Some(genesis::load(path).map_err(|e| Error::Config(e.to_string()))?),
        None => None,
    };
    let rpc_addr = SocketAddr::new(common.node.host, common.port);
    let history = History::Recent(common.history);
    let config = L2Config::new(dir.path.clone(), rpc_addr, &common.l1_rpc, genesis, history);
    let node = launch(config)
        .await
        .map_err(|e| Error::Config(format!("starting the L2 {role}: {e}")))?;
    let mut started = Started::node(node.rpc_addr, node.backend.chain.chain_id)
        .with_accounts(&node.backend.dev_signers);
    started.data_dir = Some(dir.path.clone());
    started.role = Some(role.into());
    started.l1_rpc = Some(common.l1_rpc.clone());
    let title = format!("tandem l2 {role} on L1 {}", common.l1_rpc);
    flags::announce(common.node.json, &started, &title);
    Ok((node, dir))
}

async fn sequencer(args: SequencerArgs) -> Result<Running> {
    let dev_batcher = args.common.genesis.is_none().then_some(dev::DEV_BATCHER);
    let batcher = match args.no_batcher {
        true => None,
        false => {
            let key = flags::key(
                "--batcher-key",
                args.batcher_key.as_deref(),
                None,
                dev_batcher,
            );
            Some(BatcherConfig::new(key.map_err(flag)?))
        }
    };
    let (node, dir) = node("sequencer", &args.common, |mut config| {
        config.ignore = args.ignore_address.clone();
        launch_sequencer(config, args.block_time, batcher)
    })
    .await?;
    Ok(Running::Node(node, dir))
}

async fn status(args: StatusArgs) -> Result<()> {
    let options = tandem_client::Options {
        timeout: Duration::from_secs(10),
        ..Default::default()
    };
    let client = tandem_client::Client::http(&args.rpc, options)?;
    let status: tandem_client::types::RollupStatus = client
        .request_json("tandem_rollupStatus", ())
        .await
        .map_err(|e| Error::Config(format!("asking {} for tandem_rollupStatus: {e}", args.rpc)))?;
    flags::report(args.json, &status).map_err(|e| Error::Config(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(subcommand)]
        command: L2Command,
    }

    fn parse(args: &[&str]) -> L2Command {
        Cli::try_parse_from([&["l2"], args].concat())
            .unwrap()
            .command
    }

    #[test]
    fn each_role_has_its_own_default_port_and_key_variable() {
        let port = |role| match parse(&[role]) {
            L2Command::Sequencer(a) => a.common.port,
            L2Command::Verifier(a) => a.common.port,
            L2Command::Challenger(a) => a.common.port,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            (port("sequencer"), port("verifier"), port("challenger")),
            (9545, 9546, 9547)
        );
        let L2Command::Proposer(proposer) = parse(&["proposer"]) else {
            panic!()
        };
        assert_eq!(proposer.layers.l2_rpc, "http://127.0.0.1:9546");
        let mut command = <Cli as clap::CommandFactory>::command();
        let mut env = |role: &str| {
            let sub = command.find_subcommand_mut(role).unwrap();
            let key = sub
                .get_arguments()
                .find(|a| a.get_id() == "private_key")
                .unwrap();
            key.get_env().unwrap().to_string_lossy().into_owned()
        };
        assert_eq!(env("proposer"), "TANDEM_PROPOSER_KEY");
        assert_eq!(env("challenger"), "TANDEM_CHALLENGER_KEY");
    }

    #[test]
    fn a_bad_key_is_refused_before_anything_starts_and_not_repeated() {
        let hex = dev::accounts()[4].secret_hex();
        let typo = format!("{}g", &hex[..hex.len() - 1]);
        let command = parse(&["proposer", "--private-key", &typo]);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let refused = runtime.block_on(start(command)).err().unwrap().to_string();
        assert!(refused.starts_with("--private-key") && !refused.contains(&hex[2..10]));
    }
}
