//! `tandem bench compare`: the same workload on L1 and on L2 (and optionally a peer node), with
//! what each layer costs in throughput, latency, fees and L1 data, in one report.
use crate::{
    load::{self, LoadConfig, LoadReport, Mix, Receipts, unix_ms},
    rpc::{self, quantity},
    stats::Percentiles,
};
use serde::Serialize;
use serde_json::Value;
use std::{
    collections::BTreeMap,
    sync::Arc,
    time::{Duration, Instant},
};
use tandem_client::{Client, ClientError, types::RollupStatus};
use tandem_primitives::dev;
use tokio::sync::Mutex;

#[derive(Debug, Clone)]
pub struct CompareConfig {
    pub l1_rpc: String,
    pub l2_rpc: String,
    pub peer_rpc: Option<String>,
    /// Client-pattern columns measured before the layers' runs ([`client_pattern`]: `tandem dev`
    /// and the peer, before a devnet shares the cores with them); the run adds L1's and L2's.
    pub client: BTreeMap<&'static str, ClientColumn>,
    /// Transactions per layer.
    pub txs: usize,
    /// Transactions of the client pattern per node ([`CLIENT_TXS`] for the figures).
    pub client_txs: usize,
    pub accounts: usize,
    pub progress: bool,
}

/// One layer's column.
#[derive(Debug, Clone, Serialize)]
pub struct Column {
    pub rpc: String,
    pub chain_id: u64,
    /// Included workload transactions per second, first send to last inclusion.
    pub tps: f64,
    pub accepted_tps: f64,
    pub sent: usize,
    pub included: usize,
    pub nonces_ok: bool,
    /// Send to the first sight of the including block.
    pub latency_ms: Percentiles,
    pub fee_wei_per_transfer: Option<u128>,
    pub fee_wei_per_erc20: Option<u128>,
    pub rejected: BTreeMap<String, usize>,
    /// Why the run stopped early or failed, when it did; the figures are what it measured.
    pub stalled: Option<String>,
}

impl Column {
    /// A run that produced nothing: the column stays, saying why.
    fn failed(rpc: &str, why: String) -> Self {
        Self {
            rpc: rpc.to_string(),
            chain_id: 0,
            tps: 0.0,
            accepted_tps: 0.0,
            sent: 0,
            included: 0,
            nonces_ok: false,
            latency_ms: Percentiles::default(),
            fee_wei_per_transfer: None,
            fee_wei_per_erc20: None,
            rejected: BTreeMap::new(),
            stalled: Some(why),
        }
    }

    fn of(report: &LoadReport) -> Self {
        Self {
            rpc: report.rpc.clone(),
            chain_id: report.chain_id,
            tps: report.included_tps,
            accepted_tps: report.accepted_tps,
            sent: report.sent,
            included: report.included,
            nonces_ok: report.nonces_ok,
            latency_ms: report.latency_ms,
            fee_wei_per_transfer: report.fee_wei_per_transfer,
            fee_wei_per_erc20: report.fee_wei_per_erc20,
            rejected: report.rejected.clone(),
            stalled: report.stalled.clone(),
        }
    }
}

/// One node under the client pattern of ethers and viem ([`Receipts::Poll`]).
#[derive(Debug, Clone, Serialize)]
pub struct ClientColumn {
    pub rpc: String,
    pub sent: usize,
    pub accepted: usize,
    /// Accepted transactions per second, first send to the last receipt the client found.
    pub tps: f64,
    pub seconds: f64,
    /// Send to receipt, as polled.
    pub receipt_ms: Percentiles,
    pub rejected: BTreeMap<String, usize>,
    /// Why the run stopped early or failed, when it did.
    pub stalled: Option<String>,
}

impl ClientColumn {
    fn of(rpc: &str, run: Result<LoadReport, String>) -> Self {
        match run {
            Ok(r) => Self {
                rpc: r.rpc,
                sent: r.sent,
                accepted: r.accepted,
                tps: r.receipts_tps.unwrap_or_default(),
                seconds: r.receipts_seconds.unwrap_or_default(),
                receipt_ms: r.receipt_ms.unwrap_or_default(),
                rejected: r.rejected,
                stalled: r.stalled,
            },
            Err(why) => Self {
                rpc: rpc.to_string(),
                sent: 0,
                accepted: 0,
                tps: 0.0,
                seconds: 0.0,
                receipt_ms: Percentiles::default(),
                rejected: BTreeMap::new(),
                stalled: Some(why),
            },
        }
    }
}

