//! The one static file: the passkey script (`static/passkey.js`), served
//! under a name with its content hash (`/static/passkey-<hash>.js`), so a
//! browser may keep it forever (`immutable`) and a new build's script has
//! a new name. Only pages that offer passkeys name it, and only their CSP
//! allows `script-src 'self'` ([`crate::ui::content_security_policy`]).

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};

/// The script's text, built into the binary.
const PASSKEY_JS: &str = include_str!("../../static/passkey.js");

/// `/static/passkey-<first 16 hex digits of its SHA-256>.js`.
pub fn passkey_script_path() -> &'static str {
    static PATH: OnceLock<String> = OnceLock::new();
    PATH.get_or_init(|| {
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, PASSKEY_JS.as_bytes());
        let hex: String = digest
            .as_ref()
            .iter()
            .take(8)
            .map(|b| format!("{b:02x}"))
            .collect();
        format!("/static/passkey-{hex}.js")
    })
}

/// `GET /static/{name}`: the script under its current name; anything else
/// is 404.
pub(super) async fn get(Path(name): Path<String>) -> Response {
    if passkey_script_path().strip_prefix("/static/") != Some(name.as_str()) {
        return StatusCode::NOT_FOUND.into_response();
    }
    let mut response = PASSKEY_JS.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/javascript; charset=utf-8"),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    headers.insert("x-content-type-options", HeaderValue::from_static("nosniff"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_carries_the_hash() {
        let path = passkey_script_path();
        assert!(path.starts_with("/static/passkey-") && path.ends_with(".js"));
        assert_eq!(path.len(), "/static/passkey-.js".len() + 16);
    }
}
