//! Checking a user's password, for the password grant and the login page
//! alike ([RFC 6749 §4.3.2]: "the authorization server MUST protect the
//! endpoint against brute force attacks"; [RFC 9700 §4.15]).
//!
//! 1. The attempt is counted against the client address before anything
//!    else ([`throttle::reserve_login`]): slowed after a few failures,
//!    refused after many.
//! 2. The attempt is reserved against the account in one conditional
//!    statement ([`UserStore::reserve_login`]) *before* the hash runs, so a
//!    burst of guesses sent at once gets at most [`LOCK_THRESHOLD`]
//!    evaluations; the last of them locks the account for
//!    [`LOCK_SECONDS`]. A lock that has run out starts the count again.
//! 3. The hash always runs: against the user's hash when the attempt was
//!    reserved, against a dummy hash for an unknown, disabled or locked
//!    account. So an unknown user, a locked account and a wrong password get the same
//!    answer ([`OAuthError::BadCredentials`]) after about the same time: no
//!    account can be found, or its lock seen, by probing.
//! 4. Success clears the account's count and hands the address's attempt
//!    back.
//!
//! [RFC 6749 §4.3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2
//! [RFC 9700 §4.15]: https://www.rfc-editor.org/rfc/rfc9700#section-4.15

use std::time::Duration;

use zeroize::Zeroizing;

use crate::oauth::throttle::{self, Verdict};
use crate::oauth::user_tokens::Issue;
use crate::oauth::OAuthError;
use crate::password;
use crate::store::{AttemptStore, User, UserStore};

/// Password attempts without a success that lock an account.
pub const LOCK_THRESHOLD: i64 = 5;
/// How long a lock lasts, in seconds.
pub const LOCK_SECONDS: i64 = 300;
/// Added to every failed attempt, so guessing is slow even before a lock.
pub const FAILURE_DELAY: Duration = Duration::from_millis(300);

/// The user, if `password` is theirs and nothing refuses the attempt.
pub async fn check_password<S: UserStore + AttemptStore>(
    store: &S,
    ctx: &Issue<'_>,
    username: &str,
    password: Zeroizing<String>,
    client_id: &str,
) -> Result<User, OAuthError> {
    // A place in the hashing queue first: a login shed as busy (503) was
    // never evaluated and must count against neither the address nor the
    // account.
    let ticket = password::login_ticket()?;
    // 1.
    match throttle::reserve_login(store, ctx.peer, ctx.now).await? {
        Verdict::Refuse => {
            tracing::warn!(target: "audit", peer = ?ctx.peer, "login refused: too many failures from this address");
            return Err(OAuthError::TooManyAttempts);
        }
        Verdict::Wait(delay) if !delay.is_zero() => tokio::time::sleep(delay).await,
        Verdict::Wait(_) => {}
    }
    // 2. (One spelling per name: `Alice` and `ＡＬＩＣＥ` are `alice`.)
    let username = &crate::username::normalize(username);
    let user = store.user_by_username(username).await?;
    let reserved = match &user {
        Some(user) if user.disabled_at.is_none() => {
            store
                .reserve_login(&user.id, ctx.now, LOCK_THRESHOLD, ctx.now + LOCK_SECONDS)
                .await?
        }
        _ => false,
    };
    // 3.
    // (An account made through an upstream provider has no password: it
    // is refused as an unknown one is, against the dummy hash.)
    let stored = user
        .as_ref()
        .filter(|_| reserved)
        .map(|u| u.password_hash.clone())
        .filter(|hash| !hash.is_empty());
    let ok = ticket.verify(password, stored).await?;
    let user = match user {
        Some(user) if ok => user,
        found => {
            let why = match (&found, reserved) {
                (None, _) => "unknown user",
                (Some(u), false) if u.disabled_at.is_some() => "account disabled",
                (Some(_), false) => "account locked",
                (Some(_), true) => "wrong password",
            };
            tracing::info!(target: "audit", username, client_id, peer = ?ctx.peer, why, "login failed");
            throttle::failed_login(store, ctx.peer, ctx.now).await?;
            tokio::time::sleep(FAILURE_DELAY).await;
            return Err(OAuthError::BadCredentials);
        }
    };
    // 4.
    store.record_login(&user.id).await?;
    throttle::refund_login(store, ctx.peer, ctx.now).await?;
    tracing::info!(target: "audit", user_id = %user.id, client_id, peer = ?ctx.peer, "login");
    Ok(user)
}
