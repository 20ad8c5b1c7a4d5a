//! Email verification and password reset by mailed link (issue 20,
//! item 2): the rules, without HTTP.
//!
//! **Links.** A link carries 32 random bytes (aws-lc-rs's system RNG,
//! [`crate::random`]) as base64url; only their SHA-256 is stored, so a
//! read of the database yields no working link. A link is single use (the
//! store spends it with one conditional statement, in the transaction that
//! acts on it) and expires: [`VERIFY_FOR`] (24 hours) for an address,
//! [`RESET_FOR`] (30 minutes) for a password (OWASP Forgot Password Cheat
//! Sheet: reset tokens "should expire after an appropriate period"). A
//! link's page first shows a button and acts only on its `POST`, so a mail
//! scanner that fetches every link does not spend it.
//!
//! **Verification.** A registration with an address, and an address asked
//! for from `/account`, mail a link to that address; until it is used the
//! account keeps its old `email` (and `email_verified`), which is what
//! tokens and userinfo carry ([OpenID Connect Core §5.1]: `email_verified`
//! true only once "the End-User took affirmative steps" to prove control).
//! Using it re-checks, atomically, that no other account has the address.
//!
//! **Reset.** [`forgot`] takes a username or an address and mails a link
//! only to an account's **verified** address: an unverified one may be
//! anybody's typing (a registration needs no proof of the address), and
//! mailing a reset link there would hand the account to whoever owns that
//! mailbox; Keycloak likewise mails the account's own address only. The
//! answer never says whether anything was sent: no account, no verified
//! address, a disabled account and a throttled request all return the
//! same, and the letter leaves through the outbox's queue, so the time to
//! answer does not tell either ([`crate::mail`]). Throttled per client
//! address ([`RESETS_PER_ADDRESS`]) and per account
//! ([`RESETS_PER_ACCOUNT`]), in the login guard's attempt store. Using a
//! link sets the new password (the password rules of
//! [`crate::password::strength`]) and, in one transaction, ends every SSO
//! session and refresh family of the user and spends their other reset
//! links ([RFC 9700 §4.14.2]).
//!
//! [OpenID Connect Core §5.1]: https://openid.net/specs/openid-connect-core-1_0.html#StandardClaims
//! [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2

use std::net::IpAddr;

use zeroize::Zeroizing;

use crate::audit::{self, Actor, AuditKind, Event};
use crate::identity::guard;
use crate::identity::users::{self, UserError};
use crate::mail::{Letter, Outbox};
use crate::password::PasswordError;
use crate::store::{AttemptStore, Confirmed, EmailToken, EmailTokenStore, Purpose, StoreError, UserStore};

/// Seconds a verification link works.
pub const VERIFY_FOR: i64 = 24 * 3600;
/// Seconds a reset link works.
pub const RESET_FOR: i64 = 30 * 60;
/// Reset requests per client address per [`RESET_WINDOW`].
pub const RESETS_PER_ADDRESS: i64 = 10;
/// Reset mails per account per [`RESET_WINDOW`].
pub const RESETS_PER_ACCOUNT: i64 = 3;
/// The reset throttle's window, in seconds.
pub const RESET_WINDOW: i64 = 3600;

/// Why an email step failed.
#[derive(Debug, thiserror::Error)]
pub enum EmailError {
    /// The link is unknown, spent or expired (or forged).
    #[error("the link is not valid: used, expired or unknown")]
    InvalidLink,
    /// The address does not look like one.
    #[error("that is not an email address")]
    NotAnAddress,
    /// The new password and its repetition differ.
    #[error("the new passwords differ")]
    PasswordsDiffer,
    /// The new password is refused ([`crate::password::strength`]).
    #[error("the new password is too weak: {0}")]
    WeakPassword(&'static str),
    /// Hashing failed, or its queue is full.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The system RNG failed.
    #[error("no randomness")]
    Random,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// A link's token (base64url) and the SHA-256 that is stored.
struct NewLink {
    token: Zeroizing<String>,
    hash: Vec<u8>,
}

fn new_link() -> Result<NewLink, EmailError> {
    let token = Zeroizing::new(crate::random::base64url(32).ok_or(EmailError::Random)?);
    let hash = token_hash(&token);
    Ok(NewLink { token, hash })
}

/// The stored form of a link's token: its SHA-256. The lookup is by this
/// hash (an index probe, not a comparison of secrets in Rust), so a
/// forged token finds nothing and timing reveals nothing of a real one.
pub fn token_hash(token: &str) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, token.as_bytes())
        .as_ref()
        .to_vec()
}

