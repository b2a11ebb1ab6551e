//! Tracing on a dev chain: geth's tracers (`debug_trace*`) and parity's (`trace_*`) over a block
//! whose transaction calls a contract that calls another, which reverts; and the bounds.
use crate::support::{self, post};
use alloy_consensus::TxEip1559;
use alloy_primitives::TxKind;
use serde_json::{Value, json};
use std::sync::Arc;
use tandem_execution::{BlockAttributes, Executor};
use tandem_mempool::Mempool;
use tandem_primitives::{
    Address, B256, Bytes, U256, dev,
    genesis::{GenesisAccount, chain_config},
};
use tandem_rpc::{Backend, Limits};
use tandem_state::LatestState;
use tandem_storage::Storage;

/// Reverts whatever it is given.
const INNER: Address = Address::new([0x11; 20]);
/// Calls [`INNER`], stores the call's success flag in slot 0 and 1 in slot 1, then stops.
const OUTER: Address = Address::new([0x22; 20]);
/// Loops until its gas runs out.
const LOOP: Address = Address::new([0x33; 20]);

fn outer_code() -> Bytes {
    let mut code = vec![0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x60, 0, 0x73];
    code.extend_from_slice(INNER.as_slice());
    // GAS CALL, PUSH1 0 SSTORE, PUSH1 1 PUSH1 1 SSTORE, STOP
    code.extend_from_slice(&[0x5a, 0xf1, 0x60, 0, 0x55, 0x60, 1, 0x60, 1, 0x55, 0x00]);
    code.into()
}

/// A dev chain whose genesis holds the three contracts, with one block on it: dev account 0 calls
/// [`OUTER`] (with four bytes of calldata), then [`LOOP`] with 3M gas.
async fn chain() -> (support::Server, [B256; 2]) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(Storage::open(&dir.path().join("chain.redb")).unwrap());
    let mut genesis = tandem_execution::dev_genesis(900);
    for (address, code) in [
        (INNER, Bytes::from_static(&[0x60, 0, 0x60, 0, 0xfd])),
        (OUTER, outer_code()),
        (LOOP, Bytes::from_static(&[0x5b, 0x60, 0, 0x56])),
    ] {
        let account = GenesisAccount::default()
            .with_code(Some(code))
            .with_nonce(Some(1));
        genesis.alloc.insert(address, account);
    }
    let first = tandem_execution::genesis_block(&storage.read().unwrap(), &genesis).unwrap();
    storage.commit(&first.clone().into_commit()).unwrap();
    let chain = chain_config(&genesis);
    let key = &dev::accounts()[0];
    let call = |nonce, to, gas_limit, input: &[u8]| {
        key.sign(TxEip1559 {
            chain_id: 900,
            nonce,
            gas_limit,
            max_fee_per_gas: 10_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(to),
            input: Bytes::copy_from_slice(input),
            ..Default::default()
        })
    };
    let txs = [
        call(0, OUTER, 200_000, &[0x12, 0x34, 0x56, 0x78]),
        call(1, LOOP, 3_000_000, &[]),
    ];
    let hashes = [txs[0].tx_hash(), txs[1].tx_hash()];
    let reader = storage.read().unwrap();
    let parent = first.block.header().clone();
    let attrs = BlockAttributes {
        timestamp: parent.timestamp + 1,
        beneficiary: Address::with_last_byte(0xbe),
        prev_randao: B256::repeat_byte(7),
    };
    let mut executor = Executor::new(&reader, LatestState(&reader), &chain, &parent, &attrs);
    for tx in txs {
        executor.execute(tx, key.address).unwrap();
    }
    let block = executor.finish().unwrap();
    drop(reader);
    storage.commit(&block.into_commit()).unwrap();
    let pool = Mempool::new(
        Default::default(),
        900,
        chain.gas_limit,
        chain.fees.min_base_fee_wei,
    );
    let pool = Arc::new(tandem_mempool::Pool::new(pool, chain.layer));
    let backend = Backend::new(storage, pool, chain, Limits::default());
    (support::serve(backend, dir).await, hashes)
}