/// The client pattern's workload: 2,000 transfers pre-signed by 20 fresh accounts, 100 each.
/// (`client_txs` may shrink it; the accounts stay.)
pub const CLIENT_TXS: usize = 2_000;
pub const CLIENT_ACCOUNTS: usize = 20;
/// How long a client polls between two asks for a missing receipt.
pub const CLIENT_POLL: Duration = Duration::from_millis(100);
/// Runs the client pattern ([`CLIENT_ACCOUNTS`] fresh accounts funded by dev account 0, every
/// receipt polled) on each named node, one after another; a node that fails or stalls keeps its
/// column, saying why.
pub async fn client_pattern(
    nodes: &[(&'static str, &str)],
    txs: usize,
    seed: u64,
    progress: bool,
) -> BTreeMap<&'static str, ClientColumn> {
    let mut columns = BTreeMap::new();
    for (i, (name, url)) in nodes.iter().enumerate() {
        let config = LoadConfig {
            accounts: CLIENT_ACCOUNTS,
            txs,
            rate: None,
            mix: Mix::Transfer,
            funder: dev::accounts()[0].clone(),
            seed: seed.wrapping_add(i as u64),
            sync: false,
            receipts: Receipts::Poll,
            poll_interval: CLIENT_POLL,
            progress,
        };
        columns.insert(*name, ClientColumn::of(url, bounded(url, &config).await));
    }
    columns
}

/// The most a peer's run may take before its column is closed as stalled: a peer that stops
/// answering must not hold the report hostage.
const PEER_TIMEOUT: Duration = Duration::from_secs(600);

/// The L2 column: the layer's figures plus what only a rollup has.
#[derive(Debug, Clone, Serialize)]
pub struct L2Column {
    #[serde(flatten)]
    pub layer: Column,
    /// Send to the sequencer's receipt (`eth_sendRawTransactionSync`).
    pub preconf_ms: Percentiles,
    /// Send to the block being in a batch in a finalized L1 block.
    pub safe_ms: Percentiles,
    /// Send to the L2 finalized head reaching its block: an output root covering it past its
    /// challenge window. `None` when no output finalized in time (no proposer, or a long window).
    pub finalized_ms: Option<Percentiles>,
    /// The OutputOracle's challenge window on this L1, in seconds.
    pub challenge_window_s: Option<u64>,
    /// One withdrawal's whole life, when the window is short enough to wait out.
    pub withdrawal: Option<WithdrawalLife>,
    /// Of `fee_wei_per_transfer`: L2 execution and L1 data.
    pub execution_fee_wei_per_transfer: Option<u128>,
    pub l1_data_fee_wei_per_transfer: Option<u128>,
    /// Batch bytes on L1 per L2 transaction, over the batches that carried the workload.
    pub l1_bytes_per_tx: Option<f64>,
    /// Signed transaction bytes / batch bytes.
    pub compression_ratio: Option<f64>,
    pub batches: usize,
}

/// One withdrawal from L2 to L1, start to end: initiated on L2, covered by an output, the
/// output's challenge window, and paid out on L1 by `Portal.finalizeWithdrawal`.
#[derive(Debug, Clone, Serialize)]
pub struct WithdrawalLife {
    /// From sending the L2 transaction to the L1 payout's receipt.
    pub total_ms: f64,
    /// From sending it to an output covering it being on L1.
    pub to_output_ms: f64,
    pub challenge_window_s: u64,
    /// L1 blocks from the first one past the window to the payout's (1 = paid in the first).
    pub l1_blocks_after_window: u64,
    pub l2_transaction: alloy_primitives::B256,
    pub l1_transaction: alloy_primitives::B256,
}

/// One moment of the fee markets while the load runs.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct FeeSample {
    /// Seconds since the run started.
    pub t_s: f64,
    pub l1_base_fee_wei: u128,
    pub l2_base_fee_wei: u128,
    /// What a plain transfer pays on L2 right then: 21,000 x base fee plus its L1 data fee.
    pub l2_transfer_fee_wei: u128,
    /// What it pays on L1: 21,000 x base fee.
    pub l1_transfer_fee_wei: u128,
}