/// Stores a new verification link for `address`: the user's pending
/// address from now on (an earlier pending link is spent).
async fn pending_address<S: EmailTokenStore>(
    store: &S,
    user_id: &str,
    address: &str,
    now: i64,
) -> Result<NewLink, EmailError> {
    let link = new_link()?;
    store
        .create_email_token(
            &link.hash,
            Purpose::Verify,
            &EmailToken {
                user_id: user_id.to_owned(),
                email: address.to_owned(),
                created_at: now,
                expires_at: now.saturating_add(VERIFY_FOR),
            },
            now,
        )
        .await?;
    Ok(link)
}

/// Mails a link confirming `address` for the user. The address stays
/// pending until the link is used; an earlier pending link is spent.
pub async fn send_verification<S: EmailTokenStore>(
    store: &S,
    outbox: &Outbox,
    user_id: &str,
    username: &str,
    address: &str,
    now: i64,
) -> Result<(), EmailError> {
    let link = pending_address(store, user_id, address, now).await?;
    outbox.send(Letter::VerifyEmail {
        to: address.to_owned(),
        username: username.to_owned(),
        token: link.token,
    });
    tracing::info!(target: "audit", user_id, "email verification link sent");
    Ok(())
}

/// Asks for `address` as the user's new email: pending until its link is
/// used. When another account has the address (any ASCII case), the
/// request is stored as pending all the same (so the account page reads
/// the same and does not tell that the address has an account) but
/// nothing is mailed: its owner has an account already, and the link
/// could only fail at the uniqueness check.
pub async fn request_change<S: UserStore + EmailTokenStore>(
    store: &S,
    outbox: &Outbox,
    user_id: &str,
    username: &str,
    address: &str,
    now: i64,
) -> Result<(), EmailError> {
    let address = address.trim();
    if !users::is_address(address) {
        return Err(EmailError::NotAnAddress);
    }
    let taken = store
        .user_by_email(address)
        .await?
        .is_some_and(|other| other.id != user_id);
    if !taken {
        return send_verification(store, outbox, user_id, username, address, now).await;
    }
    pending_address(store, user_id, address, now).await?;
    tracing::info!(target: "audit", user_id, "email change to another account's address: pending, nothing sent");
    Ok(())
}

/// The live verification link `token`, for the page that asks to confirm
/// (nothing is spent).
pub async fn verification<S: EmailTokenStore>(
    store: &S,
    token: &str,
    now: i64,
) -> Result<EmailToken, EmailError> {
    store
        .email_token(&token_hash(token), Purpose::Verify, now)
        .await?
        .ok_or(EmailError::InvalidLink)
}

/// Uses the verification link `token`: its address becomes the user's,
/// verified, unless another account has it meanwhile ([`Confirmed::Taken`],
/// the link spent). Audited.
pub async fn confirm<S: EmailTokenStore>(store: &S, token: &str, now: i64) -> Result<Confirmed, EmailError> {
    let confirmed = store.confirm_email(&token_hash(token), now).await?;
    match &confirmed {
        Confirmed::Verified { user_id, .. } => {
            let event = Event::new(
                AuditKind::EmailVerified,
                now,
                Actor::User,
                "email address verified",
            )
            .user(user_id);
            audit::record(store, event).await;
        }
        Confirmed::Taken { user_id } => {
            tracing::info!(target: "audit", user_id = %user_id, "email address not verified: another account has it");
        }
        Confirmed::Invalid => tracing::info!("email verification link refused: unknown, used or expired"),
    }
    match confirmed {
        Confirmed::Invalid => Err(EmailError::InvalidLink),
        other => Ok(other),
    }
}

/// "Forgot password": mails a reset link to the verified address of the
/// account named by `typed` (a username, or an address), when there is
/// one and neither throttle is exceeded. Returns nothing, deliberately:
/// the caller's answer must be the same whatever happened. Failures are
/// logged.
pub async fn forgot<S: UserStore + AttemptStore + EmailTokenStore>(
    store: &S,
    outbox: &Outbox,
    typed: &str,
    peer: Option<IpAddr>,
    now: i64,
) {
    if let Err(e) = try_forgot(store, outbox, typed, peer, now).await {
        tracing::error!("password reset request failed: {e}");
    }
}

