//! The client against a scripted node: a real JSON-RPC server on a local socket whose answers
//! the test chooses.
use alloy_primitives::{Address, B256, Bytes, U64};
use jsonrpsee::{
    RpcModule,
    server::{Server, ServerHandle},
    types::ErrorObjectOwned,
};
use parking_lot::Mutex;
use std::sync::Arc;
use tandem_client::{
    Client, ClientError, Reverted,
    logs::{LOG_WINDOW, LogWalk},
};

/// What the scripted node was asked, and whether its next `eth_getLogs` fails.
#[derive(Default)]
struct Script {
    ranges: Vec<(u64, u64)>,
    fail_next: bool,
    /// Refuses a range of more blocks than this (as a node refuses an answer of too many logs).
    max_span: Option<u64>,
    params_seen: Vec<usize>,
}

async fn serve(script: Arc<Mutex<Script>>) -> (String, ServerHandle) {
    let mut module = RpcModule::new(script);
    module
        .register_method("eth_getLogs", |params, script, _| {
            let filter: serde_json::Value = params.one()?;
            let number = |key: &str| {
                u64::from_str_radix(
                    filter[key]
                        .as_str()
                        .unwrap_or("0x0")
                        .trim_start_matches("0x"),
                    16,
                )
                .unwrap_or_default()
            };
            let mut s = script.lock();
            if std::mem::take(&mut s.fail_next) {
                return Err(ErrorObjectOwned::owned(-32000, "busy", None::<()>));
            }
            if s.max_span
                .is_some_and(|max| number("toBlock") - number("fromBlock") + 1 > max)
            {
                let message = "query returned more than 10000 results";
                return Err(ErrorObjectOwned::owned(-32005, message, None::<()>));
            }
            s.ranges.push((number("fromBlock"), number("toBlock")));
            Ok::<_, ErrorObjectOwned>(Vec::<serde_json::Value>::new())
        })
        .unwrap();
    module
        .register_method("eth_blockNumber", |params, script, _| {
            let count = params
                .sequence()
                .next::<serde_json::Value>()
                .map_or(0, |_| 1);
            script.lock().params_seen.push(count);
            Ok::<_, ErrorObjectOwned>(U64::from(7))
        })
        .unwrap();
    module
        .register_method("eth_call", |_, _, _| {
            Err::<Bytes, _>(ErrorObjectOwned::owned(
                3,
                "execution reverted: no",
                Some(Bytes::from_static(&[0xde, 0xad])),
            ))
        })
        .unwrap();
    let server = Server::builder().build("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", server.local_addr().unwrap());
    (url, server.start(module))
}

#[tokio::test]
async fn a_log_walk_covers_every_block_once_in_bounded_windows_and_rereads_a_failed_window() {
    let script = Arc::new(Mutex::new(Script::default()));
    let (url, _server) = serve(script.clone()).await;
    let client = Client::new(&url).unwrap();
    let mut walk = LogWalk::new(Default::default(), 5);
    let to = 5 + 2 * LOG_WINDOW + 10;
    script.lock().fail_next = true;
    assert!(matches!(
        walk.next(&client, to).await,
        Err(ClientError::Rpc { .. })
    ));
    assert_eq!(walk.next_block(), 5, "a failed read does not move the walk");
    // A window read but not handed back is read again (half as wide after the failure).
    let unhandled = walk.next(&client, to).await.unwrap().unwrap();
    assert_eq!(unhandled.end, 5 + LOG_WINDOW / 2 - 1);
    while let Some(window) = walk.next(&client, to).await.unwrap() {
        walk.done(&window);
    }
    assert_eq!(walk.next_block(), to + 1);
    let ranges = script.lock().ranges.clone();
    assert_eq!(ranges[0], ranges[1]);
    // Windows grow back to the full width once reads succeed.
    assert!(
        ranges
            .iter()
            .any(|(from, end)| end - from + 1 == LOG_WINDOW)
    );
    let mut next = 5;
    for &(from, end) in &ranges[1..] {
        assert_eq!(from, next);
        assert!(end >= from && end - from < LOG_WINDOW);
        next = end + 1;
    }
    assert_eq!(next, to + 1);
    // Caught up: nothing more is asked.
    assert!(walk.next(&client, to).await.unwrap().is_none());
    assert_eq!(script.lock().ranges.len(), ranges.len());
}

#[tokio::test]
async fn no_parameters_are_sent_for_unit_and_a_revert_keeps_its_data() {
    let script = Arc::new(Mutex::new(Script::default()));
    let (url, _server) = serve(script.clone()).await;
    let client = Client::new(&url).unwrap();
    let number: U64 = client.request_json("eth_blockNumber", ()).await.unwrap();
    assert_eq!(number.to::<u64>(), 7);
    let _: U64 = client
        .request_json("eth_blockNumber", (1u64,))
        .await
        .unwrap();
    assert_eq!(script.lock().params_seen, vec![0, 1]);
    let request = serde_json::json!({ "to": Address::ZERO, "data": B256::ZERO });
    let answer = client
        .eth_call(&request, &serde_json::json!("latest"))
        .await
        .unwrap();
    assert_eq!(
        answer,
        Err(Reverted {
            message: "execution reverted: no".into(),
            data: Some(Bytes::from_static(&[0xde, 0xad])),
        })
    );
    // A node that cannot be reached is an error, not a revert.
    let gone = Client::new("http://127.0.0.1:1").unwrap();
    assert!(
        gone.eth_call(&request, &serde_json::json!("latest"))
            .await
            .is_err()
    );
}

#[tokio::test]
async fn a_stretch_with_more_logs_than_a_node_answers_is_read_in_smaller_windows() {
    let script = Arc::new(Mutex::new(Script {
        max_span: Some(100),
        ..Default::default()
    }));
    let (url, _server) = serve(script.clone()).await;
    let client = Client::new(&url).unwrap();
    let mut walk = LogWalk::new(Default::default(), 0);
    let to = 3 * LOG_WINDOW;
    let (mut failures, mut next) = (0, 0);
    loop {
        match walk.next(&client, to).await {
            Ok(Some(window)) => {
                walk.done(&window);
                next = window.end + 1;
            }
            Ok(None) => break,
            Err(_) => failures += 1,
        }
        assert!(failures < 1_000, "the walk never got past block {next}");
    }
    assert_eq!(walk.next_block(), to + 1);
    let ranges = script.lock().ranges.clone();
    let mut expected = 0;
    for &(from, end) in &ranges {
        assert_eq!(from, expected, "every block once, in order");
        assert!(end - from < 100);
        expected = end + 1;
    }
    assert_eq!(expected, to + 1);
}
