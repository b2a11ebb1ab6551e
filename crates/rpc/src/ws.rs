//! JSON-RPC over WebSocket, each message put through the envelope check that HTTP bodies get.
//!
//! jsonrpsee reads WebSocket messages itself and offers no hook before it parses them: its RPC
//! middleware sees only what already parsed as a call, a notification or a batch, and by then a
//! request whose `id` is malformed has become a notification that gets no answer. So the server
//! takes the upgrade itself. It reads the client's messages frame by frame, checks each with
//! [`envelope::check`], answers what the check answers, and relays the rest to jsonrpsee over an
//! in-memory WebSocket connection, which jsonrpsee serves like any other: with its connection and
//! subscription limits, its subscriptions and its shutdown.
//!
//! A message over the request limit is read past, frame by frame, and answered with -32600; the
//! connection goes on.
use crate::envelope::{self, Checked, Refused, Rules, Transport, forward};
use bytes::{Buf as _, BytesMut};
use hyper::upgrade::Upgraded;
use hyper_util::rt::TokioIo;
use jsonrpsee::{
    core::BoxError,
    server::{HttpBody, HttpRequest, HttpResponse, http::response},
    types::{Id, error::INVALID_REQUEST_CODE},
};
use serde_json::value::RawValue;
use soketto::{
    Parsing,
    base::{Codec, Header, OpCode},
    connection::Mode,
};
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt as _, AsyncWrite, AsyncWriteExt as _};
use tokio_util::compat::TokioAsyncReadCompatExt as _;

/// Bytes buffered each way between the relay and jsonrpsee.
const LOOPBACK_BUFFER_BYTES: usize = 64 * 1024;

/// Most bytes read from a client at once.
const READ_CHUNK_BYTES: usize = 64 * 1024;

/// Close code of a normal closure (RFC 6455, 7.4.1).
const NORMAL_CLOSURE: u16 = 1000;

