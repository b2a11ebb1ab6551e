//! The envelope checks of `envelope.rs`, over a WebSocket: each malformed message gets the error
//! its HTTP body gets, subscriptions still work, and the connection keeps serving.
use crate::{
    envelope::{
        INVALID_REQUEST, METHOD_NOT_FOUND, MIXED_BATCH, NOT_JSON, PARSE_ERROR, assert_error,
        assert_mixed_batch_answer, calls_with_malformed_ids, not_json_rpc,
    },
    support::{self, Ws, frame},
};
use serde_json::{Value, json};
use soketto::{base::OpCode, handshake::ServerResponse};
use tandem_rpc::Limits;

#[tokio::test]
async fn malformed_ids_over_a_websocket_get_invalid_request_with_a_null_id() {
    let server = support::start(Limits::default()).await;
    let mut ws = Ws::connect(server.addr).await;
    for message in calls_with_malformed_ids() {
        let answer = ws.request(&message).await;
        assert_error(&answer, INVALID_REQUEST, Value::Null);
    }
    ws.assert_serves().await;
}

#[tokio::test]
async fn messages_that_are_not_json_over_a_websocket_get_a_parse_error() {
    let server = support::start(Limits::default()).await;
    let mut ws = Ws::connect(server.addr).await;
    for &message in NOT_JSON {
        // A text message is UTF-8 by definition; bytes that are not go as a binary message.
        match std::str::from_utf8(message) {
            Ok(text) => ws.send(text).await,
            Err(_) => ws.send_binary(message).await,
        }
        let answer = ws.next().await.expect("an answer, not a closed connection");
        assert_error(&answer, PARSE_ERROR, Value::Null);
    }
    ws.assert_serves().await;
}

#[tokio::test]
async fn messages_that_are_not_json_rpc_over_a_websocket_get_invalid_request() {
    let server = support::start(Limits::default()).await;
    let mut ws = Ws::connect(server.addr).await;
    for (message, id) in not_json_rpc() {
        let answer = ws.request(message).await;
        assert_error(&answer, INVALID_REQUEST, id);
    }
    ws.assert_serves().await;
}

