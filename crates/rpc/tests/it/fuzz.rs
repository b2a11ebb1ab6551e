//! Random and mutated JSON-RPC bodies against a running server, over HTTP and as WebSocket
//! messages: every answer is a well-formed JSON-RPC response or error (or none, for
//! notifications), never `null` and never HTTP 500, and the server still answers afterwards.
//!
//! Seeded and replayable: `RPC_FUZZ_SEED` picks the seed (default 0), `PROPTEST_CASES` the number
//! of bodies (default 200). A long run:
//! `RPC_FUZZ_SEED=7 PROPTEST_CASES=20000 cargo test -p tandem-rpc --test it fuzz`.
use crate::support::{self, Ws, post};
use proptest::{
    prelude::*,
    test_runner::{Config, RngAlgorithm, TestRng, TestRunner},
};
use serde_json::Value;
use tandem_rpc::Limits;

/// Methods clients call most, plus the subscription pair and a few that do not exist.
const METHODS: &[&str] = &[
    "eth_chainId",
    "eth_blockNumber",
    "eth_getBalance",
    "eth_getTransactionCount",
    "eth_getCode",
    "eth_getStorageAt",
    "eth_call",
    "eth_estimateGas",
    "eth_sendRawTransaction",
    "eth_getBlockByNumber",
    "eth_getBlockByHash",
    "eth_getTransactionByHash",
    "eth_getTransactionReceipt",
    "eth_getLogs",
    "eth_feeHistory",
    "eth_gasPrice",
    "eth_syncing",
    "eth_getProof",
    "eth_newFilter",
    "eth_getFilterChanges",
    "eth_subscribe",
    "eth_unsubscribe",
    "net_version",
    "net_peerCount",
    "web3_sha3",
    "web3_clientVersion",
    "debug_getRawHeader",
    "eth_nope",
    "",
];

/// Any JSON value as text, including numbers no integer type holds and deep nesting.
fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        Just("null".to_string()),
        any::<bool>().prop_map(|b| b.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        any::<i64>().prop_map(|n| n.to_string()),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| f.to_string()),
        "[0-9]{20,60}".prop_map(|digits| format!("1{digits}")),
        Just("1e400".to_string()),
        Just(r#""latest""#.to_string()),
        Just(r#""0x""#.to_string()),
        "0x[0-9a-f]{0,70}".prop_map(|hex| format!("\"{hex}\"")),
        any::<String>().prop_map(|s| Value::String(s).to_string()),
        (1usize..3_000).prop_map(|depth| format!("{}{}", "[".repeat(depth), "]".repeat(depth))),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(|v| format!("[{}]", v.join(","))),
            prop::collection::vec(("[a-zA-Z]{1,8}", inner), 0..6).prop_map(|fields| {
                let fields: Vec<String> = fields
                    .into_iter()
                    .map(|(k, v)| format!("\"{k}\":{v}"))
                    .collect();
                format!("{{{}}}", fields.join(","))
            }),
        ]
    })
}

/// A request object whose every member may be missing, of the wrong type or odd.
fn request() -> impl Strategy<Value = String> {
    let version = prop_oneof![
        4 => Just(Some(r#""2.0""#.to_string())),
        1 => Just(None),
        1 => json_value().prop_map(Some),
    ];
    let id = prop_oneof![
        3 => any::<u32>().prop_map(|n| Some(n.to_string())),
        1 => Just(None),
        2 => json_value().prop_map(Some),
    ];
    let method = prop_oneof![
        6 => prop::sample::select(METHODS).prop_map(|m| Some(format!("\"{m}\""))),
        1 => Just(None),
        1 => json_value().prop_map(Some),
    ];
    let params = prop_oneof![
        2 => Just(None),
        4 => prop::collection::vec(json_value(), 0..4).prop_map(|v| Some(format!("[{}]", v.join(",")))),
        1 => json_value().prop_map(Some),
    ];
    (version, id, method, params).prop_map(|(version, id, method, params)| {
        let fields: Vec<String> = [
            ("jsonrpc", version),
            ("id", id),
            ("method", method),
            ("params", params),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.map(|v| format!("\"{name}\":{v}")))
        .collect();
        format!("{{{}}}", fields.join(","))
    })
}

/// A request body, shown as text when a case fails.
#[derive(Clone)]
struct Body(Vec<u8>);

impl std::fmt::Debug for Body {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(&self.0))
    }
}

/// A body: a request, a batch, any JSON, or one of those cut short or with a byte changed.
fn body() -> impl Strategy<Value = Body> {
    let whole = prop_oneof![
        5 => request(),
        2 => prop::collection::vec(prop_oneof![3 => request(), 1 => json_value()], 0..6)
            .prop_map(|v| format!("[{}]", v.join(","))),
        1 => json_value(),
    ];
    (whole, 0u8..4, any::<prop::sample::Index>(), any::<u8>()).prop_map(
        |(body, mutation, at, byte)| {
            let mut body = body.into_bytes();
            if !body.is_empty() {
                let at = at.index(body.len());
                match mutation {
                    0 => body.truncate(at),
                    1 => body[at] = byte,
                    _ => {}
                }
            }
            Body(body)
        },
    )
}

