//! The load generator: funds fresh accounts from a dev key, pre-signs a workload, sends it over
//! HTTP keep-alive in batched JSON-RPC (open loop at a rate, or closed loop at the most the node
//! takes), follows the blocks that include it, and checks every account's final nonce.
use crate::{
    rpc::{self, quantity},
    stats::Percentiles,
};
use alloy_consensus::TxEip1559;
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy_sol_types::{SolCall, sol};
use jsonrpsee::rpc_params;
use serde::Serialize;
use std::{
    collections::{BTreeMap, HashMap},
    sync::Arc,
    time::{Duration, Instant},
};
use tandem_client::{Client, ClientError};
use tandem_primitives::{TxEnvelope, dev::DevAccount};
use tokio::sync::Mutex;

sol! {
    function transfer(address to, uint256 value) returns (bool);
}

/// The ERC-20 the workload deploys: `tests/e2e/contracts/Token.sol` compiled with solc 0.8.30
/// (the end-to-end suite checks this copy matches).
const TOKEN_BYTECODE: &str = include_str!("token.hex");

/// What the workload sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mix {
    /// ETH transfers.
    Transfer,
    /// ERC-20 `transfer` calls.
    Erc20,
    /// 70% transfers, 30% ERC-20 transfers.
    Mixed,
}

impl std::str::FromStr for Mix {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "transfer" => Ok(Self::Transfer),
            "erc20" => Ok(Self::Erc20),
            "mixed" => Ok(Self::Mixed),
            other => Err(format!("unknown mix {other:?}: transfer, erc20 or mixed")),
        }
    }
}

/// How the client learns that its transactions are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Receipts {
    /// Follow the blocks (one `eth_getBlockByNumber` per block) and send in batches: the most a
    /// node takes.
    Blocks,
    /// What ethers' `tx.wait()` and viem's `waitForTransactionReceipt` do: one lane per account
    /// sends its transactions one request each over keep-alive HTTP, and every transaction's
    /// receipt is polled (`eth_getTransactionReceipt`) until it appears.
    Poll,
}

impl std::str::FromStr for Receipts {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "blocks" => Ok(Self::Blocks),
            "poll" => Ok(Self::Poll),
            other => Err(format!("unknown receipts mode {other:?}: blocks or poll")),
        }
    }
}

#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Fresh accounts that send the workload, round robin.
    pub accounts: usize,
    pub txs: usize,
    /// Transactions per second, open loop; `None` sends as fast as the node takes them.
    pub rate: Option<f64>,
    pub mix: Mix,
    /// Funds the fresh accounts (and deploys the token).
    pub funder: DevAccount,
    /// Derives the fresh accounts' keys: a new seed, new accounts.
    pub seed: u64,
    /// Send with `eth_sendRawTransactionSync` and time each answer (a sequencer's preconfirmation).
    pub sync: bool,
    /// How the client learns its transactions are in.
    pub receipts: Receipts,
    /// With [`Receipts::Poll`]: how long a lane waits between two polls of a missing receipt.
    pub poll_interval: Duration,
    /// Show progress bars on the terminal.
    pub progress: bool,
}

/// One included transaction of the workload.
#[derive(Debug, Clone, Serialize)]
pub struct TxRecord {
    pub hash: B256,
    pub erc20: bool,
    pub block: u64,
    /// When it was sent, in milliseconds since the Unix epoch (to line it up with other clocks).
    pub sent_unix_ms: f64,
    /// Its EIP-2718 encoding's size.
    pub raw_bytes: usize,
    /// Send to the first sight of its block, in milliseconds.
    pub latency_ms: f64,
    /// Send to the answer of `eth_sendRawTransactionSync`, in milliseconds.
    pub preconf_ms: Option<f64>,
    /// Send to the first poll that found its receipt ([`Receipts::Poll`]), in milliseconds.
    pub receipt_ms: Option<f64>,
    /// What the sender paid: gas used x effective gas price, plus `l1Fee` on L2.
    pub fee_wei: u128,
    pub l1_fee_wei: u128,
}

