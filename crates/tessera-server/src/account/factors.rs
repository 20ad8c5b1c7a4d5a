//! The factor part of the account page (issue 19, item 6): what the
//! signed-in person sees of their second factors, and the changes they
//! may make: add an authenticator app (confirmed by one valid code before
//! it counts), remove it, and draw new recovery codes.
//!
//! Every change needs a sign-in at most [`FRESH_FOR`](super::sign_in::FRESH_FOR) seconds old (the
//! caller sends the person through `/authorize` with `max_age` otherwise),
//! is audited, and ends the user's other SSO sessions: a session someone
//! else holds (a shared computer, a stolen cookie) must not outlive a
//! change to how the account is protected.
//!
//! The first second factor comes with recovery codes, shown once
//! (Kanidm, GitHub and Keycloak do the same): without them, a lost phone
//! would lock the person out.

use zeroize::Zeroizing;

use super::sign_in::fresh;
use super::AccountError;
use crate::audit::{self, Actor, AuditKind, Event};
use crate::identity::factors::{self, Enrollment};
use crate::identity::totp;
use crate::keys::MasterKey;
use crate::store::{FactorStore, PasskeyStore, Session, SessionStore, UserStore};

/// What the account page shows of the user's second factors.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Overview {
    /// The confirmed authenticator app: its id and when it was added.
    pub authenticator: Option<(String, i64)>,
    /// How many recovery codes are left, if a set was ever made.
    pub recovery_codes_left: Option<i64>,
    /// How many passkeys the user has.
    pub passkeys: i64,
}

impl Overview {
    /// Whether the user has a second factor.
    pub fn has_second_factor(&self) -> bool {
        self.authenticator.is_some() || self.passkeys > 0
    }
}

/// The user's second factors, without secrets.
pub async fn overview<S: FactorStore + PasskeyStore>(
    store: &S,
    user_id: &str,
) -> Result<Overview, AccountError> {
    let mut overview = Overview {
        passkeys: store.passkey_count(user_id).await?,
        ..Overview::default()
    };
    for factor in factors::list(store, user_id).await? {
        match factor.kind {
            crate::domain::FactorKind::Totp { confirmed: true } => {
                overview.authenticator = Some((factor.id, factor.created_at));
            }
            crate::domain::FactorKind::Totp { confirmed: false } => {}
            crate::domain::FactorKind::RecoveryCodes { left } => overview.recovery_codes_left = Some(left),
            crate::domain::FactorKind::Passkey { .. } => {}
        }
    }
    Ok(overview)
}

/// Refuses a change on a sign-in older than [`FRESH_FOR`](super::sign_in::FRESH_FOR).
pub(super) fn need_fresh(session: &Session, now: i64) -> Result<(), AccountError> {
    if fresh(session, now) {
        Ok(())
    } else {
        Err(AccountError::NotFresh)
    }
}

/// Audits a change to how `session`'s user signs in and ends their other
/// sessions.
pub(super) async fn changed(
    store: &impl SessionStore,
    session: &Session,
    what: &'static str,
) -> Result<(), AccountError> {
    let ended = store.end_other_sessions(&session.user_id, &session.sid).await?;
    let kind = match what {
        "authenticator added" | "passkey added" => AuditKind::FactorAdded,
        "authenticator removed" | "passkey removed" => AuditKind::FactorRemoved,
        "upstream identity unlinked" => AuditKind::UpstreamUnlinked,
        _ => AuditKind::FactorChanged,
    };
    // (The callers pass no time; this one line reads the clock.)
    let now = tessera_jwt::UnixTime::now().as_secs();
    let event = Event::new(kind, now, Actor::User, "account: sign-in methods changed")
        .user(&session.user_id)
        .with("change", what)
        .with("other_sessions_ended", ended);
    audit::record(store, event).await;
    Ok(())
}

/// An authenticator enrollment to show: the secret, the `otpauth://` URI
/// and the label's username.
#[derive(Debug)]
pub struct ToConfirm {
    /// The enrollment.
    pub enrollment: Enrollment,
    /// The URI for the QR code and for copying.
    pub uri: Zeroizing<String>,
}

