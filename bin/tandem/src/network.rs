//! `tandem setup` writes a validator network's files; `tandem node` runs one member of it (the
//! files are `tandem_node::network`'s).
use eyre::WrapErr;
use std::path::PathBuf;
use tandem_client::started::Started;
use tandem_node::{
    launch_validator,
    network::{NetworkPlan, NodeFile, write_network},
};

#[derive(Debug, clap::Args)]
pub(crate) struct SetupArgs {
    #[command(flatten)]
    plan: NetworkPlan,
    /// The rules the genesis fixes for the dev L2 it carries.
    #[command(flatten)]
    bridge: crate::BridgeArgs,
}

pub(crate) fn setup(args: &SetupArgs) -> eyre::Result<()> {
    let plan = NetworkPlan {
        genesis: args.bridge.dev_genesis(),
        ..args.plan.clone()
    };
    let validators = write_network(&plan)?;
    println!(
        "wrote {} validators to {}: genesis.json, nodeI.key, nodeI.toml",
        validators.len(),
        plan.out.display()
    );
    for (i, v) in validators.iter().enumerate() {
        println!(
            "  node{i}: p2p {} (open this TCP port to the other validators), key {}",
            v.address, v.public_key
        );
    }
    println!(
        "  L2 outputs every {} blocks, final after {} s of L1 time",
        args.bridge.output_interval, args.bridge.challenge_window
    );
    println!(
        "run each with: tandem node --config {}/nodeI.toml",
        plan.out.display()
    );
    Ok(())
}

#[derive(Debug, clap::Args)]
pub(crate) struct NodeArgs {
    /// The node's configuration file, as `tandem setup` writes it.
    #[arg(long)]
    config: PathBuf,
    /// Override the JSON-RPC address of the file.
    #[arg(long)]
    rpc: Option<std::net::SocketAddr>,
    /// Print the start-up summary as one JSON object on stdout, for scripts.
    #[arg(long)]
    json: bool,
}

pub(crate) fn node(args: &NodeArgs) -> eyre::Result<()> {
    let config = NodeFile::load(&args.config, args.rpc)?;
    let consensus_dir = config.data_dir.join("consensus");
    std::fs::create_dir_all(&consensus_dir)
        .wrap_err_with(|| format!("creating {}", consensus_dir.display()))?;
    let (json, key) = (args.json, config.key.public());
    let (chain_id, data_dir) = (config.genesis.config.chain_id, config.data_dir.clone());
    tandem_consensus::run(&consensus_dir, |runtime| async move {
        let handle = launch_validator(&runtime, config).await?;
        let rpc = handle
            .rpc_addr
            .ok_or_else(|| eyre::eyre!("no RPC address"))?;
        let mut started = Started::node(rpc, chain_id);
        started.data_dir = Some(data_dir);
        started.validator = Some(key.to_hex());
        tandem_client::cli::announce(json, &started, &format!("tandem validator {key}"));
        crate::cli::until_stopped().await?;
        drop(handle);
        Ok::<_, eyre::Report>(())
    })
}