#[tokio::test]
async fn batches_over_a_websocket_that_are_empty_or_too_long_get_one_invalid_request() {
    let limits = Limits {
        max_batch_len: 3,
        ..Limits::default()
    };
    let server = support::start(limits).await;
    let mut ws = Ws::connect(server.addr).await;
    let call = json!({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId"});
    for message in [
        "[]".to_string(),
        json!([call, call, call, call]).to_string(),
    ] {
        let answer = ws.request(&message).await;
        assert_error(&answer, INVALID_REQUEST, Value::Null);
    }
    let answer = ws.request(&json!([call, call, call]).to_string()).await;
    assert_eq!(answer.as_array().map(Vec::len), Some(3), "{answer}");
}

#[tokio::test]
async fn each_malformed_batch_entry_over_a_websocket_gets_its_own_error() {
    let server = support::start(Limits::default()).await;
    let mut ws = Ws::connect(server.addr).await;
    assert_mixed_batch_answer(&ws.request(MIXED_BATCH).await);
    // A batch of malformed entries only is all errors.
    let answer = ws.request("[1, 2]").await;
    assert_eq!(answer.as_array().map(Vec::len), Some(2), "{answer}");
    assert_error(&answer[0], INVALID_REQUEST, Value::Null);
    ws.assert_serves().await;
}

#[tokio::test]
async fn notifications_over_a_websocket_get_no_answer() {
    let server = support::start(Limits::default()).await;
    let mut ws = Ws::connect(server.addr).await;
    let notification = r#"{"jsonrpc":"2.0","method":"eth_chainId"}"#;
    ws.send(notification).await;
    ws.send(&format!("[{notification},{notification}]")).await;
    // The next message answers the call sent after them.
    ws.assert_serves().await;
}

#[tokio::test]
async fn subscriptions_over_a_websocket_are_served() {
    let server = support::start(Limits::default()).await;
    let mut ws = Ws::connect(server.addr).await;
    let answer = ws
        .request(r#"{"jsonrpc":"2.0","id":1,"method":"eth_subscribe","params":["newHeads"]}"#)
        .await;
    let subscription = answer["result"]
        .as_str()
        .expect("a subscription id")
        .to_owned();
    let block = support::empty_block(&server.backend);
    server.backend.announce(std::sync::Arc::new(block));
    let head = ws.next().await.expect("a newHeads notification");
    assert_eq!(head["method"], "eth_subscription", "{head}");
    assert_eq!(head["params"]["subscription"], subscription, "{head}");
    let answer = ws
        .request(
            &json!({"jsonrpc": "2.0", "id": 2, "method": "eth_unsubscribe", "params": [subscription]})
                .to_string(),
        )
        .await;
    assert_eq!(answer, json!({"jsonrpc": "2.0", "id": 2, "result": true}));
}

#[tokio::test]
async fn good_messages_over_a_websocket_are_served_as_before() {
    let server = support::start(Limits::default()).await;
    let mut ws = Ws::connect(server.addr).await;
    let answer = ws
        .request(r#"  {"jsonrpc":"2.0","id":"a","method":"eth_chainId","extra":true}"#)
        .await;
    assert_eq!(
        answer,
        json!({"jsonrpc": "2.0", "id": "a", "result": "0x384"})
    );
    let answer = ws
        .request(r#"{"jsonrpc":"2.0","id":null,"method":"eth_nope"}"#)
        .await;
    assert_error(&answer, METHOD_NOT_FOUND, Value::Null);
}

/// A limit small enough to pass quickly.
const SMALL_LIMIT_BYTES: usize = 64 * 1024;

fn small_limit() -> Limits {
    Limits {
        max_request_bytes: SMALL_LIMIT_BYTES as u32,
        ..Limits::default()
    }
}

/// A call of `eth_chainId` of exactly `len` bytes, padded with a member the server ignores.
fn call_of_len(len: usize) -> Vec<u8> {
    let head = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","pad":""#;
    let tail = r#""}"#;
    let padding = "x".repeat(len - head.len() - tail.len());
    format!("{head}{padding}{tail}").into_bytes()
}

/// `message` as one frame, and as two.
fn framings(message: &[u8]) -> [Vec<u8>; 2] {
    let (first, second) = message.split_at(message.len() / 2);
    let mut fragments = frame(OpCode::Text, false, first);
    fragments.extend(frame(OpCode::Continue, true, second));
    [frame(OpCode::Text, true, message), fragments]
}

#[tokio::test]
async fn a_message_over_the_limit_gets_an_error_and_the_connection_goes_on() {
    let server = support::start(small_limit()).await;
    // In two frames, each is under the limit; soketto's own reader, which jsonrpsee uses, waited
    // for bytes past such a message and so never answered.
    for raw in framings(&call_of_len(SMALL_LIMIT_BYTES + 1)) {
        let mut ws = Ws::connect_then(server.addr, &raw).await;
        let answer = ws.next().await.expect("an error, not a closed connection");
        assert_error(&answer, INVALID_REQUEST, Value::Null);
        let message = answer["error"]["message"].as_str().unwrap();
        assert!(
            message.contains(&SMALL_LIMIT_BYTES.to_string()),
            "{message}"
        );
        ws.assert_serves().await;
    }
    Ws::connect(server.addr).await.assert_serves().await;
}

#[tokio::test]
async fn a_message_at_the_limit_is_served_however_it_is_framed() {
    let server = support::start(small_limit()).await;
    for raw in framings(&call_of_len(SMALL_LIMIT_BYTES)) {
        let mut ws = Ws::connect_then(server.addr, &raw).await;
        let answer = ws.next().await.expect("an answer");
        assert_eq!(
            answer,
            json!({"jsonrpc": "2.0", "id": 1, "result": "0x384"})
        );
    }
}

#[tokio::test]
async fn websockets_past_the_connection_limit_are_refused() {
    let limits = Limits {
        max_connections: 1,
        ..Limits::default()
    };
    let server = support::start(limits).await;
    let mut first = Ws::connect(server.addr).await;
    let refused = Ws::try_connect(server.addr).await.err();
    assert!(
        matches!(refused, Some(ServerResponse::Rejected { status_code: 429 })),
        "{refused:?}"
    );
    first.assert_serves().await;
}

#[tokio::test]
async fn stopping_the_server_closes_its_websockets() {
    let server = support::start(Limits::default()).await;
    let mut ws = Ws::connect(server.addr).await;
    ws.assert_serves().await;
    drop(server);
    assert!(ws.next().await.is_none(), "the connection is closed");
}
