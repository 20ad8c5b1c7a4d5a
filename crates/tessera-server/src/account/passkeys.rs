//! The passkey part of the account page (issue 19, items 3 and 6): add a
//! passkey (WebAuthn registration, [`crate::identity::passkeys`]), rename
//! and remove one. Like every change to how the account signs in: a
//! sign-in at most [`FRESH_FOR`](super::sign_in::FRESH_FOR) seconds old,
//! audited, the user's other sessions ended; the first second factor
//! comes with recovery codes.

use zeroize::Zeroizing;

use super::factors::{changed, keep_one_if_required, need_fresh, overview};
use super::AccountError;
use crate::audit::{self, Actor, AuditKind, Event};
use crate::identity::factors;
use crate::identity::passkeys::{self, RelyingParty};
use crate::keys::MasterKey;
use crate::store::{FactorStore, Passkey, PasskeyStore, Session, SessionStore, UserStore};

/// The challenge binding of the account page in the browser holding
/// `binding`, for `session`: a registration started by one sign-in cannot
/// be finished by another.
fn challenge_binding(binding: &str, session: &Session) -> String {
    format!("account\0{binding}\0{}", session.sid)
}

/// The user's passkeys, for the page.
pub async fn list(store: &impl PasskeyStore, session: &Session) -> Result<Vec<Passkey>, AccountError> {
    Ok(passkeys::list(store, &session.user_id).await?)
}

/// Starts adding a passkey: the options for `navigator.credentials.create()`,
/// as JSON.
pub async fn begin<S: PasskeyStore + UserStore>(
    store: &S,
    rp: &RelyingParty,
    session: &Session,
    binding: &str,
    now: i64,
) -> Result<String, AccountError> {
    need_fresh(session, now)?;
    let user = store
        .user(&session.user_id)
        .await?
        .ok_or(AccountError::NotThisBrowser)?;
    let options =
        passkeys::begin_registration(store, &user, rp, &challenge_binding(binding, session), now).await?;
    serde_json::to_string(&options).map_err(|_| AccountError::Random)
}

/// Finishes adding a passkey named `name` from the browser's response;
/// recovery codes when it is the user's first second factor.
#[allow(clippy::too_many_arguments)]
pub async fn finish<S: PasskeyStore + UserStore + FactorStore + SessionStore>(
    store: &S,
    master: &MasterKey,
    rp: &RelyingParty,
    session: &Session,
    binding: &str,
    response_json: &str,
    name: &str,
    now: i64,
) -> Result<Option<Vec<Zeroizing<String>>>, AccountError> {
    need_fresh(session, now)?;
    let user = store
        .user(&session.user_id)
        .await?
        .ok_or(AccountError::NotThisBrowser)?;
    let before = overview(store, &user.id).await?;
    passkeys::finish_registration(
        store,
        &user,
        rp,
        &challenge_binding(binding, session),
        response_json,
        name,
        now,
    )
    .await?;
    let codes = if before.has_second_factor() || before.recovery_codes_left.is_some_and(|n| n > 0) {
        None
    } else {
        Some(factors::new_recovery_codes(store, master, &user.id, now).await?)
    };
    changed(store, session, "passkey added").await?;
    Ok(codes)
}

/// Renames the user's passkey `id`.
pub async fn rename<S: PasskeyStore + SessionStore>(
    store: &S,
    session: &Session,
    id: &str,
    name: &str,
    now: i64,
) -> Result<(), AccountError> {
    need_fresh(session, now)?;
    if !passkeys::rename(store, &session.user_id, id, name).await? {
        return Err(AccountError::NoSuchFactor);
    }
    let event = Event::new(
        AuditKind::FactorChanged,
        now,
        Actor::User,
        "account: passkey renamed",
    )
    .user(&session.user_id)
    .with("passkey", id);
    audit::record(store, event).await;
    Ok(())
}

/// Removes the user's passkey `id` (not the last second factor of a user
/// who must use one).
pub async fn remove<S: FactorStore + SessionStore + UserStore>(
    store: &S,
    session: &Session,
    id: &str,
    now: i64,
) -> Result<(), AccountError> {
    need_fresh(session, now)?;
    let before = overview(store, &session.user_id).await?;
    keep_one_if_required(
        store,
        session,
        before.authenticator.is_some() || before.passkeys > 1,
    )
    .await?;
    if !passkeys::remove(store, &session.user_id, id).await? {
        return Err(AccountError::NoSuchFactor);
    }
    changed(store, session, "passkey removed").await
}
