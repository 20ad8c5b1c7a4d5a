//! Checking a user's password, for the password grant and the login page
//! alike ([RFC 6749 §4.3.2]: "the authorization server MUST protect the
//! endpoint against brute force attacks"; [RFC 9700 §4.15]).
//!
//! 1. The attempt is counted against the client address before anything
//!    else ([`throttle::reserve_login`]): slowed after a few failures,
//!    refused after many. The delay is served *before* the attempt takes a
//!    place in the bounded hashing queue ([`password::login_ticket`]), so
//!    slowed guesses hold no place while they wait and cannot shed other
//!    people's logins as busy (503). A login shed as busy hands its address
//!    attempt back: it was never evaluated.
//! 2. The attempt is reserved against the account in one conditional
//!    statement ([`UserStore::reserve_login`]) *before* the hash runs, so a
//!    burst of guesses sent at once gets at most [`LOCK_THRESHOLD`]
//!    evaluations; the last of them locks the account for
//!    [`LOCK_SECONDS`]. A lock that has run out starts the count again.
//!    A browser that presents a valid device cookie for the account
//!    ([`super::device`]) is counted on its own budget instead
//!    ([`DEVICE_FAILURES`] per window), so strangers' failures cannot lock
//!    its owner out; past that budget it is a stranger again.
//! 3. The hash always runs: against the user's hash when the attempt was
//!    reserved, against a dummy hash for an unknown, disabled or locked
//!    account. So an unknown user, a locked account and a wrong password get the same
//!    answer ([`OAuthError::BadCredentials`]) after about the same time: no
//!    account can be found, or its lock seen, by probing.
//! 4. Success hands the address's attempt back, and clears the account's
//!    count (a stranger's success) or hands the device's attempt back (a
//!    known device's: the strangers' count stays, so an owner signing in
//!    does not give a guesser five fresh tries).
//!
//! [RFC 6749 §4.3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2
//! [RFC 9700 §4.15]: https://www.rfc-editor.org/rfc/rfc9700#section-4.15

use std::time::Duration;

use zeroize::Zeroizing;

use crate::oauth::device::{DeviceKey, DEVICE_FAILURES};
use crate::oauth::throttle::{self, Verdict};
use crate::oauth::user_tokens::Issue;
use crate::oauth::OAuthError;
use crate::password;
use crate::store::{AttemptStore, StoreError, User, UserStore};

/// Password attempts without a success that lock an account.
pub const LOCK_THRESHOLD: i64 = 5;
/// How long a lock lasts, in seconds.
pub const LOCK_SECONDS: i64 = 300;
/// Added to every failed attempt, so guessing is slow even before a lock.
pub const FAILURE_DELAY: Duration = Duration::from_millis(300);

/// A device cookie a browser presented with its password, and the key
/// that checks it.
#[derive(Clone, Copy, Debug)]
pub struct Presented<'a> {
    /// The server's device-cookie key.
    pub key: &'a DeviceKey,
    /// The cookie's value.
    pub cookie: &'a str,
}

/// Against which count an attempt was reserved.
enum Reserved {
    /// None: the account is unknown, disabled or locked (to strangers).
    No,
    /// The account's lock, which strangers share.
    Account,
    /// A known device's own budget, in this bucket.
    Device(String),
}

/// Reserves the attempt: on the device's own budget when the browser
/// proved a device of this account and the budget is not spent, else on
/// the account's lock.
async fn reserve<S: UserStore + AttemptStore>(
    store: &S,
    user: &User,
    device: Option<Presented<'_>>,
    now: i64,
) -> Result<Reserved, StoreError> {
    if let Some(known) = device.and_then(|d| d.key.recognise(d.cookie, &user.id, now)) {
        let bucket = known.bucket(&user.id);
        let counts = store.reserve_attempt(&bucket, now, throttle::WINDOW_SECS).await?;
        if counts.attempts <= DEVICE_FAILURES {
            return Ok(Reserved::Device(bucket));
        }
    }
    let reserved = store
        .reserve_login(&user.id, now, LOCK_THRESHOLD, now + LOCK_SECONDS)
        .await?;
    Ok(if reserved { Reserved::Account } else { Reserved::No })
}

/// The user, if `password` is theirs and nothing refuses the attempt (no
/// device cookie: the password grant).
pub async fn check_password<S: UserStore + AttemptStore>(
    store: &S,
    ctx: &Issue<'_>,
    username: &str,
    password: Zeroizing<String>,
    client_id: &str,
) -> Result<User, OAuthError> {
    check_password_from(store, ctx, username, password, client_id, None).await
}

/// [`check_password`] from a browser that may have presented a device
/// cookie (the login page, `POST /api/v1/login`).
pub async fn check_password_from<S: UserStore + AttemptStore>(
    store: &S,
    ctx: &Issue<'_>,
    username: &str,
    password: Zeroizing<String>,
    client_id: &str,
    device: Option<Presented<'_>>,
) -> Result<User, OAuthError> {
    // 1.
    match throttle::reserve_login(store, ctx.peer, ctx.now).await? {
        Verdict::Refuse => {
            tracing::warn!(target: "audit", peer = ?ctx.peer, "login refused: too many failures from this address");
            return Err(OAuthError::TooManyAttempts);
        }
        Verdict::Wait(delay) => throttle::wait(delay).await,
    }
    // Only now a place in the hashing queue. A login shed as busy (503)
    // was never evaluated: it counts against neither the address (its
    // attempt is handed back) nor the account (not reserved yet).
    let ticket = match password::login_ticket() {
        Ok(ticket) => ticket,
        Err(busy) => {
            throttle::refund_login(store, ctx.peer, ctx.now).await?;
            return Err(busy.into());
        }
    };
    // 2. (One spelling per name: `Alice` and `ＡＬＩＣＥ` are `alice`.)
    let username = &crate::username::normalize(username);
    let user = store.user_by_username(username).await?;
    let reserved = match &user {
        Some(user) if user.disabled_at.is_none() => reserve(store, user, device, ctx.now).await?,
        _ => Reserved::No,
    };
    // 3.
    // (An account made through an upstream provider has no password: it
    // is refused as an unknown one is, against the dummy hash.)
    let stored = user
        .as_ref()
        .filter(|_| !matches!(reserved, Reserved::No))
        .and_then(|u| u.password())
        .map(|hash| hash.as_str().to_owned());
    let ok = ticket.verify(password, stored).await?;
    let user = match user {
        Some(user) if ok => user,
        found => {
            let why = match (&found, &reserved) {
                (None, _) => "unknown user",
                (Some(u), Reserved::No) if u.disabled_at.is_some() => "account disabled",
                (Some(_), Reserved::No) => "account locked",
                (Some(_), Reserved::Account) => "wrong password",
                (Some(_), Reserved::Device(_)) => "wrong password from a known device",
            };
            tracing::info!(target: "audit", username, client_id, peer = ?ctx.peer, why, "login failed");
            throttle::failed_login(store, ctx.peer, ctx.now).await?;
            tokio::time::sleep(FAILURE_DELAY).await;
            return Err(OAuthError::BadCredentials);
        }
    };
    // 4.
    match &reserved {
        Reserved::Device(bucket) => {
            store
                .refund_attempt(bucket, ctx.now, throttle::WINDOW_SECS)
                .await?
        }
        Reserved::Account | Reserved::No => store.record_login(&user.id).await?,
    }
    throttle::refund_login(store, ctx.peer, ctx.now).await?;
    let device = matches!(reserved, Reserved::Device(_));
    tracing::info!(target: "audit", user_id = %user.id, client_id, peer = ?ctx.peer, device, "login");
    Ok(user)
}
