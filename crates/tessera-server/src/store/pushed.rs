//! Pushed authorization requests ([RFC 9126]): what a client pushed to
//! `/par`, under the SHA-256 of the `request_uri` it got back (never the
//! value itself), until it expires or the sign-in it started completes.
//!
//! [RFC 9126]: https://www.rfc-editor.org/rfc/rfc9126

use sqlx::Row;

use super::retry::{retried, Repeat};
use super::{Store, StoreError};

/// A pushed request as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PushedRequest {
    /// The client that pushed it.
    pub client_id: String,
    /// The checked request, as the protocol keeps it (opaque here).
    pub request: String,
    /// When its `request_uri` stops working.
    pub expires_at: i64,
}

/// Pushed authorization requests.
pub trait PushedRequestStore {
    /// Stores a pushed request under `uri_hash`.
    fn push_request(
        &self,
        uri_hash: &[u8],
        pushed: &PushedRequest,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// The unexpired, unused pushed request under `uri_hash`.
    fn pushed_request(
        &self,
        uri_hash: &[u8],
        now: i64,
    ) -> impl std::future::Future<Output = Result<Option<PushedRequest>, StoreError>> + Send;
    /// Uses it up (RFC 9126 §4: "one-time use"); whether it was still
    /// there, so of two sign-ins started from one `request_uri` one
    /// completes.
    fn use_pushed_request(
        &self,
        uri_hash: &[u8],
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
}

impl PushedRequestStore for Store {
    async fn push_request(&self, uri_hash: &[u8], p: &PushedRequest) -> Result<(), StoreError> {
        retried!("pushed request", Repeat::Once, async {
            sqlx::query("INSERT INTO pushed_requests (uri_hash, client_id, request, expires_at) VALUES ($1, $2, $3, $4)")
                .bind(uri_hash.to_vec())
                .bind(&p.client_id)
                .bind(&p.request)
                .bind(p.expires_at)
                .execute(self.pool())
                .await?;
            Ok(())
        })
    }

    async fn pushed_request(&self, uri_hash: &[u8], now: i64) -> Result<Option<PushedRequest>, StoreError> {
        let row = sqlx::query(
            "SELECT client_id, request, expires_at FROM pushed_requests WHERE uri_hash = $1 AND expires_at > $2",
        )
        .bind(uri_hash.to_vec())
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        let Some(row) = row else { return Ok(None) };
        let get = |e: sqlx::Error| StoreError::Corrupt(format!("pushed_requests: {e}"));
        Ok(Some(PushedRequest {
            client_id: row.try_get("client_id").map_err(get)?,
            request: row.try_get("request").map_err(get)?,
            expires_at: row.try_get("expires_at").map_err(get)?,
        }))
    }

    async fn use_pushed_request(&self, uri_hash: &[u8]) -> Result<bool, StoreError> {
        retried!("pushed request use", Repeat::Once, async {
            let done = sqlx::query("DELETE FROM pushed_requests WHERE uri_hash = $1")
                .bind(uri_hash.to_vec())
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }
}
