//! A JSON-RPC server over a fresh dev chain on an ephemeral port, and HTTP and WebSocket clients
//! that can send any bytes.
use bytes::Bytes;
use http_body_util::{BodyExt, Full, StreamBody, combinators::BoxBody};
use hyper::body::Frame;
use hyper_util::{client::legacy::Client, rt::TokioExecutor};
use soketto::{
    Incoming,
    base::{Codec, Header, OpCode},
    connection::{Builder, Mode},
    handshake::{Client as Handshake, ServerResponse},
};
use std::{convert::Infallible, net::SocketAddr, sync::Arc, time::Duration};
use tandem_execution::{BlockAttributes, Executor};
use tandem_mempool::Mempool;
use tandem_primitives::{Address, B256, genesis::chain_config};
use tandem_rpc::{Backend, Limits, NewBlock};
use tandem_state::LatestState;
use tandem_storage::Storage;
use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt as _};

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
        Backend::new(
            storage,
            Arc::new(tandem_mempool::Pool::new(pool, chain.layer)),
            chain,
            limits,
        ),
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

/// Commits an empty block on top of the last one, and returns it as subscribers would see it.
pub(crate) fn empty_block(backend: &Backend) -> NewBlock {
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
    let new = NewBlock {
        block: executed.block.clone(),
        receipts: executed.receipts.clone(),
    };
    backend.storage.commit(&executed.into_commit()).unwrap();
    new
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

/// How long a WebSocket test waits for a message before calling it missing.
const MESSAGE_WAIT: Duration = Duration::from_secs(10);

type Socket = Compat<TcpStream>;

/// A WebSocket client that sends any message, whole or in frames made by hand, and reads answers.
pub(crate) struct Ws {
    sender: soketto::Sender<Socket>,
    receiver: soketto::Receiver<Socket>,
}

impl Ws {
    pub(crate) async fn connect(addr: SocketAddr) -> Self {
        Self::connect_then(addr, &[]).await
    }

    /// Connects, then writes `raw` (frames made with [`frame`]) before anything else.
    pub(crate) async fn connect_then(addr: SocketAddr, raw: &[u8]) -> Self {
        match Self::try_connect_then(addr, raw).await {
            Ok(ws) => ws,
            Err(refused) => panic!("WebSocket handshake refused: {refused:?}"),
        }
    }

    /// Connects, or returns the server's refusal.
    pub(crate) async fn try_connect(addr: SocketAddr) -> Result<Self, ServerResponse> {
        Self::try_connect_then(addr, &[]).await
    }

    async fn try_connect_then(addr: SocketAddr, raw: &[u8]) -> Result<Self, ServerResponse> {
        use futures::AsyncWriteExt as _;
        let host = addr.to_string();
        let socket = TcpStream::connect(addr).await.unwrap().compat();
        let mut handshake = Handshake::new(socket, &host, "/");
        match handshake.handshake().await.unwrap() {
            ServerResponse::Accepted { .. } => {}
            refused => return Err(refused),
        }
        let buffer = handshake.take_buffer();
        let mut socket = handshake.into_inner();
        socket.write_all(raw).await.unwrap();
        socket.flush().await.unwrap();
        let mut builder = Builder::new(socket, Mode::Client);
        builder.set_buffer(buffer);
        let (sender, receiver) = builder.finish();
        Ok(Self { sender, receiver })
    }

    pub(crate) async fn send(&mut self, message: &str) {
        self.sender.send_text(message).await.unwrap();
        self.sender.flush().await.unwrap();
    }

    pub(crate) async fn send_binary(&mut self, message: &[u8]) {
        self.sender.send_binary(message).await.unwrap();
        self.sender.flush().await.unwrap();
    }

    /// The next message, or `None` once the server has closed the connection. Fails when nothing
    /// comes for [`MESSAGE_WAIT`].
    pub(crate) async fn next_raw(&mut self) -> Option<Vec<u8>> {
        let mut data = Vec::new();
        loop {
            let incoming = tokio::time::timeout(MESSAGE_WAIT, self.receiver.receive(&mut data))
                .await
                .unwrap_or_else(|_| panic!("no message within {MESSAGE_WAIT:?}"));
            match incoming {
                Ok(Incoming::Data(_)) => return Some(data),
                Ok(Incoming::Pong(_)) => {}
                Ok(Incoming::Closed(_)) | Err(_) => return None,
            }
        }
    }

    /// [`Ws::next_raw`], as JSON.
    pub(crate) async fn next(&mut self) -> Option<serde_json::Value> {
        let data = self.next_raw().await?;
        Some(serde_json::from_slice(&data).unwrap_or_else(|e| {
            panic!(
                "message is not JSON ({e}): {}",
                String::from_utf8_lossy(&data)
            )
        }))
    }

    /// Sends `message` and returns the next message, failing if the server closes instead.
    pub(crate) async fn request(&mut self, message: &str) -> serde_json::Value {
        self.send(message).await;
        self.next()
            .await
            .unwrap_or_else(|| panic!("connection closed after {message:.80}"))
    }

    /// Calls `eth_chainId`, failing unless it is answered.
    pub(crate) async fn assert_serves(&mut self) {
        let answer = self
            .request(r#"{"jsonrpc":"2.0","id":"check","method":"eth_chainId"}"#)
            .await;
        assert_eq!(
            answer,
            serde_json::json!({"jsonrpc": "2.0", "id": "check", "result": "0x384"})
        );
    }
}

/// One masked client frame of `payload`, the last of its message when `fin`.
pub(crate) fn frame(opcode: OpCode, fin: bool, payload: &[u8]) -> Vec<u8> {
    let mut header = Header::new(opcode);
    header
        .set_fin(fin)
        .set_masked(true)
        .set_mask(0x5eed_f00d)
        .set_payload_len(payload.len());
    let mut frame = Codec::default().encode_header(&header).to_vec();
    let mut payload = payload.to_vec();
    Codec::apply_mask(&header, &mut payload);
    frame.extend(payload);
    frame
}
