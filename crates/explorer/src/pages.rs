//! One function per page: read what it shows from the nodes, fill its template.
use crate::{
    App, PageError, PageResult,
    decode::{self, DecodedLog, eth, gwei},
    render,
    rollup::{self, BatchInfo, OutputInfo},
    rpc::{BlockId, Node, RpcResult, address as addr, b256, bytes, hex_u64, quantity, u256},
};
use alloy_primitives::{Address, B256, U256};
use alloy_sol_types::SolEvent;
use askama::Template;
use serde_json::Value;
use tandem_client::types::RollupStatus;
use tandem_primitives::abi::{IL2ToL1MessagePasser, IPortal};
use tandem_primitives::protocol::deposit_transaction;
use tandem_primitives::system::{L2_TO_L1_MESSAGE_PASSER, PORTAL};

/// Blocks the home page summarizes per layer.
const HOME_BLOCKS: u64 = 10;
/// Blocks the base-fee chart covers.
const CHART_BLOCKS: u64 = 60;
/// Blocks an address page scans for its recent transactions.
const ADDRESS_SCAN: u64 = 50;
/// Blocks the bridge page searches for events.
const EVENT_WINDOW: u64 = 5_000;

#[derive(Template)]
#[template(path = "message.html")]
pub(crate) struct Message {
    title: String,
    message: String,
    links: Vec<(String, String)>,
}

impl Message {
    pub(crate) fn new(title: &str, message: String) -> Self {
        Self {
            title: title.into(),
            message,
            links: Vec::new(),
        }
    }
}

fn node<'a>(app: &'a App, layer: &str) -> Result<&'a Node, PageError> {
    match layer {
        "l1" => Ok(&app.l1),
        "l2" => app
            .l2
            .as_ref()
            .ok_or_else(|| PageError::NotFound("This explorer is not connected to an L2.".into())),
        _ => Err(PageError::NotFound(format!("There is no layer {layer:?}."))),
    }
}

fn title(layer: &str) -> &'static str {
    if layer == "l2" { "L2" } else { "L1" }
}

/// A hash cut to its ends for a table (by characters: the text is the node's, not known hex).
fn short(hash: &str) -> String {
    let chars: Vec<char> = hash.chars().collect();
    if chars.len() > 18 {
        let head: String = chars[..10].iter().collect();
        let tail: String = chars[chars.len() - 6..].iter().collect();
        format!("{head}…{tail}")
    } else {
        hash.to_string()
    }
}

fn field_u64(v: &Value, name: &str) -> u64 {
    quantity(&v[name]).unwrap_or_default()
}

fn field_u256(v: &Value, name: &str) -> U256 {
    u256(&v[name]).unwrap_or_default()
}

fn text(v: &Value, name: &str) -> String {
    v[name].as_str().unwrap_or_default().to_string()
}

// ---- home ----

pub(crate) struct BlockRow {
    number: u64,
    hash: String,
    txs: usize,
    gas_used: u64,
    base_fee: String,
}

pub(crate) struct LayerView {
    key: &'static str,
    title: &'static str,
    chain_id: u64,
    head: u64,
    tps: String,
    block_time: String,
    base_fee: String,
    heads: Vec<(String, String)>,
    chart: String,
    blocks: Vec<BlockRow>,
    ws: String,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "home.html")]
struct Home {
    layers: Vec<LayerView>,
}

pub(crate) async fn home(app: &App) -> PageResult {
    let mut layers = vec![layer_view(&app.l1, "l1", "L1 (BFT proof of stake)").await];
    if let Some(l2) = &app.l2 {
        let mut view = layer_view(l2, "l2", "L2 (optimistic rollup)").await;
        if let Ok(status) = l2
            .client()
            .request_json::<RollupStatus, _>("tandem_rollupStatus", ())
            .await
        {
            for (head, h) in [
                ("unsafe", status.unsafe_head),
                ("safe", status.safe),
                ("finalized", status.finalized),
            ] {
                let (number, origin) = (h.number, h.l1_origin);
                view.heads.push((
                    format!("{head} head"),
                    match origin {
                        Some(o) => format!("{number} (L1 origin {o})"),
                        None => number.to_string(),
                    },
                ));
            }
        }
        layers.push(view);
    }
    Ok(render(&Home { layers }))
}

