//! Checking a user's password, for the password grant and the login page
//! alike: slowed per client address, then per user; an unknown user costs
//! the same as a wrong password; five failures in a row lock the account
//! for five minutes (RFC 6749 §4.3.2: "the authorization server MUST
//! protect the endpoint against brute force attacks"; RFC 9700 §4.15).

use std::time::Duration;

use zeroize::Zeroizing;

use crate::oauth::throttle::Verdict;
use crate::oauth::user_tokens::Issue;
use crate::oauth::OAuthError;
use crate::password;
use crate::store::{User, UserStore};

/// Consecutive failures that lock an account.
pub const LOCK_THRESHOLD: i64 = 5;
/// How long a lock lasts, in seconds.
pub const LOCK_SECONDS: i64 = 300;
/// Added to every failed attempt, so guessing is slow even before a lock.
pub const FAILURE_DELAY: Duration = Duration::from_millis(300);

/// The user, if `password` is theirs and nothing refuses the attempt.
pub async fn check_password<S: UserStore>(
    store: &S,
    ctx: &Issue<'_>,
    username: &str,
    password: Zeroizing<String>,
    client_id: &str,
) -> Result<User, OAuthError> {
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
        tracing::info!(target: "audit", username, client_id, locked_until = until, "login refused: account locked");
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
        tracing::info!(target: "audit", username, client_id, peer = ?ctx.peer, "login failed");
        tokio::time::sleep(FAILURE_DELAY).await;
        return Err(OAuthError::BadCredentials);
    };
    store.record_login(&user.id).await?;
    tracing::info!(target: "audit", user_id = %user.id, client_id, "login");
    Ok(user)
}
