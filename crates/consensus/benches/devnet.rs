//! Finalized transfers per second and finality latency of a 4-validator network on this machine:
//! four validators in one process, on Commonware's tokio runtime, over authenticated TCP on loopback,
//! with real EVM execution and redb storage.
//!
//! Run: `cargo bench -p tandem-consensus --bench devnet` (`-- --txs N --block-time-ms M` to vary).
//! Transactions enter every validator's pool directly, as gossip would deliver them, so the figures
//! measure consensus, execution and storage, not JSON-RPC.
use alloy_consensus::TxEip1559;
use alloy_primitives::{Address, B256, TxKind, U256, keccak256};
use futures::channel::mpsc;
use parking_lot::Mutex;
use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::Arc,
    time::{Duration, Instant},
};
use tandem_consensus::{Chain, Gossip, ValidatorKey, ValidatorSpec};
use tandem_execution::genesis_block;
use tandem_mempool::{AccountState, Mempool, Pool};
use tandem_primitives::{GenesisAccount, Layer, dev::DevAccount, genesis};
use tandem_storage::Storage;

const VALIDATORS: usize = 4;
const SENDERS: u64 = 200;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return; // `cargo bench -- --list` probes every bench target
    }
    let total = arg("--txs", 4_000);
    let block_time = Duration::from_millis(arg("--block-time-ms", 250));
    let senders: Vec<DevAccount> = (0..SENDERS)
        .map(|i| DevAccount::from_secret(keccak256(i.to_be_bytes())).unwrap())
        .collect();
    let mut genesis = tandem_execution::dev_genesis(900);
    for s in &senders {
        genesis.alloc.insert(
            s.address,
            GenesisAccount::default().with_balance(U256::from(10u128.pow(21))),
        );
    }
    let chain_config = genesis::chain_config(&genesis);
    let txs: Vec<_> = (0..total)
        .map(|i| {
            let tx = TxEip1559 {
                chain_id: 900,
                nonce: i / SENDERS,
                gas_limit: 21_000,
                max_fee_per_gas: 100_000_000_000,
                max_priority_fee_per_gas: 1,
                to: TxKind::Call(Address::with_last_byte((i % 250) as u8)),
                value: U256::from(1),
                ..Default::default()
            };
            let sender = &senders[(i % SENDERS) as usize];
            (sender.sign(tx), sender.address)
        })
        .collect();

    let dir = tempfile::tempdir().unwrap();
    let keys: Vec<ValidatorKey> = (0..VALIDATORS as u64)
        .map(ValidatorKey::from_seed)
        .collect();
    let base = 33_000 + (std::process::id() % 1_000) as u16 * 4;
    let validators: Vec<_> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            (
                k.public(),
                SocketAddr::from(([127, 0, 0, 1], base + i as u16)),
            )
        })
        .collect();
    let committed: Arc<Mutex<HashMap<B256, Instant>>> = Arc::default();
    let consensus_dir = dir.path().join("consensus");
    let dir_path = dir.path().to_path_buf();
    tandem_consensus::run(&consensus_dir, |runtime| async move {
        let mut chains = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            let storage =
                Arc::new(Storage::open(&dir_path.join(format!("validator-{i}.redb"))).unwrap());
            let eth_genesis = genesis_block(&storage.read().unwrap(), &genesis).unwrap();
            storage.commit(&eth_genesis.clone().into_commit()).unwrap();
            let mempool = tandem_mempool::Config {
                max_total: 100_000,
                max_total_bytes: 256 * 1024 * 1024,
                ..Default::default()
            };
            let pool = Arc::new(Pool::new(
                Mempool::new(
                    mempool,
                    900,
                    chain_config.gas_limit,
                    chain_config.fees.min_base_fee_wei,
                ),
                Layer::L1,
            ));
            let seen = committed.clone();
            let on_commit: tandem_consensus::OnCommit = Arc::new(move |executed| {
                let now = Instant::now();
                let mut seen = seen.lock();
                for tx in &executed.block.block.transactions {
                    seen.insert(tx.tx.tx_hash(), now);
                }
            });
            let chain = Arc::new(Chain::new(
                storage,
                pool,
                chain_config.clone(),
                Address::ZERO,
                false,
                (i == 0).then_some(on_commit),
            ));
            let (_gossip_tx, gossip_rx) = mpsc::channel(1);
            let spec = ValidatorSpec {
                key: key.clone(),
                validators: validators.clone(),
                observers: Vec::new(),
                listen: validators[i].1,
                partition: format!("validator-{i}"),
                namespace: b"tandem-bench".to_vec(),
                genesis: eth_genesis.block,
                leader_timeout: Duration::from_secs(1).max(block_time * 4),
                certification_timeout: Duration::from_secs(2).max(block_time * 8),
                block_time,
            };
            runtime
                .start_validator(
                    spec,
                    chain.clone(),
                    Gossip {
                        outbound: gossip_rx,
                        inbound: Arc::new(|_| {}),
                    },
                )
                .await
                .unwrap();
            chains.push(chain);
        }
        tokio::time::sleep(Duration::from_secs(2)).await; // let the validators connect
        let start_height = chains[0].committed_height().unwrap();
        let started = Instant::now();
        let mut sent_at = HashMap::new();
        for (tx, sender) in &txs {
            for chain in &chains {
                let account = chain
                    .storage
                    .read()
                    .unwrap()
                    .account(*sender)
                    .unwrap()
                    .unwrap();
                let _ = chain.pool.lock().add(
                    tx.clone(),
                    *sender,
                    AccountState {
                        nonce: account.nonce,
                        balance: account.balance,
                    },
                );
            }
            sent_at.insert(tx.tx_hash(), Instant::now());
        }
        let deadline = Instant::now() + Duration::from_secs(600);
        while committed.lock().len() < txs.len() && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let elapsed = started.elapsed();
        let seen = committed.lock().clone();
        let mut latencies: Vec<Duration> = sent_at
            .iter()
            .filter_map(|(h, at)| seen.get(h).map(|done| done.duration_since(*at)))
            .collect();
        latencies.sort();
        let blocks = chains[0].committed_height().unwrap() - start_height;
        let finalized = latencies.len();
        println!(
            "devnet::finality/validators=4/txs={total}/block_time_ms={}",
            block_time.as_millis()
        );
        println!(
            "  finalized transfers  {finalized} of {total} in {:.2} s over {blocks} blocks",
            elapsed.as_secs_f64()
        );
        println!(
            "  throughput           {:.0} finalized transfers/s",
            finalized as f64 / elapsed.as_secs_f64()
        );
        if finalized > 0 {
            println!(
                "  finality latency     p50 {:.0} ms, p99 {:.0} ms, max {:.0} ms",
                percentile(&latencies, 0.5).as_secs_f64() * 1e3,
                percentile(&latencies, 0.99).as_secs_f64() * 1e3,
                latencies.last().unwrap().as_secs_f64() * 1e3
            );
        }
    });
}