#[derive(Debug, thiserror::Error)]
enum Error {
    #[error("client connection: {0}")]
    Client(#[from] std::io::Error),
    #[error("client frame: {0}")]
    Frame(#[from] soketto::base::Error),
    #[error("client frame {0} out of order")]
    UnexpectedOpCode(OpCode),
    #[error("jsonrpsee connection: {0}")]
    Jsonrpsee(#[from] soketto::connection::Error),
}

/// Answers a WebSocket upgrade request. The request goes on to jsonrpsee (`inner`) over an
/// in-memory HTTP connection, and jsonrpsee's answer, an upgrade or a refusal, comes back to the
/// client. Once both connections are upgraded, the relay runs until either side closes.
pub(crate) async fn upgrade<S, B>(
    inner: S,
    mut request: HttpRequest<B>,
    rules: Arc<Rules>,
) -> Result<HttpResponse, S::Error>
where
    S: tower::Service<HttpRequest<HttpBody>, Response = HttpResponse> + Clone + Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
    S::Future: Send + 'static,
{
    let client = hyper::upgrade::on(&mut request);
    let (parts, _) = request.into_parts();
    let (ours, theirs) = tokio::io::duplex(LOOPBACK_BUFFER_BYTES);
    let service = hyper::service::service_fn(move |request: HttpRequest<hyper::body::Incoming>| {
        forward(inner.clone(), request.map(HttpBody::new))
    });
    let serve = hyper::server::conn::http1::Builder::new()
        .serve_connection(TokioIo::new(theirs), service)
        .with_upgrades();
    tokio::spawn(async move {
        if let Err(e) = serve.await {
            tracing::debug!(target: "rpc::ws", error = %e, "loopback connection failed");
        }
    });
    let answer = async move {
        let (mut sender, connection) =
            hyper::client::conn::http1::handshake::<_, HttpBody>(TokioIo::new(ours)).await?;
        tokio::spawn(async move {
            if let Err(e) = connection.with_upgrades().await {
                tracing::debug!(target: "rpc::ws", error = %e, "loopback connection failed");
            }
        });
        sender
            .send_request(HttpRequest::from_parts(parts, HttpBody::empty()))
            .await
    };
    let mut answer = match answer.await {
        Ok(answer) => answer,
        Err(e) => {
            tracing::warn!(target: "rpc::ws", error = %e, "cannot pass a WebSocket upgrade on");
            return Ok(response::internal_error());
        }
    };
    if answer.status() == http::StatusCode::SWITCHING_PROTOCOLS {
        let server = hyper::upgrade::on(&mut answer);
        tokio::spawn(async move {
            match tokio::try_join!(client, server) {
                Ok((client, server)) => relay(client, server, &rules).await,
                Err(e) => tracing::debug!(target: "rpc::ws", error = %e, "upgrade failed"),
            }
        });
    }
    Ok(answer.map(HttpBody::new))
}

/// Relays between a client and jsonrpsee until either closes, checking each client message first.
async fn relay(client: Upgraded, server: Upgraded, rules: &Rules) {
    let (reader, writer) = tokio::io::split(TokioIo::new(client));
    let mut messages = Messages::new(reader, rules.max_request_bytes as usize);
    let client = tokio::sync::Mutex::new(Writer::new(writer));
    let mut builder =
        soketto::connection::Builder::new(TokioIo::new(server).compat(), Mode::Client);
    // jsonrpsee bounds its own answers.
    builder.set_max_message_size(usize::MAX);
    builder.set_max_frame_size(usize::MAX);
    let (mut to_server, mut from_server) = builder.finish();

    let upstream = async {
        loop {
            let message = match messages.next().await? {
                Message::Data(data) => data,
                Message::TooLarge => {
                    let error = envelope::too_large("message", rules.max_request_bytes);
                    client.lock().await.text(error.get()).await?;
                    continue;
                }
                Message::Ping(data) => {
                    client.lock().await.send(OpCode::Pong, &data).await?;
                    continue;
                }
                Message::Close => return Ok(()),
            };
            let call = match envelope::check(&message, rules, Transport::WebSocket) {
                Checked::Answer(None) => continue,
                Checked::Answer(Some(error)) => {
                    client.lock().await.text(error.get()).await?;
                    continue;
                }
                Checked::Call(call) => call.get().to_string(),
                Checked::Batch(entries) => {
                    let entries: Vec<_> = entries.into_iter().map(Entry::from).collect();
                    envelope::to_raw(&entries).get().to_string()
                }
            };
            to_server.send_text_owned(call).await?;
            to_server.flush().await?;
        }
    };
    let downstream = async {
        let mut data = Vec::new();
        loop {
            data.clear();
            match from_server.receive(&mut data).await? {
                soketto::Incoming::Data(_) => client.lock().await.send(OpCode::Text, &data).await?,
                soketto::Incoming::Pong(_) => {}
                soketto::Incoming::Closed(_) => return Ok::<_, Error>(()),
            }
        }
    };
    let ended: Result<(), Error> = tokio::select! {
        ended = upstream => ended,
        ended = downstream => ended,
    };
    if let Err(e) = ended {
        tracing::debug!(target: "rpc::ws", error = %e, "WebSocket connection ended");
    }
    let _ = to_server.close().await;
    let _ = client.lock().await.close().await;
}

/// An entry of a batch passed to jsonrpsee. A refused entry becomes an object with only the
/// refused request's id, which jsonrpsee answers in place with -32600 "Invalid request" for that
/// id. This keeps a batch one message each way, with no answers to match up afterwards; the cost
/// is jsonrpsee's shorter message. Over a WebSocket the check refuses nothing but invalid requests
/// (subscriptions are allowed), so the code is the check's own.
#[derive(serde::Serialize)]
#[serde(untagged)]
enum Entry<'a> {
    Call(&'a RawValue),
    Refused { id: Id<'static> },
}

impl<'a> From<Result<&'a RawValue, Refused>> for Entry<'a> {
    fn from(entry: Result<&'a RawValue, Refused>) -> Self {
        match entry {
            Ok(call) => Self::Call(call),
            Err(refused) => {
                debug_assert_eq!(refused.code, INVALID_REQUEST_CODE);
                Self::Refused { id: refused.id }
            }
        }
    }
}

/// A whole message from the client, or what stands between messages.
enum Message {
    Data(Vec<u8>),
    /// A message over the limit, read past.
    TooLarge,
    Ping(BytesMut),
    Close,
}

/// The message being put together from its frames.
enum Partial {
    Within(Vec<u8>),
    /// Over the limit: its frames are read past.
    Over,
}

/// A client's messages, read frame by frame with soketto's codec.
///
/// soketto's own receiver, past its message limit, skips the length of the whole message from
/// the frame it is in, so a message over the limit sent in several frames leaves it waiting for
/// bytes that never come (soketto 0.8.1, `Receiver::receive`). This reader skips exactly the rest
/// of such a message and goes on to the next.
struct Messages<R> {
    io: R,
    codec: Codec,
    /// Read and not yet used.
    buffer: BytesMut,
    max_bytes: usize,
    partial: Option<Partial>,
}

impl<R: AsyncRead + Unpin> Messages<R> {
    fn new(io: R, max_bytes: usize) -> Self {
        let mut codec = Codec::new();
        // Frames over the limit are read past, whatever their size.
        codec.set_max_data_size(usize::MAX);
        Self {
            io,
            codec,
            buffer: BytesMut::new(),
            max_bytes,
            partial: None,
        }
    }

    async fn next(&mut self) -> Result<Message, Error> {
        loop {
            let header = self.header().await?;
            let len = header.payload_len();
            match (header.opcode(), &self.partial) {
                (OpCode::Ping, _) => return Ok(Message::Ping(self.payload(&header).await?)),
                (OpCode::Pong, _) => {
                    self.skip(len).await?;
                    continue;
                }
                (OpCode::Close, _) => return Ok(Message::Close),
                (OpCode::Text | OpCode::Binary, None) => {
                    self.partial = Some(Partial::Within(Vec::new()));
                }
                (OpCode::Continue, Some(_)) => {}
                (opcode, _) => return Err(Error::UnexpectedOpCode(opcode)),
            }
            let within = match &self.partial {
                Some(Partial::Within(data)) => data.len().saturating_add(len) <= self.max_bytes,
                _ => false,
            };
            if within {
                let payload = self.payload(&header).await?;
                if let Some(Partial::Within(data)) = &mut self.partial {
                    data.extend_from_slice(&payload);
                }
            } else {
                self.skip(len).await?;
                self.partial = Some(Partial::Over);
            }
            if header.is_fin() {
                return Ok(match self.partial.take() {
                    Some(Partial::Within(data)) => Message::Data(data),
                    _ => Message::TooLarge,
                });
            }
        }
    }

    async fn header(&mut self) -> Result<Header, Error> {
        loop {
            match self.codec.decode_header(&self.buffer)? {
                Parsing::Done { value, offset } => {
                    self.buffer.advance(offset);
                    return Ok(value);
                }
                Parsing::NeedMore(more) => self.fill(more).await?,
            }
        }
    }

    async fn payload(&mut self, header: &Header) -> Result<BytesMut, Error> {
        let len = header.payload_len();
        while self.buffer.len() < len {
            self.fill(len - self.buffer.len()).await?;
        }
        let mut payload = self.buffer.split_to(len);
        Codec::apply_mask(header, &mut payload);
        Ok(payload)
    }

    async fn skip(&mut self, mut len: usize) -> Result<(), Error> {
        loop {
            let buffered = len.min(self.buffer.len());
            self.buffer.advance(buffered);
            len -= buffered;
            if len == 0 {
                return Ok(());
            }
            self.fill(len).await?;
        }
    }

    /// Reads at least one more byte, up to `wanted` or a chunk.
    async fn fill(&mut self, wanted: usize) -> Result<(), Error> {
        self.buffer.reserve(wanted.min(READ_CHUNK_BYTES));
        if self.io.read_buf(&mut self.buffer).await? == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::UnexpectedEof).into());
        }
        Ok(())
    }
}

/// Frames to the client, unmasked, as a server sends them.
struct Writer<W> {
    io: tokio::io::BufWriter<W>,
    codec: Codec,
}

impl<W: AsyncWrite + Unpin> Writer<W> {
    fn new(io: W) -> Self {
        Self {
            io: tokio::io::BufWriter::new(io),
            codec: Codec::new(),
        }
    }

    async fn text(&mut self, text: &str) -> Result<(), Error> {
        self.send(OpCode::Text, text.as_bytes()).await
    }

    async fn send(&mut self, opcode: OpCode, payload: &[u8]) -> Result<(), Error> {
        let mut header = Header::new(opcode);
        header.set_payload_len(payload.len());
        self.io.write_all(self.codec.encode_header(&header)).await?;
        self.io.write_all(payload).await?;
        self.io.flush().await?;
        Ok(())
    }

    async fn close(&mut self) -> Result<(), Error> {
        self.send(OpCode::Close, &NORMAL_CLOSURE.to_be_bytes())
            .await?;
        self.io.shutdown().await?;
        Ok(())
    }
}