async fn layer_view(node: &Node, key: &'static str, title: &'static str) -> LayerView {
    let mut view = LayerView {
        key,
        title,
        chain_id: 0,
        head: 0,
        tps: "-".into(),
        block_time: "-".into(),
        base_fee: "-".into(),
        heads: Vec::new(),
        chart: String::new(),
        blocks: Vec::new(),
        ws: node.ws_url(),
        error: None,
    };
    if let Err(e) = fill_layer(node, &mut view).await {
        view.error = Some(e.to_string());
    }
    view
}

async fn fill_layer(node: &Node, view: &mut LayerView) -> RpcResult<()> {
    view.chain_id = quantity(&node.call("eth_chainId", vec![]).await?).unwrap_or_default();
    let head = node.head().await?;
    view.head = head;
    let first = head.saturating_sub(CHART_BLOCKS - 1);
    let fetched = futures_join(node, first, head).await?;
    let blocks: Vec<&Value> = fetched.iter().flatten().collect();
    let mut fees = Vec::with_capacity(blocks.len());
    for block in &blocks {
        let number = field_u64(block, "number");
        let base_fee = field_u256(block, "baseFeePerGas");
        fees.push((number, f64::from(base_fee)));
        if number.saturating_add(HOME_BLOCKS) > head {
            view.blocks.push(BlockRow {
                number,
                hash: short(&text(block, "hash")),
                txs: block["transactions"]
                    .as_array()
                    .map(Vec::len)
                    .unwrap_or_default(),
                gas_used: field_u64(block, "gasUsed"),
                base_fee: gwei(base_fee),
            });
        }
    }
    view.blocks.reverse();
    // Rates over the blocks after genesis (whose timestamp is the chain's birth, not a block time).
    let timed: Vec<&&Value> = blocks
        .iter()
        .filter(|b| field_u64(b, "number") > 0)
        .collect();
    if let (Some(oldest), Some(newest)) = (timed.first(), timed.last()) {
        let span = field_u64(newest, "timestamp").saturating_sub(field_u64(oldest, "timestamp"));
        let txs: usize = timed
            .iter()
            .skip(1)
            .map(|b| {
                b["transactions"]
                    .as_array()
                    .map(Vec::len)
                    .unwrap_or_default()
            })
            .sum();
        if span > 0 {
            view.tps = format!("{:.1}", txs as f64 / span as f64);
            view.block_time = format!("{:.2} s", span as f64 / (timed.len() - 1).max(1) as f64);
        }
    }
    if let Some(newest) = blocks.last() {
        view.base_fee = gwei(field_u256(newest, "baseFeePerGas"));
    }
    view.chart = chart(view.title, &fees);
    Ok(())
}

/// Blocks `first..=last` (headers with transaction hashes), fetched concurrently.
async fn futures_join(node: &Node, first: u64, last: u64) -> RpcResult<Vec<Option<Value>>> {
    let mut set = tokio::task::JoinSet::new();
    for number in first..=last {
        let node = node.clone();
        set.spawn(async move { (number, node.block(BlockId::Number(number), false).await) });
    }
    let mut out = Vec::with_capacity((last - first + 1) as usize);
    while let Some(done) = set.join_next().await {
        let (number, block) = done.map_err(|e| node.malformed(e.to_string()))?;
        out.push((number, block?));
    }
    out.sort_by_key(|(n, _)| *n);
    Ok(out.into_iter().map(|(_, b)| b).collect())
}

