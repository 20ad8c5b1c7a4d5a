//! The [`ClientIp`] extractor: the client's address as
//! [`crate::client_addr::client_ip`] resolves it from the TCP peer and, for
//! trusted proxies only, the forwarding headers.

use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use super::AppState;
use crate::client_addr::client_ip;

/// The client's address; `None` when the connection has none (requests
/// made inside the process, as tests do with `oneshot`).
#[derive(Clone, Copy, Debug)]
pub struct ClientIp(pub Option<IpAddr>);

impl FromRequestParts<Arc<AppState>> for ClientIp {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, state: &Arc<AppState>) -> Result<ClientIp, Infallible> {
        let Some(ConnectInfo(peer)) = parts.extensions.get::<ConnectInfo<SocketAddr>>() else {
            return Ok(ClientIp(None));
        };
        if state.proxies.is_empty() {
            return Ok(ClientIp(Some(peer.ip())));
        }
        let values = |name: &str| -> Vec<&str> {
            parts
                .headers
                .get_all(name)
                .iter()
                .filter_map(|v| v.to_str().ok())
                .collect()
        };
        // Only the configured header is read: the others may be the
        // client's own, passed through by the proxy.
        let header = state.forwarded_header;
        let ip = client_ip(peer.ip(), header, &values(header.name()), &state.proxies);
        Ok(ClientIp(Some(ip)))
    }
}
