//! The protocol's door to the login guard ([`crate::identity::guard`]):
//! checking a user's password for the password grant, the login page and
//! `POST /api/v1/login` ([RFC 6749 §4.3.2]), from the issuing context
//! ([`Issue`]: when, from which address) and with the guard's refusals as
//! the protocol's errors ([`OAuthError::BadCredentials`],
//! [`OAuthError::TooManyAttempts`], `Busy`). Every rule (the per-account
//! lock, the per-address slowing, the device cookies' budget, the dummy
//! work, the bounded hashing queue) is the guard's.
//!
//! [RFC 6749 §4.3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2

use zeroize::Zeroizing;

use crate::domain::User;
use crate::identity::guard::{self, Attempt};
use crate::oauth::user_tokens::Issue;
use crate::oauth::OAuthError;
use crate::store::{AttemptStore, UserStore};

pub use guard::{Presented, FAILURE_DELAY, LOCK_SECONDS, LOCK_THRESHOLD};

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

/// [`check_password_from`] for a user with a second factor, whose code
/// comes next: a right password does not clear the account's count of
/// failures ([`guard::Secret::PasswordBeforeCode`]).
pub async fn check_password_before_code<S: UserStore + AttemptStore>(
    store: &S,
    ctx: &Issue<'_>,
    username: &str,
    password: Zeroizing<String>,
    client_id: &str,
    device: Option<Presented<'_>>,
) -> Result<User, OAuthError> {
    let attempt = Attempt {
        now: ctx.now,
        peer: ctx.peer,
        client_id,
        device,
    };
    Ok(guard::check(
        store,
        &attempt,
        username,
        guard::Secret::PasswordBeforeCode(password),
    )
    .await?)
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
    let attempt = Attempt {
        now: ctx.now,
        peer: ctx.peer,
        client_id,
        device,
    };
    Ok(guard::check_password(store, &attempt, username, password).await?)
}
