//! `GET /health` and `GET /metrics` (Prometheus) on the JSON-RPC port.
use crate::Backend;
use jsonrpsee::server::{HttpBody, HttpRequest, HttpResponse};
use parking_lot::Mutex;
use std::{
    fmt::Write as _,
    future::Future,
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

/// Extra Prometheus text to append to `/metrics`, such as the consensus runtime's own metrics.
pub type ExtraMetrics = Arc<dyn Fn() -> String + Send + Sync>;

/// What `/health` and `/metrics` report on besides storage and the pool.
pub struct Health {
    started: Instant,
    last_commit: Mutex<Option<(Instant, Option<Duration>)>>,
    /// Unhealthy when no block committed for this long while blocks are due.
    pub stall_after: Duration,
    /// Blocks are due even with an empty pool (interval or empty-block production).
    pub blocks_when_idle: bool,
    pub extra_metrics: Option<ExtraMetrics>,
}

impl std::fmt::Debug for Health {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Health")
            .field("stall_after", &self.stall_after)
            .finish_non_exhaustive()
    }
}

impl Default for Health {
    fn default() -> Self {
        Self {
            started: Instant::now(),
            last_commit: Mutex::default(),
            stall_after: Duration::from_secs(10),
            blocks_when_idle: false,
            extra_metrics: None,
        }
    }
}

impl Health {
    pub fn new(
        stall_after: Duration,
        blocks_when_idle: bool,
        extra_metrics: Option<ExtraMetrics>,
    ) -> Self {
        Self {
            stall_after,
            blocks_when_idle,
            extra_metrics,
            ..Self::default()
        }
    }

    /// Records that a block just committed.
    pub fn record_commit(&self) {
        let now = Instant::now();
        let mut last = self.last_commit.lock();
        let interval = last.map(|(at, _)| now.duration_since(at));
        *last = Some((now, interval));
    }

    fn since_commit(&self) -> Duration {
        self.last_commit
            .lock()
            .map_or(self.started, |(at, _)| at)
            .elapsed()
    }

    fn last_interval(&self) -> Option<Duration> {
        self.last_commit.lock().and_then(|(_, interval)| interval)
    }
}

fn text(status: u16, content_type: &str, body: String) -> HttpResponse {
    HttpResponse::builder()
        .status(status)
        .header("content-type", content_type)
        .body(HttpBody::from(body))
        .expect("static response parts are valid")
}

/// The newest committed block; 0 before genesis or if storage cannot be read.
fn committed_height(backend: &Backend) -> u64 {
    backend
        .storage
        .read()
        .ok()
        .and_then(|r| r.last_height())
        .unwrap_or_default()
}

fn health(backend: &Backend) -> HttpResponse {
    let height = committed_height(backend);
    let (pending, queued) = backend.pool.lock().counts();
    let since = backend.health.since_commit();
    let due = backend.health.blocks_when_idle || pending > 0;
    let stalled = due && since > backend.health.stall_after;
    let body = serde_json::json!({
        "status": if stalled { "stalled" } else { "ok" },
        "height": height,
        "secondsSinceLastBlock": since.as_secs_f64(),
        "pendingTransactions": pending,
        "queuedTransactions": queued,
    });
    text(
        if stalled { 503 } else { 200 },
        "application/json",
        body.to_string(),
    )
}

fn metrics(backend: &Backend) -> HttpResponse {
    let reader = backend.storage.read().ok();
    let height = reader
        .as_ref()
        .and_then(|r| r.last_height())
        .unwrap_or_default();
    // On L1 every committed block is final; a rollup node's finalized head trails its head.
    let finalized = reader
        .as_ref()
        .and_then(|r| r.finalized_height())
        .unwrap_or_default();
    drop(reader);
    let (pending, queued, bytes) = {
        let pool = backend.pool.lock();
        let (pending, queued) = pool.counts();
        (pending, queued, pool.bytes())
    };
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, value: f64| {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    };
    gauge(
        "tandem_height",
        "Number of the newest committed block.",
        height as f64,
    );
    gauge(
        "tandem_finalized_height",
        "Number of the newest finalized block this node holds.",
        finalized as f64,
    );
    gauge(
        "tandem_peers",
        "Connected p2p peers (0 on nodes without consensus).",
        backend.network.peer_count() as f64,
    );
    if let Some(highest) = backend.network.highest_finalized() {
        gauge(
            "tandem_highest_finalized_height",
            "Newest finalized block this node has heard of from consensus.",
            highest as f64,
        );
    }
    gauge(
        "tandem_mempool_pending",
        "Executable transactions in the pool.",
        pending as f64,
    );
    gauge(
        "tandem_mempool_queued",
        "Transactions in the pool waiting for a missing nonce.",
        queued as f64,
    );
    gauge(
        "tandem_mempool_bytes",
        "Encoded bytes of pooled transactions.",
        bytes as f64,
    );
    gauge(
        "tandem_seconds_since_last_block",
        "Time since the newest block committed.",
        backend.health.since_commit().as_secs_f64(),
    );
    if let Some(interval) = backend.health.last_interval() {
        gauge(
            "tandem_block_interval_seconds",
            "Time between the last two committed blocks.",
            interval.as_secs_f64(),
        );
    }
    if let Some(extra) = &backend.health.extra_metrics {
        out.push_str(&extra());
    }
    text(200, "text/plain; version=0.0.4", out)
}

/// Answers the probe paths itself and passes everything else to JSON-RPC.
#[derive(Clone, Debug)]
pub(crate) struct ProbesLayer {
    pub(crate) backend: Backend,
}

impl<S> tower::Layer<S> for ProbesLayer {
    type Service = Probes<S>;

    fn layer(&self, inner: S) -> Probes<S> {
        Probes {
            inner,
            backend: self.backend.clone(),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) struct Probes<S> {
    inner: S,
    backend: Backend,
}

impl<S, B> tower::Service<HttpRequest<B>> for Probes<S>
where
    S: tower::Service<HttpRequest<B>, Response = HttpResponse>,
    S::Error: Send + 'static,
    S::Future: Send + 'static,
{
    type Response = HttpResponse;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: HttpRequest<B>) -> Self::Future {
        if request.method() == http::Method::GET {
            match request.uri().path() {
                "/health" => return Box::pin(std::future::ready(Ok(health(&self.backend)))),
                "/metrics" => return Box::pin(std::future::ready(Ok(metrics(&self.backend)))),
                _ => {}
            }
        }
        Box::pin(self.inner.call(request))
    }
}