/// The base fee (wei) over the last blocks, as an SVG line chart, in gwei or, when it is below a
/// thousandth of a gwei (an idle L2 sits at its 7 wei floor), in wei.
fn chart(title: &str, fees: &[(u64, f64)]) -> String {
    use plotters::prelude::*;
    let mut svg = String::new();
    if fees.len() < 2 {
        return svg;
    }
    let peak = fees.iter().map(|f| f.1).fold(0.0, f64::max);
    let (unit, scale) = if peak < 1e6 {
        ("wei", 1.0)
    } else {
        ("gwei", 1e9)
    };
    let fees: Vec<(u64, f64)> = fees.iter().map(|(n, f)| (*n, f / scale)).collect();
    {
        let root = SVGBackend::with_string(&mut svg, (520, 160)).into_drawing_area();
        let _ = root.fill(&WHITE);
        let (x0, x1) = (fees[0].0 as f64, fees[fees.len() - 1].0 as f64);
        let top = fees.iter().map(|f| f.1).fold(0.0, f64::max) * 1.2 + 1e-9;
        if let Ok(mut c) = ChartBuilder::on(&root)
            .margin(6)
            .x_label_area_size(22)
            .y_label_area_size(56)
            .caption(format!("{title}: base fee ({unit})"), ("sans-serif", 13))
            .build_cartesian_2d(x0..x1.max(x0 + 1.0), 0.0..top)
        {
            let _ = c.configure_mesh().x_labels(5).y_labels(4).draw();
            let _ = c.draw_series(LineSeries::new(
                fees.iter().map(|(n, f)| (*n as f64, *f)),
                RED.stroke_width(2),
            ));
        }
        let _ = root.present();
    }
    svg
}

// ---- block ----

pub(crate) struct TxRow {
    hash: String,
    kind: String,
    from: String,
    to: Option<String>,
    value: String,
}

#[derive(Template)]
#[template(path = "block.html")]
struct BlockPage {
    layer: String,
    layer_title: &'static str,
    number: u64,
    hash: String,
    parent: u64,
    timestamp: u64,
    gas_used: u64,
    gas_limit: u64,
    base_fee: String,
    state_root: String,
    miner: String,
    txs: Vec<TxRow>,
    batch: Option<BatchInfo>,
}

fn kind(tx: &Value) -> String {
    match tx["type"].as_str().unwrap_or("0x0") {
        "0x0" => "legacy".into(),
        "0x1" => "EIP-2930".into(),
        "0x2" => "EIP-1559".into(),
        "0x4" => "EIP-7702".into(),
        "0x7e" => "deposit".into(),
        other => other.to_string(),
    }
}

pub(crate) async fn block(app: &App, layer: &str, id: &str) -> PageResult {
    let node = node(app, layer)?;
    let block_id = if let Ok(n) = id.parse::<u64>() {
        BlockId::Number(n)
    } else if let Ok(h) = id.parse::<B256>() {
        BlockId::Hash(h)
    } else {
        return Err(PageError::NotFound(format!(
            "{id:?} is neither a block number nor a hash."
        )));
    };
    let Some(b) = node.block(block_id, true).await? else {
        return Err(PageError::NotFound(format!(
            "{} has no block {id}.",
            title(layer)
        )));
    };
    let number = field_u64(&b, "number");
    let txs = b["transactions"]
        .as_array()
        .map(|txs| {
            txs.iter()
                .map(|t| TxRow {
                    hash: text(t, "hash"),
                    kind: kind(t),
                    from: text(t, "from"),
                    to: t["to"].as_str().map(str::to_string),
                    value: eth(field_u256(t, "value")),
                })
                .collect()
        })
        .unwrap_or_default();
    let batch = if layer == "l2" {
        carrying(app, number).await
    } else {
        None
    };
    Ok(render(&BlockPage {
        layer: layer.to_string(),
        layer_title: title(layer),
        number,
        hash: text(&b, "hash"),
        parent: number.saturating_sub(1),
        timestamp: field_u64(&b, "timestamp"),
        gas_used: field_u64(&b, "gasUsed"),
        gas_limit: field_u64(&b, "gasLimit"),
        base_fee: gwei(field_u256(&b, "baseFeePerGas")),
        state_root: text(&b, "stateRoot"),
        miner: text(&b, "miner"),
        txs,
        batch,
    }))
}

