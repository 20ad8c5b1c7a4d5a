//! DPoP proofs already used at the token endpoint ([RFC 9449 §11.1]): a
//! proof is single use across every node. The store keeps the SHA-256 of
//! the signing key's thumbprint and the proof's `jti`, until the proof's
//! `iat` window has passed (after which its `iat` refuses it anyway).
//!
//! [RFC 9449 §11.1]: https://www.rfc-editor.org/rfc/rfc9449#section-11.1

use aws_lc_rs::digest::{digest, SHA256};

use super::retry::{retried, Repeat};
use super::{Store, StoreError};

/// Used DPoP proofs.
pub trait DpopProofStore {
    /// Records the use of the proof `jti` signed by the key `jkt`, to be
    /// remembered until `expires_at`; whether it was its first use (one
    /// statement, so of two nodes seeing the same proof at once exactly one
    /// wins).
    fn use_dpop_proof(
        &self,
        jkt: &str,
        jti: &str,
        expires_at: i64,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
}

/// The key of a proof: SHA-256 of the thumbprint, a zero byte, and the
/// `jti` (a `jti` is chosen by the key's holder, so it is unique per key).
fn key(jkt: &str, jti: &str) -> Vec<u8> {
    let mut input = Vec::with_capacity(jkt.len() + jti.len() + 1);
    input.extend_from_slice(jkt.as_bytes());
    input.push(0);
    input.extend_from_slice(jti.as_bytes());
    digest(&SHA256, &input).as_ref().to_vec()
}

impl DpopProofStore for Store {
    async fn use_dpop_proof(&self, jkt: &str, jti: &str, expires_at: i64) -> Result<bool, StoreError> {
        let hash = key(jkt, jti);
        // `Repeat::Once`: a retry after a lost commit would see its own
        // row and call a first use a replay; refusing one good proof is the
        // safe side (the client makes a new one).
        retried!("DPoP proof", Repeat::Once, async {
            let done = sqlx::query(
                "INSERT INTO dpop_proofs (jti_hash, expires_at) VALUES ($1, $2) \
                 ON CONFLICT (jti_hash) DO NOTHING",
            )
            .bind(hash.clone())
            .bind(expires_at)
            .execute(self.pool())
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }
}
