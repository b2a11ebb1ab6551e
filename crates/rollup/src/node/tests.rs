//! The rollup's services on a scripted L1: what they publish, post and derive while L1 stalls,
//! fails calls and serves junk. Waits are bounded by L1 calls or generous deadlines, never timed.
use super::*;
use crate::{
    batcher::BatcherConfig,
    queue::{OriginTracker, PortalQueue},
    scripted::ScriptedL1,
};
use alloy_consensus::TxEip1559;
use alloy_eips::eip2718::Encodable2718;
use alloy_primitives::{Address, Bytes, TxKind, U256, hex};
use serde_json::json;
use tandem_execution::l2::L1Origin;
use tandem_primitives::{ChainConfig, FixedClock, dev, genesis};

/// Waits until `done` holds; panics after `patience` (a liveness bound, not a timing assertion).
async fn wait_until(what: &str, patience: Duration, mut done: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + patience;
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Lets the services make `calls` more calls to L1.
async fn let_l1_answer(l1: &ScriptedL1, calls: u64) {
    let start = l1.calls();
    wait_until("L1 calls", Duration::from_secs(60), || {
        l1.calls() >= start + calls
    })
    .await;
}

/// Waits until L1 has `blocks` more blocks (batches landing, say).
async fn l1_moves(l1: &ScriptedL1, blocks: u64) {
    let start = l1.head();
    wait_until("L1 blocks", Duration::from_secs(60), || {
        l1.head() >= start + blocks
    })
    .await;
}

async fn deposit(l1: &ScriptedL1, from: usize) -> tandem_client::Result<u64> {
    let to = Address::repeat_byte(0x42);
    let deposit = tandem_client::bridge::deposit(
        l1,
        &dev::accounts()[from],
        to,
        U256::from(1_000u64),
        Duration::from_secs(30),
    )
    .await?;
    Ok(deposit.l1.block_number.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_origin_tracker_publishes_only_what_the_queue_covers_through_stalls_errors_and_junk() {
    let l1 = ScriptedL1::start().await;
    let first = deposit(&l1, 1).await.unwrap();
    let queue = Arc::new(Mutex::new(PortalQueue::default()));
    let (origin, published) = watch::channel(L1Origin::default());
    let tracker = OriginTracker::new(l1.clone(), origin, queue.clone()).spawn();
    let seen = || published.borrow().number;
    wait_until("the first deposit's block", Duration::from_secs(30), || {
        seen() >= first
    })
    .await;
    assert_eq!(queue.lock().len(), 1);

    // L1 stands still: nothing lands, nothing newer is published.
    let head = l1.head();
    wait_until("L1's head", Duration::from_secs(30), || seen() == head).await;
    l1.script(|s| s.stalled_at = Some(head));
    assert!(
        deposit(&l1, 2).await.is_err(),
        "a stalled L1 includes nothing"
    );
    let_l1_answer(&l1, 8).await;
    assert_eq!(seen(), head);

    // L1 moves on but its answers fail for a while, then come back.
    l1.script(|s| s.stalled_at = None);
    let second = deposit(&l1, 2).await.unwrap();
    l1.script(|s| s.failures = 6);
    wait_until(
        "the second deposit's block",
        Duration::from_secs(30),
        || seen() >= second,
    )
    .await;
    assert_eq!(queue.lock().len(), 2);

    // Junk logs: the window holding the third deposit is refused whole, then read once.
    let third = deposit(&l1, 3).await.unwrap();
    l1.script(|s| s.junk_logs = true);
    let_l1_answer(&l1, 12).await;
    assert!(
        seen() < third,
        "published an origin whose queue entries were junk"
    );
    l1.script(|s| s.junk_logs = false);
    wait_until("the third deposit's block", Duration::from_secs(30), || {
        seen() >= third
    })
    .await;
    tracker.shutdown().await;
    let queue = queue.lock();
    assert_eq!(queue.len(), 3, "each deposit is in the queue once");
    assert_eq!(
        (0..3)
            .map(|i| queue.get(i).map(|e| e.index))
            .collect::<Vec<_>>(),
        vec![Some(0), Some(1), Some(2)]
    );
}

fn l2_config(dir: &std::path::Path, name: &str) -> L2Config {
    let genesis = Some(genesis::dev_l2_genesis());
    let rpc_addr = "127.0.0.1:0".parse().unwrap();
    L2Config::new(
        dir.join(name),
        rpc_addr,
        "scripted",
        genesis,
        Default::default(),
    )
}

/// Sends `count` transfers from dev account `from` to the sequencer, from nonce `nonce`.
fn transfers(node: &L2Handle, from: usize, nonce: u64, count: u64) {
    for raw in signed_transfers(from, nonce..nonce + count) {
        tandem_rpc::submit_raw_transaction(&node.backend, &raw).unwrap();
    }
}

/// Signed transfers from dev account `from`, nonces `nonces`, as raw bytes.
fn signed_transfers(from: usize, nonces: std::ops::Range<u64>) -> Vec<Bytes> {
    nonces
        .map(|n| {
            let tx = dev::accounts()[from].sign(TxEip1559 {
                chain_id: ChainConfig::L2_DEV_CHAIN_ID,
                nonce: n,
                gas_limit: 21_000,
                max_fee_per_gas: 1_000_000_000,
                max_priority_fee_per_gas: 1_000,
                to: TxKind::Call(Address::repeat_byte(0x77)),
                value: U256::from(1u64),
                ..Default::default()
            });
            Bytes::from(tx.encoded_2718())
        })
        .collect()
}

fn head(node: &L2Handle) -> u64 {
    node.backend
        .storage
        .read()
        .ok()
        .and_then(|r| r.last_height())
        .unwrap_or_default()
}

fn hash(node: &L2Handle, number: u64) -> Option<alloy_primitives::B256> {
    let reader = node.backend.storage.read().ok()?;
    reader.header(number).ok().flatten().map(|h| h.hash_slow())
}

/// Waits until the verifier has every block the sequencer has now, with the same hashes.
async fn derived(sequencer: &L2Handle, verifier: &L2Handle) {
    let target = head(sequencer);
    wait_until(
        "the verifier to derive the sequencer's chain",
        Duration::from_secs(90),
        || head(verifier) >= target,
    )
    .await;
    for number in 1..=target {
        assert_eq!(
            hash(verifier, number),
            hash(sequencer, number),
            "L2 block {number} derived differently"
        );
    }
}

/// A sequencer with its batcher and a verifier, on `l1`.
async fn stack(l1: &ScriptedL1, dir: &std::path::Path) -> (L2Handle, L2Handle) {
    let batcher = BatcherConfig {
        max_interval: Duration::from_millis(300),
        ..BatcherConfig::new(dev::accounts()[dev::DEV_BATCHER].clone())
    };
    let clock = Arc::new(FixedClock::new(1_700_000_000));
    let sequencer = launch_sequencer_on(
        l1.clone(),
        l2_config(dir, "sequencer"),
        Duration::from_millis(100),
        Some(batcher),
        clock,
    )
    .await
    .unwrap();
    let verifier = launch_verifier_on(l1.clone(), l2_config(dir, "verifier"))
        .await
        .unwrap();
    (sequencer, verifier)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_derives_the_sequencers_chain_through_l1_errors_junk_and_a_stall() {
    let l1 = ScriptedL1::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (sequencer, verifier) = stack(&l1, dir.path()).await;
    transfers(&sequencer, 1, 0, 5);
    derived(&sequencer, &verifier).await;

    // One call in three fails, while batches land.
    l1.script(|s| s.fail_every = 3);
    transfers(&sequencer, 1, 5, 5);
    l1_moves(&l1, 2).await;
    let_l1_answer(&l1, 30).await;
    l1.script(|s| s.fail_every = 0);
    derived(&sequencer, &verifier).await;

    // Junk logs while batches land, then junk transactions.
    l1.script(|s| s.junk_logs = true);
    transfers(&sequencer, 2, 0, 5);
    l1_moves(&l1, 2).await;
    let_l1_answer(&l1, 40).await;
    l1.script(|s| (s.junk_logs, s.junk_transactions) = (false, true));
    transfers(&sequencer, 2, 5, 5);
    l1_moves(&l1, 2).await;
    let_l1_answer(&l1, 40).await;
    l1.script(|s| s.junk_transactions = false);
    derived(&sequencer, &verifier).await;

    // Logs left out of answers while batches land.
    l1.script(|s| s.drop_logs = true);
    transfers(&sequencer, 2, 10, 5);
    l1_moves(&l1, 2).await;
    let_l1_answer(&l1, 40).await;
    l1.script(|s| s.drop_logs = false);
    derived(&sequencer, &verifier).await;

    // L1 stalls: the sequencer goes on (on its last origin), nothing is posted, the verifier
    // waits; then L1 comes back and the verifier catches up.
    let stalled = head(&sequencer);
    l1.script(|s| s.stalled_at = Some(l1.head()));
    transfers(&sequencer, 3, 0, 5);
    let_l1_answer(&l1, 30).await;
    assert!(head(&sequencer) > stalled, "the sequencer stopped with L1");
    l1.script(|s| s.stalled_at = None);
    derived(&sequencer, &verifier).await;

    let report = |node: &L2Handle| {
        let reader = node.backend.storage.read().unwrap();
        (reader.safe_height(), reader.last_height())
    };
    let (safe, _) = report(&sequencer);
    assert!(
        safe.is_some_and(|s| s > 0),
        "the batcher marked posted blocks safe"
    );
    verifier.shutdown().await;
    sequencer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_challenger_removes_a_wrong_output_and_the_proposer_posts_right_ones_while_l1_fails_calls()
 {
    let l1 = ScriptedL1::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (sequencer, verifier) = stack(&l1, dir.path()).await;
    let verifier_rpc = Client::new(&format!("http://{}", verifier.rpc_addr)).unwrap();
    let challenger = launch_challenger_on(
        &verifier,
        l1.clone(),
        dev::accounts()[dev::DEV_CHALLENGER].clone(),
    );
    let proposer = |fault| {
        let key = dev::accounts()[dev::DEV_PROPOSER].clone();
        launch_proposer_on(l1.clone(), verifier_rpc.clone(), key, fault)
    };
    // One call in four fails. (A round of the proposer or the challenger is ten calls or more,
    // each of which must answer: without the retrying port, rounds hardly ever got through.)
    l1.script(|s| s.fail_every = 4);
    // A proposer that gets every state root wrong: its output is challenged and loses, although
    // the L1 node leaves OutputOracle's logs out of its answers while it is proposed.
    let oracle = tandem_primitives::system::OUTPUT_ORACLE;
    l1.script(|s| s.drop_logs_from = Some(oracle));
    let wrong = proposer(Some(crate::fault::OutputFault::StateRoot));
    wait_until(
        "a wrong output to be proposed",
        Duration::from_secs(90),
        || wrong.status().proposed >= 1,
    )
    .await;
    wrong.shutdown().await;
    let_l1_answer(&l1, 40).await;
    l1.script(|s| s.drop_logs_from = None);
    wait_until("the challenge to be won", Duration::from_secs(90), || {
        challenger.status().won >= 1
    })
    .await;
    // The honest proposer takes over from where L1 stands and its outputs stand.
    let honest = proposer(None);
    wait_until("two right outputs", Duration::from_secs(90), || {
        honest.status().proposed >= 2
    })
    .await;
    wait_until(
        "the right outputs to be agreed",
        Duration::from_secs(90),
        || challenger.status().agreed >= 2,
    )
    .await;
    let status = challenger.status();
    assert_eq!(
        status.won, status.challenged,
        "a challenge was lost: {status:?}"
    );
    honest.shutdown().await;
    challenger.shutdown().await;
    verifier.shutdown().await;
    sequencer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_challenger_on_a_wrong_chain_challenges_no_right_output() {
    let l1 = ScriptedL1::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (sequencer, _) = stack(&l1, dir.path()).await;
    // A verifier that leaves deposits out, and a challenger on it.
    let mut faulty = l2_config(dir.path(), "faulty");
    faulty.fault = Some(crate::fault::DerivationFault::SkipDeposits);
    let faulty = launch_verifier_on(l1.clone(), faulty).await.unwrap();
    let challenger = launch_challenger_on(
        &faulty,
        l1.clone(),
        dev::accounts()[dev::DEV_CHALLENGER].clone(),
    );
    // The honest proposer posts the sequencer's (right) outputs, the first over a deposit.
    deposit(&l1, 4).await.unwrap();
    let sequencer_rpc = Client::new(&format!("http://{}", sequencer.rpc_addr)).unwrap();
    let key = dev::accounts()[dev::DEV_PROPOSER].clone();
    let proposer = launch_proposer_on(l1.clone(), sequencer_rpc, key, None);
    wait_until("three right outputs", Duration::from_secs(90), || {
        proposer.status().proposed >= 3
    })
    .await;
    let_l1_answer(&l1, 100).await;
    // Its own chain does not re-execute into what it claims: it refuses to build the challenge
    // rather than spend a bond on a right output.
    let status = challenger.status();
    assert_eq!(status.challenged, 0, "{status:?}");
    assert!(
        status
            .last_error
            .as_deref()
            .is_some_and(|e| e.contains("did not reproduce")),
        "{status:?}"
    );
    proposer.shutdown().await;
    challenger.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn derivation_with_a_tiny_origin_cache_still_derives_every_batch() {
    let l1 = ScriptedL1::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (sequencer, _) = stack(&l1, dir.path()).await;
    // A second deriver whose cache of L1 origins holds one: batches naming several origins must
    // still find them all when they are applied.
    let backend = tandem_rpc::open_backend(
        &dir.path().join("tiny"),
        Default::default(),
        &genesis::dev_l2_genesis(),
        &Default::default(),
        &Default::default(),
        &[],
    )
    .unwrap();
    let batcher = dev::accounts()[dev::DEV_BATCHER].address;
    let deriver =
        crate::derivation::Deriver::new(backend.storage.clone(), backend.chain.clone(), batcher);
    let derivation =
        crate::derivation::Derivation::new(deriver, l1.clone(), Arc::new(|_: u64, _: u64| {}))
            .with_max_origins(1)
            .spawn();
    for round in 0..4 {
        transfers(&sequencer, 1, round * 3, 3);
        l1_moves(&l1, 2).await;
    }
    let target = head(&sequencer);
    let derived = || {
        let reader = backend.storage.read().unwrap();
        reader.last_height().unwrap_or_default()
    };
    wait_until(
        "the tiny-cache deriver to catch up",
        Duration::from_secs(90),
        || derived() >= target,
    )
    .await;
    let status = derivation.status();
    assert_eq!(status.batches_skipped, 0, "{status:?}");
    let reader = backend.storage.read().unwrap();
    for number in 1..=target {
        assert_eq!(
            reader.header(number).unwrap().map(|h| h.hash_slow()),
            hash(&sequencer, number),
            "L2 block {number}"
        );
    }
    drop(reader);
    derivation.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deposit_traces_with_its_value_and_the_same_on_the_sequencer_and_a_verifier() {
    let l1 = ScriptedL1::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (sequencer, verifier) = stack(&l1, dir.path()).await;
    let to = Address::repeat_byte(0x42);
    let patience = Duration::from_secs(30);
    let key = &dev::accounts()[1];
    let deposit = tandem_client::bridge::deposit(&l1, key, to, U256::from(1_000u64), patience)
        .await
        .unwrap();
    transfers(&sequencer, 2, 0, 2);
    let sequencer_rpc = Client::new(&format!("http://{}", sequencer.rpc_addr)).unwrap();
    let verifier_rpc = Client::new(&format!("http://{}", verifier.rpc_addr)).unwrap();
    let receipt = sequencer_rpc
        .wait_receipt(deposit.l2_transaction, Duration::from_secs(60))
        .await
        .unwrap();
    derived(&sequencer, &verifier).await;
    let call_tracer = serde_json::json!({"tracer": "callTracer"});
    let trace: serde_json::Value = sequencer_rpc
        .request_json(
            "debug_traceTransaction",
            (deposit.l2_transaction, &call_tracer),
        )
        .await
        .unwrap();
    assert_eq!(trace["type"], "CALL");
    assert_eq!(trace["to"], serde_json::json!(to));
    assert_eq!(trace["value"], "0x3e8", "{trace}");
    let number = receipt.block_number.unwrap();
    let block = |rpc: &Client| {
        let params = (
            alloy_eips::BlockNumberOrTag::Number(number),
            call_tracer.clone(),
        );
        let rpc = rpc.clone();
        async move {
            let traces: serde_json::Value = rpc
                .request_json("debug_traceBlockByNumber", params)
                .await
                .unwrap();
            traces
        }
    };
    let (on_sequencer, on_verifier) = (block(&sequencer_rpc).await, block(&verifier_rpc).await);
    assert_eq!(
        on_sequencer, on_verifier,
        "a block traces alike wherever it is rebuilt"
    );
    let traced = on_sequencer.as_array().unwrap();
    assert!(
        traced
            .iter()
            .any(|t| t["txHash"] == serde_json::json!(deposit.l2_transaction))
    );
    assert!(
        traced.iter().all(|t| t.get("result").is_some()),
        "{on_sequencer}"
    );
    // The prestate tracer reads the state after each transaction: reads the block never made,
    // which must not count against its witness budget (the replay would not reproduce it).
    for _ in 0..2 {
        let prestate =
            serde_json::json!({"tracer": "prestateTracer", "tracerConfig": {"diffMode": true}});
        let params = (alloy_eips::BlockNumberOrTag::Number(number), prestate);
        let diffs: serde_json::Value = sequencer_rpc
            .request_json("debug_traceBlockByNumber", params)
            .await
            .unwrap();
        let diffs = diffs.as_array().unwrap();
        assert!(diffs.iter().all(|t| t.get("result").is_some()), "{diffs:?}");
        let deposited = diffs
            .iter()
            .find(|t| t["txHash"] == serde_json::json!(deposit.l2_transaction));
        let post = &deposited.unwrap()["result"]["post"];
        assert!(
            post.get(format!("{to:#x}")).is_some(),
            "the deposit's recipient changed: {post}"
        );
    }
    verifier.shutdown().await;
    sequencer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verifier_forwards_the_raw_transactions_it_is_sent_to_its_sequencer() {
    let l1 = ScriptedL1::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (sequencer, plain) = stack(&l1, dir.path()).await;
    let forwarding = L2Config {
        sequencer_rpc: Some(format!("http://{}", sequencer.rpc_addr)),
        ..l2_config(dir.path(), "forwarding")
    };
    let forwarding = launch_verifier_on(l1.clone(), forwarding).await.unwrap();
    let rpc = |node: &L2Handle| Client::new(&format!("http://{}", node.rpc_addr)).unwrap();
    let tx = dev::accounts()[3].sign(TxEip1559 {
        chain_id: ChainConfig::L2_DEV_CHAIN_ID,
        nonce: 0,
        gas_limit: 21_000,
        max_fee_per_gas: 1_000_000_000,
        max_priority_fee_per_gas: 1_000,
        to: TxKind::Call(Address::repeat_byte(0x78)),
        value: U256::from(5u64),
        ..Default::default()
    });
    let raw = Bytes::from(tx.encoded_2718());
    let refused = rpc(&plain).send_raw(&raw).await.unwrap_err().to_string();
    assert!(refused.contains("takes no transactions"), "{refused}");
    let hash = rpc(&forwarding).send_raw(&raw).await.unwrap();
    assert_eq!(hash, tx.tx_hash());
    rpc(&sequencer)
        .wait_receipt(hash, Duration::from_secs(60))
        .await
        .unwrap();
    derived(&sequencer, &forwarding).await;
    // What the sequencer refuses comes back refused, with its reason and nothing about where
    // the sequencer is; what could never be pooled is refused before it is sent on.
    let send = |node: &L2Handle, raw: Bytes| {
        let client = rpc(node);
        async move { client.send_raw(&raw).await.unwrap_err().to_string() }
    };
    let again = send(&forwarding, raw.clone()).await;
    assert!(
        again.contains("nonce too low") || again.contains("already known"),
        "{again}"
    );
    let sequencer_url = sequencer.rpc_addr.to_string();
    assert!(!again.contains(&sequencer_url), "{again}");
    let refused = send(&forwarding, Bytes::from_static(&[0x02, 0xff, 0x00])).await;
    assert!(refused.contains("could not be decoded"), "{refused}");
    // With the sequencer gone, the verifier says so, and nothing else.
    sequencer.shutdown().await;
    let gone = send(&forwarding, raw).await;
    assert!(gone.contains("the sequencer is unavailable"), "{gone}");
    assert!(!gone.contains(&sequencer_url), "{gone}");
    forwarding.shutdown().await;
    plain.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_op_stack_methods_say_what_the_tandem_ones_say_with_op_names() {
    let l1 = ScriptedL1::start().await;
    let dir = tempfile::tempdir().unwrap();
    let (sequencer, verifier) = stack(&l1, dir.path()).await;
    transfers(&sequencer, 4, 0, 3);
    wait_until("the sequencer's blocks", Duration::from_secs(60), || {
        head(&sequencer) >= 2
    })
    .await;
    derived(&sequencer, &verifier).await;
    for node in [&sequencer, &verifier] {
        let rpc = Client::new(&format!("http://{}", node.rpc_addr)).unwrap();
        let status: serde_json::Value = rpc.request_json("optimism_syncStatus", ()).await.unwrap();
        let head = status["unsafe_l2"]["number"].as_u64().unwrap();
        assert!(head >= 1, "{status}");
        let header = node
            .backend
            .storage
            .read()
            .unwrap()
            .header(head)
            .unwrap()
            .unwrap();
        assert_eq!(
            status["unsafe_l2"]["hash"],
            serde_json::json!(header.hash_slow())
        );
        assert_eq!(
            status["unsafe_l2"]["parentHash"],
            serde_json::json!(header.parent_hash)
        );
        let origin = L1Origin::of_header(&header).unwrap();
        assert_eq!(status["unsafe_l2"]["l1origin"]["number"], origin.number);
        assert_eq!(
            status["unsafe_l2"]["l1origin"]["hash"],
            serde_json::json!(origin.hash)
        );
        assert!(status["safe_l2"]["number"].as_u64().unwrap() <= head);
        assert_eq!(status["current_l1"]["number"], origin.number);
        assert!(status["head_l1"]["number"].as_u64() >= Some(origin.number));
        let parent = match origin.number.checked_sub(1) {
            Some(n) => {
                let tag = alloy_eips::BlockNumberOrTag::Number(n);
                l1.origin(tag).await.unwrap().unwrap().hash
            }
            None => alloy_primitives::B256::ZERO,
        };
        assert_eq!(
            status["current_l1"]["parentHash"],
            serde_json::json!(parent)
        );
        assert_eq!(status["current_l1"]["hash"], serde_json::json!(origin.hash));

        let ours: serde_json::Value = rpc
            .request_json("tandem_outputAtBlock", [alloy_primitives::U64::from(head)])
            .await
            .unwrap();
        let op: serde_json::Value = rpc
            .request_json(
                "optimism_outputAtBlock",
                [alloy_primitives::U64::from(head)],
            )
            .await
            .unwrap();
        assert_eq!(op["outputRoot"], ours["outputRoot"]);
        assert_eq!(op["stateRoot"], ours["stateRoot"]);
        assert_eq!(
            op["withdrawalStorageRoot"],
            ours["messagePasserStorageRoot"]
        );
        assert_eq!(op["blockRef"]["hash"], ours["blockHash"]);
        assert!(op["syncStatus"]["head_l1"]["number"].as_u64().is_some());

        let config: serde_json::Value =
            rpc.request_json("optimism_rollupConfig", ()).await.unwrap();
        assert_eq!(config["l2_chain_id"], ChainConfig::L2_DEV_CHAIN_ID);
        assert_eq!(config["l1_chain_id"], ChainConfig::L1_DEV_CHAIN_ID);
        let genesis = node
            .backend
            .storage
            .read()
            .unwrap()
            .header(0)
            .unwrap()
            .unwrap();
        assert_eq!(
            config["genesis"]["l2"]["hash"],
            serde_json::json!(genesis.hash_slow())
        );
        let batcher = dev::accounts()[dev::DEV_BATCHER].address;
        assert_eq!(
            config["genesis"]["system_config"]["batcherAddr"],
            serde_json::json!(batcher)
        );
        assert_eq!(
            config["batch_inbox_address"],
            serde_json::json!(tandem_primitives::system::BATCH_INBOX)
        );
        assert_eq!(
            config["deposit_contract_address"],
            serde_json::json!(tandem_primitives::system::PORTAL)
        );
    }
    verifier.shutdown().await;
    sequencer.shutdown().await;
}

/// A sequencer whose clock never moves, without a batcher: only fullness seals a block.
async fn frozen_sequencer(l1: &ScriptedL1, dir: &std::path::Path) -> L2Handle {
    launch_sequencer_on(
        l1.clone(),
        l2_config(dir, "sequencer"),
        Duration::from_secs(600),
        None,
        Arc::new(FixedClock::new(1_700_000_000)),
    )
    .await
    .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pending_reads_the_sequencers_open_block() {
    let l1 = ScriptedL1::start().await;
    let dir = tempfile::tempdir().unwrap();
    // The open block stays open while the test reads it.
    let sequencer = frozen_sequencer(&l1, dir.path()).await;
    let rpc = Client::new(&format!("http://{}", sequencer.rpc_addr)).unwrap();
    let ask = |method: &'static str, params: serde_json::Value| {
        let rpc = rpc.clone();
        async move {
            rpc.request_json::<serde_json::Value, _>(method, params)
                .await
                .unwrap()
        }
    };
    let key = &dev::accounts()[4];
    let sign = |nonce: u64, to: TxKind, value: u64, input: Bytes| {
        key.sign(TxEip1559 {
            chain_id: ChainConfig::L2_DEV_CHAIN_ID,
            nonce,
            gas_limit: 200_000,
            max_fee_per_gas: 1_000_000_000,
            max_priority_fee_per_gas: 1_000,
            to,
            value: U256::from(value),
            input,
            ..Default::default()
        })
    };
    let payee = Address::repeat_byte(0x79);
    // Init code: SSTORE(0, 42), then return the runtime PUSH1 0 SLOAD PUSH1 0 MSTORE PUSH1 32
    // PUSH1 0 RETURN (slot 0, as a word).
    let runtime = hex!("60005460005260206000f3");
    let mut init = hex!("602a600055").to_vec();
    init.extend_from_slice(&[0x60, runtime.len() as u8, 0x60, 0x11, 0x60, 0, 0x39]);
    init.extend_from_slice(&[0x60, runtime.len() as u8, 0x60, 0, 0xf3]);
    init.extend_from_slice(&runtime);
    let txs = [
        sign(0, TxKind::Call(payee), 5, Bytes::new()),
        sign(1, TxKind::Create, 0, init.into()),
    ];
    for tx in &txs {
        tandem_rpc::submit_raw_transaction(&sequencer.backend, &Bytes::from(tx.encoded_2718()))
            .unwrap();
    }
    wait_until("both in the open block", Duration::from_secs(60), || {
        txs.iter().all(|tx| {
            matches!(
                sequencer.backend.preconf.get(&tx.tx_hash()),
                Some(tandem_rpc::Preconf::Executed(_))
            )
        })
    })
    .await;
    let contract = key.address.create(1);
    let pending = |what: &'static str, params: serde_json::Value| ask(what, params);
    assert_eq!(head(&sequencer), 0, "the block is still open");
    assert_eq!(ask("eth_getBalance", json!([payee, "latest"])).await, "0x0");
    assert_eq!(
        pending("eth_getBalance", json!([payee, "pending"])).await,
        "0x5"
    );
    assert_eq!(
        pending("eth_getTransactionCount", json!([key.address, "pending"])).await,
        "0x2"
    );
    assert_eq!(ask("eth_getCode", json!([contract, "latest"])).await, "0x");
    assert_eq!(
        pending("eth_getCode", json!([contract, "pending"])).await,
        format!("0x{}", alloy_primitives::hex::encode(runtime))
    );
    let slot = pending("eth_getStorageAt", json!([contract, "0x0", "pending"])).await;
    assert_eq!(
        U256::from_str_radix(slot.as_str().unwrap().trim_start_matches("0x"), 16).unwrap(),
        U256::from(42)
    );
    let called = pending("eth_call", json!([{"to": contract}, "pending"])).await;
    assert_eq!(
        U256::from_str_radix(called.as_str().unwrap().trim_start_matches("0x"), 16).unwrap(),
        U256::from(42)
    );
    assert_eq!(
        ask("eth_call", json!([{"to": contract}, "latest"])).await,
        "0x"
    );
    sequencer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_block_is_sealed_at_once_and_the_rest_wait_in_the_next() {
    let l1 = ScriptedL1::start().await;
    let dir = tempfile::tempdir().unwrap();
    let sequencer = frozen_sequencer(&l1, dir.path()).await;
    // 31.5M gas of transfers: more than one 30M block holds.
    transfers(&sequencer, 5, 0, 750);
    transfers(&sequencer, 6, 0, 750);
    wait_until("the full block to seal", Duration::from_secs(120), || {
        head(&sequencer) >= 1
    })
    .await;
    let first = sequencer
        .backend
        .storage
        .read()
        .unwrap()
        .block(1)
        .unwrap()
        .unwrap();
    let held = first.block.transactions.len();
    assert!(held > 0 && held < 1_500, "block 1 holds {held}");
    // The rest are preconfirmed in block 2, which stays open: it is not full.
    wait_until(
        "the rest in the open block",
        Duration::from_secs(60),
        || sequencer.backend.pool.lock().is_empty(),
    )
    .await;
    assert_eq!(
        head(&sequencer),
        1,
        "a block that is not full waits for its time"
    );
    sequencer.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crash_while_a_sealed_block_commits_loses_no_preconfirmed_transaction() {
    use crate::wal::{OpenBlock, Wal};
    let l1 = ScriptedL1::start().await;
    let dir = tempfile::tempdir().unwrap();
    // A sequencer seals block 1 from three transfers; its header fixes what a block 1 opened at
    // that time and origin is.
    let (first, second) = (signed_transfers(5, 0..3), signed_transfers(5, 3..5));
    let reference = frozen_sequencer(&l1, dir.path()).await;
    for raw in &first {
        tandem_rpc::submit_raw_transaction(&reference.backend, raw).unwrap();
    }
    wait_until("three preconfirmed", Duration::from_secs(60), || {
        reference.backend.preconf.len() == 3
    })
    .await;
    let storage = reference.backend.storage.clone();
    reference.shutdown().await;
    let header = storage.read().unwrap().header(1).unwrap().unwrap();
    let block = |number| OpenBlock {
        number,
        timestamp: header.timestamp,
        origin: L1Origin::of_header(&header).unwrap(),
    };

    // The crash: block 1 sealed and handed over for its commit, block 2 open with two more,
    // nothing committed. The log holds both; storage holds genesis alone.
    let crashed = dir.path().join("crashed");
    std::fs::create_dir_all(crashed.join("sequencer")).unwrap();
    let (mut wal, _) = Wal::open(&crashed.join("sequencer").join("sequencer.wal")).unwrap();
    wal.begin(Some((&block(1), &first)), &block(2), &[])
        .unwrap();
    wal.append(second.iter().map(|b| b.as_ref())).unwrap();
    drop(wal);
    let restarted = frozen_sequencer(&l1, &crashed).await;
    wait_until("block 1 sealed again", Duration::from_secs(60), || {
        head(&restarted) >= 1
    })
    .await;
    assert_eq!(
        hash(&restarted, 1),
        Some(header.hash_slow()),
        "block 1 is sealed again exactly as it was"
    );
    // Block 2 reopens with its two, preconfirmed again, and stays open (the clock is frozen).
    wait_until(
        "block 2's two preconfirmed",
        Duration::from_secs(60),
        || restarted.backend.preconf.len() == 2,
    )
    .await;
    for raw in &second {
        let tx = <tandem_primitives::TxEnvelope as alloy_eips::eip2718::Decodable2718>::decode_2718_exact(raw.as_ref()).unwrap();
        match restarted.backend.preconf.get(&tx.tx_hash()) {
            Some(tandem_rpc::Preconf::Executed(receipt)) => {
                assert_eq!(receipt.inner.block_number, Some(2))
            }
            other => panic!("{} is not preconfirmed in block 2: {other:?}", tx.tx_hash()),
        }
    }
    assert_eq!(head(&restarted), 1);
    let storage = restarted.backend.storage.clone();
    restarted.shutdown().await;
    let block2 = storage.read().unwrap().block(2).unwrap().unwrap();
    assert_eq!(block2.block.transactions.len(), 2);
}
