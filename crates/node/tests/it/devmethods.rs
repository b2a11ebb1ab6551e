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

/// A dev node on a fresh data directory (kept while the directory lives).
async fn dev_node() -> (tandem_node::Handle, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let node = tandem_node::launch(crate::dev_config(dir.path()))
        .await
        .unwrap();
    (node, dir)
}

async fn head(addr: SocketAddr) -> (u64, u64) {
    let block = result(addr, "eth_getBlockByNumber", json!(["latest", false])).await;
    let number =
        |v: &Value| u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap();
    (number(&block["number"]), number(&block["timestamp"]))
}

#[tokio::test]
async fn dev_methods_mine_on_request_travel_in_time_and_show_the_pool() {
    let (node, _dir) = dev_node().await;
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

/// The receipt of `hash` once the miner has it (a liveness bound, not a timing).
async fn mined(addr: SocketAddr, hash: &Value) -> Value {
    for _ in 0..600 {
        let receipt = result(addr, "eth_getTransactionReceipt", json!([hash])).await;
        if !receipt.is_null() {
            return receipt;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{hash} was not mined in 30 s");
}

fn quantity(v: &Value) -> u128 {
    u128::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[tokio::test]
async fn dev_methods_edit_accounts_impersonate_and_revert_to_snapshots() {
    let (node, _dir) = dev_node().await;
    let addr = node.rpc_addr;
    let whale = Address::repeat_byte(0x77);
    let other = Address::repeat_byte(0x78);

    // Edits read back at once, on the latest state, under anvil's and Hardhat's names.
    let snapshot = result(addr, "evm_snapshot", json!([])).await;
    let (height, _) = head(addr).await;
    result(
        addr,
        "anvil_setBalance",
        json!([whale, "0xde0b6b3a7640000"]),
    )
    .await;
    result(addr, "hardhat_setNonce", json!([whale, "0x7"])).await;
    result(
        addr,
        "anvil_setCode",
        json!([other, "0x60016000526001601ff3"]),
    )
    .await;
    assert_eq!(
        result(addr, "anvil_setStorageAt", json!([other, "0x2", "0x2a"])).await,
        true
    );
    let balance = result(addr, "eth_getBalance", json!([whale, "latest"])).await;
    assert_eq!(quantity(&balance), 10u128.pow(18));
    let nonce = result(addr, "eth_getTransactionCount", json!([whale, "latest"])).await;
    assert_eq!(quantity(&nonce), 7);
    assert_eq!(
        result(addr, "eth_getCode", json!([other, "latest"])).await,
        "0x60016000526001601ff3"
    );
    let slot = result(addr, "eth_getStorageAt", json!([other, "0x2", "latest"])).await;
    assert_eq!(quantity(&slot), 42);
    // The code runs: it returns one byte, 0x01.
    let called = result(addr, "eth_call", json!([{"to": other}, "latest"])).await;
    assert_eq!(called, "0x01");
    let bad = rpc(addr, "anvil_setNonce", json!([whale, "0xffffffffffffffff"])).await;
    assert!(
        bad["error"]["message"].as_str().unwrap().contains("nonce"),
        "{bad}"
    );

    // Impersonation: the whale sends without a key, at its edited nonce, until it stops.
    let send = json!([{"from": whale, "to": other, "value": "0x3e8"}]);
    let refused = rpc(addr, "eth_sendTransaction", send.clone()).await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown account")
    );
    result(addr, "anvil_impersonateAccount", json!([whale])).await;
    let hash = result(addr, "eth_sendTransaction", send.clone()).await;
    let receipt = mined(addr, &hash).await;
    assert_eq!(receipt["status"], "0x1", "{receipt}");
    assert_eq!(receipt["from"].as_str().unwrap(), format!("{whale:#x}"));
    let tx = result(addr, "eth_getTransactionByHash", json!([hash])).await;
    assert_eq!(tx["from"].as_str().unwrap(), format!("{whale:#x}"));
    assert_eq!(quantity(&tx["nonce"]), 7);
    let other_balance = result(addr, "eth_getBalance", json!([other, "latest"])).await;
    assert_eq!(quantity(&other_balance), 1_000);
    // Two impersonated senders' otherwise equal transactions have their own hashes.
    let twin = Address::repeat_byte(0x76);
    result(addr, "anvil_setBalance", json!([twin, "0xde0b6b3a7640000"])).await;
    result(addr, "anvil_impersonateAccount", json!([twin])).await;
    let same = |from: Address, nonce: &str| {
        json!([{"from": from, "to": other, "value": "0x1", "gas": "0x5208", "nonce": nonce,
                "maxFeePerGas": "0x3b9aca00", "maxPriorityFeePerGas": "0x1"}])
    };
    result(addr, "anvil_setNonce", json!([twin, "0x8"])).await;
    let first = result(addr, "eth_sendTransaction", same(whale, "0x8")).await;
    let second = result(addr, "eth_sendTransaction", same(twin, "0x8")).await;
    assert_ne!(first, second);
    for (hash, from) in [(&first, whale), (&second, twin)] {
        let receipt = mined(addr, hash).await;
        assert_eq!(receipt["from"].as_str().unwrap(), format!("{from:#x}"));
    }
    // What no block takes is refused when sent: past EIP-7825's gas cap, or from an address with
    // code (EIP-3607).
    let heavy = json!([{"from": twin, "to": other, "gas": "0x1312d00"}]);
    let refused = rpc(addr, "eth_sendTransaction", heavy).await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("gas limit"),
        "{refused}"
    );
    result(addr, "anvil_impersonateAccount", json!([other])).await;
    let from_code = json!([{"from": other, "to": whale, "value": "0x0"}]);
    let refused = rpc(addr, "eth_sendTransaction", from_code).await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("has code"),
        "{refused}"
    );
    let bad_code = rpc(addr, "anvil_setCode", json!([whale, "0xef01"])).await;
    assert!(
        bad_code["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not valid"),
        "{bad_code}"
    );
    result(addr, "hardhat_stopImpersonatingAccount", json!([whale])).await;
    let refused = rpc(addr, "eth_sendTransaction", send.clone()).await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unknown account")
    );

    // A second snapshot, a transaction waiting in the pool, then back to the second one.
    result(addr, "evm_setAutomine", json!([false])).await;
    let from = dev::accounts()[2].address;
    let waiting = result(
        addr,
        "eth_sendTransaction",
        json!([{"from": from, "to": other, "value": "0x1"}]),
    )
    .await;
    let second = result(addr, "evm_snapshot", json!([])).await;
    assert_ne!(second, snapshot);
    let (at_second, _) = head(addr).await;
    let second_pool = result(addr, "txpool_status", json!([])).await;
    assert_eq!(second_pool["pending"], "0x1");
    result(addr, "evm_setAutomine", json!([true])).await;
    result(addr, "anvil_setBalance", json!([whale, "0x1"])).await;
    let included = mined(addr, &waiting).await;
    assert_eq!(included["status"], "0x1");
    assert!(head(addr).await.0 > at_second);
    result(addr, "evm_setAutomine", json!([false])).await;
    assert_eq!(result(addr, "evm_revert", json!([second])).await, true);
    // The chain is back at the second snapshot: blocks, receipts, state and pool.
    assert_eq!(head(addr).await.0, at_second);
    assert_eq!(
        result(addr, "eth_getTransactionReceipt", json!([waiting])).await,
        Value::Null
    );
    assert_eq!(result(addr, "txpool_status", json!([])).await, second_pool);
    let balance = result(addr, "eth_getBalance", json!([whale, "latest"])).await;
    assert!(quantity(&balance) < 10u128.pow(18) && quantity(&balance) > 1);
    // A reverted snapshot is gone; the first is still there, and going back to it undoes it all.
    assert_eq!(result(addr, "evm_revert", json!([second])).await, false);
    assert_eq!(result(addr, "evm_revert", json!([snapshot])).await, true);
    assert_eq!(head(addr).await.0, height);
    assert_eq!(
        result(addr, "eth_getBalance", json!([whale, "latest"])).await,
        "0x0"
    );
    assert_eq!(
        result(addr, "eth_getCode", json!([other, "latest"])).await,
        "0x"
    );
    assert_eq!(
        result(addr, "txpool_status", json!([])).await,
        json!({"pending": "0x0", "queued": "0x0"})
    );
    assert_eq!(
        result(addr, "eth_getTransactionByHash", json!([hash])).await,
        Value::Null
    );
    // The chain goes on from there.
    result(addr, "evm_setAutomine", json!([true])).await;
    // A transaction the pool held at a snapshot is mined after a revert to it, with automine on.
    result(addr, "evm_setAutomine", json!([false])).await;
    let queued = result(
        addr,
        "eth_sendTransaction",
        json!([{"from": from, "to": other, "value": "0x2"}]),
    )
    .await;
    let held = result(addr, "evm_snapshot", json!([])).await;
    result(addr, "evm_setAutomine", json!([true])).await;
    mined(addr, &queued).await;
    // Reverted with automine on and nothing else sent: the miner takes it up again by itself.
    assert_eq!(result(addr, "evm_revert", json!([held])).await, true);
    let after = mined(addr, &queued).await;
    assert_eq!(after["status"], "0x1");
    assert_eq!(after["blockNumber"], format!("{:#x}", height + 1));
    let height = height + 1;
    let again = result(
        addr,
        "eth_sendTransaction",
        json!([{"from": from, "to": other, "value": "0x1"}]),
    )
    .await;
    let receipt = mined(addr, &again).await;
    assert_eq!(receipt["status"], "0x1");
    assert_eq!(quantity(&receipt["blockNumber"]) as u64, height + 1);
    node.shutdown().await;
}

