//! A validator network as files: `tandem setup` writes them ([`write_network`]: the keys, the
//! shared genesis and one [`NodeFile`] per node), `tandem node` reads one ([`NodeFile::load`]) into
//! the [`ValidatorConfig`] it launches. Library data, so a test writes and reads the same files.
use crate::ValidatorConfig;
use alloy_primitives::Address;
use serde::{Deserialize, Serialize};
use std::{
    net::{IpAddr, SocketAddr},
    path::{Path, PathBuf},
    time::Duration,
};
use tandem_consensus::{PeerId, ValidatorKey};
use tandem_primitives::{Genesis, genesis};
use tandem_storage::History;

/// Why a network's files could not be written or read.
#[derive(Debug, thiserror::Error)]
pub enum NetworkError {
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid config {path}: {reason}")]
    Config { path: String, reason: String },
    #[error("{0}")]
    Plan(String),
}

type Result<T, E = NetworkError> = std::result::Result<T, E>;

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> NetworkError + '_ {
    move |source| NetworkError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// One node's configuration file (`nodeI.toml`). Relative paths are relative to the file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NodeFile {
    /// The validator's secret key file (hex).
    pub key_file: PathBuf,
    /// p2p listen address.
    pub listen: SocketAddr,
    /// JSON-RPC (HTTP and WebSocket) address.
    pub rpc: SocketAddr,
    pub data_dir: PathBuf,
    /// The shared geth-style genesis file.
    pub genesis: PathBuf,
    /// Receives the priority fees of this validator's blocks.
    #[serde(default)]
    pub fee_recipient: Address,
    #[serde(default = "default_block_time_ms")]
    pub block_time_ms: u64,
    #[serde(default)]
    pub empty_blocks: bool,
    /// Blocks of state history kept; absent keeps the default, 0 keeps all (archive).
    #[serde(default)]
    pub history_blocks: Option<u64>,
    /// Every validator of the network. A node whose key is not among them runs as a full node.
    pub validators: Vec<ValidatorEntry>,
    /// Full nodes the validators accept as followers.
    #[serde(default)]
    pub observers: Vec<ValidatorEntry>,
}

/// A member of the network: its public key (hex) and p2p address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorEntry {
    pub public_key: String,
    pub address: SocketAddr,
}

fn default_block_time_ms() -> u64 {
    250
}

impl NodeFile {
    /// Reads the node file at `path` and what it names (key, genesis) into the configuration
    /// [`crate::launch_validator`] takes; `rpc` overrides the file's JSON-RPC address.
    pub fn load(path: &Path, rpc: Option<SocketAddr>) -> Result<ValidatorConfig> {
        let text = std::fs::read_to_string(path).map_err(io(path))?;
        let invalid = |reason: String| NetworkError::Config {
            path: path.display().to_string(),
            reason,
        };
        let file: NodeFile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        let resolve = |p: &Path| match p.is_absolute() {
            true => p.to_path_buf(),
            false => base.join(p),
        };
        let key_path = resolve(&file.key_file);
        let key_text = std::fs::read_to_string(&key_path).map_err(io(&key_path))?;
        let key = ValidatorKey::from_hex(&key_text)
            .map_err(|e| invalid(format!("key file {}: {e}", key_path.display())))?;
        let genesis = genesis::load(&resolve(&file.genesis)).map_err(|e| invalid(e.to_string()))?;
        let peers = |entries: &[ValidatorEntry]| {
            entries
                .iter()
                .map(|v| {
                    let id = PeerId::from_hex(&v.public_key)
                        .map_err(|e| invalid(format!("public key {}: {e}", v.public_key)))?;
                    Ok((id, v.address))
                })
                .collect::<Result<Vec<_>>>()
        };
        let block_time = Duration::from_millis(file.block_time_ms);
        Ok(ValidatorConfig {
            key,
            validators: peers(&file.validators)?,
            observers: peers(&file.observers)?,
            listen: file.listen,
            rpc_addr: Some(rpc.unwrap_or(file.rpc)),
            data_dir: resolve(&file.data_dir),
            genesis,
            fee_recipient: file.fee_recipient,
            block_time,
            leader_timeout: Duration::from_secs(1).max(block_time * 4),
            allow_empty_blocks: file.empty_blocks,
            history: match file.history_blocks {
                Some(0) => History::Archive,
                Some(n) => History::Recent(n),
                None => History::default(),
            },
            mempool: Default::default(),
            rpc_limits: Default::default(),
            dev_signers: Vec::new(),
        })
    }
}