async fn try_forgot<S: UserStore + AttemptStore + EmailTokenStore>(
    store: &S,
    outbox: &Outbox,
    typed: &str,
    peer: Option<IpAddr>,
    now: i64,
) -> Result<(), EmailError> {
    if let Some(addr) = peer {
        let counts = store
            .reserve_attempt(&guard::bucket("reset", addr), now, RESET_WINDOW)
            .await?;
        if counts.attempts > RESETS_PER_ADDRESS {
            tracing::warn!(target: "audit", peer = %addr, "password reset refused: too many from this address");
            return Ok(());
        }
    }
    let typed = typed.trim();
    let user = if typed.contains('@') {
        store.user_by_email(typed).await?
    } else {
        match users::find(store, typed).await {
            Ok(user) => Some(user),
            Err(UserError::NotFound) => None,
            Err(UserError::Store(e)) => return Err(e.into()),
            Err(_) => None,
        }
    };
    let Some(user) = user else {
        tracing::info!("password reset requested for no account: nothing sent");
        return Ok(());
    };
    let (Some(address), true, None) = (user.email.as_deref(), user.email_verified, user.disabled_at) else {
        tracing::info!(target: "audit", user_id = %user.id, "password reset requested: no verified address, or disabled: nothing sent");
        return Ok(());
    };
    let counts = store
        .reserve_attempt(&format!("reset-account:{}", user.id), now, RESET_WINDOW)
        .await?;
    if counts.attempts > RESETS_PER_ACCOUNT {
        tracing::warn!(target: "audit", user_id = %user.id, "password reset refused: too many for this account");
        return Ok(());
    }
    let link = new_link()?;
    store
        .create_email_token(
            &link.hash,
            Purpose::Reset,
            &EmailToken {
                user_id: user.id.clone(),
                email: address.to_owned(),
                created_at: now,
                expires_at: now.saturating_add(RESET_FOR),
            },
            now,
        )
        .await?;
    outbox.send(Letter::ResetPassword {
        to: address.to_owned(),
        username: user.username.clone(),
        token: link.token,
    });
    let event = Event::new(
        AuditKind::PasswordResetRequested,
        now,
        Actor::Anonymous,
        "password reset link sent",
    )
    .user(&user.id);
    audit::record(store, event).await;
    Ok(())
}

/// The live reset link `token`, for the page with the new-password form
/// (nothing is spent).
pub async fn reset_link<S: EmailTokenStore>(
    store: &S,
    token: &str,
    now: i64,
) -> Result<EmailToken, EmailError> {
    store
        .email_token(&token_hash(token), Purpose::Reset, now)
        .await?
        .ok_or(EmailError::InvalidLink)
}

/// Uses the reset link `token` to set `new` (typed twice) as the
/// password. Checked before the link is spent, so a refused password
/// leaves the link working; then one transaction spends it with the
/// user's other reset links, sets the password and ends every SSO session
/// and refresh family of the user. Audited.
pub async fn reset<S: UserStore + EmailTokenStore>(
    store: &S,
    token: &str,
    new: Zeroizing<String>,
    again: Zeroizing<String>,
    now: i64,
) -> Result<(), EmailError> {
    let link = reset_link(store, token, now).await?;
    if new != again {
        return Err(EmailError::PasswordsDiffer);
    }
    let user = match users::get(store, &link.user_id).await {
        Ok(user) => user,
        Err(UserError::Store(e)) => return Err(e.into()),
        Err(_) => return Err(EmailError::InvalidLink),
    };
    let hash = users::hash_new(new, &user.username).await.map_err(|e| match e {
        UserError::WeakPassword(why) => EmailError::WeakPassword(why),
        UserError::Password(e) => EmailError::Password(e),
        UserError::Store(e) => EmailError::Store(e),
        _ => EmailError::InvalidLink,
    })?;
    match store.reset_password(&token_hash(token), &hash, now).await? {
        Some(user_id) => {
            let event = Event::new(
                AuditKind::PasswordReset,
                now,
                Actor::User,
                "password reset by mailed link; every session and refresh family ended",
            )
            .user(&user_id);
            audit::record(store, event).await;
            Ok(())
        }
        None => Err(EmailError::InvalidLink),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stored_hash_is_sha256_of_the_token() {
        let hash = token_hash("abc");
        assert_eq!(hash.len(), 32);
        assert_ne!(hash, token_hash("abd"));
        assert_eq!(
            hash.iter().map(|b| format!("{b:02x}")).collect::<String>(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
            "FIPS 180-2 appendix B.1"
        );
    }
}