/// A transaction the report counts, for anyone to check against the chain.
#[derive(Debug, Clone, Serialize)]
pub struct Sample {
    pub hash: alloy_primitives::B256,
    pub block: u64,
    pub fee_wei: u128,
}

#[derive(Debug, Clone, Serialize)]
pub struct Machine {
    pub cores: usize,
    pub memory_bytes: Option<u64>,
    pub os: String,
    pub tandem_version: String,
}

impl Machine {
    fn this() -> Self {
        let memory_bytes = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
            let kb: u64 = m.lines().next()?.split_whitespace().nth(1)?.parse().ok()?;
            Some(kb * 1024)
        });
        Self {
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_bytes,
            os: std::env::consts::OS.to_string(),
            tandem_version: env!("CARGO_PKG_VERSION").to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub workload: Workload,
    pub l1: Column,
    pub l2: L2Column,
    /// The peer's column; kept when its run stalls or fails, saying why.
    pub peer: Option<Column>,
    /// The client pattern (every receipt polled, as ethers and viem wait) on `dev` (a `tandem
    /// dev` node), `l1`, `l2` and `peer`.
    pub client: BTreeMap<&'static str, ClientColumn>,
    /// L1 fee / L2 fee for a transfer.
    pub fee_ratio_l1_over_l2: Option<f64>,
    pub congestion: Vec<FeeSample>,
    pub tradeoffs: BTreeMap<&'static str, &'static str>,
    pub machine: Machine,
    pub samples: BTreeMap<&'static str, Vec<Sample>>,
    /// Per-block arrivals and per-transaction latencies, for the charts.
    #[serde(skip)]
    pub runs: Runs,
    /// The project's targets next to this run's figures; a target missed says so.
    pub targets: Vec<Target>,
}

