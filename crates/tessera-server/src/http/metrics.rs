//! `/metrics` in the Prometheus text format: requests by route and status,
//! request latency histograms by route, and tokens issued by grant type.
//! Lock-free counters (atomics), so measuring costs no contention on the
//! hot path.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::AppState;
use crate::oauth::grant::GrantType;

/// The routes measured; anything else counts as `other`.
pub const ROUTES: [&str; 18] = [
    "/token",
    "/authorize",
    "/authorize/login",
    "/userinfo",
    "/logout",
    "/introspect",
    "/revoke",
    "/jwks",
    "/.well-known/openid-configuration",
    "/.well-known/oauth-authorization-server",
    "/api/v1/login",
    "/api/v1/logout",
    "/api/v1/refresh",
    "/api/v1/me",
    "/api/v1/users",
    "/healthz",
    "/readyz",
    "/metrics",
];
const OTHER: usize = ROUTES.len();
const STATUSES: [u16; 14] = [200, 201, 204, 303, 400, 401, 403, 404, 405, 413, 429, 500, 503, 0];
/// Histogram bucket upper bounds, in microseconds.
const BUCKETS_US: [u64; 11] = [
    250, 500, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000, 250_000, 1_000_000,
];
/// Grant types counted when a token is issued.
pub const GRANTS: [GrantType; 4] = GrantType::ALL;

struct Route {
    by_status: [AtomicU64; STATUSES.len()],
    buckets: [AtomicU64; BUCKETS_US.len()],
    count: AtomicU64,
    sum_us: AtomicU64,
}

impl Default for Route {
    fn default() -> Self {
        Route {
            by_status: std::array::from_fn(|_| AtomicU64::new(0)),
            buckets: std::array::from_fn(|_| AtomicU64::new(0)),
            count: AtomicU64::new(0),
            sum_us: AtomicU64::new(0),
        }
    }
}

/// The counters.
pub struct Metrics {
    routes: [Route; ROUTES.len() + 1],
    tokens: [AtomicU64; GRANTS.len()],
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics {
            routes: std::array::from_fn(|_| Route::default()),
            tokens: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    fn record(&self, route: usize, status: u16, micros: u64) {
        let Some(r) = self.routes.get(route) else { return };
        let s = STATUSES
            .iter()
            .position(|s| *s == status)
            .unwrap_or(STATUSES.len() - 1);
        if let Some(c) = r.by_status.get(s) {
            c.fetch_add(1, Ordering::Relaxed);
        }
        for (bound, bucket) in BUCKETS_US.iter().zip(&r.buckets) {
            if micros <= *bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        r.count.fetch_add(1, Ordering::Relaxed);
        r.sum_us.fetch_add(micros, Ordering::Relaxed);
    }

    /// Counts an issued token of this grant type.
    pub fn token_issued(&self, grant_type: GrantType) {
        if let Some(i) = GRANTS.iter().position(|g| *g == grant_type) {
            if let Some(c) = self.tokens.get(i) {
                c.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The Prometheus text exposition.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(8 * 1024);
        let name = |i: usize| ROUTES.get(i).copied().unwrap_or("other");
        out.push_str("# HELP tessera_http_requests_total HTTP requests by route and status.\n");
        out.push_str("# TYPE tessera_http_requests_total counter\n");
        for (i, r) in self.routes.iter().enumerate() {
            for (s, c) in STATUSES.iter().zip(&r.by_status) {
                let n = c.load(Ordering::Relaxed);
                if n > 0 {
                    let status = if *s == 0 {
                        "other".to_owned()
                    } else {
                        s.to_string()
                    };
                    let _ = writeln!(
                        out,
                        "tessera_http_requests_total{{route=\"{}\",status=\"{status}\"}} {n}",
                        name(i)
                    );
                }
            }
        }
        out.push_str("# HELP tessera_http_request_duration_seconds HTTP request latency by route.\n");
        out.push_str("# TYPE tessera_http_request_duration_seconds histogram\n");
        for (i, r) in self.routes.iter().enumerate() {
            let count = r.count.load(Ordering::Relaxed);
            if count == 0 {
                continue;
            }
            for (bound, b) in BUCKETS_US.iter().zip(&r.buckets) {
                let _ = writeln!(
                    out,
                    "tessera_http_request_duration_seconds_bucket{{route=\"{}\",le=\"{}\"}} {}",
                    name(i),
                    *bound as f64 / 1e6,
                    b.load(Ordering::Relaxed)
                );
            }
            let _ = writeln!(
                out,
                "tessera_http_request_duration_seconds_bucket{{route=\"{}\",le=\"+Inf\"}} {count}",
                name(i)
            );
            let sum = r.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(
                out,
                "tessera_http_request_duration_seconds_sum{{route=\"{}\"}} {sum}",
                name(i)
            );
            let _ = writeln!(
                out,
                "tessera_http_request_duration_seconds_count{{route=\"{}\"}} {count}",
                name(i)
            );
        }
        out.push_str("# HELP tessera_tokens_issued_total Access tokens issued by grant type.\n");
        out.push_str("# TYPE tessera_tokens_issued_total counter\n");
        for (g, c) in GRANTS.iter().zip(&self.tokens) {
            let _ = writeln!(
                out,
                "tessera_tokens_issued_total{{grant_type=\"{}\"}} {}",
                g.as_str(),
                c.load(Ordering::Relaxed)
            );
        }
        out
    }
}

/// Middleware: times every request and counts it by route and status.
pub async fn measure(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .and_then(|p| ROUTES.iter().position(|r| *r == p.as_str()))
        .unwrap_or(OTHER);
    let start = Instant::now();
    let response = next.run(request).await;
    let micros = u64::try_from(start.elapsed().as_micros()).unwrap_or(u64::MAX);
    state.metrics.record(route, response.status().as_u16(), micros);
    response
}

/// `GET /metrics`: the Prometheus text format, version 0.0.4.
pub async fn endpoint(State(state): State<Arc<AppState>>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(),
    )
}
