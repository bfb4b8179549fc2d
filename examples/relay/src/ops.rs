//! Endpoints for operators: `/healthz` (the process answers), `/readyz` (it can serve: the
//! store answers a query and no shutdown is under way) and `/metrics` (Prometheus text,
//! answered to loopback sources only: scrape from the host, or through its local agent).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::hub::Hub;

/// `/healthz`.
pub async fn healthz() -> &'static str {
    "ok"
}

/// `/readyz`.
pub async fn readyz(State(hub): State<Arc<Hub>>) -> Response {
    if hub.ready().await {
        (StatusCode::OK, "ready").into_response()
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready").into_response()
    }
}

/// `/metrics`.
pub async fn metrics(State(hub): State<Arc<Hub>>, ConnectInfo(source): ConnectInfo<SocketAddr>) -> Response {
    if !source.ip().is_loopback() {
        return (StatusCode::FORBIDDEN, "metrics are for the host only").into_response();
    }
    (
        [(
            header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        hub.metrics.render(),
    )
        .into_response()
}