/// A block as the generator saw it arrive.
#[derive(Debug, Clone, Serialize)]
pub struct BlockRecord {
    pub number: u64,
    /// Seconds since the first send.
    pub seen_s: f64,
    pub workload_txs: usize,
    pub base_fee_wei: u128,
    pub gas_used: u128,
}

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub rpc: String,
    pub chain_id: u64,
    pub mix: Mix,
    pub accounts: usize,
    pub sent: usize,
    pub accepted: usize,
    pub included: usize,
    /// Rejections by error message.
    pub rejected: BTreeMap<String, usize>,
    pub send_seconds: f64,
    pub total_seconds: f64,
    pub accepted_tps: f64,
    pub included_tps: f64,
    pub latency_ms: Percentiles,
    pub preconf_ms: Option<Percentiles>,
    /// Send to receipt, as the client polled them ([`Receipts::Poll`]).
    pub receipt_ms: Option<Percentiles>,
    /// First send to the last receipt found ([`Receipts::Poll`]), and the accepted transactions
    /// per second over it: the client's end to end.
    pub receipts_seconds: Option<f64>,
    pub receipts_tps: Option<f64>,
    /// Why the run stopped before everything accepted was in, when it did: the report holds
    /// what was measured until then.
    pub stalled: Option<String>,
    /// Every account's nonce ended where its accepted transactions put it.
    pub nonces_ok: bool,
    pub fee_wei_per_transfer: Option<u128>,
    pub fee_wei_per_erc20: Option<u128>,
    pub l1_fee_wei_per_transfer: Option<u128>,
    pub transactions: Vec<TxRecord>,
    pub blocks: Vec<BlockRecord>,
}

/// The report as `tandem bench load` prints it.
impl std::fmt::Display for LoadReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "{} on chain {} ({} accounts, {:?} mix)",
            self.rpc, self.chain_id, self.accounts, self.mix
        )?;
        writeln!(
            f,
            "sent        {} ({} accepted, {} included)",
            self.sent, self.accepted, self.included
        )?;
        for (error, count) in &self.rejected {
            writeln!(f, "rejected    {count} x {error}")?;
        }
        writeln!(
            f,
            "accepted    {:.0} tx/s over {:.1} s",
            self.accepted_tps, self.send_seconds
        )?;
        writeln!(
            f,
            "included    {:.0} tx/s over {:.1} s",
            self.included_tps, self.total_seconds
        )?;
        let l = self.latency_ms;
        writeln!(
            f,
            "latency ms  p50 {:.0}  p90 {:.0}  p99 {:.0}  max {:.0}  (send to block)",
            l.p50, l.p90, l.p99, l.max
        )?;
        if let (Some(p), Some(seconds), Some(tps)) =
            (self.receipt_ms, self.receipts_seconds, self.receipts_tps)
        {
            writeln!(
                f,
                "receipts    {tps:.0} tx/s end to end over {seconds:.1} s (first send to last receipt)"
            )?;
            writeln!(
                f,
                "receipt ms  p50 {:.0}  p90 {:.0}  p99 {:.0}  max {:.0}  (send to receipt, polled)",
                p.p50, p.p90, p.p99, p.max
            )?;
        }
        if let Some(why) = &self.stalled {
            writeln!(f, "stalled     {why}")?;
        }
        if let Some(p) = self.preconf_ms {
            writeln!(
                f,
                "preconf ms  p50 {:.1}  p90 {:.1}  p99 {:.1}  max {:.1}  (send to receipt)",
                p.p50, p.p90, p.p99, p.max
            )?;
        }
        if let Some(fee) = self.fee_wei_per_transfer {
            writeln!(f, "fee         {fee} wei per transfer")?;
        }
        if let Some(fee) = self.fee_wei_per_erc20 {
            writeln!(f, "fee         {fee} wei per ERC-20 transfer")?;
        }
        writeln!(
            f,
            "nonces      {}",
            if self.nonces_ok {
                "every account's final nonce checks out"
            } else {
                "MISMATCH: some transactions were dropped"
            }
        )?;
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Rpc(#[from] ClientError),
    #[error("{0}")]
    Setup(String),
}

/// Most transactions one sender has in flight: 128 senders stay within the pool's room (8,192), so
/// a sender past its 16 guaranteed slots is not refused for a full pool.
const WINDOW_PER_ACCOUNT: usize = 48;
/// Transactions per batched JSON-RPC request.
const BATCH: usize = 100;
/// How long inclusion may lag behind the last send before the run gives up on the rest.
const INCLUSION_GRACE: Duration = Duration::from_secs(60);

/// When a workload transaction left, whether it is an ERC-20 call, its encoded size and sender.
type Sent = (Instant, bool, usize, usize);

fn account(seed: u64, i: usize) -> DevAccount {
    let mut preimage = [0u8; 16];
    preimage[..8].copy_from_slice(&seed.to_be_bytes());
    preimage[8..].copy_from_slice(&(i as u64).to_be_bytes());
    DevAccount::from_secret(keccak256(preimage)).expect("a keccak hash is a valid key")
}