/// L2's chain id (the batch codec needs it), asked of the node once.
async fn l2_chain_id(app: &App, l2: &Node) -> RpcResult<u64> {
    if let Some(id) = app.l2_chain_id.get() {
        return Ok(*id);
    }
    let id = quantity(&l2.call("eth_chainId", vec![]).await?)
        .ok_or_else(|| l2.malformed("eth_chainId is not a number"))?;
    Ok(*app.l2_chain_id.get_or_init(|| id))
}

/// The batch that carried L2 block `number`, reading L1 up to its head first.
async fn carrying(app: &App, number: u64) -> Option<BatchInfo> {
    let l2 = app.l2.as_ref()?;
    let chain_id = l2_chain_id(app, l2).await.ok()?;
    let mut index = app.batches.lock().await;
    if let Err(e) = index.update(&app.l1, chain_id).await {
        tracing::debug!(target: "explorer", error = %e, "cannot read batches");
    }
    index.carrying(number)
}

// ---- transaction ----

#[derive(Template)]
#[template(path = "tx.html")]
struct TxPage {
    layer: String,
    layer_title: &'static str,
    hash: String,
    status: &'static str,
    revert: Option<String>,
    kind: String,
    block: Option<u64>,
    from: String,
    to: Option<String>,
    value: String,
    deposit: Option<(String, String)>,
    gas_used: u64,
    gas_limit: u64,
    gas_price: String,
    fee_total: String,
    fee_execution: String,
    l1_fee: Option<String>,
    batch: Option<BatchInfo>,
    input_len: usize,
    /// The input as a call, when the explorer knows its function.
    input_call: Option<String>,
    logs: Vec<DecodedLog>,
    calls: crate::calls::CallTree,
    /// Why the call tree is missing (the node keeps no state that old, or serves no tracing).
    calls_missing: Option<String>,
    value_moves: Vec<(String, String, String)>,
}

pub(crate) async fn transaction(app: &App, layer: &str, hash: &str) -> PageResult {
    let node = node(app, layer)?;
    let Ok(hash) = hash.parse::<B256>() else {
        return Err(PageError::NotFound(format!(
            "{hash:?} is not a transaction hash."
        )));
    };
    let Some(tx) = node.transaction(hash).await? else {
        return Err(PageError::NotFound(format!(
            "{} has no transaction {hash}.",
            title(layer)
        )));
    };
    let receipt = node.receipt(hash).await?;
    let block = quantity(&tx["blockNumber"]);
    let deposit = (tx["type"].as_str() == Some("0x7e"))
        .then(|| (eth(field_u256(&tx, "mint")), text(&tx, "sourceHash")));
    let (status, gas_used, price, l1_fee) = match &receipt {
        Some(r) => (
            if field_u64(r, "status") == 1 {
                "success"
            } else {
                "failed"
            },
            field_u64(r, "gasUsed"),
            field_u256(r, "effectiveGasPrice"),
            u256(&r["l1Fee"]),
        ),
        None => ("pending", 0, U256::ZERO, None),
    };
    let execution = U256::from(gas_used) * price;
    let revert = if status == "failed" && deposit.is_none() {
        Some(revert_reason(node, &tx, block).await)
    } else {
        None
    };
    let mut logs = Vec::new();
    if let Some(list) = receipt.as_ref().and_then(|r| r["logs"].as_array()) {
        for log in list.iter().take(100) {
            if let Some(decoded) = decode::log(node, log).await {
                logs.push(decoded);
            }
        }
    }
    let batch = match (layer, block) {
        ("l2", Some(n)) => carrying(app, n).await,
        _ => None,
    };
    let (calls, calls_missing) = match block {
        Some(_) => match crate::calls::tree(node, &hash.to_string()).await {
            Ok(tree) => (tree, None),
            Err(why) => (Default::default(), Some(why)),
        },
        None => (Default::default(), Some("not mined yet".into())),
    };
    let value_moves = calls.value_moves();
    let input = bytes(&tx["input"]).unwrap_or_default();
    Ok(render(&TxPage {
        layer: layer.to_string(),
        layer_title: title(layer),
        hash: hash.to_string(),
        status,
        revert,
        kind: kind(&tx),
        block,
        from: text(&tx, "from"),
        to: tx["to"].as_str().map(str::to_string),
        value: eth(field_u256(&tx, "value")),
        deposit,
        gas_used,
        gas_limit: field_u64(&tx, "gas"),
        gas_price: gwei(price),
        fee_total: eth(execution + l1_fee.unwrap_or_default()),
        fee_execution: eth(execution),
        l1_fee: l1_fee.map(eth),
        batch,
        input_len: input.len(),
        input_call: crate::abi::call(&input),
        logs,
        calls,
        calls_missing,
        value_moves,
    }))
}

