//! Finding 9: every malformed request gets a JSON-RPC error; geth's answers are the reference.
use crate::support::{self, post, post_chunked};
use bytes::Bytes;
use serde_json::{Value, json};
use tandem_rpc::Limits;

pub(crate) const PARSE_ERROR: i64 = -32700;
pub(crate) const INVALID_REQUEST: i64 = -32600;
pub(crate) const METHOD_NOT_FOUND: i64 = -32601;

/// Asserts `answer` is a JSON-RPC error with `code` for `id`.
#[track_caller]
pub(crate) fn assert_error(answer: &Value, code: i64, id: Value) {
    assert_eq!(answer["jsonrpc"], "2.0", "{answer}");
    assert_eq!(answer["error"]["code"], code, "{answer}");
    assert!(answer["error"]["message"].is_string(), "{answer}");
    assert!(answer.get("result").is_none(), "{answer}");
    assert_eq!(answer.get("id"), Some(&id), "{answer}");
}

fn nested(depth: usize) -> String {
    format!("{}{}", "[".repeat(depth), "]".repeat(depth))
}

/// Calls of `eth_chainId` whose ids are not JSON-RPC ids: objects, arrays, numbers no u64 holds,
/// booleans, deep nesting. Each gets -32600 with a null id.
pub(crate) fn calls_with_malformed_ids() -> Vec<String> {
    let huge = "1".repeat(80);
    let deep = nested(10_000);
    [
        r#"{"a":1}"#,
        "[1]",
        huge.as_str(),
        "1e400",
        "-1",
        "1.5",
        "true",
        deep.as_str(),
    ]
    .into_iter()
    .map(|id| format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"eth_chainId","params":[]}}"#))
    .collect()
}

/// Requests that are not JSON. Each gets -32700 with a null id.
pub(crate) const NOT_JSON: &[&[u8]] = &[
    b"",
    b"   ",
    b"{",
    br#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId""#,
    b"\x01",
    b"[1,]",
    b"{\"id\":\xff}",
];

