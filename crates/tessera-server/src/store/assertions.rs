//! Client assertions already used ([RFC 7523 §3], item 7): a
//! `private_key_jwt` assertion is single use across every node. The store
//! keeps the SHA-256 of the client id and the assertion's `jti`, until the
//! assertion expires (after which its `exp` refuses it anyway).
//!
//! [RFC 7523 §3]: https://www.rfc-editor.org/rfc/rfc7523#section-3

use aws_lc_rs::digest::{digest, SHA256};

use super::retry::{retried, Repeat};
use super::{Store, StoreError};

/// Used client assertions.
pub trait AssertionStore {
    /// Records the use of `client_id`'s assertion `jti`, valid until
    /// `expires_at`; whether it was its first use (one statement, so of
    /// two nodes seeing the same assertion at once exactly one wins).
    fn use_client_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
}

/// The key of an assertion: SHA-256 of the client id, a zero byte, and the
/// `jti` (a `jti` is unique per issuer, RFC 7519 §4.1.7).
fn key(client_id: &str, jti: &str) -> Vec<u8> {
    let mut input = Vec::with_capacity(client_id.len() + jti.len() + 1);
    input.extend_from_slice(client_id.as_bytes());
    input.push(0);
    input.extend_from_slice(jti.as_bytes());
    digest(&SHA256, &input).as_ref().to_vec()
}

impl AssertionStore for Store {
    async fn use_client_assertion(
        &self,
        client_id: &str,
        jti: &str,
        expires_at: i64,
    ) -> Result<bool, StoreError> {
        let hash = key(client_id, jti);
        // `Repeat::Once`: a retry after a lost commit would see its own
        // row and call a first use a replay; refusing one good assertion
        // is the safe side.
        retried!("client assertion", Repeat::Once, async {
            let done = sqlx::query(
                "INSERT INTO client_assertions (jti_hash, client_id, expires_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (jti_hash) DO NOTHING",
            )
            .bind(hash.clone())
            .bind(client_id)
            .bind(expires_at)
            .execute(self.pool())
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }
}
