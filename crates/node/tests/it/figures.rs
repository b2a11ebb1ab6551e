//! `net_peerCount`, `eth_syncing` and `/metrics` on real nodes: two validators on loopback p2p
//! count each other and report the tip; a dev node has no peers.
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use serde_json::{Value, json};
use std::{
    net::SocketAddr,
    time::{Duration, Instant},
};
use tandem_consensus::ValidatorKey;
use tandem_execution::dev_genesis;
use tandem_node::{ValidatorConfig, launch_validator};
use tandem_primitives::Address;

/// How long a test waits for a network to get somewhere before it fails.
const PATIENCE: Duration = Duration::from_secs(60);

async fn http(addr: SocketAddr, method: hyper::Method, path: &str, body: String) -> String {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let request = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    String::from_utf8(body.to_vec()).unwrap()
}

async fn call(addr: SocketAddr, method: &str) -> Value {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": []});
    let answer: Value =
        serde_json::from_str(&http(addr, hyper::Method::POST, "/", request.to_string()).await)
            .unwrap();
    answer["result"].clone()
}

async fn metrics(addr: SocketAddr) -> String {
    http(addr, hyper::Method::GET, "/metrics", String::new()).await
}

/// Polls `check` until it holds, failing after [`PATIENCE`].
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let started = Instant::now();
    while !check().await {
        assert!(started.elapsed() < PATIENCE, "timed out waiting: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A free port on 127.0.0.1 (the p2p config needs each address before any node starts).
fn free_addr() -> SocketAddr {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn height(number: &Value) -> u64 {
    u64::from_str_radix(number.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

/// A two-validator network on loopback, with one full node allowed to follow it.
struct Network {
    validators: Vec<(tandem_consensus::PeerId, SocketAddr)>,
    observer: (ValidatorKey, SocketAddr),
    keys: Vec<ValidatorKey>,
}

impl Network {
    fn new() -> Self {
        let keys: Vec<ValidatorKey> = (0..2).map(ValidatorKey::from_seed).collect();
        Self {
            validators: keys.iter().map(|k| (k.public(), free_addr())).collect(),
            observer: (ValidatorKey::from_seed(100), free_addr()),
            keys,
        }
    }

    /// Launches every validator, each with its data under `dir`.
    async fn launch_validators(
        &self,
        runtime: &tandem_consensus::Runtime,
        dir: &std::path::Path,
    ) -> Vec<tandem_node::ValidatorHandle> {
        let mut nodes = Vec::new();
        for (i, key) in self.keys.iter().enumerate() {
            let config = self.config(
                key,
                self.validators[i].1,
                &dir.join(format!("validator-{i}")),
            );
            nodes.push(launch_validator(runtime, config).await.unwrap());
        }
        nodes
    }

    /// The config of node `key` listening on `listen`: a validator if `key` is one, else a full node.
    fn config(
        &self,
        key: &ValidatorKey,
        listen: SocketAddr,
        data_dir: &std::path::Path,
    ) -> ValidatorConfig {
        ValidatorConfig {
            key: key.clone(),
            validators: self.validators.clone(),
            observers: vec![(self.observer.0.public(), self.observer.1)],
            listen,
            rpc_addr: Some("127.0.0.1:0".parse().unwrap()),
            data_dir: data_dir.to_path_buf(),
            genesis: dev_genesis(900),
            fee_recipient: Address::ZERO,
            block_time: Duration::from_millis(100),
            leader_timeout: Duration::from_secs(1),
            allow_empty_blocks: true,
            history: Default::default(),
            mempool: Default::default(),
            rpc_limits: Default::default(),
            dev_signers: Vec::new(),
        }
    }
}

#[test]
fn a_validator_whose_p2p_port_is_taken_says_so_instead_of_panicking() {
    let dir = tempfile::tempdir().unwrap();
    let network = Network::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let config = network.config(&network.keys[0], addr, &dir.path().join("validator"));
    let consensus_dir = dir.path().join("consensus");
    tandem_consensus::run(&consensus_dir, |runtime| async move {
        let refused = launch_validator(&runtime, config).await.err().unwrap();
        assert!(
            refused.to_string().contains("cannot listen for peers on"),
            "{refused}"
        );
        drop(taken);
    });
}

#[test]
fn validators_count_their_peers_and_report_the_tip() {
    let dir = tempfile::tempdir().unwrap();
    let network = Network::new();
    let consensus_dir = dir.path().join("consensus");
    tandem_consensus::run(&consensus_dir, |runtime| async move {
        let nodes = network.launch_validators(&runtime, dir.path()).await;
        let rpcs: Vec<SocketAddr> = nodes.iter().map(|n| n.rpc_addr.unwrap()).collect();
        for &rpc in &rpcs {
            eventually("each validator connected to the other", || async move {
                call(rpc, "net_peerCount").await == "0x1"
            })
            .await;
            eventually("blocks finalized", || async move {
                height(&call(rpc, "eth_blockNumber").await) >= 3
            })
            .await;
            // Executing blocks as they finalize: at the tip.
            eventually("at the tip", || async move {
                call(rpc, "eth_syncing").await == false
            })
            .await;
            let text = metrics(rpc).await;
            assert!(text.contains("\ntandem_peers 1\n"), "{text}");
            assert!(
                text.contains("\ntandem_highest_finalized_height "),
                "consensus reported no finalized tip: {text}"
            );
        }
        drop(nodes);
    });
}

#[test]
fn a_full_node_that_joins_late_reports_its_sync_until_it_reaches_the_tip() {
    let dir = tempfile::tempdir().unwrap();
    let network = Network::new();
    let consensus_dir = dir.path().join("consensus");
    tandem_consensus::run(&consensus_dir, |runtime| async move {
        let nodes = network.launch_validators(&runtime, dir.path()).await;
        let validator = nodes[0].rpc_addr.unwrap();
        eventually("the validators finalized 60 blocks", || async move {
            height(&call(validator, "eth_blockNumber").await) >= 60
        })
        .await;

        let (key, listen) = &network.observer;
        let config = network.config(key, *listen, &dir.path().join("full-node"));
        let full = launch_validator(&runtime, config).await.unwrap();
        let rpc = full.rpc_addr.unwrap();
        // Catching up: the progress, as geth gives it, from where it started.
        let started = Instant::now();
        let progress = loop {
            let syncing = call(rpc, "eth_syncing").await;
            if syncing != false {
                break syncing;
            }
            assert!(started.elapsed() < PATIENCE, "never reported syncing");
            tokio::time::sleep(Duration::from_millis(5)).await;
        };
        assert_eq!(progress["startingBlock"], "0x0", "{progress}");
        assert!(
            height(&progress["highestBlock"]) > height(&progress["currentBlock"]) + 2,
            "{progress}"
        );
        assert!(height(&progress["highestBlock"]) >= 60, "{progress}");
        // Then at the tip, with the validators' blocks.
        eventually("the full node caught up", || async move {
            call(rpc, "eth_syncing").await == false
                && height(&call(rpc, "eth_blockNumber").await) >= 60
        })
        .await;
        eventually(
            "the full node is connected to both validators",
            || async move { call(rpc, "net_peerCount").await == "0x2" },
        )
        .await;
        drop((full, nodes));
    });
}

#[tokio::test]
async fn a_dev_node_has_no_peers_and_is_never_syncing() {
    let dir = tempfile::tempdir().unwrap();
    let node = tandem_node::launch(crate::dev_config(dir.path()))
        .await
        .unwrap();
    assert_eq!(call(node.rpc_addr, "net_peerCount").await, "0x0");
    assert_eq!(call(node.rpc_addr, "eth_syncing").await, false);
    let text = metrics(node.rpc_addr).await;
    assert!(text.contains("\ntandem_peers 0\n"), "{text}");
    node.shutdown().await;
}
