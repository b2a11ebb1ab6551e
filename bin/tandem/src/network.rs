//! `tandem setup` writes a validator network's files; `tandem node` runs one member of it.
use alloy_primitives::Address;
use eyre::{WrapErr, bail};
use serde::{Deserialize, Serialize};
use std::{
    net::SocketAddr,
    path::{Path, PathBuf},
    time::Duration,
};
use tandem_consensus::{PeerId, ValidatorKey};
use tandem_node::{ValidatorConfig, launch_validator};
use tandem_primitives::genesis;
use tandem_storage::History;

/// One node's configuration file (`nodeI.toml`). Relative paths are relative to the file.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NodeFile {
    /// The validator's secret key file (hex).
    pub(crate) key_file: PathBuf,
    /// p2p listen address.
    pub(crate) listen: SocketAddr,
    /// JSON-RPC (HTTP and WebSocket) address.
    pub(crate) rpc: SocketAddr,
    pub(crate) data_dir: PathBuf,
    /// The shared geth-style genesis file.
    pub(crate) genesis: PathBuf,
    /// Receives the priority fees of this validator's blocks.
    #[serde(default)]
    pub(crate) fee_recipient: Address,
    #[serde(default = "default_block_time_ms")]
    pub(crate) block_time_ms: u64,
    #[serde(default)]
    pub(crate) empty_blocks: bool,
    /// Blocks of state history kept; absent keeps the default, 0 keeps all (archive).
    #[serde(default)]
    pub(crate) history_blocks: Option<u64>,
    /// Every validator of the network. A node whose key is not among them runs as a full node.
    pub(crate) validators: Vec<ValidatorEntry>,
    /// Full nodes the validators accept as followers.
    #[serde(default)]
    pub(crate) observers: Vec<ValidatorEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ValidatorEntry {
    pub(crate) public_key: String,
    pub(crate) address: SocketAddr,
}

fn default_block_time_ms() -> u64 {
    250
}

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
    let n = usize::from(args.validators);
    if !args.hosts.is_empty() && args.hosts.len() != n {
        bail!(
            "--hosts lists {} hosts for {} validators",
            args.hosts.len(),
            n
        );
    }
    if args.out.exists() && std::fs::read_dir(&args.out)?.next().is_some() {
        bail!(
            "{} already holds files; setup writes into an empty directory",
            args.out.display()
        );
    }
    std::fs::create_dir_all(&args.out)?;
    let one_host = args.hosts.is_empty();
    let host = |i: usize| {
        if one_host {
            std::net::IpAddr::from([127, 0, 0, 1])
        } else {
            args.hosts[i]
        }
    };
    let port = |base: u16, i: usize| if one_host { base + i as u16 } else { base };
    let keys: Vec<ValidatorKey> = (0..n)
        .map(|_| ValidatorKey::from_bytes(rand::random()))
        .collect();
    let validators: Vec<ValidatorEntry> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| ValidatorEntry {
            public_key: k.public().to_hex(),
            address: SocketAddr::new(host(i), port(args.base_port, i)),
        })
        .collect();
    let full_keys: Vec<ValidatorKey> = (0..args.full_nodes)
        .map(|_| ValidatorKey::from_bytes(rand::random()))
        .collect();
    let observer_port = |j: usize| {
        if one_host {
            args.base_port + (n + j) as u16
        } else {
            args.base_port + j as u16 + 1
        }
    };
    let observers: Vec<ValidatorEntry> = full_keys
        .iter()
        .enumerate()
        .map(|(j, k)| ValidatorEntry {
            public_key: k.public().to_hex(),
            address: SocketAddr::from(([127, 0, 0, 1], observer_port(j))),
        })
        .collect();
    let genesis = args.bridge.dev_genesis();
    std::fs::write(
        args.out.join("genesis.json"),
        serde_json::to_string_pretty(&genesis)?,
    )?;
    for (j, key) in full_keys.iter().enumerate() {
        let key_file = format!("full{j}.key");
        write_secret(&args.out.join(&key_file), &key.to_hex())?;
        let rpc = SocketAddr::from(([127, 0, 0, 1], args.rpc_port + (n + j) as u16));
        let node = node_file(
            key_file,
            observers[j].address,
            rpc,
            format!("data/full{j}"),
            args,
            &validators,
            &observers,
        );
        std::fs::write(
            args.out.join(format!("full{j}.toml")),
            toml::to_string_pretty(&node)?,
        )?;
    }
    for (i, key) in keys.iter().enumerate() {
        let key_file = format!("node{i}.key");
        write_secret(&args.out.join(&key_file), &key.to_hex())?;
        let rpc_host = if one_host {
            host(i)
        } else {
            std::net::IpAddr::from([127, 0, 0, 1])
        };
        let listen_ip = if one_host {
            host(i)
        } else {
            std::net::IpAddr::from([0, 0, 0, 0])
        };
        let listen = SocketAddr::new(listen_ip, port(args.base_port, i));
        let rpc = SocketAddr::new(rpc_host, port(args.rpc_port, i));
        let node = node_file(
            key_file,
            listen,
            rpc,
            format!("data/node{i}"),
            args,
            &validators,
            &observers,
        );
        std::fs::write(
            args.out.join(format!("node{i}.toml")),
            toml::to_string_pretty(&node)?,
        )?;
    }
    println!(
        "wrote {n} validators to {}: genesis.json, nodeI.key, nodeI.toml",
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

/// One node's configuration as `setup` writes it; paths are relative to the output directory.
fn node_file(
    key_file: String,
    listen: SocketAddr,
    rpc: SocketAddr,
    data_dir: String,
    args: &SetupArgs,
    validators: &[ValidatorEntry],
    observers: &[ValidatorEntry],
) -> NodeFile {
    NodeFile {
        key_file: key_file.into(),
        listen,
        rpc,
        data_dir: data_dir.into(),
        genesis: "genesis.json".into(),
        fee_recipient: Address::ZERO,
        block_time_ms: args.block_time_ms,
        empty_blocks: false,
        history_blocks: None,
        validators: validators.to_vec(),
        observers: observers.to_vec(),
    }
}

fn write_secret(path: &Path, secret: &str) -> eyre::Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options
        .open(path)
        .wrap_err_with(|| format!("writing {}", path.display()))?;
    writeln!(file, "{secret}")?;
    Ok(())
}

