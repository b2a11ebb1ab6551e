//! Checks the JSON-RPC envelope of every HTTP request and WebSocket message before jsonrpsee sees
//! it, so a malformed request gets a JSON-RPC error, as geth gives one.
//!
//! jsonrpsee alone answers some bad requests oddly: a request whose `id` is not a string, null or
//! an integer it can hold passes as a notification and gets the body `null` (no answer at all over
//! a WebSocket); a chunked body over the limit is an internal error (500); a subscription over HTTP
//! is -32603. This layer reads the body within the limit (413 past it, whether the size is
//! declared or not), answers a body that is not JSON with -32700 and a request that is not a
//! JSON-RPC request with -32600, answers subscriptions over HTTP with geth's -32601 "notifications
//! not supported", and hands the rest on. A batch is checked entry by entry: each bad entry gets
//! its own error beside the answers to the good ones. An error carries the request's `id` when
//! that id is itself valid, `null` otherwise. [`crate::layer`] puts each HTTP request through
//! [`check`], and [`crate::ws`] each WebSocket message.
use jsonrpsee::{
    server::{HttpBody, HttpRequest, HttpResponse},
    types::{
        ErrorObjectOwned, Id, Response, ResponsePayload, TwoPointZero,
        error::{INVALID_REQUEST_CODE, METHOD_NOT_FOUND_CODE, PARSE_ERROR_CODE},
    },
};
use serde::{Deserialize, Deserializer, de};
use serde_json::value::RawValue;
use std::{collections::HashSet, fmt, sync::Arc};
use tokio::sync::Semaphore;

/// What the check needs to know about the server.
#[derive(Debug)]
pub(crate) struct Rules {
    pub(crate) max_request_bytes: u32,
    pub(crate) max_batch_len: u32,
    /// Methods that only work over a WebSocket (subscribe and unsubscribe), from the module.
    pub(crate) subscriptions: HashSet<&'static str>,
    /// Requests being read or answered at once; jsonrpsee's own bound starts only after the body is
    /// read, so this keeps the reading bounded too.
    pub(crate) in_flight: Arc<Semaphore>,
}

impl Rules {
    pub(crate) fn new(limits: &crate::Limits, methods: &jsonrpsee::Methods) -> Self {
        use jsonrpsee::core::server::MethodCallback;
        let subscriptions = methods
            .method_names()
            .filter(|name| {
                matches!(
                    methods.method(name),
                    Some(MethodCallback::Subscription(_) | MethodCallback::Unsubscription(_))
                )
            })
            .collect();
        Self {
            max_request_bytes: limits.max_request_bytes,
            max_batch_len: limits.max_batch_len,
            subscriptions,
            in_flight: Arc::new(Semaphore::new(limits.max_connections as usize)),
        }
    }
}

/// Where a request came in: subscriptions need a WebSocket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Transport {
    Http,
    WebSocket,
}

/// What the check makes of one HTTP body or WebSocket message.
pub(crate) enum Checked<'a> {
    /// Answered here: with an error, or with nothing when it held only notifications (jsonrpsee
    /// runs none; over HTTP they are acknowledged with an empty body).
    Answer(Option<Box<RawValue>>),
    /// One call, for jsonrpsee to answer.
    Call(&'a RawValue),
    /// A batch with at least one call: each entry a call for jsonrpsee, or refused here.
    Batch(Vec<Result<&'a RawValue, Refused>>),
}

/// A request refused here, and why.
pub(crate) struct Refused {
    /// The request's own id when it is valid, null otherwise.
    pub(crate) id: Id<'static>,
    pub(crate) code: i32,
    message: String,
}

impl Refused {
    fn invalid(id: Id<'static>, why: &str) -> Self {
        Self {
            id,
            code: INVALID_REQUEST_CODE,
            message: format!("invalid request: {why}"),
        }
    }

    pub(crate) fn into_raw(self) -> Box<RawValue> {
        error(self.id, self.code, self.message)
    }
}

/// One request of the body, once checked.
enum Call<'a> {
    Call(&'a RawValue),
    Notification,
}

pub(crate) fn check<'a>(body: &'a [u8], rules: &Rules, transport: Transport) -> Checked<'a> {
    let parse_error = |e: &serde_json::Error| {
        let message = format!("parse error: {e}");
        Checked::Answer(Some(error(Id::Null, PARSE_ERROR_CODE, message)))
    };
    let invalid =
        |message: String| Checked::Answer(Some(error(Id::Null, INVALID_REQUEST_CODE, message)));
    let raw: &RawValue = match serde_json::from_slice(body) {
        Ok(raw) => raw,
        Err(e) => return parse_error(&e),
    };
    if !raw.get().starts_with('[') {
        return match check_call(raw, rules, transport) {
            Ok(Call::Call(call)) => Checked::Call(call),
            Ok(Call::Notification) => Checked::Answer(None),
            Err(refused) => Checked::Answer(Some(refused.into_raw())),
        };
    }
    let batch = match Batch::parse(raw.get(), rules.max_batch_len as usize) {
        Ok(batch) => batch,
        Err(e) => return parse_error(&e),
    };
    if batch.len == 0 {
        return invalid("empty batch".to_string());
    }
    if batch.len > rules.max_batch_len as usize {
        return invalid(format!(
            "batch too large: {} requests, at most {}",
            batch.len, rules.max_batch_len
        ));
    }
    let mut entries = Vec::with_capacity(batch.len);
    for entry in batch.entries {
        match check_call(entry, rules, transport) {
            Ok(Call::Call(call)) => entries.push(Ok(call)),
            Ok(Call::Notification) => {}
            Err(refused) => entries.push(Err(refused)),
        }
    }
    if entries.iter().any(Result::is_ok) {
        return Checked::Batch(entries);
    }
    let errors: Vec<_> = entries
        .into_iter()
        .filter_map(Result::err)
        .map(Refused::into_raw)
        .collect();
    Checked::Answer((!errors.is_empty()).then(|| to_raw(&errors)))
}

