//! A JSON-RPC server over a fresh dev chain on an ephemeral port, and an HTTP client that can send
//! any bytes.
use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use parking_lot::Mutex;
use std::{convert::Infallible, net::SocketAddr, sync::Arc};
use tandem_execution::{BlockAttributes, Executor};
use tandem_mempool::Mempool;
use tandem_primitives::{Address, B256, genesis::chain_config};
use tandem_rpc::{Backend, Limits};
use tandem_state::LatestState;
use tandem_storage::Storage;

pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) backend: Backend,
    handle: jsonrpsee::server::ServerHandle,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.handle.stop();
    }
}

/// A backend over a fresh dev chain (genesis only).
pub(crate) fn backend(limits: Limits) -> (Backend, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let storage = Arc::new(Storage::open(&dir.path().join("chain.redb")).unwrap());
    let genesis = tandem_execution::dev_genesis(900);
    let block = tandem_execution::genesis_block(&storage.read().unwrap(), &genesis).unwrap();
    storage.commit(&block.into_commit()).unwrap();
    let chain = chain_config(&genesis);
    let pool = Mempool::new(
        Default::default(),
        chain.chain_id,
        chain.gas_limit,
        chain.fees.min_base_fee_wei,
    );
    (
        Backend::new(storage, Arc::new(Mutex::new(pool)), chain, limits),
        dir,
    )
}

/// Serves `backend` on an ephemeral port of 127.0.0.1.
pub(crate) async fn serve(backend: Backend, dir: tempfile::TempDir) -> Server {
    let (addr, handle) = tandem_rpc::serve("127.0.0.1:0".parse().unwrap(), backend.clone())
        .await
        .unwrap();
    Server {
        addr,
        backend,
        handle,
        _dir: dir,
    }
}

pub(crate) async fn start(limits: Limits) -> Server {
    let (backend, dir) = backend(limits);
    serve(backend, dir).await
}

/// Commits an empty block on top of the last one.
pub(crate) fn empty_block(backend: &Backend) {
    let reader = backend.storage.read().unwrap();
    let last = reader.last_height().unwrap();
    let parent = reader.header(last).unwrap().unwrap();
    let attrs = BlockAttributes {
        timestamp: parent.timestamp + 1,
        beneficiary: Address::ZERO,
        prev_randao: B256::ZERO,
    };
    let executed = Executor::new(
        &reader,
        LatestState(&reader),
        &backend.chain,
        &parent,
        &attrs,
    )
    .finish()
    .unwrap();
    drop(reader);
    backend.storage.commit(&executed.into_commit()).unwrap();
}

pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
}

impl Answer {
    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "answer is not JSON ({e}): {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }
}

type Body = BoxBody<Bytes, Infallible>;

async fn send(addr: SocketAddr, method: hyper::Method, path: &str, body: Body) -> Answer {
    let client = Client::builder(TokioExecutor::new()).build_http::<Body>();
    let request = hyper::Request::builder()
        .method(method)
        .uri(format!("http://{addr}{path}"))
        .header("content-type", "application/json")
        .body(body)
        .unwrap();
    let response = client.request(request).await.unwrap();
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    Answer { status, body }
}

/// POSTs `body` with a Content-Length.
pub(crate) async fn post(addr: SocketAddr, body: impl Into<Bytes>) -> Answer {
    let body = Full::new(body.into()).boxed();
    send(addr, hyper::Method::POST, "/", body).await
}

/// POSTs `chunks` chunked, with no Content-Length.
pub(crate) async fn post_chunked(addr: SocketAddr, chunks: Vec<Bytes>) -> Answer {
    let frames = futures::stream::iter(
        chunks
            .into_iter()
            .map(|chunk| Ok::<_, Infallible>(Frame::data(chunk))),
    );
    send(
        addr,
        hyper::Method::POST,
        "/",
        StreamBody::new(frames).boxed(),
    )
    .await
}

pub(crate) async fn get(addr: SocketAddr, path: &str) -> Answer {
    let body = Full::new(Bytes::new()).boxed();
    send(addr, hyper::Method::GET, path, body).await
}

/// Calls `method` and returns its result, failing on an error answer.
pub(crate) async fn call(
    addr: SocketAddr,
    method: &str,
    params: serde_json::Value,
) -> serde_json::Value {
    let request =
        serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let answer = post(addr, request.to_string()).await.json();
    match answer.get("result") {
        Some(result) => result.clone(),
        None => panic!("{method} failed: {answer}"),
    }
}