/// Whether `body` holds only notifications (requests without an `id`), which get no answer. Read
/// with raw values, which nest without limit, as the server reads them.
fn only_notifications(body: &[u8]) -> bool {
    use serde_json::value::RawValue;
    use std::collections::HashMap;
    let is_notification = |v: &RawValue| {
        serde_json::from_str::<HashMap<String, &RawValue>>(v.get())
            .is_ok_and(|o| !o.contains_key("id"))
    };
    let Ok(raw) = serde_json::from_slice::<&RawValue>(body) else {
        return false;
    };
    match serde_json::from_str::<Vec<&RawValue>>(raw.get()) {
        Ok(entries) => entries.into_iter().all(is_notification),
        Err(_) => is_notification(raw),
    }
}

/// Checks one JSON-RPC response object.
fn check_response(v: &Value) -> Result<(), String> {
    let o = v.as_object().ok_or("not an object")?;
    if o.get("jsonrpc") != Some(&Value::from("2.0")) {
        return Err("jsonrpc is not \"2.0\"".into());
    }
    match o.get("id") {
        Some(Value::Null | Value::String(_)) => {}
        Some(Value::Number(n)) if n.is_u64() => {}
        other => return Err(format!("bad id {other:?}")),
    }
    match (o.get("result"), o.get("error")) {
        (Some(_), None) => Ok(()),
        (None, Some(e)) if e["code"].is_i64() && e["message"].is_string() => Ok(()),
        _ => Err("not exactly one of result and a well-formed error".into()),
    }
}

/// Checks a non-empty answer: one response, or a batch of them.
fn check_responses(answer: &[u8]) -> Result<(), String> {
    match serde_json::from_slice::<Value>(answer).map_err(|e| format!("not JSON: {e}"))? {
        Value::Array(entries) if !entries.is_empty() => entries.iter().try_for_each(check_response),
        v @ Value::Object(_) => check_response(&v),
        other => Err(format!("neither a response nor a batch of them: {other}")),
    }
}

fn check_answer(body: &[u8], answer: &support::Answer) -> Result<(), String> {
    if answer.status == 500 {
        return Err("HTTP 500".into());
    }
    if answer.body.is_empty() {
        return if only_notifications(body) {
            Ok(())
        } else {
            Err("empty answer to a request that is not a notification".into())
        };
    }
    check_responses(&answer.body)
}

fn seed() -> [u8; 32] {
    let seed: u64 = std::env::var("RPC_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    bytes
}

fn runner() -> TestRunner {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &seed()))
}

#[test]
fn every_fuzzed_body_gets_a_well_formed_answer_and_the_server_keeps_serving() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(support::start(Limits::default()));
    let result = runner().run(&body(), |Body(body)| {
        let answer = runtime.block_on(post(server.addr, body.clone()));
        check_answer(&body, &answer).map_err(|why| {
            TestCaseError::fail(format!(
                "{why}\n  sent {}\n  got HTTP {} {}",
                String::from_utf8_lossy(&body),
                answer.status,
                String::from_utf8_lossy(&answer.body)
            ))
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
    let chain_id = runtime.block_on(support::call(
        server.addr,
        "eth_chainId",
        serde_json::json!([]),
    ));
    assert_eq!(chain_id, "0x384");
}

/// A call sent after a fuzzed message.
const CHECK_CALL: &str = r#"{"jsonrpc":"2.0","id":"check","method":"eth_chainId"}"#;

fn answers_check_call(answer: &[u8]) -> bool {
    serde_json::from_slice::<Value>(answer).is_ok_and(|answer| {
        answer == serde_json::json!({"jsonrpc": "2.0", "id": "check", "result": "0x384"})
    })
}

/// Each body goes as one message on a fresh connection (so a failing case shrinks on its own),
/// and the connection must answer a call after it.
#[test]
fn every_fuzzed_message_over_a_websocket_gets_a_well_formed_answer_and_the_connection_keeps_serving()
 {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let server = runtime.block_on(support::start(Limits::default()));
    let result = runner().run(&body(), |Body(body)| {
        runtime.block_on(async {
            let mut ws = Ws::connect(server.addr).await;
            // A text message is UTF-8 by definition; bytes that are not go as a binary message.
            match std::str::from_utf8(&body) {
                Ok(text) => ws.send(text).await,
                Err(_) => ws.send_binary(&body).await,
            }
            let sent = String::from_utf8_lossy(&body);
            let fail = |why: String, got: &[u8]| {
                let got = String::from_utf8_lossy(got);
                TestCaseError::fail(format!("{why}\n  sent {sent}\n  got {got}"))
            };
            let closed = || fail("connection closed".into(), b"");
            // Notifications get no answer (malformed ones get errors); anything else at least one.
            if !only_notifications(&body) {
                let answer = ws.next_raw().await.ok_or_else(closed)?;
                check_responses(&answer).map_err(|why| fail(why, &answer))?;
            }
            // jsonrpsee answers a subscription in a batch twice, alone and in the batch, so what
            // else comes before the answer to a later call need only be well-formed.
            ws.send(CHECK_CALL).await;
            loop {
                let answer = ws.next_raw().await.ok_or_else(closed)?;
                if answers_check_call(&answer) {
                    break;
                }
                check_responses(&answer).map_err(|why| fail(why, &answer))?;
            }
            Ok(())
        })
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}
