//! Finding 10: `net_peerCount`, `eth_syncing` and `/metrics` tell the truth. The peer count and
//! the finalized tip come from consensus; here a fake stands at that seam.
use crate::support::{self, call, get};
use serde_json::json;
use std::sync::Arc;
use tandem_rpc::{Limits, NetworkStatus};

#[tokio::test]
async fn a_node_without_consensus_has_no_peers_and_is_not_syncing() {
    let server = support::start(Limits::default()).await;
    assert_eq!(call(server.addr, "net_peerCount", json!([])).await, "0x0");
    assert_eq!(call(server.addr, "eth_syncing", json!([])).await, false);
}

#[tokio::test]
async fn net_peer_count_is_the_connected_peers() {
    let (mut backend, dir) = support::backend(Limits::default());
    backend.network = Arc::new(NetworkStatus::new(Arc::new(|| 3)));
    let server = support::serve(backend, dir).await;
    assert_eq!(call(server.addr, "net_peerCount", json!([])).await, "0x3");
    let metrics = String::from_utf8(get(server.addr, "/metrics").await.body.to_vec()).unwrap();
    assert!(metrics.contains("\ntandem_peers 3\n"), "{metrics}");
}

#[tokio::test]
async fn eth_syncing_reports_progress_while_behind_and_false_at_the_tip() {
    let (mut backend, dir) = support::backend(Limits::default());
    backend.network = Arc::new(NetworkStatus::new(Arc::new(|| 1)));
    let server = support::serve(backend, dir).await;
    let network = server.backend.network.clone();

    // Consensus says block 10 is final while this node has executed only genesis.
    network.observe_finalized(10, 0);
    assert_eq!(
        call(server.addr, "eth_syncing", json!([])).await,
        json!({"startingBlock": "0x0", "currentBlock": "0x0", "highestBlock": "0xa"})
    );
    for _ in 0..4 {
        support::empty_block(&server.backend);
    }
    assert_eq!(
        call(server.addr, "eth_syncing", json!([])).await,
        json!({"startingBlock": "0x0", "currentBlock": "0x4", "highestBlock": "0xa"})
    );
    let metrics = String::from_utf8(get(server.addr, "/metrics").await.body.to_vec()).unwrap();
    assert!(
        metrics.contains("\ntandem_highest_finalized_height 10\n"),
        "{metrics}"
    );

    // Executed up to the finalized tip: at the tip.
    for _ in 4..10 {
        support::empty_block(&server.backend);
    }
    network.observe_finalized(10, 10);
    assert_eq!(call(server.addr, "eth_syncing", json!([])).await, false);
}

#[tokio::test]
async fn the_finalized_height_metric_is_the_finalized_height_not_the_head() {
    let server = support::start(Limits::default()).await;
    for _ in 0..3 {
        support::empty_block(&server.backend);
    }
    // A rollup node's finalized head trails its head.
    server.backend.storage.set_finalized(1).unwrap();
    let answer = get(server.addr, "/metrics").await;
    assert_eq!(answer.status, 200);
    let metrics = String::from_utf8(answer.body.to_vec()).unwrap();
    assert!(metrics.contains("\ntandem_height 3\n"), "{metrics}");
    assert!(
        metrics.contains("\ntandem_finalized_height 1\n"),
        "{metrics}"
    );
}

#[tokio::test]
async fn txpool_shows_the_pool_and_refuses_a_content_answer_too_big_to_send() {
    use alloy_consensus::TxEip1559;
    use alloy_eips::eip2718::Encodable2718;
    let limits = tandem_rpc::Limits {
        max_response_bytes: 1 << 20,
        ..Default::default()
    };
    let server = support::start(limits).await;
    let key = &tandem_primitives::dev::accounts()[2];
    let tx = key.sign(TxEip1559 {
        chain_id: 900,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 10_000_000_000,
        max_priority_fee_per_gas: 1,
        to: alloy_primitives::TxKind::Call(tandem_primitives::Address::repeat_byte(3)),
        ..Default::default()
    });
    let raw = alloy_primitives::hex::encode_prefixed(tx.encoded_2718());
    support::call(
        server.addr,
        "eth_sendRawTransaction",
        serde_json::json!([raw]),
    )
    .await;
    let status = support::call(server.addr, "txpool_status", serde_json::json!([])).await;
    assert_eq!(
        status,
        serde_json::json!({"pending": "0x1", "queued": "0x0"})
    );
    let inspect = support::call(server.addr, "txpool_inspect", serde_json::json!([])).await;
    assert!(
        inspect["pending"].as_object().unwrap().len() == 1,
        "{inspect}"
    );
    let request =
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "txpool_content", "params": []});
    let answer = support::post(server.addr, request.to_string()).await.json();
    let message = answer["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("more than an answer may carry"),
        "{answer}"
    );
}
