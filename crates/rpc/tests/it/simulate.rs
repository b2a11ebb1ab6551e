//! geth's state and block overrides on `eth_call`, `eth_estimateGas` and `debug_traceCall`, and
//! `eth_simulateV1`, on a fresh dev chain.
use crate::support::{self, post};
use serde_json::{Value, json};
use tandem_primitives::Address;

/// Returns its own balance: SELFBALANCE, MSTORE at 0, RETURN 32 bytes.
const SELF_BALANCE: &str = "0x4760005260206000f3";
/// Returns slot 5: PUSH1 5 SLOAD, MSTORE at 0, RETURN 32 bytes.
const SLOT_5: &str = "0x60055460005260206000f3";
/// Returns the block's number and timestamp: NUMBER, TIMESTAMP, two MSTOREs, RETURN 64 bytes.
const NUMBER_AND_TIME: &str = "0x43600052426020526040 6000f3";
/// Reverts with nothing.
const REVERT: &str = "0x60006000fd";

fn word(hex: &Value) -> u128 {
    let hex = hex.as_str().unwrap().trim_start_matches("0x");
    u128::from_str_radix(&hex[hex.len().saturating_sub(32)..], 16).unwrap()
}

async fn error(addr: std::net::SocketAddr, method: &str, params: Value) -> Value {
    let request = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let answer = post(addr, request.to_string()).await.json();
    answer
        .get("error")
        .cloned()
        .unwrap_or_else(|| panic!("{method} answered {answer}"))
}

#[tokio::test]
async fn eth_call_and_estimate_gas_take_state_and_block_overrides() {
    let server = support::start(tandem_rpc::Limits::default()).await;
    let addr = server.addr;
    let x = Address::repeat_byte(0x51);
    // Code and balance overridden: the call sees both.
    let state = json!({ x.to_string(): {"code": SELF_BALANCE, "balance": "0x3039"} });
    let out = support::call(addr, "eth_call", json!([{"to": x}, "latest", state])).await;
    assert_eq!(word(&out), 12_345);
    // Without the override the account is empty.
    assert_eq!(
        support::call(addr, "eth_call", json!([{"to": x}, "latest"])).await,
        "0x"
    );
    // stateDiff sets one slot; state replaces all of them.
    let diff = json!({ x.to_string(): {"code": SLOT_5, "stateDiff": {
        "0x0000000000000000000000000000000000000000000000000000000000000005":
        "0x000000000000000000000000000000000000000000000000000000000000002a"}}});
    let out = support::call(addr, "eth_call", json!([{"to": x}, "latest", diff])).await;
    assert_eq!(word(&out), 42);
    let both = json!({ x.to_string(): {"state": {}, "stateDiff": {}}});
    let refused = error(addr, "eth_call", json!([{"to": x}, "latest", both])).await;
    assert!(
        refused["message"].as_str().unwrap().contains("both"),
        "{refused}"
    );
    // Block overrides: number and time.
    let code = json!({ x.to_string(): {"code": NUMBER_AND_TIME.replace(' ', "")}});
    let block = json!({"number": "0x1000", "time": "0x77"});
    let out = support::call(addr, "eth_call", json!([{"to": x}, "latest", code, block])).await;
    let out = out.as_str().unwrap();
    assert_eq!(word(&json!(out[..66])), 0x1000);
    assert_eq!(word(&json!(format!("0x{}", &out[66..]))), 0x77);
    // eth_estimateGas: an empty account cannot send 1 ETH, the same account with a balance can.
    let poor = Address::repeat_byte(0x52);
    let send = json!({"from": poor, "to": x, "value": "0xde0b6b3a7640000"});
    let refused = error(addr, "eth_estimateGas", json!([send, "latest"])).await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("insufficient funds"),
        "{refused}"
    );
    let rich = json!({ poor.to_string(): {"balance": "0x1bc16d674ec80000"}});
    let gas = support::call(addr, "eth_estimateGas", json!([send, "latest", rich])).await;
    assert_eq!(word(&gas), 21_000);
    // debug_traceCall takes them too.
    let options = json!({"tracer": "callTracer", "stateOverrides": state});
    let trace = support::call(
        addr,
        "debug_traceCall",
        json!([{"to": x}, "latest", options]),
    )
    .await;
    assert_eq!(word(&trace["output"]), 12_345, "{trace}");
}