struct Fees {
    chain_id: u64,
    max_fee: u128,
    tip: u128,
}

impl Fees {
    fn tx(&self, nonce: u64, to: TxKind, value: U256, input: Bytes, gas_limit: u64) -> TxEip1559 {
        TxEip1559 {
            chain_id: self.chain_id,
            nonce,
            gas_limit,
            max_fee_per_gas: self.max_fee,
            max_priority_fee_per_gas: self.tip,
            to,
            value,
            access_list: Default::default(),
            input,
        }
    }
}

fn progress_bar(show: bool, len: usize, what: &str) -> indicatif::ProgressBar {
    if !show {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(len as u64);
    bar.set_style(
        indicatif::ProgressStyle::with_template("{msg:>10} [{bar:40}] {pos}/{len} {per_sec}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}

/// Receipts one `eth_getBlockReceipts` batch asks for, at most (a block's own are never split).
const RECEIPTS_PER_BATCH: usize = 2_000;

/// Counts one batch's answers: accepted per account, rejections by reason (their send times
/// are forgotten, so they count in no latency).
async fn tally(
    sends: Vec<(usize, B256)>,
    answers: Vec<Result<B256, String>>,
    accepted: &mut [u64],
    rejected: &mut BTreeMap<String, usize>,
    sent_at: &Mutex<HashMap<B256, Sent>>,
) {
    for ((a, hash), answer) in sends.into_iter().zip(answers) {
        match answer {
            Ok(_) => accepted[a] += 1,
            Err(e) => {
                sent_at.lock().await.remove(&hash);
                *rejected.entry(short(&e)).or_default() += 1;
            }
        }
    }
}

/// Sends `txs` from the funder in waves the pool takes, and waits for every receipt.
async fn send_and_wait(
    rpc: &Client,
    txs: Vec<TxEnvelope>,
) -> Result<Vec<serde_json::Value>, LoadError> {
    let mut receipts = Vec::with_capacity(txs.len());
    for wave in txs.chunks(WINDOW_PER_ACCOUNT) {
        let raws: Vec<_> = wave
            .iter()
            .map(|t| rpc_params![Bytes::from(t.encoded_2718())])
            .collect();
        for answer in rpc.batch::<B256>("eth_sendRawTransaction", raws).await? {
            answer.map_err(|e| LoadError::Setup(format!("funding transaction refused: {e}")))?;
        }
        for tx in wave {
            let receipt = rpc::wait_receipt(rpc, tx.tx_hash(), Duration::from_secs(60)).await?;
            if quantity(&receipt, "status") != 1 {
                return Err(LoadError::Setup(format!(
                    "setup transaction {} failed",
                    tx.tx_hash()
                )));
            }
            receipts.push(receipt);
        }
    }
    Ok(receipts)
}

/// Runs the workload against `rpc` and measures it.
pub async fn run(rpc: &Client, config: &LoadConfig) -> Result<LoadReport, LoadError> {
    if config.accounts == 0 || config.txs == 0 {
        return Err(LoadError::Setup(
            "--accounts and --txs must be positive".into(),
        ));
    }
    let chain_id = rpc.chain_id().await?;
    let gas_price = rpc.gas_price().await?;
    // Room for the base fee to rise 10x under load (EIP-1559 moves 12.5% per block).
    let fees = Fees {
        chain_id,
        max_fee: gas_price.saturating_mul(10).max(1_000_000_000),
        tip: 1_000,
    };
    let accounts: Vec<DevAccount> = (0..config.accounts)
        .map(|i| account(config.seed, i))
        .collect();

    // Setup: the token (if the mix uses one), then ETH and tokens for every account.
    let mut funder_nonce = rpc.nonce(config.funder.address).await?;
    let mut setup = Vec::new();
    let token = if config.mix != Mix::Transfer {
        let code = alloy_primitives::hex::decode(TOKEN_BYTECODE.trim())
            .map_err(|e| LoadError::Setup(format!("token bytecode: {e}")))?;
        let args = alloy_sol_types::SolValue::abi_encode_params(&(
            "Bench".to_string(),
            "BNCH".to_string(),
            U256::from(10u64).pow(U256::from(30)),
        ));
        let deploy = fees.tx(
            funder_nonce,
            TxKind::Create,
            U256::ZERO,
            [code, args].concat().into(),
            2_000_000,
        );
        funder_nonce += 1;
        let receipt = send_and_wait(rpc, vec![config.funder.sign(deploy)]).await?;
        let address: Address = receipt[0]["contractAddress"]
            .as_str()
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| {
                LoadError::Setup("the token deployment has no contract address".into())
            })?;
        Some(address)
    } else {
        None
    };
    for account in &accounts {
        let fund = fees.tx(
            funder_nonce,
            TxKind::Call(account.address),
            U256::from(10u64).pow(U256::from(19)),
            Bytes::new(),
            21_000,
        );
        funder_nonce += 1;
        setup.push(config.funder.sign(fund));
        if let Some(token) = token {
            let input = transferCall {
                to: account.address,
                value: U256::from(10u64).pow(U256::from(24)),
            }
            .abi_encode();
            let give = fees.tx(
                funder_nonce,
                TxKind::Call(token),
                U256::ZERO,
                input.into(),
                100_000,
            );
            funder_nonce += 1;
            setup.push(config.funder.sign(give));
        }
    }
    let funding = progress_bar(config.progress, setup.len(), "funding");
    for chunk in setup.chunks(WINDOW_PER_ACCOUNT) {
        send_and_wait(rpc, chunk.to_vec()).await?;
        funding.inc(chunk.len() as u64);
    }
    funding.finish_and_clear();

    // The workload, signed before the clock starts.
    let nonces: Vec<u64> = rpc
        .batch::<alloy_primitives::U64>(
            "eth_getTransactionCount",
            accounts
                .iter()
                .map(|a| rpc_params![a.address, "pending"])
                .collect(),
        )
        .await?
        .into_iter()
        .map(|n| n.map(|n| n.to::<u64>()).map_err(LoadError::Setup))
        .collect::<Result<_, _>>()?;
    let mut next = nonces.clone();
    let mut rng_state = config.seed ^ 0x9e37_79b9_7f4a_7c15;
    let mut random = move || {
        // xorshift: enough to spread recipients and kinds; reproducible from the seed.
        rng_state ^= rng_state << 13;
        rng_state ^= rng_state >> 7;
        rng_state ^= rng_state << 17;
        rng_state
    };
    let recipients: Vec<Address> = (0..1_000)
        .map(|i| account(config.seed ^ 0xdead_beef, i).address)
        .collect();
    let mut workload = Vec::with_capacity(config.txs);
    for i in 0..config.txs {
        let a = i % accounts.len();
        let to = recipients[(random() % recipients.len() as u64) as usize];
        let erc20 = match config.mix {
            Mix::Transfer => false,
            Mix::Erc20 => true,
            Mix::Mixed => random() % 10 < 3,
        };
        let tx = match (erc20, token) {
            (true, Some(token)) => {
                let input = transferCall {
                    to,
                    value: U256::from(10u64).pow(U256::from(18)),
                }
                .abi_encode();
                fees.tx(
                    next[a],
                    TxKind::Call(token),
                    U256::ZERO,
                    input.into(),
                    80_000,
                )
            }
            _ => fees.tx(
                next[a],
                TxKind::Call(to),
                U256::from(1_000_000_000u64),
                Bytes::new(),
                21_000,
            ),
        };
        next[a] += 1;
        workload.push((a, erc20, accounts[a].sign(tx)));
    }

    let start_block = rpc.block_number().await?;
    let started = Instant::now();
    let sent_at: Arc<Mutex<HashMap<B256, Sent>>> = Arc::default();
    let included: Arc<Mutex<HashMap<B256, (u64, Instant)>>> = Arc::default();
    let included_by: Arc<Mutex<Vec<u64>>> = Arc::new(Mutex::new(vec![0; accounts.len()]));
    let blocks: Arc<Mutex<Vec<BlockRecord>>> = Arc::default();
    let (done_tx, done_rx) = tokio::sync::watch::channel(false);
    let tracker = tokio::spawn(track_blocks(
        rpc.clone(),
        start_block + 1,
        started,
        Tracking {
            sent_at: sent_at.clone(),
            included: included.clone(),
            included_by: included_by.clone(),
            blocks: blocks.clone(),
        },
        done_rx,
    ));

    let sending = progress_bar(config.progress, workload.len(), "sending");
    let mut rejected: BTreeMap<String, usize> = BTreeMap::new();
    let mut accepted = vec![0u64; accounts.len()];
    let mut preconf: HashMap<B256, f64> = HashMap::new();
    let mut polled_ms: HashMap<B256, f64> = HashMap::new();
    let mut stalled: Option<String> = None;
    if config.sync {
        // One task per account, each waiting for the preconfirmation of its last transaction.
        let mut per_account: Vec<Vec<(bool, TxEnvelope)>> = vec![Vec::new(); accounts.len()];
        for (a, erc20, tx) in workload {
            per_account[a].push((erc20, tx));
        }
        let tasks: Vec<_> = per_account
            .into_iter()
            .enumerate()
            .map(|(a, txs)| {
                let (rpc, sent_at, sending) = (rpc.clone(), sent_at.clone(), sending.clone());
                tokio::spawn(async move {
                    let mut out = Vec::new();
                    for (erc20, tx) in txs {
                        let hash = tx.tx_hash();
                        let raw = Bytes::from(tx.encoded_2718());
                        let at = Instant::now();
                        sent_at.lock().await.insert(hash, (at, erc20, raw.len(), a));
                        let answer: Result<serde_json::Value, _> = rpc
                            .call("eth_sendRawTransactionSync", rpc_params![raw])
                            .await;
                        sending.inc(1);
                        out.push((a, hash, answer.map(|_| at.elapsed().as_secs_f64() * 1e3)));
                    }
                    out
                })
            })
            .collect();
        for task in tasks {
            let results = task.await.map_err(|e| LoadError::Setup(e.to_string()))?;
            for (a, hash, result) in results {
                match result {
                    Ok(ms) => {
                        accepted[a] += 1;
                        preconf.insert(hash, ms);
                    }
                    Err(e) => {
                        sent_at.lock().await.remove(&hash);
                        *rejected.entry(short(&reason(&e))).or_default() += 1;
                    }
                }
            }
        }
    } else if config.receipts == Receipts::Poll {
        let lanes = poll_lanes(rpc, workload, accounts.len(), config, &sent_at, &sending).await?;
        for (a, hash, answer) in lanes.sends {
            match answer {
                Ok(()) => accepted[a] += 1,
                Err(e) => {
                    sent_at.lock().await.remove(&hash);
                    *rejected.entry(short(&e)).or_default() += 1;
                }
            }
        }
        polled_ms = lanes.receipts;
        stalled = lanes.stalled;
    } else {
        let mut sent = 0usize;
        // Open loop: each chunk leaves at its scheduled time in its own task, whatever the node
        // does with the ones before; their answers are tallied at the end.
        let mut in_flight = tokio::task::JoinSet::new();
        for chunk in workload.chunks(match config.rate {
            Some(rate) => ((rate / 50.0).ceil() as usize).clamp(1, BATCH),
            None => BATCH,
        }) {
            match config.rate {
                Some(rate) => {
                    let due = started + Duration::from_secs_f64(sent as f64 / rate);
                    tokio::time::sleep_until(due.into()).await;
                }
                // Closed loop: keep every sender's window full, no fuller (the pool refuses a
                // sender's transactions too far ahead of its nonce).
                None => {
                    let mut wanted = vec![0u64; accounts.len()];
                    for (a, _, _) in chunk {
                        wanted[*a] += 1;
                    }
                    let mut last = (0, Instant::now());
                    loop {
                        let done = included_by.lock().await.clone();
                        let fits = (0..accounts.len()).all(|a| {
                            accepted[a] - done[a] + wanted[a] <= WINDOW_PER_ACCOUNT as u64
                        });
                        if fits {
                            break;
                        }
                        let total: u64 = done.iter().sum();
                        if total != last.0 {
                            last = (total, Instant::now());
                        } else if last.1.elapsed() > INCLUSION_GRACE {
                            stalled = Some(format!(
                                "nothing included for {} s after {sent} sends",
                                INCLUSION_GRACE.as_secs()
                            ));
                            break;
                        }
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    }
                }
            }
            if stalled.is_some() {
                tracing::warn!(target: "bench", sent, "nothing included for a minute: stopping the run");
                break;
            }
            let now = Instant::now();
            {
                let mut sent_at = sent_at.lock().await;
                for (a, erc20, tx) in chunk {
                    sent_at.insert(tx.tx_hash(), (now, *erc20, tx.eip2718_encoded_length(), *a));
                }
            }
            let sends: Vec<(usize, B256)> =
                chunk.iter().map(|(a, _, tx)| (*a, tx.tx_hash())).collect();
            let params = chunk
                .iter()
                .map(|(_, _, tx)| rpc_params![Bytes::from(tx.encoded_2718())])
                .collect();
            let batch = {
                let rpc = rpc.clone();
                async move {
                    let answers = rpc.batch::<B256>("eth_sendRawTransaction", params).await;
                    (sends, answers)
                }
            };
            let answered = if config.rate.is_some() {
                in_flight.spawn(batch);
                Vec::new()
            } else {
                vec![batch.await]
            };
            for (sends, answers) in answered {
                tally(sends, answers?, &mut accepted, &mut rejected, &sent_at).await;
            }
            sent += chunk.len();
            sending.inc(chunk.len() as u64);
        }
        while let Some(done) = in_flight.join_next().await {
            let (sends, answers) = done.map_err(|e| LoadError::Setup(e.to_string()))?;
            tally(sends, answers?, &mut accepted, &mut rejected, &sent_at).await;
        }
    }
    sending.finish_and_clear();
    let send_seconds = started.elapsed().as_secs_f64();
    let total_accepted: usize = accepted.iter().sum::<u64>() as usize;

    // Follow the chain until everything accepted is in a block (or the grace runs out).
    let including = progress_bar(config.progress, total_accepted, "including");
    let deadline = Instant::now() + INCLUSION_GRACE;
    loop {
        let n = included.lock().await.len();
        including.set_position(n as u64);
        if n >= total_accepted {
            break;
        }
        if Instant::now() > deadline {
            stalled.get_or_insert_with(|| {
                format!(
                    "{} of {total_accepted} accepted transactions included {} s after the last send",
                    n,
                    INCLUSION_GRACE.as_secs()
                )
            });
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    including.finish_and_clear();
    let _ = done_tx.send(true);
    let _ = tracker.await;
    let total_seconds = started.elapsed().as_secs_f64();

    // Every account's nonce where its accepted transactions put it.
    let finals = rpc
        .batch::<alloy_primitives::U64>(
            "eth_getTransactionCount",
            accounts
                .iter()
                .map(|a| rpc_params![a.address, "latest"])
                .collect(),
        )
        .await?;
    let nonces_ok = finals
        .iter()
        .zip(nonces.iter().zip(&accepted))
        .all(|(got, (first, count))| got.as_ref().is_ok_and(|n| n.to::<u64>() == first + count));

    // Fees from the receipts of the blocks that carry the workload.
    let included = included.lock().await.clone();
    let sent_at = sent_at.lock().await.clone();
    let mut by_block: BTreeMap<u64, Vec<B256>> = BTreeMap::new();
    for (hash, (block, _)) in &included {
        by_block.entry(*block).or_default().push(*hash);
    }
    let mut transactions = Vec::with_capacity(included.len());
    // Batches of blocks holding at most ~2,000 of the workload's receipts, so an answer stays
    // under a node's response-size limit (full blocks hold over 1,000 transfers each).
    let mut chunks: Vec<Vec<u64>> = vec![Vec::new()];
    let mut in_chunk = 0;
    for (number, hashes) in &by_block {
        if in_chunk + hashes.len() > RECEIPTS_PER_BATCH || chunks[chunks.len() - 1].len() >= 50 {
            chunks.push(Vec::new());
            in_chunk = 0;
        }
        let last = chunks.len() - 1;
        chunks[last].push(*number);
        in_chunk += hashes.len();
    }
    chunks.retain(|c| !c.is_empty());
    for chunk in &chunks {
        let all = rpc
            .batch::<Vec<serde_json::Value>>(
                "eth_getBlockReceipts",
                chunk
                    .iter()
                    .map(|n| rpc_params![alloy_primitives::U64::from(*n)])
                    .collect(),
            )
            .await?;
        for receipts in all.into_iter().flatten() {
            for receipt in receipts {
                let Some(hash) = receipt["transactionHash"]
                    .as_str()
                    .and_then(|h| h.parse::<B256>().ok())
                else {
                    continue;
                };
                let (Some((block, seen)), Some((sent, erc20, raw_bytes, _))) =
                    (included.get(&hash), sent_at.get(&hash))
                else {
                    continue;
                };
                let l1_fee = quantity(&receipt, "l1Fee");
                transactions.push(TxRecord {
                    hash,
                    erc20: *erc20,
                    block: *block,
                    sent_unix_ms: unix_ms(*sent),
                    raw_bytes: *raw_bytes,
                    latency_ms: seen.saturating_duration_since(*sent).as_secs_f64() * 1e3,
                    preconf_ms: preconf.get(&hash).copied(),
                    receipt_ms: polled_ms.get(&hash).copied(),
                    fee_wei: quantity(&receipt, "gasUsed")
                        * quantity(&receipt, "effectiveGasPrice")
                        + l1_fee,
                    l1_fee_wei: l1_fee,
                });
            }
        }
    }
    transactions.sort_by_key(|t| (t.block, t.hash));
    let mean = |pick: &dyn Fn(&TxRecord) -> Option<u128>| {
        let values: Vec<u128> = transactions.iter().filter_map(pick).collect();
        (!values.is_empty()).then(|| values.iter().sum::<u128>() / values.len() as u128)
    };
    let latencies: Vec<f64> = transactions.iter().map(|t| t.latency_ms).collect();
    let preconfs: Vec<f64> = transactions.iter().filter_map(|t| t.preconf_ms).collect();
    let polled: Vec<f64> = transactions.iter().filter_map(|t| t.receipt_ms).collect();
    // The client's end to end: from the first send to the last receipt it found.
    let receipts_seconds = (config.receipts == Receipts::Poll).then(|| {
        transactions
            .iter()
            .filter_map(|t| {
                let (sent, ..) = sent_at.get(&t.hash)?;
                let found = sent.saturating_duration_since(started).as_secs_f64();
                Some(found + t.receipt_ms? / 1e3)
            })
            .fold(0.0, f64::max)
    });
    let mut blocks = blocks.lock().await.clone();
    blocks.sort_by_key(|b| b.number);
    Ok(LoadReport {
        rpc: rpc.url().to_string(),
        chain_id,
        mix: config.mix,
        accounts: accounts.len(),
        sent: config.txs,
        accepted: total_accepted,
        included: transactions.len(),
        rejected,
        send_seconds,
        total_seconds,
        accepted_tps: total_accepted as f64 / send_seconds.max(1e-9),
        included_tps: transactions.len() as f64 / total_seconds.max(1e-9),
        latency_ms: Percentiles::of(&latencies),
        preconf_ms: config.sync.then(|| Percentiles::of(&preconfs)),
        receipt_ms: receipts_seconds.map(|_| Percentiles::of(&polled)),
        receipts_tps: receipts_seconds.map(|s| polled.len() as f64 / s.max(1e-9)),
        receipts_seconds,
        stalled,
        nonces_ok,
        fee_wei_per_transfer: mean(&|t| (!t.erc20).then_some(t.fee_wei)),
        fee_wei_per_erc20: mean(&|t| t.erc20.then_some(t.fee_wei)),
        l1_fee_wei_per_transfer: mean(&|t| (!t.erc20).then_some(t.l1_fee_wei)),
        transactions,
        blocks,
    })
}

/// What the client lanes of [`Receipts::Poll`] saw.
struct Lanes {
    /// Every send's answer, per account.
    sends: Vec<(usize, B256, Result<(), String>)>,
    /// Send to receipt in milliseconds, per transaction found.
    receipts: HashMap<B256, f64>,
    stalled: Option<String>,
}

/// The client pattern of ethers and viem: per account, one lane sends its transactions one
/// request each (waiting for each answer) while a poller beside it asks for each accepted
/// transaction's receipt, in nonce order, until it appears.
async fn poll_lanes(
    rpc: &Client,
    workload: Vec<(usize, bool, TxEnvelope)>,
    accounts: usize,
    config: &LoadConfig,
    sent_at: &Arc<Mutex<HashMap<B256, Sent>>>,
    sending: &indicatif::ProgressBar,
) -> Result<Lanes, LoadError> {
    let mut per_account: Vec<Vec<(bool, TxEnvelope)>> = vec![Vec::new(); accounts];
    for (a, erc20, tx) in workload {
        per_account[a].push((erc20, tx));
    }
    let interval = config.poll_interval;
    let tasks: Vec<_> = per_account
        .into_iter()
        .enumerate()
        .map(|(a, txs)| {
            let (rpc, sent_at, sending) = (rpc.clone(), sent_at.clone(), sending.clone());
            tokio::spawn(async move {
                let (found_tx, mut found_rx) = tokio::sync::mpsc::unbounded_channel();
                let send = async {
                    let mut sends = Vec::with_capacity(txs.len());
                    for (erc20, tx) in txs {
                        let hash = tx.tx_hash();
                        let raw = Bytes::from(tx.encoded_2718());
                        let at = Instant::now();
                        sent_at.lock().await.insert(hash, (at, erc20, raw.len(), a));
                        let answer: Result<B256, _> =
                            rpc.call("eth_sendRawTransaction", rpc_params![raw]).await;
                        sending.inc(1);
                        if answer.is_ok() {
                            let _ = found_tx.send((hash, at));
                        }
                        sends.push((a, hash, answer.map(|_| ()).map_err(|e| reason(&e))));
                    }
                    drop(found_tx);
                    sends
                };
                let poll = async {
                    let mut receipts = Vec::new();
                    let mut stalled = None;
                    let mut progress = Instant::now();
                    while let Some((hash, at)) = found_rx.recv().await {
                        loop {
                            let receipt: Result<Option<serde_json::Value>, _> = rpc
                                .call("eth_getTransactionReceipt", rpc_params![hash])
                                .await;
                            if let Ok(Some(_)) = receipt {
                                receipts.push((hash, at.elapsed().as_secs_f64() * 1e3));
                                progress = Instant::now();
                                break;
                            }
                            if progress.elapsed() > INCLUSION_GRACE {
                                stalled = Some(format!(
                                    "no receipt for {hash} within {} s",
                                    INCLUSION_GRACE.as_secs()
                                ));
                                break;
                            }
                            tokio::time::sleep(interval).await;
                        }
                        if stalled.is_some() {
                            break;
                        }
                    }
                    (receipts, stalled)
                };
                let (sends, (receipts, stalled)) = tokio::join!(send, poll);
                (sends, receipts, stalled)
            })
        })
        .collect();
    let mut lanes = Lanes {
        sends: Vec::new(),
        receipts: HashMap::new(),
        stalled: None,
    };
    for task in tasks {
        let (sends, receipts, stalled) = task.await.map_err(|e| LoadError::Setup(e.to_string()))?;
        lanes.sends.extend(sends);
        lanes.receipts.extend(receipts);
        if lanes.stalled.is_none() {
            lanes.stalled = stalled;
        }
    }
    Ok(lanes)
}

/// An instant as milliseconds since the Unix epoch.
pub fn unix_ms(at: Instant) -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    (now.as_secs_f64() - at.elapsed().as_secs_f64()) * 1e3
}

/// What the node said when it refused a call (without the client's URL prefix).
fn reason(e: &ClientError) -> String {
    match e {
        ClientError::Rpc { message, .. } => message.clone(),
        other => other.to_string(),
    }
}

/// An error message without the parts that differ per transaction (hashes, numbers).
fn short(message: &str) -> String {
    message
        .split(':')
        .next()
        .unwrap_or(message)
        .trim()
        .chars()
        .take(80)
        .collect()
}

/// What the sender and the block tracker share.
#[derive(Clone)]
struct Tracking {
    sent_at: Arc<Mutex<HashMap<B256, Sent>>>,
    included: Arc<Mutex<HashMap<B256, (u64, Instant)>>>,
    /// Included workload transactions per sender.
    included_by: Arc<Mutex<Vec<u64>>>,
    blocks: Arc<Mutex<Vec<BlockRecord>>>,
}

/// Follows blocks from `first`, recording when each workload transaction is first seen in one.
async fn track_blocks(
    rpc: Client,
    first: u64,
    started: Instant,
    tracking: Tracking,
    mut done: tokio::sync::watch::Receiver<bool>,
) {
    let Tracking {
        sent_at,
        included,
        included_by,
        blocks,
    } = tracking;
    let mut number = first;
    loop {
        match rpc::block(&rpc, number).await {
            Ok(Some(block)) => {
                let seen = Instant::now();
                let hashes: Vec<B256> = block["transactions"]
                    .as_array()
                    .map(|txs| {
                        txs.iter()
                            .filter_map(|h| h.as_str()?.parse().ok())
                            .collect()
                    })
                    .unwrap_or_default();
                let sent = sent_at.lock().await;
                let mut included = included.lock().await;
                let mut by = included_by.lock().await;
                let mut ours = 0;
                for hash in hashes {
                    if let Some((.., a)) = sent.get(&hash)
                        && included.insert(hash, (number, seen)).is_none()
                    {
                        by[*a] += 1;
                        ours += 1;
                    }
                }
                blocks.lock().await.push(BlockRecord {
                    number,
                    seen_s: seen.saturating_duration_since(started).as_secs_f64(),
                    workload_txs: ours,
                    base_fee_wei: quantity(&block, "baseFeePerGas"),
                    gas_used: quantity(&block, "gasUsed"),
                });
                number += 1;
                continue;
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(target: "bench", error = %e, "reading blocks"),
        }
        tokio::select! {
            _ = done.changed() => return,
            _ = tokio::time::sleep(Duration::from_millis(10)) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts_are_reproducible_from_the_seed() {
        assert_eq!(account(1, 3).address, account(1, 3).address);
        assert_ne!(account(1, 3).address, account(2, 3).address);
        assert_eq!(
            short("nonce too low: next nonce 5, tx nonce 3"),
            "nonce too low"
        );
        assert_eq!("mixed".parse::<Mix>(), Ok(Mix::Mixed));
        assert!("other".parse::<Mix>().is_err());
    }
}
