//! Ending what sign-ins obtained: a refresh family (with the access tokens
//! it issued), and everything of one user at once (their families and SSO
//! sessions), inside the caller's transaction.
//!
//! Its own file so that `refresh_tokens.rs` (a replay revokes a family),
//! `codes.rs` (a reused code revokes its grant) and `users.rs` (a
//! credential event ends the user's grants) share it without importing
//! each other (`tests/layers.rs` checks that store files import each other
//! without a cycle).

use sqlx::any::Any;
use sqlx::Transaction;

use super::StoreError;

/// Revokes a family inside `tx`: the family, its tokens, and the access
/// tokens they were issued with (kept in `revoked_tokens` until they would
/// have expired anyway).
pub(crate) async fn revoke_family(
    tx: &mut Transaction<'static, Any>,
    family_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    sqlx::query("UPDATE refresh_families SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(family_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query("UPDATE refresh_tokens SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL")
        .bind(now)
        .bind(family_id)
        .execute(&mut **tx)
        .await?;
    sqlx::query(
        "INSERT INTO revoked_tokens (jti, expires_at) \
         SELECT access_jti, access_expires_at FROM refresh_tokens \
         WHERE family_id = $1 AND access_jti IS NOT NULL AND access_expires_at > $2 \
         ON CONFLICT (jti) DO NOTHING",
    )
    .bind(family_id)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Revokes every family of `user_id` (and their access tokens), inside
/// `tx`.
pub(crate) async fn revoke_user_families(
    tx: &mut Transaction<'static, Any>,
    user_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    let families: Vec<String> = sqlx::query_scalar(
        "SELECT family_id FROM refresh_families WHERE user_id = $1 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .fetch_all(&mut **tx)
    .await?;
    for family in families {
        revoke_family(tx, &family, now).await?;
    }
    Ok(())
}

/// Revokes every family of the client `client_id` (and their access
/// tokens), inside `tx`: a deleted client's grants end with it.
pub(crate) async fn revoke_client_families(
    tx: &mut Transaction<'static, Any>,
    client_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    let families: Vec<String> = sqlx::query_scalar(
        "SELECT family_id FROM refresh_families WHERE client_id = $1 AND revoked_at IS NULL",
    )
    .bind(client_id)
    .fetch_all(&mut **tx)
    .await?;
    for family in families {
        revoke_family(tx, &family, now).await?;
    }
    Ok(())
}

/// Revokes every family the SSO session `sid` of `user_id` started
/// (offline ones included: the person ended that browser's sign-in, and
/// everything issued in it), inside `tx`; how many.
pub(crate) async fn revoke_session_families(
    tx: &mut Transaction<'static, Any>,
    user_id: &str,
    sid: &str,
    now: i64,
) -> Result<u64, StoreError> {
    let families: Vec<String> = sqlx::query_scalar(
        "SELECT family_id FROM refresh_families WHERE user_id = $1 AND sid = $2 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(sid)
    .fetch_all(&mut **tx)
    .await?;
    for family in &families {
        revoke_family(tx, family, now).await?;
    }
    Ok(families.len() as u64)
}

/// Revokes every family `user_id` holds at `client_id` (offline ones
/// included), inside `tx`: the user withdrew their consent to it.
pub(crate) async fn revoke_user_client_families(
    tx: &mut Transaction<'static, Any>,
    user_id: &str,
    client_id: &str,
    now: i64,
) -> Result<u64, StoreError> {
    let families: Vec<String> = sqlx::query_scalar(
        "SELECT family_id FROM refresh_families WHERE user_id = $1 AND client_id = $2 AND revoked_at IS NULL",
    )
    .bind(user_id)
    .bind(client_id)
    .fetch_all(&mut **tx)
    .await?;
    for family in &families {
        revoke_family(tx, family, now).await?;
    }
    Ok(families.len() as u64)
}

/// Ends everything a user's credentials obtained, inside `tx`: refresh
/// families (with the access tokens they issued) and SSO sessions
/// ([RFC 9700 §4.14.2]: refresh tokens are bound to the credentials that
/// obtained them).
///
/// [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
pub(crate) async fn end_user_grants(
    tx: &mut Transaction<'static, Any>,
    user_id: &str,
    now: i64,
) -> Result<(), StoreError> {
    end_user_grants_but(tx, user_id, None, now).await
}

/// [`end_user_grants`], but the SSO session whose `sid` is `keep` (if
/// given) stays: the one the user changed their credentials from.
pub(crate) async fn end_user_grants_but(
    tx: &mut Transaction<'static, Any>,
    user_id: &str,
    keep: Option<&str>,
    now: i64,
) -> Result<(), StoreError> {
    revoke_user_families(tx, user_id, now).await?;
    sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND sid <> $2")
        .bind(user_id)
        .bind(keep.unwrap_or(""))
        .execute(&mut **tx)
        .await?;
    Ok(())
}