/// Starts adding an authenticator app: a fresh secret, unconfirmed
/// (replacing an earlier unconfirmed one).
pub async fn begin_authenticator<S: FactorStore + UserStore>(
    store: &S,
    master: &MasterKey,
    issuer: &str,
    session: &Session,
    now: i64,
) -> Result<ToConfirm, AccountError> {
    need_fresh(session, now)?;
    let user = store
        .user(&session.user_id)
        .await?
        .ok_or(AccountError::NotThisBrowser)?;
    let enrollment = factors::enroll_totp(store, master, &user.id, now).await?;
    let uri = enrollment.uri(&totp::label_host(issuer), &user.username);
    Ok(ToConfirm { enrollment, uri })
}

/// The enrollment waiting for a code, shown again after a mistyped one.
pub async fn pending_authenticator<S: FactorStore + UserStore>(
    store: &S,
    master: &MasterKey,
    issuer: &str,
    session: &Session,
) -> Result<ToConfirm, AccountError> {
    let user = store
        .user(&session.user_id)
        .await?
        .ok_or(AccountError::NotThisBrowser)?;
    let enrollment = factors::pending_totp(store, master, &user.id)
        .await?
        .ok_or(AccountError::NoSuchFactor)?;
    let uri = enrollment.uri(&totp::label_host(issuer), &user.username);
    Ok(ToConfirm { enrollment, uri })
}

/// What confirming an authenticator gave: recovery codes, when it was the
/// user's first second factor (shown once).
#[derive(Debug)]
pub struct Added {
    /// The new recovery codes, if any were made.
    pub recovery_codes: Option<Vec<Zeroizing<String>>>,
}

/// Confirms the waiting authenticator with one valid `code`; the first
/// second factor also gets a set of recovery codes.
pub async fn confirm_authenticator<S: FactorStore + PasskeyStore + SessionStore>(
    store: &S,
    master: &MasterKey,
    session: &Session,
    code: &str,
    now: i64,
) -> Result<Added, AccountError> {
    need_fresh(session, now)?;
    let before = overview(store, &session.user_id).await?;
    if !factors::confirm_totp(store, master, &session.user_id, code, now).await? {
        return Err(AccountError::WrongCode);
    }
    let recovery_codes = if before.has_second_factor() || before.recovery_codes_left.is_some_and(|n| n > 0) {
        None
    } else {
        Some(factors::new_recovery_codes(store, master, &session.user_id, now).await?)
    };
    changed(store, session, "authenticator added").await?;
    Ok(Added { recovery_codes })
}

/// Refuses to remove a second factor of a user who must use one
/// (`tessera user require-mfa`) unless another remains: `others` says
/// whether one does.
pub(super) async fn keep_one_if_required<S: UserStore>(
    store: &S,
    session: &Session,
    others: bool,
) -> Result<(), AccountError> {
    let required = store.user(&session.user_id).await?.is_some_and(|u| u.require_mfa);
    if required && !others {
        return Err(AccountError::LastRequiredFactor);
    }
    Ok(())
}

/// Removes the user's authenticator `id` (not the last second factor of
/// a user who must use one).
pub async fn remove_authenticator<S: FactorStore + SessionStore + UserStore>(
    store: &S,
    session: &Session,
    id: &str,
    now: i64,
) -> Result<(), AccountError> {
    need_fresh(session, now)?;
    let before = overview(store, &session.user_id).await?;
    keep_one_if_required(store, session, before.passkeys > 0).await?;
    if !factors::remove_totp(store, &session.user_id, id).await? {
        return Err(AccountError::NoSuchFactor);
    }
    changed(store, session, "authenticator removed").await
}

/// A new set of recovery codes (replacing the old set), for a user with a
/// second factor; shown once.
pub async fn new_recovery_codes<S: FactorStore + PasskeyStore + SessionStore>(
    store: &S,
    master: &MasterKey,
    session: &Session,
    now: i64,
) -> Result<Vec<Zeroizing<String>>, AccountError> {
    need_fresh(session, now)?;
    if !overview(store, &session.user_id).await?.has_second_factor() {
        return Err(AccountError::NoSuchFactor);
    }
    let codes = factors::new_recovery_codes(store, master, &session.user_id, now).await?;
    changed(store, session, "recovery codes replaced").await?;
    Ok(codes)
}