#[tokio::test]
async fn dev_state_dumps_load_back_and_reset_starts_over_from_genesis() {
    let (node, _dir) = dev_node().await;
    let addr = node.rpc_addr;
    let holder = Address::repeat_byte(0x5a);
    result(addr, "anvil_setBalance", json!([holder, "0x1234"])).await;
    result(addr, "anvil_setCode", json!([holder, "0x60016000f3"])).await;
    result(addr, "anvil_setStorageAt", json!([holder, "0x7", "0x2a"])).await;
    let dev0 = dev::accounts()[0].address;
    let sent = result(
        addr,
        "eth_sendTransaction",
        json!([{"from": dev0, "to": holder, "value": "0x1"}]),
    )
    .await;
    mined(addr, &sent).await;
    let dev0_balance = result(addr, "eth_getBalance", json!([dev0, "latest"])).await;
    let dump = result(addr, "anvil_dumpState", json!([])).await;
    assert!(
        dump.as_str().unwrap().starts_with("0x1f8b"),
        "gzipped: {dump}"
    );

    // Back to genesis: no blocks, no edits, the dev accounts as genesis funds them.
    assert!(head(addr).await.0 > 0);
    assert_eq!(result(addr, "anvil_reset", json!([])).await, Value::Null);
    assert_eq!(head(addr).await.0, 0);
    assert_eq!(
        result(addr, "eth_getBalance", json!([holder, "latest"])).await,
        "0x0"
    );
    assert_eq!(
        result(addr, "eth_getTransactionReceipt", json!([sent])).await,
        Value::Null
    );
    let forking = rpc(
        addr,
        "anvil_reset",
        json!([{"forking": {"jsonRpcUrl": "http://x"}}]),
    )
    .await;
    assert!(
        forking["error"]["message"]
            .as_str()
            .unwrap()
            .contains("fork"),
        "{forking}"
    );

    // The dump loads back every account as it was, in one block.
    assert_eq!(result(addr, "anvil_loadState", json!([dump])).await, true);
    assert_eq!(head(addr).await.0, 1);
    assert_eq!(
        result(addr, "eth_getBalance", json!([holder, "latest"])).await,
        "0x1235"
    );
    assert_eq!(
        result(addr, "eth_getCode", json!([holder, "latest"])).await,
        "0x60016000f3"
    );
    let slot = result(addr, "eth_getStorageAt", json!([holder, "0x7", "latest"])).await;
    assert_eq!(quantity(&slot), 42);
    assert_eq!(
        result(addr, "eth_getBalance", json!([dev0, "latest"])).await,
        dev0_balance
    );
    // Plain JSON loads too; garbage is refused and changes nothing.
    let plain = json!({"accounts": {holder.to_string(): {"nonce": 3, "balance": "0x9", "code": "0x", "storage": {}}}});
    let plain = format!("0x{}", alloy_primitives::hex::encode(plain.to_string()));
    assert_eq!(result(addr, "anvil_loadState", json!([plain])).await, true);
    assert_eq!(
        result(addr, "eth_getBalance", json!([holder, "latest"])).await,
        "0x9"
    );
    let (before, _) = head(addr).await;
    for junk in ["0x00", "0x1f8b0000", "0x7b7d"] {
        let refused = rpc(addr, "anvil_loadState", json!([junk])).await;
        assert!(refused["error"].is_object(), "{junk}: {refused}");
    }
    // Code past twice EIP-170's limit is refused; so is typed data whose types are deep enough
    // to overflow a stack while they are built (the node aborted).
    let big = json!({"accounts": {holder.to_string(): {"nonce": 0, "balance": "0x0",
        "code": format!("0x{}", "00".repeat(49_153)), "storage": {}}}});
    let big = format!("0x{}", alloy_primitives::hex::encode(big.to_string()));
    let refused = rpc(addr, "anvil_loadState", json!([big])).await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("more than"),
        "{refused}"
    );
    let deep = format!("uint8{}", "[]".repeat(40_000));
    let typed = json!({"types": {"EIP712Domain": [], "T": [{"name": "x", "type": deep}]},
                       "primaryType": "T", "domain": {}, "message": {"x": []}});
    let refused = rpc(addr, "eth_signTypedData_v4", json!([dev0, typed])).await;
    assert!(
        refused["error"]["message"]
            .as_str()
            .unwrap()
            .contains("typed data"),
        "{refused}"
    );
    assert_eq!(head(addr).await.0, before);
    node.shutdown().await;
}

#[tokio::test]
async fn a_dev_node_takes_a_burst_of_a_hundred_transactions_from_one_account() {
    let (node, _dir) = dev_node().await;
    let addr = node.rpc_addr;
    result(addr, "evm_setAutomine", json!([false])).await;
    let from = dev::accounts()[5].address;
    let mut hashes = Vec::new();
    for nonce in 0..100u64 {
        let send = json!([{"from": from, "to": Address::repeat_byte(9), "value": "0x1",
                           "nonce": format!("{nonce:#x}"), "gas": "0x5208"}]);
        hashes.push(result(addr, "eth_sendTransaction", send).await);
    }
    assert_eq!(
        result(addr, "txpool_status", json!([])).await,
        json!({"pending": "0x64", "queued": "0x0"})
    );
    result(addr, "evm_mine", json!([])).await;
    for hash in &hashes {
        assert_eq!(mined(addr, hash).await["status"], "0x1");
    }
    node.shutdown().await;
}