#[derive(Debug, Clone, Default)]
pub struct Runs {
    pub l1: Option<LoadReport>,
    pub l2: Option<LoadReport>,
    pub peer: Option<LoadReport>,
    pub l2_safe_ms: Vec<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Workload {
    pub mix: Mix,
    pub txs_per_layer: usize,
    pub accounts: usize,
}

fn tradeoffs() -> BTreeMap<&'static str, &'static str> {
    BTreeMap::from([
        (
            "l1_censorship",
            "A transaction is in the next block unless more than a third of the validators collude to leave it out; the leader of a view can delay it by one view.",
        ),
        (
            "l1_finality",
            "Final when its block commits: one BFT round, no reorgs.",
        ),
        (
            "l2_censorship",
            "One sequencer orders L2: it can delay or refuse a transaction. Forced inclusion through L1's Portal (with the bridge) bounds that.",
        ),
        (
            "l2_finality",
            "Preconfirmed in milliseconds on the sequencer's word; safe once its batch is in a finalized L1 block (seconds), when anyone can rebuild it from L1; final once an output root covering it passes the challenge window.",
        ),
        (
            "l2_withdrawal",
            "Money leaves L2 once an output root covering the withdrawal is past the challenge window (devnet: short; production: 1 hour), proven on L1 against it.",
        ),
    ])
}

/// Runs the comparison.
pub async fn run(config: &CompareConfig) -> Result<Report, load::LoadError> {
    let l1 = rpc::connect(&config.l1_rpc).await?;
    let l2 = rpc::connect(&config.l2_rpc).await?;
    let funder = dev::accounts()[0].clone();
    let base = LoadConfig {
        accounts: config.accounts,
        txs: config.txs,
        rate: None,
        mix: Mix::Mixed,
        funder,
        seed: unix_ms(Instant::now()) as u64,
        sync: false,
        receipts: Receipts::Blocks,
        poll_interval: CLIENT_POLL,
        progress: config.progress,
    };
    let started = Instant::now();

    // Fee markets sampled all along, so L1's congestion shows next to L2's fees.
    let congestion = Arc::new(Mutex::new(Vec::new()));
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sampler = tokio::spawn(sample_fees(
        l1.clone(),
        l2.clone(),
        started,
        congestion.clone(),
        stopped.clone(),
    ));

    let l1_run = load::run(&l1, &base).await?;

    // L2: each sender waits for its preconfirmation before the next; the rollup's status is
    // polled throughout for the safe head and the batches.
    let rollup = Arc::new(Mutex::new(RollupTrace::default()));
    let tracer = tokio::spawn(trace_rollup(l2.clone(), rollup.clone(), stopped));
    let l2_config = LoadConfig {
        sync: true,
        seed: base.seed.wrapping_add(1),
        ..base.clone()
    };
    let l2_run = load::run(&l2, &l2_config).await?;
    let last_block = l2_run
        .transactions
        .iter()
        .map(|t| t.block)
        .max()
        .unwrap_or_default();
    let deadline = Instant::now() + Duration::from_secs(60);
    while rollup
        .lock()
        .await
        .safe
        .last()
        .map(|(_, n)| *n)
        .unwrap_or_default()
        < last_block
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Finalized: wait out the challenge window (plus an output interval) when it is short enough.
    let window = challenge_window(&l1).await;
    // Meanwhile, one withdrawal's whole life.
    let withdrawal = window.filter(|w| *w <= MAX_FINALIZED_WAIT_S).map(|window| {
        let (l1_url, l2_url) = (http(&config.l1_rpc), http(&config.l2_rpc));
        tokio::spawn(async move {
            withdrawal_life(&l1_url, &l2_url, window)
                .await
                .inspect_err(|e| tracing::warn!(target: "bench", error = %e, "the withdrawal's life was not measured"))
                .ok()
        })
    });
    if let Some(window) = window.filter(|w| *w <= MAX_FINALIZED_WAIT_S) {
        let deadline = Instant::now() + Duration::from_secs(window + 60);
        while rollup
            .lock()
            .await
            .finalized
            .last()
            .map(|(_, n)| *n)
            .unwrap_or_default()
            < last_block
            && Instant::now() < deadline
        {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let withdrawal = match withdrawal {
        Some(task) => tokio::time::timeout(Duration::from_secs(MAX_FINALIZED_WAIT_S + 120), task)
            .await
            .ok()
            .and_then(Result::ok)
            .flatten(),
        None => None,
    };
    let _ = stop.send(true);
    let _ = tracer.await;
    let _ = sampler.await;

    // The peer's run: a failure or a stall costs its figures, not its column or the layers'.
    let peer_run = match &config.peer_rpc {
        Some(url) => {
            let peer_config = LoadConfig {
                seed: base.seed.wrapping_add(2),
                ..base.clone()
            };
            Some((url, bounded(url, &peer_config).await))
        }
        None => None,
    };
    let peer_column = peer_run.as_ref().map(|(url, run)| match run {
        Ok(run) => Column::of(run),
        Err(why) => Column::failed(url, why.clone()),
    });
    let peer_run = peer_run.and_then(|(_, run)| run.ok());

    // The client pattern on each layer, after the columns measured before.
    let mut client = config.client.clone();
    let layers = [
        ("l1", config.l1_rpc.as_str()),
        ("l2", config.l2_rpc.as_str()),
    ];
    client.extend(
        client_pattern(
            &layers,
            config.client_txs,
            base.seed.wrapping_add(3),
            config.progress,
        )
        .await,
    );

    // Safe: when the safe head first reached each transaction's block.
    let trace = rollup.lock().await.clone();
    let safe_ms: Vec<f64> = l2_run
        .transactions
        .iter()
        .filter_map(|t| {
            let (at, _) = trace.safe.iter().find(|(_, n)| *n >= t.block)?;
            Some(at - t.sent_unix_ms)
        })
        .collect();
    let finalized_ms: Vec<f64> = l2_run
        .transactions
        .iter()
        .filter_map(|t| {
            let (at, _) = trace.finalized.iter().find(|(_, n)| *n >= t.block)?;
            Some(at - t.sent_unix_ms)
        })
        .collect();
    let first_block = l2_run
        .transactions
        .iter()
        .map(|t| t.block)
        .min()
        .unwrap_or_default();
    let carrying: Vec<&BatchSeen> = trace
        .batches
        .values()
        .filter(|b| b.last_block >= first_block && b.first_block <= last_block)
        .collect();
    let (bytes, txs) = carrying.iter().fold((0usize, 0usize), |(b, t), batch| {
        (b + batch.bytes, t + batch.transactions)
    });
    let raw_per_tx = if l2_run.transactions.is_empty() {
        0.0
    } else {
        l2_run
            .transactions
            .iter()
            .map(|t| t.raw_bytes)
            .sum::<usize>() as f64
            / l2_run.transactions.len() as f64
    };
    let mean = |run: &LoadReport, pick: &dyn Fn(&load::TxRecord) -> Option<u128>| {
        let values: Vec<u128> = run.transactions.iter().filter_map(pick).collect();
        (!values.is_empty()).then(|| values.iter().sum::<u128>() / values.len() as u128)
    };
    let l2_column = L2Column {
        layer: Column::of(&l2_run),
        preconf_ms: l2_run.preconf_ms.unwrap_or_default(),
        safe_ms: Percentiles::of(&safe_ms),
        finalized_ms: (finalized_ms.len() == l2_run.transactions.len() && !finalized_ms.is_empty())
            .then(|| Percentiles::of(&finalized_ms)),
        challenge_window_s: window,
        withdrawal,
        execution_fee_wei_per_transfer: mean(&l2_run, &|t| {
            (!t.erc20).then_some(t.fee_wei - t.l1_fee_wei)
        }),
        l1_data_fee_wei_per_transfer: l2_run.l1_fee_wei_per_transfer,
        l1_bytes_per_tx: (txs > 0).then(|| bytes as f64 / txs as f64),
        compression_ratio: (bytes > 0 && txs > 0).then(|| raw_per_tx * txs as f64 / bytes as f64),
        batches: carrying.len(),
    };
    let sample = |run: &LoadReport| -> Vec<Sample> {
        run.transactions
            .iter()
            .take(20)
            .map(|t| Sample {
                hash: t.hash,
                block: t.block,
                fee_wei: t.fee_wei,
            })
            .collect()
    };
    let mut samples = BTreeMap::from([("l1", sample(&l1_run)), ("l2", sample(&l2_run))]);
    if let Some(peer) = &peer_run {
        samples.insert("peer", sample(peer));
    }
    let congestion = congestion.lock().await.clone();
    let mut report = Report {
        workload: Workload {
            mix: base.mix,
            txs_per_layer: config.txs,
            accounts: config.accounts,
        },
        fee_ratio_l1_over_l2: l1_run
            .fee_wei_per_transfer
            .zip(l2_run.fee_wei_per_transfer)
            .filter(|(_, l2)| *l2 > 0)
            .map(|(l1, l2)| l1 as f64 / l2 as f64),
        l1: Column::of(&l1_run),
        l2: l2_column,
        peer: peer_column,
        client,
        congestion,
        tradeoffs: tradeoffs(),
        machine: Machine::this(),
        samples,
        runs: Runs {
            l1: Some(l1_run),
            l2: Some(l2_run),
            peer: peer_run,
            l2_safe_ms: safe_ms,
        },
        targets: Vec::new(),
    };
    report.targets = targets(&report);
    Ok(report)
}

/// One load run against `url`, bounded by [`PEER_TIMEOUT`]; a failure says why.
async fn bounded(url: &str, config: &LoadConfig) -> Result<LoadReport, String> {
    let run = async { load::run(&rpc::connect(url).await?, config).await };
    match tokio::time::timeout(PEER_TIMEOUT, run).await {
        Ok(Ok(run)) => Ok(run),
        Ok(Err(e)) => {
            tracing::warn!(target: "bench", %url, error = %e, "a run failed");
            Err(e.to_string())
        }
        Err(_) => Err(format!(
            "no end within {} s: the node stopped answering or including",
            PEER_TIMEOUT.as_secs()
        )),
    }
}

/// One of the figures tandem aims for, next to what the run measured.
#[derive(Debug, Clone, Serialize)]
pub struct Target {
    pub what: &'static str,
    pub target: &'static str,
    pub measured: String,
    pub met: bool,
}

/// The project's targets against this run (reported, never asserted).
pub fn targets(r: &Report) -> Vec<Target> {
    let target = |what, target, measured: String, met| Target {
        what,
        target,
        measured,
        met,
    };
    let bytes = r.l2.l1_bytes_per_tx.unwrap_or(f64::INFINITY);
    let ratio = r.fee_ratio_l1_over_l2.unwrap_or_default();
    let mut client = Vec::new();
    if let (Some(dev), Some(peer)) = (r.client.get("dev"), r.client.get("peer")) {
        client = vec![
            target(
                "tandem dev, client pattern: accepted",
                "all",
                format!("{} / {}", dev.accepted, dev.sent),
                dev.sent > 0 && dev.accepted == dev.sent,
            ),
            target(
                "tandem dev, client pattern: end to end vs the peer's",
                ">= 5x",
                format!("{:.1}x", dev.tps / peer.tps.max(1e-9)),
                dev.tps >= 5.0 * peer.tps && peer.tps > 0.0,
            ),
            target(
                "tandem dev, client pattern: receipt p50 vs the peer's",
                "<= the peer's",
                format!(
                    "{:.0} ms vs {:.0} ms",
                    dev.receipt_ms.p50, peer.receipt_ms.p50
                ),
                dev.receipt_ms.count > 0 && dev.receipt_ms.p50 <= peer.receipt_ms.p50,
            ),
        ];
    }
    let mut all = vec![
        target(
            "L2 sequencer transfers/s (sustained, 2 cores)",
            ">= 15,000",
            format!("{:.0}", r.l2.layer.tps),
            r.l2.layer.tps >= 15_000.0,
        ),
        target(
            "L2 preconfirmation p99 under load",
            "<= 50 ms",
            format!("{:.1} ms", r.l2.preconf_ms.p99),
            r.l2.preconf_ms.p99 <= 50.0,
        ),
        target(
            "L1 finalized transfers/s (4 validators)",
            ">= 3,000",
            format!("{:.0}", r.l1.tps),
            r.l1.tps >= 3_000.0,
        ),
        target(
            "L1 finality p99",
            "<= 1 s",
            format!("{:.0} ms", r.l1.latency_ms.p99),
            r.l1.latency_ms.p99 <= 1_000.0,
        ),
        target(
            "L1 bytes per L2 transaction",
            "<= 70",
            format!("{bytes:.1}"),
            bytes <= 70.0,
        ),
        target(
            "L2 transfer fee vs L1's",
            "<= 1/16",
            format!("1/{ratio:.1}"),
            ratio >= 16.0,
        ),
        target(
            "withdrawal life (devnet)",
            "<= window + 2 L1 blocks",
            r.l2.withdrawal
                .as_ref()
                .map(|w| format!("window + {} L1 block(s)", w.l1_blocks_after_window))
                .unwrap_or_else(|| "not measured".into()),
            r.l2.withdrawal
                .as_ref()
                .is_some_and(|w| w.l1_blocks_after_window <= 2),
        ),
    ];
    all.extend(client);
    all
}

async fn sample_fees(
    l1: Client,
    l2: Client,
    started: Instant,
    out: Arc<Mutex<Vec<FeeSample>>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let base_fee = |rpc: Client| async move {
        let block: Option<Value> = rpc
            .call(
                "eth_getBlockByNumber",
                jsonrpsee::rpc_params!["latest", false],
            )
            .await
            .ok()?;
        Some(quantity(&block?, "baseFeePerGas"))
    };
    loop {
        let (l1_fee, l2_fee) = tokio::join!(base_fee(l1.clone()), base_fee(l2.clone()));
        let data: Option<Value> = l2
            .call(
                "tandem_estimateL1Fee",
                jsonrpsee::rpc_params![serde_json::json!({ "data": "0x" })],
            )
            .await
            .ok();
        if let (Some(l1_fee), Some(l2_fee)) = (l1_fee, l2_fee) {
            out.lock().await.push(FeeSample {
                t_s: started.elapsed().as_secs_f64(),
                l1_base_fee_wei: l1_fee,
                l2_base_fee_wei: l2_fee,
                l2_transfer_fee_wei: 21_000 * l2_fee
                    + data.map(|d| quantity(&d, "l1Fee")).unwrap_or_default(),
                l1_transfer_fee_wei: 21_000 * l1_fee,
            });
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(Duration::from_millis(250)) => {}
        }
    }
}

/// The longest challenge window a comparison waits out to measure finality.
const MAX_FINALIZED_WAIT_S: u64 = 120;

/// The challenge window of L1's OutputOracle, if L1 has one.
/// The HTTP URL of a node given by its HTTP or WebSocket URL (tandem serves both on one port).
fn http(url: &str) -> String {
    match url.strip_prefix("ws://") {
        Some(rest) => format!("http://{rest}"),
        None => match url.strip_prefix("wss://") {
            Some(rest) => format!("https://{rest}"),
            None => url.to_string(),
        },
    }
}

/// A round trip through the bridge with dev account 4: a deposit (so the Portal holds what it
/// pays out), then a withdrawal of part of it, followed until it is paid out on L1.
async fn withdrawal_life(
    l1_url: &str,
    l2_url: &str,
    window: u64,
) -> Result<WithdrawalLife, ClientError> {
    use tandem_client::{bridge, types::Stage};
    let (l1, l2) = (Client::new(l1_url)?, Client::new(l2_url)?);
    let key = dev::accounts()[4].clone();
    let patience = Duration::from_secs(60);
    let milli = alloy_primitives::U256::from(10u64).pow(alloy_primitives::U256::from(15));
    bridge::deposit(
        &l1,
        &key,
        key.address,
        milli * alloy_primitives::U256::from(10),
        patience,
    )
    .await?;
    let started = Instant::now();
    let hash = bridge::withdraw(&l2, &key, key.address, milli, patience)
        .await?
        .transaction_hash;
    let deadline = Instant::now() + Duration::from_secs(window + 120);
    let mut to_output_ms = None;
    let ends_at = loop {
        let statuses = bridge::status(&l2, hash).await?;
        let status = &statuses[0];
        if status.output.is_some() && to_output_ms.is_none() {
            to_output_ms = Some(started.elapsed().as_secs_f64() * 1e3);
        }
        if status.stage == Stage::Finalizable {
            break status.challenge_window_ends_at.unwrap_or_default();
        }
        if Instant::now() > deadline {
            return Err(ClientError::Failed(
                "the withdrawal did not become final in time".into(),
            ));
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    let paid = bridge::finalize(&l1, &l2, &key, hash, patience)
        .await?
        .remove(0)
        .1;
    let total_ms = started.elapsed().as_secs_f64() * 1e3;
    // L1 blocks from the first past the window to the payout's.
    let paid_block = paid.block_number.unwrap_or_default();
    let mut first_past = paid_block;
    while first_past > 0 {
        let Some(earlier) = l1
            .origin(alloy_eips::BlockNumberOrTag::Number(first_past - 1))
            .await?
        else {
            break;
        };
        if earlier.timestamp < ends_at {
            break;
        }
        first_past -= 1;
    }
    Ok(WithdrawalLife {
        total_ms,
        to_output_ms: to_output_ms.unwrap_or(total_ms),
        challenge_window_s: window,
        l1_blocks_after_window: paid_block - first_past + 1,
        l2_transaction: hash,
        l1_transaction: paid.transaction_hash,
    })
}

async fn challenge_window(l1: &Client) -> Option<u64> {
    tandem_client::Oracle::new(l1.clone()).window().await.ok()
}

#[derive(Debug, Clone, Default)]
struct RollupTrace {
    /// (unix ms, safe head) whenever the safe head moved.
    safe: Vec<(f64, u64)>,
    /// (unix ms, finalized head) whenever the finalized head moved.
    finalized: Vec<(f64, u64)>,
    batches: BTreeMap<u64, BatchSeen>,
}

#[derive(Debug, Clone)]
struct BatchSeen {
    first_block: u64,
    last_block: u64,
    transactions: usize,
    bytes: usize,
}

/// Polls `tandem_rollupStatus`: the safe head's moves and every batch posted.
async fn trace_rollup(
    l2: Client,
    out: Arc<Mutex<RollupTrace>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    loop {
        if let Ok(status) = l2
            .call::<RollupStatus>("tandem_rollupStatus", jsonrpsee::rpc_params![])
            .await
        {
            let now = unix_ms(Instant::now());
            let mut trace = out.lock().await;
            let safe = status.safe.number;
            if trace.safe.last().is_none_or(|(_, n)| *n < safe) {
                trace.safe.push((now, safe));
            }
            let finalized = status.finalized.number;
            if trace.finalized.last().is_none_or(|(_, n)| *n < finalized) {
                trace.finalized.push((now, finalized));
            }
            if let Some(batch) = status.batcher.and_then(|b| b.last_batch) {
                trace.batches.entry(batch.sequence).or_insert(BatchSeen {
                    first_block: batch.first_block,
                    last_block: batch.last_block,
                    transactions: batch.transactions,
                    bytes: batch.bytes,
                });
            }
        }
        tokio::select! {
            _ = stop.changed() => return,
            _ = tokio::time::sleep(Duration::from_millis(50)) => {}
        }
    }
}
