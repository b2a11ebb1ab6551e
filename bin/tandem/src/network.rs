//! `tandem setup` writes a validator network's files; `tandem node` runs one member of it (the
//! files are `tandem_node::network`'s).
use eyre::WrapErr;
use std::path::PathBuf;
use tandem_node::{
    launch_validator,
    network::{NetworkPlan, NodeFile, write_network},
};

#[derive(Debug, clap::Args)]
pub(crate) struct SetupArgs {
    /// Number of validators.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    validators: u16,
    /// Directory to write keys, genesis.json and nodeI.toml into (created; must not hold files).
    #[arg(long)]
    out: PathBuf,
    /// p2p port of the first validator; on one host validator i uses this + i.
    #[arg(long, default_value_t = 30_400)]
    base_port: u16,
    /// JSON-RPC port of the first validator; on one host validator i uses this + i.
    #[arg(long, default_value_t = 8545)]
    rpc_port: u16,
    /// One host (IP) per validator, comma-separated; all on 127.0.0.1 when absent.
    #[arg(long, value_delimiter = ',')]
    hosts: Vec<std::net::IpAddr>,
    /// Least time between blocks, in milliseconds.
    #[arg(long, default_value_t = 250)]
    block_time_ms: u64,
    /// Also write this many full nodes (they follow and serve JSON-RPC, but do not vote), on 127.0.0.1.
    #[arg(long, default_value_t = 0)]
    full_nodes: u16,
    /// The rules the genesis fixes for the dev L2 it carries.
    #[command(flatten)]
    bridge: crate::BridgeArgs,
}

pub(crate) fn setup(args: &SetupArgs) -> eyre::Result<()> {
    let plan = NetworkPlan {
        out: args.out.clone(),
        validators: usize::from(args.validators),
        full_nodes: usize::from(args.full_nodes),
        base_port: args.base_port,
        rpc_port: args.rpc_port,
        hosts: args.hosts.clone(),
        block_time_ms: args.block_time_ms,
        genesis: args.bridge.dev_genesis(),
    };
    let validators = write_network(&plan)?;
    println!(
        "wrote {} validators to {}: genesis.json, nodeI.key, nodeI.toml",
        validators.len(),
        args.out.display()
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
        args.out.display()
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
    tandem_consensus::run(&consensus_dir, |runtime| async move {
        let handle = launch_validator(&runtime, config).await?;
        let rpc = handle
            .rpc_addr
            .ok_or_else(|| eyre::eyre!("no RPC address"))?;
        if json {
            println!(
                "{}",
                serde_json::json!({ "rpc": format!("http://{rpc}"), "ws": format!("ws://{rpc}"), "validator": key.to_hex() })
            );
        } else {
            println!("tandem validator {key} running; JSON-RPC on http://{rpc}");
        }
        crate::shutdown_signal().await?;
        eprintln!("\nShutting down...");
        drop(handle);
        Ok::<_, eyre::Report>(())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::Address;
    use clap::Parser;
    use tandem_primitives::{U256, genesis, system};

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        setup: SetupArgs,
    }

    /// The storage slot `slot` of `address` in `genesis`.
    fn slot(genesis: &genesis::Genesis, address: Address, slot: u64) -> U256 {
        let storage = genesis.alloc[&address].storage.clone().unwrap_or_default();
        let key = alloy_primitives::B256::from(U256::from(slot));
        U256::from_be_bytes(storage.get(&key).copied().unwrap_or_default().0)
    }

    #[test]
    fn setup_writes_the_bridge_rules_and_the_l2_genesis_output_into_the_genesis() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("net");
        let cli = Cli::parse_from([
            "setup",
            "--validators",
            "1",
            "--out",
            out.to_str().unwrap(),
            "--challenge-window",
            "30",
            "--output-interval",
            "8",
        ]);
        setup(&cli.setup).unwrap();
        let written = genesis::load(&out.join("genesis.json")).unwrap();
        assert_eq!(slot(&written, system::OUTPUT_ORACLE, 1), U256::from(30));
        assert_eq!(slot(&written, system::OUTPUT_ORACLE, 2), U256::from(8));
        // The L2 genesis output, which the first output names as its parent and a challenge of
        // L2 block 1 starts from, as on the devnet.
        let l2_genesis = tandem_execution::genesis_output(&genesis::dev_l2_genesis()).unwrap();
        assert_eq!(
            slot(&written, system::DISPUTE_GAME, 0),
            U256::from_be_bytes(l2_genesis.root().0)
        );
        assert_eq!(
            written,
            crate::BridgeArgs {
                challenge_window: 30,
                output_interval: 8
            }
            .dev_genesis()
        );
    }

    #[test]
    fn setup_defaults_to_the_devnet_bridge_rules() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("net");
        let cli = Cli::parse_from(["setup", "--validators", "1", "--out", out.to_str().unwrap()]);
        setup(&cli.setup).unwrap();
        let written = genesis::load(&out.join("genesis.json")).unwrap();
        let dev = tandem_primitives::BridgeParams::dev();
        assert_eq!(
            slot(&written, system::OUTPUT_ORACLE, 1),
            U256::from(dev.challenge_window)
        );
        assert_eq!(
            slot(&written, system::OUTPUT_ORACLE, 2),
            U256::from(dev.output_interval)
        );
    }
}