/// What [`write_network`] writes: the flags of `tandem setup` (the genesis comes from the caller).
#[derive(Debug, Clone, clap::Args)]
pub struct NetworkPlan {
    /// Number of validators.
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub validators: u16,
    /// Directory to write keys, genesis.json and nodeI.toml into (created; must not hold files).
    #[arg(long)]
    pub out: PathBuf,
    /// Also write this many full nodes (they follow and serve JSON-RPC, but do not vote), on 127.0.0.1.
    #[arg(long, default_value_t = 0)]
    pub full_nodes: u16,
    /// p2p port of the first validator; on one host validator i uses this + i.
    #[arg(long, default_value_t = 30_400)]
    pub base_port: u16,
    /// JSON-RPC port of the first validator; on one host validator i uses this + i.
    #[arg(long, default_value_t = 8545)]
    pub rpc_port: u16,
    /// One host (IP) per validator, comma-separated; all on 127.0.0.1 when absent.
    #[arg(long, value_delimiter = ',')]
    pub hosts: Vec<IpAddr>,
    /// Least time between blocks, in milliseconds.
    #[arg(long, default_value_t = 250)]
    pub block_time_ms: u64,
    #[arg(skip)]
    pub genesis: Genesis,
}

/// Writes a network's files into `plan.out`: `genesis.json`, and for each validator `nodeI.key`
/// (its secret, readable by the owner only) and `nodeI.toml`, likewise `fullJ.key` and
/// `fullJ.toml` for full nodes. Returns the validators as the node files list them.
pub fn write_network(plan: &NetworkPlan) -> Result<Vec<ValidatorEntry>> {
    let n = usize::from(plan.validators);
    if !plan.hosts.is_empty() && plan.hosts.len() != n {
        return Err(NetworkError::Plan(format!(
            "--hosts lists {} hosts for {n} validators",
            plan.hosts.len()
        )));
    }
    let out = &plan.out;
    if out.exists() && std::fs::read_dir(out).map_err(io(out))?.next().is_some() {
        return Err(NetworkError::Plan(format!(
            "{} already holds files; setup writes into an empty directory",
            out.display()
        )));
    }
    std::fs::create_dir_all(out).map_err(io(out))?;
    let one_host = plan.hosts.is_empty();
    let loopback = IpAddr::from([127, 0, 0, 1]);
    let host = |i: usize| if one_host { loopback } else { plan.hosts[i] };
    let port = |base: u16, i: usize| if one_host { base + i as u16 } else { base };
    let keys: Vec<ValidatorKey> = (0..n)
        .map(|_| ValidatorKey::from_bytes(rand::random()))
        .collect();
    let validators: Vec<ValidatorEntry> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| ValidatorEntry {
            public_key: k.public().to_hex(),
            address: SocketAddr::new(host(i), port(plan.base_port, i)),
        })
        .collect();
    let full_keys: Vec<ValidatorKey> = (0..plan.full_nodes.into())
        .map(|_| ValidatorKey::from_bytes(rand::random()))
        .collect();
    let observer_port = |j: usize| match one_host {
        true => plan.base_port + (n + j) as u16,
        false => plan.base_port + j as u16 + 1,
    };
    let observers: Vec<ValidatorEntry> = full_keys
        .iter()
        .enumerate()
        .map(|(j, k)| ValidatorEntry {
            public_key: k.public().to_hex(),
            address: SocketAddr::new(loopback, observer_port(j)),
        })
        .collect();
    let genesis_path = out.join("genesis.json");
    let genesis = serde_json::to_string_pretty(&plan.genesis)
        .map_err(|e| NetworkError::Plan(format!("genesis: {e}")))?;
    std::fs::write(&genesis_path, genesis).map_err(io(&genesis_path))?;
    let write_node = |name: String, key: &ValidatorKey, listen, rpc| {
        let key_file = format!("{name}.key");
        write_secret(&out.join(&key_file), &key.to_hex())?;
        let node = NodeFile {
            key_file: key_file.into(),
            listen,
            rpc,
            data_dir: format!("data/{name}").into(),
            genesis: "genesis.json".into(),
            fee_recipient: Address::ZERO,
            block_time_ms: plan.block_time_ms,
            empty_blocks: false,
            history_blocks: None,
            validators: validators.clone(),
            observers: observers.clone(),
        };
        let path = out.join(format!("{name}.toml"));
        let text = toml::to_string_pretty(&node).map_err(|e| NetworkError::Plan(e.to_string()))?;
        std::fs::write(&path, text).map_err(io(&path))
    };
    for (j, key) in full_keys.iter().enumerate() {
        let rpc = SocketAddr::new(loopback, plan.rpc_port + (n + j) as u16);
        write_node(format!("full{j}"), key, observers[j].address, rpc)?;
    }
    for (i, key) in keys.iter().enumerate() {
        // On one host each node listens on its own port there; across hosts every node listens
        // on all interfaces and serves JSON-RPC on loopback only.
        let (listen_ip, rpc_host) = match one_host {
            true => (host(i), host(i)),
            false => (IpAddr::from([0, 0, 0, 0]), loopback),
        };
        let listen = SocketAddr::new(listen_ip, port(plan.base_port, i));
        let rpc = SocketAddr::new(rpc_host, port(plan.rpc_port, i));
        write_node(format!("node{i}"), key, listen, rpc)?;
    }
    Ok(validators)
}