/// Why a mined transaction failed: its call replayed on the state before its block.
async fn revert_reason(node: &Node, tx: &Value, block: Option<u64>) -> String {
    let call = serde_json::json!({
        "from": tx["from"], "to": tx["to"], "data": tx["input"], "value": tx["value"], "gas": tx["gas"],
    });
    let at = block
        .map(|n| hex_u64(n.saturating_sub(1)))
        .unwrap_or_else(|| "latest".into());
    match node.eth_call(call, at).await {
        Ok(Err((_, Some(data)))) => decode::revert_reason(&data),
        Ok(Err((message, None))) => message,
        Ok(Ok(_)) => "out of gas, or it depended on transactions earlier in its block".into(),
        Err(e) => e.to_string(),
    }
}

// ---- address ----

pub(crate) struct AddressLayer {
    key: &'static str,
    title: &'static str,
    balance: String,
    nonce: u64,
    code_size: usize,
    scanned: u64,
    txs: Vec<(String, u64)>,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "address.html")]
struct AddressPage {
    address: String,
    layers: Vec<AddressLayer>,
}

pub(crate) async fn address(app: &App, address: &str) -> PageResult {
    let Ok(address) = address.parse::<Address>() else {
        return Err(PageError::NotFound(format!(
            "{address:?} is not an address."
        )));
    };
    let mut layers = vec![address_layer(&app.l1, "l1", address).await];
    if let Some(l2) = &app.l2 {
        layers.push(address_layer(l2, "l2", address).await);
    }
    Ok(render(&AddressPage {
        address: address.to_checksum(None),
        layers,
    }))
}

async fn address_layer(node: &Node, key: &'static str, address: Address) -> AddressLayer {
    let mut view = AddressLayer {
        key,
        title: title(key),
        balance: String::new(),
        nonce: 0,
        code_size: 0,
        scanned: ADDRESS_SCAN,
        txs: Vec::new(),
        error: None,
    };
    let filled = async {
        view.balance = eth(node.balance(address).await?);
        view.nonce = node.nonce(address).await?;
        view.code_size = node.code_size(address).await?;
        let head = node.head().await?;
        for number in (head.saturating_sub(ADDRESS_SCAN - 1)..=head).rev() {
            let Some(block) = node.block(BlockId::Number(number), true).await? else {
                continue;
            };
            for tx in block["transactions"].as_array().into_iter().flatten() {
                if addr(&tx["from"]) == Some(address) || addr(&tx["to"]) == Some(address) {
                    view.txs.push((text(tx, "hash"), number));
                }
            }
        }
        Ok::<_, crate::rpc::RpcError>(())
    };
    if let Err(e) = filled.await {
        view.error = Some(e.to_string());
    }
    view
}

