//! The resource owner password credentials grant ([RFC 6749 §4.3]), for
//! first-party apps only: a client must be registered for it explicitly.
//! Checks in the order of §4.3.2:
//!
//! 1. `grant_type` is `password` (dispatched by the caller).
//! 2. `username` and `password` are required.
//! 3. "require client authentication for confidential clients": done by
//!    the caller; public clients are identified by `client_id`.
//! 4. The client is registered for this grant type.
//! 5. `scope` within the client's scopes.
//! 6. "validate the resource owner password credentials using its existing
//!    password validation algorithm": argon2id on the blocking pool; an
//!    unknown user costs the same as a wrong password; a locked account is
//!    refused; five failures in a row lock it for five minutes
//!    ("the authorization server MUST protect the endpoint against
//!    brute force attacks").
//! 7. Issue an access token and, if the client may refresh, a refresh
//!    token in a new family.
//!
//! [RFC 6749 §4.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3

use std::time::Duration;

use zeroize::Zeroizing;

use crate::oauth::access_token::TokenResponse;
use crate::oauth::throttle::Verdict;
use crate::oauth::user_tokens::{self, Issue};
use crate::oauth::{scope, AuthenticatedClient, OAuthError, Params};
use crate::password;
use crate::store::{RefreshTokenStore, UserStore};

/// The grant type this module serves.
pub const GRANT_TYPE: &str = "password";
/// Consecutive failures that lock an account.
pub const LOCK_THRESHOLD: i64 = 5;
/// How long a lock lasts, in seconds.
pub const LOCK_SECONDS: i64 = 300;
/// Added to every failed attempt, so guessing is slow even before a lock.
pub const FAILURE_DELAY: Duration = Duration::from_millis(300);

/// Handles a password grant request.
pub async fn handle<S: UserStore + RefreshTokenStore>(
    store: &S,
    ctx: &Issue<'_>,
    client: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    // 2.
    let username = params.require("username")?;
    let password = Zeroizing::new(params.require("password")?.to_owned());
    let client = client.client();
    // 4.
    if !client.grant_types.iter().any(|g| g == GRANT_TYPE) {
        return Err(OAuthError::GrantNotAllowed(GRANT_TYPE.into()));
    }
    // 5.
    let granted = scope::grant(params.get("scope"), &client.scopes)?;
    // 6. Per address first (slow down or refuse), then per user.
    match ctx.throttle.check(ctx.peer, ctx.now) {
        Verdict::Refuse => {
            tracing::warn!(target: "audit", peer = ?ctx.peer, "login refused: too many failures from this address");
            return Err(OAuthError::AccountLocked);
        }
        Verdict::Wait(delay) if !delay.is_zero() => tokio::time::sleep(delay).await,
        Verdict::Wait(_) => {}
    }
    let user = store.user_by_username(username).await?;
    if let Some(until) = user
        .as_ref()
        .and_then(|u| u.locked_until)
        .filter(|t| *t > ctx.now)
    {
        tokio::time::sleep(FAILURE_DELAY).await;
        tracing::info!(target: "audit", username, client_id = %client.id, locked_until = until, "login refused: account locked");
        return Err(OAuthError::AccountLocked);
    }
    let ok = password::verify(password, user.as_ref().map(|u| u.password_hash.clone()))
        .await
        .map_err(|e| OAuthError::Internal(e.to_string()))?;
    let user = match user {
        Some(user) if ok => Some(user),
        Some(user) => {
            store
                .record_failed_login(&user.id, LOCK_THRESHOLD, ctx.now + LOCK_SECONDS)
                .await?;
            None
        }
        None => None,
    };
    let Some(user) = user else {
        ctx.throttle.failed(ctx.peer, ctx.now);
        tracing::info!(target: "audit", username, client_id = %client.id, peer = ?ctx.peer, "login failed");
        tokio::time::sleep(FAILURE_DELAY).await;
        return Err(OAuthError::BadCredentials);
    };
    store.record_login(&user.id).await?;
    tracing::info!(target: "audit", user_id = %user.id, client_id = %client.id, "login");
    // 7.
    user_tokens::issue(store, ctx, client, &user, &granted, None).await
}
