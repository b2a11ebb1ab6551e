//! `tandem devnet`: N validators in one process, each with its own storage, agreeing over real
//! authenticated p2p on loopback, with JSON-RPC from the first one.
use alloy_primitives::Address;
use eyre::WrapErr;
use std::{
    net::{IpAddr, SocketAddr},
    path::PathBuf,
    time::Duration,
};
use tandem_consensus::ValidatorKey;
use tandem_node::{ValidatorConfig, launch_validator};
use tandem_primitives::{ChainConfig, dev, genesis, system};
use tandem_rollup::{
    batcher::BatcherConfig,
    node::{
        ChallengerHandle, L2Config, L2Handle, ProposerHandle, launch_challenger, launch_proposer,
        launch_sequencer, launch_verifier,
    },
};
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
    let genesis = args.bridge.dev_genesis();
    let keys: Vec<ValidatorKey> = (0..u64::from(args.validators))
        .map(ValidatorKey::from_seed)
        .collect();
    let validators: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            (
                k.public(),
                SocketAddr::from(([127, 0, 0, 1], args.p2p_port + i as u16)),
            )
        })
        .collect();
    let consensus_dir = data_dir.join("consensus");
    std::fs::create_dir_all(&consensus_dir)?;
    tandem_consensus::run(&consensus_dir, |runtime| async move {
        let mut rpc = None;
        let mut running = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let config = ValidatorConfig {
                key: key.clone(),
                validators: validators.clone(),
                observers: Vec::new(),
                listen: validators[i].1,
                rpc_addr: (i == 0).then(|| SocketAddr::new(args.host, args.port)),
                data_dir: data_dir.join(format!("validator-{i}")),
                genesis: genesis.clone(),
                fee_recipient: Address::ZERO,
                block_time: Duration::from_secs_f64(args.block_time),
                leader_timeout: Duration::from_secs(1)
                    .max(Duration::from_secs_f64(args.block_time * 4.0)),
                allow_empty_blocks: args.empty_blocks,
                history: History::Recent(args.history),
                mempool: Default::default(),
                rpc_limits: Default::default(),
                dev_signers: dev::accounts().to_vec(),
            };
            let handle = launch_validator(&runtime, config)
                .await
                .wrap_err_with(|| format!("starting validator {i}"))?;
            rpc = rpc.or(handle.rpc_addr);
            // Dropping a handle stops its RPC server: keep them until shutdown.
            running.push(handle);
        }
        let rpc = rpc.ok_or_else(|| eyre::eyre!("no validator serves RPC"))?;
        let l2 = match args.no_l2 {
            true => None,
            false => Some(start_l2(&args, &data_dir, &format!("http://{rpc}")).await?),
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
            l2.challenger.shutdown().await;
            if let Some(proposer) = l2.proposer {
                proposer.shutdown().await;
            }
            l2.verifier.shutdown().await;
            l2.sequencer.shutdown().await;
        }
        drop(running);
        Ok::<_, eyre::Report>(())
    })?;
    drop(temp);
    Ok(())
}

/// The devnet's L2 processes.
struct L2Stack {
    sequencer: L2Handle,
    verifier: L2Handle,
    proposer: Option<ProposerHandle>,
    challenger: ChallengerHandle,
}

/// The L2 on top: a sequencer (with the batcher) and a verifier, both on the dev L2 genesis, a
/// proposer posting the verifier's outputs to L1 and a challenger checking every output against
/// the verifier's chain.
async fn start_l2(args: &Args, data_dir: &std::path::Path, l1_rpc: &str) -> eyre::Result<L2Stack> {
    let config = |dir: &str, port: u16| L2Config {
        data_dir: data_dir.join(dir),
        rpc_addr: SocketAddr::new(args.host, port),
        l1_rpc: l1_rpc.to_string(),
        genesis: genesis::dev_l2_genesis(),
        mempool: Default::default(),
        rpc_limits: Default::default(),
        history: History::Recent(args.history.max(crate::l2::L2_HISTORY_BLOCKS)),
        dev_signers: dev::accounts().to_vec(),
        ignore: Vec::new(),
        fault: None,
    };
    let batcher = BatcherConfig {
        fault: args.faulty_batcher,
        ..BatcherConfig::new(crate::l2::batcher_key(None, true)?)
    };
    let sequencer = launch_sequencer(
        config("l2-sequencer", args.l2_port),
        crate::l2::block_time(args.l2_block_time)?,
        Some(batcher),
    )
    .await
    .wrap_err("starting the L2 sequencer")?;
    let verifier = launch_verifier(config("l2-verifier", args.verifier_port))
        .await
        .wrap_err("starting the L2 verifier")?;
    let proposer = match args.no_proposer {
        true => None,
        false => Some(
            launch_proposer(
                l1_rpc,
                &format!("http://{}", verifier.rpc_addr),
                dev::accounts()[dev::DEV_PROPOSER].clone(),
                None,
            )
            .wrap_err("starting the L2 output proposer")?,
        ),
    };
    let challenger = launch_challenger(
        &verifier,
        l1_rpc,
        dev::accounts()[dev::DEV_CHALLENGER].clone(),
    )
    .wrap_err("starting the L2 challenger")?;
    Ok(L2Stack {
        sequencer,
        verifier,
        proposer,
        challenger,
    })
}

fn print_banner(
    args: &Args,
    rpc: SocketAddr,
    l2: Option<&L2Stack>,
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