// ---- rollup ----

#[derive(Template)]
#[template(path = "rollup.html")]
struct RollupPage {
    unavailable: Option<String>,
    batches: Vec<BatchInfo>,
    outputs: Vec<OutputInfo>,
    disputes: Vec<rollup::DisputeInfo>,
    window: u64,
}

const NO_ROLLUP: &str = "The rollup is not yet available on the connected network.";

pub(crate) async fn rollup(app: &App) -> PageResult {
    let Some(l2) = &app.l2 else {
        return Ok(render(&RollupPage {
            unavailable: Some(NO_ROLLUP.into()),
            batches: Vec::new(),
            outputs: Vec::new(),
            disputes: Vec::new(),
            window: 0,
        }));
    };
    let chain_id = l2_chain_id(app, l2).await?;
    let batches = {
        let mut index = app.batches.lock().await;
        index.update(&app.l1, chain_id).await?;
        index.newest(20)
    };
    let (window, outputs, unavailable) = match rollup::outputs(&app.l1, 20).await {
        Ok((window, outputs)) => (window, outputs, None),
        Err(_) => (
            0,
            Vec::new(),
            Some("Output roots are not yet available on the connected network.".into()),
        ),
    };
    let disputes = rollup::disputes(&app.l1, 20).await.unwrap_or_default();
    Ok(render(&RollupPage {
        unavailable,
        batches,
        outputs,
        disputes,
        window,
    }))
}

#[derive(Template)]
#[template(path = "batch.html")]
struct BatchPage {
    b: BatchInfo,
}

pub(crate) async fn batch(app: &App, sequence: &str) -> PageResult {
    let Ok(sequence) = sequence.parse::<u64>() else {
        return Err(PageError::NotFound(format!(
            "{sequence:?} is not a batch number."
        )));
    };
    let Some(l2) = &app.l2 else {
        return Err(PageError::NotFound(NO_ROLLUP.into()));
    };
    let chain_id = l2_chain_id(app, l2).await?;
    let mut index = app.batches.lock().await;
    index.update(&app.l1, chain_id).await?;
    let b = index
        .get(sequence)
        .ok_or_else(|| PageError::NotFound(format!("L1 holds no batch {sequence}.")))?;
    Ok(render(&BatchPage { b }))
}

// ---- bridge ----

pub(crate) struct DepositRow {
    index: u64,
    l1_tx: String,
    from: String,
    to: String,
    amount: String,
    l2_tx: String,
    l2_block: Option<u64>,
}

pub(crate) struct WithdrawalRow {
    l2_tx: String,
    target: String,
    amount: String,
    stage: String,
}

#[derive(Template)]
#[template(path = "bridge.html")]
struct BridgePage {
    unavailable: Option<String>,
    deposits: Vec<DepositRow>,
    withdrawals: Vec<WithdrawalRow>,
    messages: Vec<crate::messages::MessageRow>,
}