/// Writes a secret file only its owner can read, refusing to overwrite one.
fn write_secret(path: &Path, secret: &str) -> Result<()> {
    use std::io::Write;
    #[cfg(unix)]
    use std::os::unix::fs::OpenOptionsExt;
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    options.mode(0o600);
    let mut file = options.open(path).map_err(io(path))?;
    writeln!(file, "{secret}").map_err(io(path))
}

/// What `tandem devnet` runs of L1: validators in one process, each with its own storage, agreeing
/// over real authenticated p2p on loopback (dev keys from fixed seeds), with JSON-RPC (and the dev
/// accounts unlocked) from the first one.
#[derive(Debug, Clone)]
pub struct Devnet {
    pub validators: u16,
    pub rpc_addr: SocketAddr,
    /// Validator i listens on this port + i.
    pub p2p_port: u16,
    pub block_time: Duration,
    pub empty_blocks: bool,
    /// Validator i keeps its chain in `validator-i` here.
    pub data_dir: PathBuf,
    pub history: History,
    pub genesis: Genesis,
}

/// Starts the devnet's validators on `runtime`; returns the first one's JSON-RPC address and the
/// running validators (dropping them stops them).
pub async fn launch_devnet(
    runtime: &tandem_consensus::Runtime,
    devnet: &Devnet,
) -> crate::Result<(SocketAddr, Vec<crate::ValidatorHandle>)> {
    let keys: Vec<ValidatorKey> = (0..u64::from(devnet.validators))
        .map(ValidatorKey::from_seed)
        .collect();
    let validators: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let port = devnet.p2p_port + i as u16;
            (k.public(), SocketAddr::from(([127, 0, 0, 1], port)))
        })
        .collect();
    let mut running = Vec::with_capacity(keys.len());
    for (i, key) in keys.iter().enumerate() {
        let config = ValidatorConfig {
            key: key.clone(),
            validators: validators.clone(),
            observers: Vec::new(),
            listen: validators[i].1,
            rpc_addr: (i == 0).then_some(devnet.rpc_addr),
            data_dir: devnet.data_dir.join(format!("validator-{i}")),
            genesis: devnet.genesis.clone(),
            fee_recipient: Address::ZERO,
            block_time: devnet.block_time,
            leader_timeout: Duration::from_secs(1).max(devnet.block_time * 4),
            allow_empty_blocks: devnet.empty_blocks,
            history: devnet.history,
            mempool: Default::default(),
            rpc_limits: Default::default(),
            dev_signers: tandem_primitives::dev::accounts().to_vec(),
        };
        running.push(crate::launch_validator(runtime, config).await?);
    }
    let rpc = running
        .first()
        .and_then(|v| v.rpc_addr)
        .ok_or_else(|| crate::Error::Consensus("no validator serves RPC".into()))?;
    Ok((rpc, running))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tandem_primitives::{B256, BridgeParams, ChainConfig, U256, system};

    /// The storage slot `slot` of `address` in `genesis`.
    fn slot(genesis: &Genesis, address: Address, slot: u64) -> U256 {
        let storage = genesis.alloc[&address].storage.clone().unwrap_or_default();
        let key = B256::from(U256::from(slot));
        U256::from_be_bytes(storage.get(&key).copied().unwrap_or_default().0)
    }

    /// What `tandem setup --validators 1 --out DIR` writes with these bridge rules.
    fn written(params: &BridgeParams) -> Genesis {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("net");
        let plan = NetworkPlan {
            out: out.clone(),
            validators: 1,
            full_nodes: 0,
            base_port: 30_400,
            rpc_port: 8545,
            hosts: Vec::new(),
            block_time_ms: 250,
            genesis: tandem_execution::dev_genesis_with(ChainConfig::L1_DEV_CHAIN_ID, params),
        };
        write_network(&plan).unwrap();
        genesis::load(&out.join("genesis.json")).unwrap()
    }

    #[test]
    fn setup_writes_the_bridge_rules_and_the_l2_genesis_output_into_the_genesis() {
        let params = BridgeParams {
            challenge_window: 30,
            output_interval: 8,
            ..BridgeParams::dev()
        };
        let written = written(&params);
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
            tandem_execution::dev_genesis_with(ChainConfig::L1_DEV_CHAIN_ID, &params)
        );
    }

    #[test]
    fn the_dev_bridge_rules_are_the_dev_genesis_rules() {
        let dev = BridgeParams::dev();
        let written = written(&dev);
        assert_eq!(
            slot(&written, system::OUTPUT_ORACLE, 1),
            U256::from(dev.challenge_window)
        );
        assert_eq!(
            slot(&written, system::OUTPUT_ORACLE, 2),
            U256::from(dev.output_interval)
        );
        assert_eq!(
            written,
            tandem_execution::dev_genesis(ChainConfig::L1_DEV_CHAIN_ID)
        );
    }
}
