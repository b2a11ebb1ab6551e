//! The HTTP side of the server: a tower layer in front of jsonrpsee that reads each request body
//! within the limit, puts it through [`envelope::check`], and hands WebSocket upgrades to
//! [`crate::ws`].
use crate::envelope::{Checked, Rules, Transport, check, error, forward, to_raw, too_large};
use bytes::Bytes;
use http_body_util::{BodyExt, LengthLimitError, Limited};
use jsonrpsee::{
    core::BoxError,
    server::{HttpBody, HttpRequest, HttpResponse, http::response},
    types::{Id, error::PARSE_ERROR_CODE},
};
use serde_json::value::RawValue;
use std::{
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
};

/// Wraps jsonrpsee's HTTP service in [`Envelope`].
#[derive(Clone, Debug)]
pub(crate) struct EnvelopeLayer(pub(crate) Arc<Rules>);

impl<S> tower::Layer<S> for EnvelopeLayer {
    type Service = Envelope<S>;

    fn layer(&self, inner: S) -> Envelope<S> {
        Envelope {
            inner,
            rules: self.0.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Envelope<S> {
    inner: S,
    rules: Arc<Rules>,
}

impl<S, B> tower::Service<HttpRequest<B>> for Envelope<S>
where
    S: tower::Service<HttpRequest<HttpBody>, Response = HttpResponse> + Clone + Send + 'static,
    S::Error: Into<BoxError> + Send + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = HttpResponse;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest<B>) -> Self::Future {
        if jsonrpsee::server::ws::is_upgrade_request(&request) {
            let inner = self.inner.clone();
            return Box::pin(crate::ws::upgrade(inner, request, self.rules.clone()));
        }
        // Other HTTP methods and other content types are jsonrpsee's to answer.
        let is_rpc = request.method() == http::Method::POST
            && jsonrpsee::server::http::content_type_is_json(&request);
        if !is_rpc {
            return Box::pin(self.inner.call(request.map(HttpBody::new)));
        }
        // The service that was made ready is the one to call; leave a clone in its place.
        let clone = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, clone);
        let rules = self.rules.clone();
        Box::pin(async move {
            let Ok(_permit) = rules.in_flight.clone().try_acquire_owned() else {
                return Ok(response::too_many_requests());
            };
            let (parts, body) = request.into_parts();
            let body = match read_body(body, rules.max_request_bytes).await {
                Ok(body) => body,
                Err(answer) => return Ok(answer),
            };
            let (body, errors) = match check(&body, &rules, Transport::Http) {
                Checked::Answer(None) => return Ok(empty()),
                Checked::Answer(Some(error)) => return Ok(answer(http::StatusCode::OK, &error)),
                Checked::Call(call) => (call.get().to_string(), None),
                Checked::Batch(entries) => {
                    let (mut calls, mut errors) = (Vec::new(), Vec::new());
                    for entry in entries {
                        match entry {
                            Ok(call) => calls.push(call),
                            Err(refused) => errors.push(refused.into_raw()),
                        }
                    }
                    (to_raw(&calls).get().to_string(), Some(errors))
                }
            };
            let mut request = HttpRequest::from_parts(parts, HttpBody::from(body));
            let headers = request.headers_mut();
            headers.remove(http::header::TRANSFER_ENCODING);
            headers.remove(http::header::CONTENT_LENGTH);
            let answer = forward(inner, request).await?;
            Ok(match errors {
                None => answer,
                Some(errors) => merge_batch(answer, errors).await,
            })
        })
    }
}

/// Reads the whole body, at most `max` bytes however it is sent (with a Content-Length or chunked).
async fn read_body<B>(body: B, max: u32) -> Result<Bytes, HttpResponse>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let refuse = || {
        answer(
            http::StatusCode::PAYLOAD_TOO_LARGE,
            &too_large("request body", max),
        )
    };
    if http_body::Body::size_hint(&body).lower() > u64::from(max) {
        return Err(refuse());
    }
    match Limited::new(body, max as usize).collect().await {
        Ok(collected) => Ok(collected.to_bytes()),
        Err(e) if e.downcast_ref::<LengthLimitError>().is_some() => Err(refuse()),
        Err(e) => Err(answer(
            http::StatusCode::BAD_REQUEST,
            &error(
                Id::Null,
                PARSE_ERROR_CODE,
                format!("parse error: cannot read the request body: {e}"),
            ),
        )),
    }
}

/// Adds the errors for the entries left out to jsonrpsee's answer to the rest of a batch.
async fn merge_batch(answer: HttpResponse, mut errors: Vec<Box<RawValue>>) -> HttpResponse {
    if errors.is_empty() {
        return answer;
    }
    let (mut parts, body) = answer.into_parts();
    let body = match body.collect().await {
        Ok(body) => body.to_bytes(),
        Err(e) => {
            tracing::warn!(target: "rpc", error = %e, "cannot read a batch answer");
            return response::internal_error();
        }
    };
    let mut entries: Vec<Box<RawValue>> = match serde_json::from_slice::<&RawValue>(&body) {
        Ok(raw) if raw.get().starts_with('[') => {
            serde_json::from_str(raw.get()).unwrap_or_default()
        }
        // A batch-wide error (such as an answer too large) stands for the entries it covered.
        Ok(raw) => vec![raw.to_owned()],
        Err(_) => Vec::new(),
    };
    entries.append(&mut errors);
    parts.headers.remove(http::header::CONTENT_LENGTH);
    HttpResponse::from_parts(parts, HttpBody::from(to_raw(&entries).get().to_string()))
}

fn answer(status: http::StatusCode, body: &RawValue) -> HttpResponse {
    HttpResponse::builder()
        .status(status)
        .header(
            http::header::CONTENT_TYPE,
            "application/json; charset=utf-8",
        )
        .body(HttpBody::from(body.get().to_string()))
        .unwrap_or_else(|_| response::internal_error())
}

fn empty() -> HttpResponse {
    HttpResponse::new(HttpBody::empty())
}