pub(crate) async fn bridge(app: &App) -> PageResult {
    let Some(l2) = &app.l2 else {
        return Ok(render(&BridgePage {
            unavailable: Some("The bridge is not yet available on the connected network.".into()),
            deposits: Vec::new(),
            withdrawals: Vec::new(),
            messages: Vec::new(),
        }));
    };
    let l1_head = app.l1.head().await?;
    let mut deposits = Vec::new();
    let logs = app
        .l1
        .logs(
            PORTAL,
            IPortal::TransactionDeposited::SIGNATURE_HASH,
            l1_head.saturating_sub(EVENT_WINDOW),
            l1_head,
        )
        .await?;
    for log in logs.iter().rev().take(20) {
        let Some(e) = event::<IPortal::TransactionDeposited>(log) else {
            continue;
        };
        let l2_tx = deposit_transaction(
            e.index,
            e.from,
            e.to,
            e.mint,
            e.value,
            e.gasLimit,
            e.data.clone(),
        )
        .tx_hash();
        let l2_block = l2
            .receipt(l2_tx)
            .await?
            .and_then(|r| quantity(&r["blockNumber"]));
        deposits.push(DepositRow {
            index: e.index,
            l1_tx: text(log, "transactionHash"),
            from: e.from.to_checksum(None),
            to: e.to.to_checksum(None),
            amount: eth(e.mint),
            l2_tx: l2_tx.to_string(),
            l2_block,
        });
    }
    let l2_head = l2.head().await?;
    let mut withdrawals = Vec::new();
    let logs = l2
        .logs(
            L2_TO_L1_MESSAGE_PASSER,
            IL2ToL1MessagePasser::MessagePassed::SIGNATURE_HASH,
            l2_head.saturating_sub(EVENT_WINDOW),
            l2_head,
        )
        .await?;
    for log in logs.iter().rev().take(20) {
        let Some(e) = event::<IL2ToL1MessagePasser::MessagePassed>(log) else {
            continue;
        };
        let hash = text(log, "transactionHash");
        let stage = match l2
            .call("tandem_withdrawalStatus", vec![hash.clone().into()])
            .await
        {
            Ok(Value::Array(list)) => list
                .iter()
                .find(|s| b256(&s["withdrawalHash"]) == Some(e.withdrawalHash))
                .and_then(|s| s["stage"].as_str().map(|s| s.replace('_', " ")))
                .unwrap_or_else(|| "unknown".into()),
            _ => "unknown".into(),
        };
        withdrawals.push(WithdrawalRow {
            l2_tx: hash,
            target: e.target.to_checksum(None),
            amount: eth(e.value),
            stage,
        });
    }
    let messages = crate::messages::messages((&app.l1, l2), EVENT_WINDOW).await?;
    Ok(render(&BridgePage {
        unavailable: None,
        deposits,
        withdrawals,
        messages,
    }))
}

fn event<E: SolEvent>(log: &Value) -> Option<E> {
    let topics: Vec<B256> = log["topics"].as_array()?.iter().filter_map(b256).collect();
    let data = bytes(&log["data"])?;
    let raw = alloy_primitives::LogData::new(topics, data.into())?;
    E::decode_log_data(&raw).ok()
}

// ---- search ----

/// Where a search leads: a block, a transaction or an address page; not found otherwise.
pub(crate) async fn search(app: &App, query: &str) -> Result<String, PageError> {
    let q = query.trim();
    let not_found = || PageError::NotFound(format!("Nothing on either layer matches {q:?}."));
    if let Ok(number) = q.parse::<u64>() {
        for (key, node) in layers(app) {
            if node.block(BlockId::Number(number), false).await?.is_some() {
                return Ok(format!("/{key}/block/{number}"));
            }
        }
        return Err(not_found());
    }
    if let Ok(address) = q.parse::<Address>() {
        return Ok(format!("/address/{address}"));
    }
    if let Ok(hash) = q.parse::<B256>() {
        for (key, node) in layers(app) {
            if node.transaction(hash).await?.is_some() {
                return Ok(format!("/{key}/tx/{hash}"));
            }
            if node.block(BlockId::Hash(hash), false).await?.is_some() {
                return Ok(format!("/{key}/block/{hash}"));
            }
        }
    }
    Err(not_found())
}

fn layers(app: &App) -> Vec<(&'static str, &Node)> {
    let mut out = vec![("l1", &app.l1)];
    if let Some(l2) = &app.l2 {
        out.push(("l2", l2));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_hash_from_the_node_is_cut_by_characters_whatever_it_holds() {
        assert_eq!(
            super::short(&format!("0x{}", "ab".repeat(32))),
            "0xabababab…ababab"
        );
        assert_eq!(super::short("0x€€€€€€€€€€€€€€€€€€€€"), "0x€€€€€€€€…€€€€€€");
        assert_eq!(super::short("0x12"), "0x12");
    }
}
