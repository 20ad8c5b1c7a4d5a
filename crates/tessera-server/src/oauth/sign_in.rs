//! The protocol's door to the login guard ([`crate::identity::guard`]):
//! checking a user's password for the password grant, the login page and
//! `POST /api/v1/login` ([RFC 6749 §4.3.2]), from the issuing context
//! ([`Issue`]: when, from which address) and with the guard's refusals as
//! the protocol's errors ([`OAuthError::BadCredentials`],
//! [`OAuthError::TooManyAttempts`], `Busy`). Every rule (the per-account
//! lock, the per-address slowing, the device cookies' budget, the dummy
//! work, the bounded hashing queue) is the guard's.
//!
//! A second factor's code ([`check_code`]) goes through the same guard.
//!
//! [RFC 6749 §4.3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2

use zeroize::Zeroizing;

use crate::domain::User;
use crate::identity::factors;
use crate::identity::guard::{self, Attempt};
use crate::keys::MasterKey;
use crate::oauth::user_tokens::Issue;
use crate::oauth::OAuthError;
use crate::store::{AttemptStore, FactorStore, UserStore};

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

/// Checks `code`, a TOTP code (verified and its step recorded, so it
/// cannot be used again) or else a recovery code (spent), as `user`'s
/// second factor, through the login guard.
pub async fn check_code<S: UserStore + AttemptStore + FactorStore>(
    store: &S,
    master: &MasterKey,
    ctx: &Issue<'_>,
    user: &User,
    code: &str,
    client_id: &str,
) -> Result<(), OAuthError> {
    let attempt = Attempt {
        now: ctx.now,
        peer: ctx.peer,
        client_id,
        device: None,
    };
    let verify = async {
        if factors::verify_totp(store, master, &user.id, code, ctx.now)
            .await?
            .is_some()
        {
            return Ok::<bool, OAuthError>(true);
        }
        Ok(factors::use_recovery_code(store, master, &user.id, code).await?)
    };
    guard::check_code(store, &attempt, user, verify).await
}

/// Whether `user_id` has a second factor: a confirmed authenticator app
/// or a passkey (recovery codes alone are not one; they stand in for
/// one).
pub async fn has_second_factor<S: FactorStore>(store: &S, user_id: &str) -> Result<bool, OAuthError> {
    Ok(factors::second_factors(store, user_id).await?.any())
}