/// The hash of the first transaction of block 1.
async fn chain_first(server: &support::Server) -> Value {
    let block = support::call(server.addr, "eth_getBlockByNumber", json!(["0x1", false])).await;
    block["transactions"][0].clone()
}

/// The error message of `method` called with `params`.
async fn refusal(addr: std::net::SocketAddr, method: &str, params: Value) -> String {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let answer = post(addr, request.to_string()).await.json();
    match answer["error"]["message"].as_str() {
        Some(message) => message.to_string(),
        None => panic!("{method} answered {answer}"),
    }
}

fn address(value: &Value) -> Address {
    value.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn the_call_tracer_shows_the_inner_call_and_its_revert() {
    let (server, [outer, _]) = chain().await;
    let trace = support::call(
        server.addr,
        "debug_traceTransaction",
        json!([outer, {"tracer": "callTracer"}]),
    )
    .await;
    assert_eq!(trace["type"], "CALL");
    assert_eq!(address(&trace["from"]), dev::accounts()[0].address);
    assert_eq!(address(&trace["to"]), OUTER);
    assert_eq!(trace["input"], "0x12345678");
    assert!(trace.get("error").is_none(), "{trace}");
    let calls = trace["calls"].as_array().unwrap();
    assert_eq!(calls.len(), 1, "{trace}");
    assert_eq!(address(&calls[0]["to"]), INNER);
    assert_eq!(calls[0]["error"], "execution reverted");
    // The same tree from the block's trace, and from a call on the block's state.
    let block = support::call(
        server.addr,
        "debug_traceBlockByNumber",
        json!(["0x1", {"tracer": "callTracer"}]),
    )
    .await;
    assert_eq!(block[0]["txHash"], json!(outer));
    assert_eq!(block[0]["result"], trace);
    assert_eq!(block[1]["result"]["error"], "out of gas");
    let request = json!({"from": dev::accounts()[0].address, "to": OUTER, "data": "0x12345678"});
    let called = support::call(
        server.addr,
        "debug_traceCall",
        json!([request, "0x0", {"tracer": "callTracer"}]),
    )
    .await;
    assert_eq!(called["calls"][0]["error"], "execution reverted");
}

#[tokio::test]
async fn the_prestate_tracer_in_diff_mode_reports_exactly_what_changed() {
    let (server, [outer, _]) = chain().await;
    let diff = support::call(
        server.addr,
        "debug_traceTransaction",
        json!([outer, {"tracer": "prestateTracer", "tracerConfig": {"diffMode": true}}]),
    )
    .await;
    let sender = format!("{:#x}", dev::accounts()[0].address);
    let outer_key = format!("{OUTER:#x}");
    let slot = |n: u8| format!("{:#x}", B256::with_last_byte(n));
    let (pre, post) = (&diff["pre"], &diff["post"]);
    // Slot 1 went from nothing to 1; slot 0 (the failed call's flag) stayed 0 and is not there.
    assert_eq!(
        post[&outer_key]["storage"][slot(1)],
        format!("{:#x}", B256::with_last_byte(1))
    );
    assert!(post[&outer_key]["storage"].get(slot(0)).is_none(), "{diff}");
    assert!(pre[&outer_key].get("storage").is_none(), "{diff}");
    // The sender paid and its nonce moved; the beneficiary took the tip.
    assert_eq!(post[&sender]["nonce"], 1);
    let balance = |v: &Value| {
        U256::from_str_radix(v["balance"].as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
    };
    assert!(balance(&post[&sender]) < balance(&pre[&sender]));
    let beneficiary = format!("{:#x}", Address::with_last_byte(0xbe));
    assert!(post.get(&beneficiary).is_some(), "{diff}");
    // Untouched contracts are not in the diff.
    assert!(pre.get(format!("{LOOP:#x}")).is_none() && post.get(format!("{LOOP:#x}")).is_none());
}

#[tokio::test]
async fn the_opcode_logger_4byte_and_noop_tracers_answer_as_geth() {
    let (server, [outer, _]) = chain().await;
    let logs = support::call(server.addr, "debug_traceTransaction", json!([outer])).await;
    assert_eq!(logs["failed"], false);
    let steps = logs["structLogs"].as_array().unwrap();
    assert_eq!(steps[0]["op"], "PUSH1");
    assert_eq!(steps[0]["depth"], 1);
    assert!(steps.iter().any(|s| s["op"] == "REVERT" && s["depth"] == 2));
    let limited = support::call(
        server.addr,
        "debug_traceTransaction",
        json!([outer, {"limit": 3}]),
    )
    .await;
    assert_eq!(limited["structLogs"].as_array().unwrap().len(), 3);
    let four = support::call(
        server.addr,
        "debug_traceTransaction",
        json!([outer, {"tracer": "4byteTracer"}]),
    )
    .await;
    assert_eq!(four, json!({"0x12345678-0": 1}));
    let noop = support::call(
        server.addr,
        "debug_traceTransaction",
        json!([outer, {"tracer": "noopTracer"}]),
    )
    .await;
    assert_eq!(noop, json!({}));
}

#[tokio::test]
async fn parity_traces_list_both_calls_and_replays_carry_the_state_diff() {
    let (server, [outer, _]) = chain().await;
    let traces = support::call(server.addr, "trace_transaction", json!([outer])).await;
    let traces = traces.as_array().unwrap();
    assert_eq!(traces.len(), 2, "{traces:?}");
    assert_eq!(address(&traces[0]["action"]["to"]), OUTER);
    assert_eq!(traces[0]["traceAddress"], json!([]));
    assert_eq!(address(&traces[1]["action"]["to"]), INNER);
    assert_eq!(traces[1]["traceAddress"], json!([0]));
    assert_eq!(traces[1]["error"], "Reverted");
    assert_eq!(traces[0]["transactionHash"], json!(outer));
    assert_eq!(traces[0]["blockNumber"], 1);
    let block = support::call(server.addr, "trace_block", json!(["0x1"])).await;
    assert_eq!(
        block.as_array().unwrap().len(),
        3,
        "both calls of the first, the loop"
    );
    let replayed = support::call(
        server.addr,
        "trace_replayBlockTransactions",
        json!(["0x1", ["trace", "stateDiff"]]),
    )
    .await;
    assert_eq!(replayed[0]["transactionHash"], json!(outer));
    let outer_diff = &replayed[0]["stateDiff"][format!("{OUTER:#x}")]["storage"];
    // The slot changed on an account that was there: parity's "*" with its old and new value.
    let changed = &outer_diff[format!("{:#x}", B256::with_last_byte(1))]["*"];
    assert_eq!(changed["from"], format!("{:#x}", B256::ZERO), "{replayed}");
    assert_eq!(changed["to"], format!("{:#x}", B256::with_last_byte(1)));
    let unknown = support::call(
        server.addr,
        "trace_transaction",
        json!([B256::repeat_byte(9)]),
    )
    .await;
    assert_eq!(unknown, Value::Null);
}

#[tokio::test]
async fn a_trace_stops_at_its_step_and_time_limits_with_a_clear_error() {
    let (server, [_, looping]) = chain().await;
    let steps = refusal(server.addr, "debug_traceTransaction", json!([looping])).await;
    assert!(steps.contains("more than 100000 steps"), "{steps}");
    let late = refusal(
        server.addr,
        "debug_traceTransaction",
        json!([looping, {"tracer": "callTracer", "timeout": "1ms"}]),
    )
    .await;
    assert!(late.contains("execution timeout"), "{late}");
    let bad = refusal(
        server.addr,
        "debug_traceTransaction",
        json!([looping, {"tracer": "callTracer", "timeout": "soon"}]),
    )
    .await;
    assert!(bad.contains("timeout"), "{bad}");
    // The time limit holds for the transactions a trace replays without tracing them: tracing
    // the first transaction replays the loop after it.
    let (_, outer) = (looping, chain_first(&server).await);
    let replayed = refusal(
        server.addr,
        "debug_traceTransaction",
        json!([outer, {"tracer": "callTracer", "timeout": "1ms"}]),
    )
    .await;
    assert!(replayed.contains("execution timeout"), "{replayed}");
    // What a trace copies is bounded: a deep stack logged at every step, a call's input copied
    // at every call.
    let deep = format!("0x{}5b60c856", "5f".repeat(200));
    let stacked = refusal(
        server.addr,
        "debug_traceCall",
        json!([{"data": deep, "gas": "0x6ddd0"}, "latest"]),
    )
    .await;
    assert!(stacked.contains("MiB"), "{stacked}");
    let calls = "0x60016201ffff535b60006000620200006000600061beef5af150600756";
    for (method, params) in [
        (
            "debug_traceCall",
            json!([{"data": calls, "gas": "0x2dc6c0"}, "latest", {"tracer": "callTracer"}]),
        ),
        (
            "trace_call",
            json!([{"data": calls, "gas": "0x2dc6c0"}, ["trace"], "latest"]),
        ),
    ] {
        let copied = refusal(server.addr, method, params).await;
        assert!(copied.contains("MiB"), "{method}: {copied}");
    }
    // The cap holds for a whole block's opcode log, and for parity's VM trace.
    let block = refusal(server.addr, "debug_traceBlockByNumber", json!(["0x1"])).await;
    assert!(block.contains("more than 100000 steps"), "{block}");
    let vm = refusal(
        server.addr,
        "trace_replayBlockTransactions",
        json!(["0x1", ["vmTrace"]]),
    )
    .await;
    assert!(vm.contains("more than 100000 steps"), "{vm}");
    let erc7562 = refusal(
        server.addr,
        "debug_traceTransaction",
        json!([looping, {"tracer": "erc7562Tracer"}]),
    )
    .await;
    assert!(erc7562.contains("not served"), "{erc7562}");
    let unknown = refusal(
        server.addr,
        "debug_traceTransaction",
        json!([B256::repeat_byte(9)]),
    )
    .await;
    assert!(unknown.contains("not found"), "{unknown}");
    // The node traces again after the refusals (their slots were given back).
    let fine = support::call(
        server.addr,
        "debug_traceTransaction",
        json!([looping, {"tracer": "callTracer"}]),
    )
    .await;
    assert_eq!(fine["error"], "out of gas");
}

#[tokio::test]
async fn the_genesis_block_and_unknown_blocks_are_refused_clearly() {
    let (server, _) = chain().await;
    let genesis = refusal(server.addr, "debug_traceBlockByNumber", json!(["0x0"])).await;
    assert!(genesis.contains("genesis"), "{genesis}");
    let missing = refusal(server.addr, "debug_traceBlockByNumber", json!(["0x9"])).await;
    assert!(missing.contains("not found"), "{missing}");
}

#[tokio::test]
async fn an_access_list_holds_what_a_call_touches_beyond_its_sender_and_target() {
    let (server, _) = chain().await;
    let from = dev::accounts()[0].address;
    let request = json!({"from": from, "to": OUTER, "data": "0x12345678"});
    let found = support::call(
        server.addr,
        "eth_createAccessList",
        json!([request, "latest"]),
    )
    .await;
    // INNER, which OUTER calls; OUTER itself (the target) only for the slots it reads and
    // writes, as geth and reth list it.
    let slot = |n: u8| format!("{:#x}", B256::with_last_byte(n));
    let expected = json!([
        {"address": INNER, "storageKeys": []},
        {"address": OUTER, "storageKeys": [slot(0), slot(1)]},
    ]);
    assert_eq!(found["accessList"], expected, "{found}");
    assert!(found.get("error").is_none(), "{found}");
    let used = u64::from_str_radix(
        found["gasUsed"].as_str().unwrap().trim_start_matches("0x"),
        16,
    );
    assert!(used.unwrap() > 21_000, "{found}");
    // A call that reverts still gets its list, and says it reverted.
    let reverting = json!({"from": from, "to": INNER});
    let failed = support::call(server.addr, "eth_createAccessList", json!([reverting])).await;
    assert_eq!(failed["error"], "execution reverted");
    assert_eq!(failed["accessList"], json!([]));
}
