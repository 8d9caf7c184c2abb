//! The HTTP endpoints every replica serves: `/metrics`, `/healthz`,
//! `/readyz` and `/status`.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use spillway_controller::status::StatusBoard;
use spillway_controller::telemetry::Metrics;

#[derive(Clone)]
pub struct ServerState {
    pub metrics: Metrics,
    pub status: Arc<StatusBoard>,
}

pub fn router(state: ServerState) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/status", get(status))
        .with_state(state)
}

async fn metrics(State(s): State<ServerState>) -> Response {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        s.metrics.encode(),
    )
        .into_response()
}

async fn healthz() -> &'static str {
    "ok"
}

/// Ready once the configuration is loaded, the caches are synced and a leader is known.
async fn readyz(State(s): State<ServerState>) -> Response {
    match s.status.readiness() {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why).into_response(),
    }
}

async fn status(State(s): State<ServerState>) -> Response {
    axum::Json(s.status.to_json()).into_response()
}

/// Binds `addr` and serves until `shutdown`, with `extra` routes beside
/// the standard ones. Returns the bound address (port 0 picks one) and the
/// server task.
pub async fn serve(
    addr: SocketAddr,
    state: ServerState,
    extra: Router,
    shutdown: CancellationToken,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<std::io::Result<()>>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let app = router(state).merge(extra);
    let task = tokio::spawn(async move {
        axum::serve(listener, app)
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
            .await
    });
    Ok((bound, task))
}