#[tokio::test]
async fn eth_simulate_v1_runs_blocks_of_calls_on_each_other_and_traces_transfers() {
    let server = support::start(tandem_rpc::Limits::default()).await;
    let addr = server.addr;
    let (a, b, x, r) = (
        Address::repeat_byte(0x61),
        Address::repeat_byte(0x62),
        Address::repeat_byte(0x63),
        Address::repeat_byte(0x64),
    );
    let payload = json!({
        "blockStateCalls": [
            {
                "stateOverrides": { a.to_string(): {"balance": "0x1bc16d674ec80000"},
                                    x.to_string(): {"code": SELF_BALANCE},
                                    r.to_string(): {"code": REVERT} },
                "calls": [
                    {"from": a, "to": b, "value": "0xde0b6b3a7640000"},
                    {"from": a, "to": r},
                ],
            },
            {
                "blockOverrides": {"time": "0xffffff"},
                "calls": [
                    {"from": b, "to": x, "value": "0x3e8"},
                ],
            },
        ],
        "traceTransfers": true,
    });
    let blocks = support::call(addr, "eth_simulateV1", json!([payload, "latest"])).await;
    let blocks = blocks.as_array().unwrap();
    assert_eq!(blocks.len(), 2);
    assert_eq!(blocks[0]["number"], "0x1");
    assert_eq!(blocks[1]["number"], "0x2");
    assert_eq!(blocks[1]["timestamp"], "0xffffff");
    assert_eq!(blocks[1]["parentHash"], blocks[0]["hash"]);
    let first = &blocks[0]["calls"];
    assert_eq!(first[0]["status"], "0x1", "{first}");
    assert_eq!(first[0]["gasUsed"], "0x5208");
    // The transfer appears as a log of 0xEeee...EEeE, from a to b, 1 ETH.
    let log = &first[0]["logs"][0];
    assert_eq!(
        log["address"].as_str().unwrap().to_lowercase(),
        "0xeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee"
    );
    assert!(
        log["topics"][1]
            .as_str()
            .unwrap()
            .ends_with(&format!("{a:x}")[2..]),
        "{log}"
    );
    assert!(
        log["topics"][2]
            .as_str()
            .unwrap()
            .ends_with(&format!("{b:x}")[2..]),
        "{log}"
    );
    assert_eq!(word(&log["data"]), 10u128.pow(18));
    assert_eq!(log["blockHash"], blocks[0]["hash"]);
    // The reverting call: status 0, code 3, the block goes on.
    assert_eq!(first[1]["status"], "0x0");
    assert_eq!(first[1]["error"]["code"], 3);
    assert_eq!(blocks[0]["transactions"].as_array().unwrap().len(), 2);
    // Block 2 runs on block 1's state: b holds the ether a sent, and x's code sees what b sent.
    let second = &blocks[1]["calls"][0];
    assert_eq!(second["status"], "0x1", "{second}");
    assert_eq!(word(&second["returnData"]), 1_000);
    // Nothing stayed: the chain has no block 1, and a has nothing.
    let head = support::call(addr, "eth_blockNumber", json!([])).await;
    assert_eq!(head, "0x0");
    let balance = support::call(addr, "eth_getBalance", json!([a, "latest"])).await;
    assert_eq!(balance, "0x0");
    // With validation, an account that cannot pay is refused.
    let payload = json!({"blockStateCalls": [{"calls": [{"from": a, "to": b, "value": "0x1"}]}],
                         "validation": true});
    let refused = error(addr, "eth_simulateV1", json!([payload, "latest"])).await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("insufficient funds"),
        "{refused}"
    );
    // Bounds: at most 256 blocks.
    let many = json!({"blockStateCalls": vec![json!({"calls": []}); 257]});
    let refused = error(addr, "eth_simulateV1", json!([many, "latest"])).await;
    assert!(
        refused["message"].as_str().unwrap().contains("at most 256"),
        "{refused}"
    );
}

/// From the attacker's review: inputs that panicked revm or could hold gigabytes are refused.
#[tokio::test]
async fn overrides_and_simulations_refuse_what_would_panic_or_flood_memory() {
    let server = support::start(tandem_rpc::Limits::default()).await;
    let addr = server.addr;
    let (x, y) = (Address::repeat_byte(0x71), Address::repeat_byte(0x72));
    // A malformed EIP-7702 delegation as code: refused, in every method that takes overrides.
    let bad = json!({ x.to_string(): {"code": "0xef01"}});
    for (method, params) in [
        ("eth_call", json!([{"to": x}, "latest", bad])),
        ("eth_estimateGas", json!([{"to": x}, "latest", bad])),
        (
            "debug_traceCall",
            json!([{"to": x}, "latest", {"stateOverrides": bad}]),
        ),
        (
            "eth_simulateV1",
            json!([{"blockStateCalls": [{"stateOverrides": bad, "calls": [{"to": x}]}]}, "latest"]),
        ),
    ] {
        let refused = error(addr, method, params).await;
        assert!(
            refused["message"].as_str().unwrap().contains("not valid"),
            "{method}: {refused}"
        );
    }
    // A cost past 2^256 with the balance check off (no validation): refused, not a panic.
    let max = format!("0x{}", "f".repeat(64));
    for call in [
        json!({"from": x, "to": y, "value": max, "gasPrice": "0x1"}),
        json!({"from": x, "to": y, "gasPrice": "0xffffffffffffffffffffffffffffffff"}),
    ] {
        let payload = json!({"blockStateCalls": [{"calls": [call]}]});
        let refused = error(addr, "eth_simulateV1", json!([payload, "latest"])).await;
        assert!(
            refused["message"].as_str().unwrap().contains("call 0"),
            "{refused}"
        );
    }
    // Calls that each return 99 KB: the whole simulation's output is capped, long before 1,000
    // of them (99 MB) are held in memory.
    let echo = json!({ x.to_string(): {"code": "0x6000356000f3"}});
    let input = format!("0x{:064x}", 99_040);
    let calls = vec![json!({"to": x, "gas": "0xc350", "input": input}); 1_000];
    let payload = json!({"blockStateCalls": [{"stateOverrides": echo, "calls": calls}]});
    let refused = error(addr, "eth_simulateV1", json!([payload, "latest"])).await;
    assert!(
        refused["message"]
            .as_str()
            .unwrap()
            .contains("return more than"),
        "{refused}"
    );
}
