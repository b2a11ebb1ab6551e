//! anvil's and Hardhat's dev methods on `tandem dev`: mining on request, automine off and on,
//! time travel, and the pool as `txpool_` shows it.
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use serde_json::{Value, json};
use std::net::SocketAddr;

use tandem_primitives::{Address, dev};

async fn rpc(addr: SocketAddr, method: &str, params: Value) -> Value {
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<Bytes>>();
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let request = hyper::Request::builder()
        .method(hyper::Method::POST)
        .uri(format!("http://{addr}/"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap();
    let response = client.request(request).await.unwrap();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    serde_json::from_slice(&bytes).unwrap()
}

async fn result(addr: SocketAddr, method: &str, params: Value) -> Value {
    let answer = rpc(addr, method, params).await;
    match answer.get("result") {
        Some(result) => result.clone(),
        None => panic!("{method}: {answer}"),
    }
}

async fn head(addr: SocketAddr) -> (u64, u64) {
    let block = result(addr, "eth_getBlockByNumber", json!(["latest", false])).await;
    let number =
        |v: &Value| u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    (number(&block["number"]), number(&block["timestamp"]))
}

#[tokio::test]
async fn dev_methods_mine_on_request_travel_in_time_and_show_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let node = tandem_node::launch(crate::dev_config(dir.path()))
        .await
        .unwrap();
    let addr = node.rpc_addr;
    assert_eq!(head(addr).await.0, 0);

    // Mining on request: one block, then three.
    assert_eq!(result(addr, "evm_mine", json!([])).await, "0x0");
    assert_eq!(head(addr).await.0, 1);
    assert_eq!(
        result(addr, "anvil_mine", json!(["0x3"])).await,
        Value::Null
    );
    assert_eq!(head(addr).await.0, 4);
    let refused = rpc(addr, "hardhat_mine", json!([100_000])).await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("at most"),
        "{refused}"
    );

    // Time travel: a set timestamp, then the clock moved on from it.
    let (_, before) = head(addr).await;
    let next = before + 1_000;
    assert_eq!(
        result(addr, "evm_setNextBlockTimestamp", json!([next])).await,
        Value::Null
    );
    result(addr, "evm_mine", json!([])).await;
    assert_eq!(head(addr).await.1, next);
    let offset = result(addr, "evm_increaseTime", json!([3_600]))
        .await
        .as_i64()
        .unwrap();
    result(addr, "evm_mine", json!([])).await;
    assert!(head(addr).await.1 >= next + 3_600, "offset {offset}");
    let far = rpc(
        addr,
        "evm_setNextBlockTimestamp",
        json!(["0x8000000000000000"]),
    )
    .await;
    assert!(
        far["error"]["message"]
            .as_str()
            .unwrap()
            .contains("past the latest"),
        "{far}"
    );
    let back = rpc(addr, "evm_setNextBlockTimestamp", json!([before])).await;
    assert!(
        back["error"]["message"]
            .as_str()
            .unwrap()
            .contains("earlier"),
        "{back}"
    );
    let (number, _) = head(addr).await;
    result(
        addr,
        "evm_mine",
        json!([{"timestamp": next + 10_000, "blocks": 2}]),
    )
    .await;
    let (after, timestamp) = head(addr).await;
    assert_eq!(after, number + 2);
    assert!(timestamp >= next + 10_000);

    // Automine off: a transaction waits in the pool (txpool_ shows it) until evm_mine.
    assert_eq!(result(addr, "evm_setAutomine", json!([false])).await, true);
    assert_eq!(result(addr, "anvil_getAutomine", json!([])).await, false);
    let from = dev::accounts()[1].address;
    let send = json!([{"from": from, "to": Address::repeat_byte(7), "value": "0x5"}]);
    let hash = result(addr, "eth_sendTransaction", send).await;
    let gapped =
        json!([{"from": from, "to": Address::repeat_byte(7), "value": "0x6", "nonce": "0x5"}]);
    result(addr, "eth_sendTransaction", gapped).await;
    let (waiting, _) = head(addr).await;
    assert_eq!(
        result(addr, "txpool_status", json!([])).await,
        json!({"pending": "0x1", "queued": "0x1"})
    );
    let content = result(addr, "txpool_content", json!([])).await;
    let sender = format!("{from:#x}");
    let key = content["pending"]
        .as_object()
        .unwrap()
        .keys()
        .find(|k| k.eq_ignore_ascii_case(&sender))
        .unwrap()
        .clone();
    assert_eq!(content["pending"][&key]["0"]["hash"], hash);
    assert!(content["queued"][&key]["5"].is_object(), "{content}");
    let inspect = result(addr, "txpool_inspect", json!([])).await;
    assert!(
        inspect["pending"][&key]["0"]
            .as_str()
            .unwrap()
            .contains("5 wei"),
        "{inspect}"
    );
    assert_eq!(
        head(addr).await.0,
        waiting,
        "nothing mined with automine off"
    );
    result(addr, "evm_mine", json!([])).await;
    let receipt = result(addr, "eth_getTransactionReceipt", json!([hash])).await;
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(
        result(addr, "txpool_status", json!([])).await["pending"],
        "0x0"
    );
    result(addr, "evm_setAutomine", json!([true])).await;
    node.shutdown().await;
}