#[derive(Debug, clap::Args)]
pub(crate) struct NodeArgs {
    /// The node's configuration file, as `tandem setup` writes it.
    #[arg(long)]
    config: PathBuf,
    /// Override the JSON-RPC address of the file.
    #[arg(long)]
    rpc: Option<SocketAddr>,
    /// Print the start-up summary as one JSON object on stdout, for scripts.
    #[arg(long)]
    json: bool,
}

pub(crate) fn node(args: &NodeArgs) -> eyre::Result<()> {
    let text = std::fs::read_to_string(&args.config)
        .wrap_err_with(|| format!("reading {}", args.config.display()))?;
    let file: NodeFile = toml::from_str(&text)
        .wrap_err_with(|| format!("invalid config {}", args.config.display()))?;
    let base = args.config.parent().unwrap_or(Path::new("."));
    let resolve = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            base.join(p)
        }
    };
    let key_text =
        std::fs::read_to_string(resolve(&file.key_file)).wrap_err("reading the key file")?;
    let key = ValidatorKey::from_hex(&key_text)?;
    let genesis = genesis::load(&resolve(&file.genesis))?;
    let peers = |entries: &[ValidatorEntry]| {
        entries
            .iter()
            .map(|v| Ok((PeerId::from_hex(&v.public_key)?, v.address)))
            .collect::<eyre::Result<Vec<_>>>()
    };
    let validators = peers(&file.validators)?;
    let observers = peers(&file.observers)?;
    let data_dir = resolve(&file.data_dir);
    let consensus_dir = data_dir.join("consensus");
    std::fs::create_dir_all(&consensus_dir)?;
    let history = match file.history_blocks {
        Some(0) => History::Archive,
        Some(n) => History::Recent(n),
        None => History::default(),
    };
    let block_time = Duration::from_millis(file.block_time_ms);
    let config = ValidatorConfig {
        key: key.clone(),
        validators,
        observers,
        listen: file.listen,
        rpc_addr: Some(args.rpc.unwrap_or(file.rpc)),
        data_dir,
        genesis,
        fee_recipient: file.fee_recipient,
        block_time,
        leader_timeout: Duration::from_secs(1).max(block_time * 4),
        allow_empty_blocks: file.empty_blocks,
        history,
        mempool: Default::default(),
        rpc_limits: Default::default(),
        dev_signers: Vec::new(),
    };
    let json = args.json;
    tandem_consensus::run(&consensus_dir, |runtime| async move {
        let handle = launch_validator(&runtime, config).await?;
        let rpc = handle
            .rpc_addr
            .ok_or_else(|| eyre::eyre!("no RPC address"))?;
        if json {
            println!(
                "{}",
                serde_json::json!({ "rpc": format!("http://{rpc}"), "ws": format!("ws://{rpc}"), "validator": key.public().to_hex() })
            );
        } else {
            println!(
                "tandem validator {} running; JSON-RPC on http://{rpc}",
                key.public()
            );
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
    use clap::Parser;
    use tandem_primitives::{U256, system};

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
