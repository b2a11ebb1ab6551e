//! The tandem explorer: a web page over the public JSON-RPC of both layers. Server-rendered HTML
//! (askama templates, escaped by default) with one small script that follows new blocks over
//! WebSocket. Everything a node answers is untrusted: strings from logs, calldata and token names
//! are escaped, no script is built from data, and a malformed answer gives an error page.
pub mod abi;
pub mod calls;
pub mod decode;
mod messages;
pub mod rollup;
pub mod rpc;

mod pages;

use axum::{
    Router,
    extract::{Path, Query, State},
    http::{StatusCode, header},
    response::{Html, IntoResponse, Redirect, Response},
    routing::get,
};
use rpc::Node;
use std::{net::SocketAddr, sync::Arc};

/// Where the explorer reads and listens.
#[derive(Debug, Clone)]
pub struct ExplorerConfig {
    pub l1_rpc: String,
    /// Without an L2, the rollup and bridge pages say so.
    pub l2_rpc: Option<String>,
    pub listen: SocketAddr,
}

pub(crate) struct App {
    pub(crate) l1: Node,
    pub(crate) l2: Option<Node>,
    pub(crate) batches: tokio::sync::Mutex<rollup::BatchIndex>,
    /// L2's chain id, asked once.
    pub(crate) l2_chain_id: std::sync::OnceLock<u64>,
}

/// A running explorer.
pub struct ExplorerHandle {
    pub addr: SocketAddr,
    stop: tokio::sync::oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl std::fmt::Debug for ExplorerHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExplorerHandle")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl ExplorerHandle {
    pub async fn shutdown(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ExplorerError {
    #[error(transparent)]
    Rpc(#[from] rpc::RpcError),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// Starts the explorer; it serves until the handle shuts it down.
pub async fn serve(config: ExplorerConfig) -> Result<ExplorerHandle, ExplorerError> {
    let app = Arc::new(App {
        l1: Node::new("L1", &config.l1_rpc)?,
        l2: config
            .l2_rpc
            .as_deref()
            .map(|url| Node::new("L2", url))
            .transpose()?,
        batches: Default::default(),
        l2_chain_id: Default::default(),
    });
    let listener = tokio::net::TcpListener::bind(config.listen)
        .await
        .map_err(|source| ExplorerError::Listen {
            addr: config.listen,
            source,
        })?;
    let addr = listener
        .local_addr()
        .map_err(|source| ExplorerError::Listen {
            addr: config.listen,
            source,
        })?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let router = router(app);
    let task = tokio::spawn(async move {
        let served = axum::serve(listener, router)
            .with_graceful_shutdown(async {
                let _ = stopped.await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(target: "explorer", error = %e, "the explorer stopped");
        }
    });
    Ok(ExplorerHandle { addr, stop, task })
}

fn router(app: Arc<App>) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/{layer}/block/{id}", get(block))
        .route("/{layer}/tx/{hash}", get(transaction))
        .route("/address/{address}", get(address))
        .route("/rollup", get(rollup_page))
        .route("/rollup/batch/{sequence}", get(batch))
        .route("/bridge", get(bridge))
        .route("/search", get(search))
        .route("/static/live.js", get(live_js))
        .route("/static/style.css", get(style_css))
        .fallback(not_found)
        .with_state(app)
}

/// Why a page could not be shown.
#[derive(Debug)]
pub(crate) enum PageError {
    NotFound(String),
    Upstream(String),
}

impl From<rpc::RpcError> for PageError {
    fn from(e: rpc::RpcError) -> Self {
        Self::Upstream(e.to_string())
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let (status, title, message) = match self {
            Self::NotFound(message) => (StatusCode::NOT_FOUND, "Not found", message),
            Self::Upstream(message) => (
                StatusCode::BAD_GATEWAY,
                "The node did not answer as expected",
                message,
            ),
        };
        (status, render(&pages::Message::new(title, message))).into_response()
    }
}

/// Renders a template; a template that fails is an error page, never a panic.
pub(crate) fn render<T: askama::Template>(page: &T) -> Html<String> {
    Html(page.render().unwrap_or_else(|e| {
        let text = e
            .to_string()
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;");
        format!("<!doctype html><title>error</title><p>cannot render this page: {text}</p>")
    }))
}

type PageResult = Result<Html<String>, PageError>;

async fn home(State(app): State<Arc<App>>) -> PageResult {
    pages::home(&app).await
}

async fn block(
    State(app): State<Arc<App>>,
    Path((layer, id)): Path<(String, String)>,
) -> PageResult {
    pages::block(&app, &layer, &id).await
}

async fn transaction(
    State(app): State<Arc<App>>,
    Path((layer, hash)): Path<(String, String)>,
) -> PageResult {
    pages::transaction(&app, &layer, &hash).await
}

async fn address(State(app): State<Arc<App>>, Path(address): Path<String>) -> PageResult {
    pages::address(&app, &address).await
}

async fn rollup_page(State(app): State<Arc<App>>) -> PageResult {
    pages::rollup(&app).await
}

async fn batch(State(app): State<Arc<App>>, Path(sequence): Path<String>) -> PageResult {
    pages::batch(&app, &sequence).await
}

async fn bridge(State(app): State<Arc<App>>) -> PageResult {
    pages::bridge(&app).await
}

#[derive(Debug, serde::Deserialize)]
struct SearchQuery {
    #[serde(default)]
    q: String,
}

async fn search(State(app): State<Arc<App>>, Query(query): Query<SearchQuery>) -> Response {
    match pages::search(&app, &query.q).await {
        Ok(target) => Redirect::to(&target).into_response(),
        Err(e) => e.into_response(),
    }
}

async fn not_found() -> PageError {
    PageError::NotFound("There is no such page.".into())
}

async fn live_js() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../static/live.js"),
    )
}

async fn style_css() -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../static/style.css"),
    )
}