/// Requests that are JSON but not JSON-RPC requests, each with the id its -32600 must carry: a
/// request's own valid id is echoed, as geth does.
pub(crate) fn not_json_rpc() -> Vec<(&'static str, Value)> {
    vec![
        ("5", Value::Null),
        (r#""eth_chainId""#, Value::Null),
        ("null", Value::Null),
        ("true", Value::Null),
        (
            r#"{"jsonrpc":"1.0","id":1,"method":"eth_chainId"}"#,
            json!(1),
        ),
        (r#"{"jsonrpc":2,"id":1,"method":"eth_chainId"}"#, json!(1)),
        (r#"{"id":1,"method":"eth_chainId"}"#, json!(1)),
        (r#"{"jsonrpc":"2.0","id":1}"#, json!(1)),
        (r#"{"jsonrpc":"2.0","id":"x","method":7}"#, json!("x")),
        (
            r#"{"jsonrpc":"2.0","id":1,"id":2,"method":"eth_chainId"}"#,
            Value::Null,
        ),
        (r#"{}"#, Value::Null),
    ]
}

#[tokio::test]
async fn malformed_ids_get_invalid_request_with_a_null_id() {
    let server = support::start(Limits::default()).await;
    for body in calls_with_malformed_ids() {
        let answer = post(server.addr, body.clone()).await;
        assert_eq!(answer.status, 200, "body {body:.80}");
        assert_error(&answer.json(), INVALID_REQUEST, Value::Null);
    }
}

#[tokio::test]
async fn bodies_that_are_not_json_get_a_parse_error() {
    let server = support::start(Limits::default()).await;
    for &body in NOT_JSON {
        let answer = post(server.addr, body).await;
        assert_eq!(
            answer.status,
            200,
            "body {:?}",
            String::from_utf8_lossy(body)
        );
        assert_error(&answer.json(), PARSE_ERROR, Value::Null);
    }
}

#[tokio::test]
async fn requests_that_are_not_json_rpc_get_invalid_request() {
    let server = support::start(Limits::default()).await;
    for (body, id) in not_json_rpc() {
        let answer = post(server.addr, body).await;
        assert_eq!(answer.status, 200, "body {body}");
        assert_error(&answer.json(), INVALID_REQUEST, id);
    }
}

#[tokio::test]
async fn batches_that_are_empty_or_too_long_get_one_invalid_request() {
    let limits = Limits {
        max_batch_len: 3,
        ..Limits::default()
    };
    let server = support::start(limits).await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"});
    for body in [
        "[]".to_string(),
        json!([call, call, call, call]).to_string(),
    ] {
        let answer = post(server.addr, body.clone()).await;
        assert_eq!(answer.status, 200, "body {body}");
        assert_error(&answer.json(), INVALID_REQUEST, Value::Null);
    }
    let answer = post(server.addr, json!([call, call, call]).to_string()).await;
    assert_eq!(answer.json().as_array().map(Vec::len), Some(3));
}

/// Two good calls, four malformed entries and a notification.
pub(crate) const MIXED_BATCH: &str = r#"[
    {"jsonrpc":"2.0","id":1,"method":"eth_chainId"},
    {"jsonrpc":"2.0","id":{"a":1},"method":"eth_chainId"},
    5,
    {"jsonrpc":"2.0","id":2,"method":"eth_blockNumber"},
    {"jsonrpc":"2.0","method":"eth_chainId"},
    {"jsonrpc":"2.0","id":3},
    [1]
]"#;

/// Asserts `answer` answers [`MIXED_BATCH`]: two results, four errors, nothing for the notification.
#[track_caller]
pub(crate) fn assert_mixed_batch_answer(answer: &Value) {
    let entries = answer.as_array().cloned().expect("a batch answer");
    assert_eq!(entries.len(), 6, "{entries:?}");
    let by_id = |id: Value| entries.iter().filter(move |e| e["id"] == id);
    assert_eq!(by_id(json!(1)).next().unwrap()["result"], "0x384");
    assert_eq!(by_id(json!(2)).next().unwrap()["result"], "0x0");
    assert_error(by_id(json!(3)).next().unwrap(), INVALID_REQUEST, json!(3));
    let nulls: Vec<_> = by_id(Value::Null).collect();
    assert_eq!(nulls.len(), 3);
    for entry in nulls {
        assert_error(entry, INVALID_REQUEST, Value::Null);
    }
}

#[tokio::test]
async fn each_malformed_batch_entry_gets_its_own_error() {
    let server = support::start(Limits::default()).await;
    let answer = post(server.addr, MIXED_BATCH).await;
    assert_eq!(answer.status, 200);
    assert_mixed_batch_answer(&answer.json());
    // A batch of malformed entries only is all errors.
    let answer = post(server.addr, "[1, 2]").await.json();
    assert_eq!(answer.as_array().map(Vec::len), Some(2));
    assert_error(&answer[0], INVALID_REQUEST, Value::Null);
}

#[tokio::test]
async fn a_body_over_the_limit_gets_413_however_it_is_sent() {
    let server = support::start(Limits::default()).await;
    let limit = Limits::default().max_request_bytes as usize;
    let padding = "x".repeat(6 * 1024 * 1024);
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"web3_sha3","params":["{padding}"]}}"#);
    assert!(body.len() > limit);

    let answer = post(server.addr, body.clone()).await;
    assert_eq!(answer.status, 413);
    assert_error(&answer.json(), INVALID_REQUEST, Value::Null);

    let chunks = body
        .as_bytes()
        .chunks(64 * 1024)
        .map(Bytes::copy_from_slice)
        .collect();
    let answer = post_chunked(server.addr, chunks).await;
    assert_eq!(answer.status, 413);
    assert_error(&answer.json(), INVALID_REQUEST, Value::Null);

    // A chunked body within the limit is served.
    let request = json!({"jsonrpc": "2.0", "id": 7, "method": "eth_chainId"}).to_string();
    let chunks = request
        .as_bytes()
        .chunks(5)
        .map(Bytes::copy_from_slice)
        .collect();
    let answer = post_chunked(server.addr, chunks).await.json();
    assert_eq!(answer["result"], "0x384");
    assert_eq!(answer["id"], 7);
}

#[tokio::test]
async fn subscriptions_over_http_say_they_need_a_websocket() {
    let server = support::start(Limits::default()).await;
    for (method, params) in [
        ("eth_subscribe", json!(["newHeads"])),
        ("eth_unsubscribe", json!(["0x01"])),
    ] {
        let request = json!({"jsonrpc": "2.0", "id": 9, "method": method, "params": params});
        let answer = post(server.addr, request.to_string()).await;
        assert_eq!(answer.status, 200);
        let answer = answer.json();
        assert_error(&answer, METHOD_NOT_FOUND, json!(9));
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(message.contains("notifications not supported"), "{message}");
        assert!(message.contains("WebSocket"), "{message}");
    }
}

#[tokio::test]
async fn subscriptions_over_a_websocket_still_work() {
    use jsonrpsee::core::client::SubscriptionClientT as _;
    let server = support::start(Limits::default()).await;
    let client = jsonrpsee::ws_client::WsClientBuilder::default()
        .build(format!("ws://{}", server.addr))
        .await
        .unwrap();
    let subscription: jsonrpsee::core::client::Subscription<Value> = client
        .subscribe(
            "eth_subscribe",
            jsonrpsee::rpc_params!["newHeads"],
            "eth_unsubscribe",
        )
        .await
        .unwrap();
    subscription.unsubscribe().await.unwrap();
}

#[tokio::test]
async fn a_notification_over_http_gets_an_empty_answer() {
    let server = support::start(Limits::default()).await;
    let answer = post(server.addr, r#"{"jsonrpc":"2.0","method":"eth_chainId"}"#).await;
    assert_eq!(answer.status, 200);
    assert!(answer.body.is_empty(), "{:?}", answer.body);
}

#[tokio::test]
async fn good_requests_are_served_as_before() {
    let server = support::start(Limits::default()).await;
    let answer = post(
        server.addr,
        r#"  {"jsonrpc":"2.0","id":"a","method":"eth_chainId","extra":true}"#,
    )
    .await
    .json();
    assert_eq!(
        answer,
        json!({"jsonrpc": "2.0", "id": "a", "result": "0x384"})
    );
    let answer = post(
        server.addr,
        r#"{"jsonrpc":"2.0","id":null,"method":"eth_nope"}"#,
    )
    .await
    .json();
    assert_error(&answer, METHOD_NOT_FOUND, Value::Null);
    let answer = post(
        server.addr,
        r#"{"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":5}"#,
    )
    .await
    .json();
    assert_eq!(answer["id"], 3);
    assert!(answer["error"]["code"].is_i64(), "{answer}");
}
