//! `tandem devnet`: N validators in one process, each with its own storage, agreeing over real
//! authenticated p2p on loopback, with JSON-RPC from the first one.
use crate::cli;
use eyre::WrapErr;
use std::{net::SocketAddr, time::Duration};
use tandem_client::cli::{self as flags, DataDir};
use tandem_client::started::{Endpoint, Settlement, Started};
use tandem_explorer::{ExplorerConfig, serve};
use tandem_node::network::{Devnet, launch_devnet};
use tandem_primitives::{ChainConfig, dev};
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
    #[command(flatten)]
    node: flags::NodeArgs,
    /// p2p port of the first validator; validator i listens on this + i, on loopback.
    #[arg(long, default_value_t = 30_400)]
    p2p_port: u16,
    /// The least time between blocks, in seconds.
    #[arg(long, default_value = "0.25", value_name = "SECONDS", value_parser = flags::seconds)]
    block_time: Duration,
    /// Produce blocks even when there is nothing to include.
    #[arg(long)]
    empty_blocks: bool,
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
    #[arg(long, default_value = "0.25", value_name = "SECONDS", value_parser = flags::positive_seconds)]
    l2_block_time: Duration,
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
}

pub(crate) fn run(args: Args) -> eyre::Result<()> {
    let dir = DataDir::new(args.node.data_dir.as_deref(), "tandem-devnet-")?;
    let data_dir = dir.path.clone();
    let devnet = Devnet {
        validators: args.validators,
        rpc_addr: SocketAddr::new(args.node.host, args.port),
        p2p_port: args.p2p_port,
        block_time: args.block_time,
        empty_blocks: args.empty_blocks,
        data_dir: data_dir.clone(),
        history: History::Recent(args.history),
        genesis: args.bridge.dev_genesis(),
    };
    let stack = StackConfig {
        data_dir: data_dir.clone(),
        host: args.node.host,
        sequencer_port: args.l2_port,
        verifier_port: args.verifier_port,
        block_time: args.l2_block_time,
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
        let l1_rpc = format!("http://{rpc}");
        let l2 = match args.no_l2 {
            true => None,
            false => Some(
                launch_stack(&l1_rpc, &stack)
                    .await
                    .wrap_err("starting the L2")?,
            ),
        };
        let l2_rpc = l2
            .as_ref()
            .map(|l2| format!("http://{}", l2.sequencer.rpc_addr));
        let listen = SocketAddr::new(args.node.host, args.explorer_port);
        let explorer = match args.no_explorer {
            true => None,
            false => Some(
                serve(ExplorerConfig {
                    l1_rpc,
                    l2_rpc,
                    listen,
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
        cli::until_stopped().await?;
        if let Some(explorer) = explorer {
            explorer.shutdown().await;
        }
        if let Some(l2) = l2 {
            l2.shutdown().await;
        }
        drop(validators);
        Ok::<_, eyre::Report>(())
    })?;
    drop(dir);
    Ok(())
}

fn print_banner(
    args: &Args,
    rpc: SocketAddr,
    l2: Option<&Stack>,
    explorer: Option<SocketAddr>,
    data_dir: &std::path::Path,
) {
    let mut started =
        Started::node(rpc, ChainConfig::L1_DEV_CHAIN_ID).with_accounts(dev::accounts());
    started.data_dir = Some(data_dir.into());
    started.mnemonic = Some(dev::DEV_MNEMONIC.into());
    started.validators = Some(args.validators);
    started.explorer = explorer.map(|addr| format!("http://{addr}"));
    if let Some(l2) = l2 {
        let chain_id = Some(ChainConfig::L2_DEV_CHAIN_ID);
        started.l2 = Some(Endpoint {
            chain_id,
            ..Endpoint::at(l2.sequencer.rpc_addr)
        });
        started.l2_verifier = Some(Endpoint::at(l2.verifier.rpc_addr));
        let b = &args.bridge;
        started.bridge = Some(Settlement::dev(b.challenge_window, b.output_interval));
    }
    let (first, last) = (args.p2p_port, args.p2p_port + args.validators - 1);
    started.details = vec![
        format!(
            "Block time:        at least {} s, final on commit",
            args.block_time.as_secs_f64()
        ),
        format!("p2p:               127.0.0.1:{first}..{last}"),
    ];
    if l2.is_some() {
        let every = args.l2_block_time.as_secs_f64();
        started.details.push(format!(
            "L2 blocks:         every {every} s, batches to L1 every 2 s"
        ));
    }
    let title = format!(
        "tandem devnet: {} BFT validators (Commonware simplex) on loopback (dev keys only)",
        args.validators
    );
    flags::announce(args.node.json, &started, &title);
}