/// The fields of a request object that decide whether it is one; others are ignored, as geth does.
#[derive(Deserialize)]
struct Fields<'a> {
    #[serde(default, borrow, deserialize_with = "present")]
    jsonrpc: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    id: Option<&'a RawValue>,
    #[serde(default, borrow, deserialize_with = "present")]
    method: Option<&'a RawValue>,
}

/// Tells `"id": null` (a call) from no `id` at all (a notification).
fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(d).map(Some)
}

/// Checks one request object with jsonrpsee's own types for its id and version, so what passes
/// here parses as a call there.
fn check_call<'a>(
    raw: &'a RawValue,
    rules: &Rules,
    transport: Transport,
) -> Result<Call<'a>, Refused> {
    if !raw.get().starts_with('{') {
        return Err(Refused::invalid(Id::Null, "not a JSON object"));
    }
    let fields: Fields =
        serde_json::from_str(raw.get()).map_err(|e| Refused::invalid(Id::Null, &e.to_string()))?;
    let id = match fields.id {
        None => None,
        Some(id) => Some(
            serde_json::from_str::<Id>(id.get())
                .map(Id::into_owned)
                .map_err(|_| {
                    Refused::invalid(
                        Id::Null,
                        "id must be a string, null or an integer from 0 to 2^64-1",
                    )
                })?,
        ),
    };
    let echo = id.clone().unwrap_or(Id::Null);
    let version_ok = fields
        .jsonrpc
        .is_some_and(|v| serde_json::from_str::<TwoPointZero>(v.get()).is_ok());
    if !version_ok {
        return Err(Refused::invalid(echo, "jsonrpc must be \"2.0\""));
    }
    let method: String = match fields.method.map(|m| serde_json::from_str(m.get())) {
        Some(Ok(method)) => method,
        Some(Err(_)) => return Err(Refused::invalid(echo, "method must be a string")),
        None => return Err(Refused::invalid(echo, "no method")),
    };
    let Some(id) = id else {
        return Ok(Call::Notification);
    };
    if transport == Transport::Http && rules.subscriptions.contains(method.as_str()) {
        // geth's answer to a subscription over HTTP.
        return Err(Refused {
            id,
            code: METHOD_NOT_FOUND_CODE,
            message: format!("notifications not supported: {method} needs a WebSocket connection"),
        });
    }
    Ok(Call::Call(raw))
}

/// A batch's entries, up to a limit, and its length: entries past the limit are counted, not kept.
struct Batch<'a> {
    entries: Vec<&'a RawValue>,
    len: usize,
}

impl<'a> Batch<'a> {
    fn parse(json: &'a str, keep: usize) -> serde_json::Result<Self> {
        use de::DeserializeSeed as _;
        let mut deserializer = serde_json::Deserializer::from_str(json);
        let batch = Keep(keep).deserialize(&mut deserializer)?;
        deserializer.end()?;
        Ok(batch)
    }
}

/// Reads a batch, keeping at most this many entries.
struct Keep(usize);

impl<'de> de::DeserializeSeed<'de> for Keep {
    type Value = Batch<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Batch<'de>, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> de::Visitor<'de> for Keep {
    type Value = Batch<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a batch of requests")
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Batch<'de>, A::Error> {
        let mut batch = Batch {
            entries: Vec::new(),
            len: 0,
        };
        while batch.len < self.0 {
            match seq.next_element::<&RawValue>()? {
                Some(entry) => batch.entries.push(entry),
                None => return Ok(batch),
            }
            batch.len += 1;
        }
        while seq.next_element::<de::IgnoredAny>()?.is_some() {
            batch.len += 1;
        }
        Ok(batch)
    }
}

/// The error for a request of more than `max` bytes; `what` names it (a request body, a message).
pub(crate) fn too_large(what: &str, max: u32) -> Box<RawValue> {
    let message = format!("{what} too large: the limit is {max} bytes");
    error(Id::Null, INVALID_REQUEST_CODE, message)
}

/// A JSON-RPC error answer.
pub(crate) fn error(id: Id<'static>, code: i32, message: impl Into<String>) -> Box<RawValue> {
    let error = ErrorObjectOwned::owned(code, message.into(), None::<()>);
    to_raw(&Response::new(ResponsePayload::<()>::error(error), id))
}

/// Encodes answers and raw entries, which always encode: they hold no maps and no custom `Serialize`.
pub(crate) fn to_raw<T: serde::Serialize + ?Sized>(value: &T) -> Box<RawValue> {
    serde_json::value::to_raw_value(value).expect("JSON-RPC answers always encode")
}

/// Hands a checked request to jsonrpsee's service once it is ready.
pub(crate) async fn forward<S>(
    mut inner: S,
    request: HttpRequest<HttpBody>,
) -> Result<HttpResponse, S::Error>
where
    S: tower::Service<HttpRequest<HttpBody>, Response = HttpResponse>,
{
    std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
    inner.call(request).await
}
