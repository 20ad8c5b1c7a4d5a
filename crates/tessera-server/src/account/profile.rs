//! The rest of the account page (issue 20, item 1): the profile, the
//! password, the SSO sessions, the apps the person allowed, and the
//! upstream identities linked to the account.
//!
//! Every change is audited and needs a sign-in at most
//! [`FRESH_FOR`](super::sign_in::FRESH_FOR) seconds old, as the factor
//! changes do; the password change may instead take the current password,
//! checked through the login guard ([`guard::check_password`]) so a wrong
//! one counts like a failed sign-in and the form is no password oracle.
//!
//! Effects:
//! - a password change ends the user's other sessions and every refresh
//!   family ([RFC 9700 §4.14.2]: refresh tokens are bound to the
//!   credentials that obtained them), keeping this browser's session;
//! - ending a session signs that browser out (of the account page too)
//!   and revokes the refresh families started in it;
//! - revoking an app deletes the consent and revokes the app's refresh
//!   families for the user, offline ones included;
//! - an upstream identity cannot be unlinked when it is the only way to
//!   sign in (no password, no passkey, no other identity).
//!
//! [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2

use std::net::IpAddr;

use zeroize::Zeroizing;

use super::factors::{changed, need_fresh};
use super::sign_in::{fresh, CLIENT_ID};
use super::AccountError;
use crate::audit::{self, Actor, AuditKind, Event};
use crate::domain::{Scope, User};
use crate::identity::email::{self, EmailError};
use crate::identity::guard::{self, Attempt, GuardError};
use crate::identity::users::{self, UserError};
use crate::mail::Outbox;
use crate::store::{
    AttemptStore, ClientStore, ConsentStore, EmailTokenStore, Identity, PasskeyStore, Session, SessionStore,
    UpstreamStore, UserStore,
};

/// An app the person allowed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct App {
    /// Its client id.
    pub client_id: String,
    /// Its name (the client id if the client is gone).
    pub name: String,
    /// The scopes allowed.
    pub scope: Scope,
    /// When consent was last given.
    pub granted_at: i64,
}

/// What the account page shows besides the second factors.
#[derive(Clone, Debug)]
pub struct Profile {
    /// The user.
    pub user: User,
    /// Their unexpired SSO sessions, newest sign-in first.
    pub sessions: Vec<Session>,
    /// The apps they allowed.
    pub apps: Vec<App>,
    /// Their linked upstream identities.
    pub identities: Vec<Identity>,
    /// A new email address asked for, until its link is used or expires.
    pub pending_email: Option<String>,
}

/// The signed-in user's profile, sessions, apps and linked identities.
pub async fn profile<S>(store: &S, session: &Session, now: i64) -> Result<Profile, AccountError>
where
    S: UserStore + SessionStore + ConsentStore + ClientStore + UpstreamStore + EmailTokenStore,
{
    let user = store
        .user(&session.user_id)
        .await?
        .ok_or(AccountError::NotThisBrowser)?;
    let sessions = store.sessions_of(&user.id, now).await?;
    let mut apps = Vec::new();
    for consent in store.consents_of(&user.id).await? {
        let name = store
            .client(&consent.client_id)
            .await?
            .map_or_else(|| consent.client_id.clone(), |c| c.name);
        apps.push(App {
            client_id: consent.client_id,
            name,
            scope: consent.approval.scope,
            granted_at: consent.granted_at,
        });
    }
    let identities = store.identities_of(&user.id).await?;
    let pending_email = store.pending_email(&user.id, now).await?;
    Ok(Profile {
        user,
        sessions,
        apps,
        identities,
        pending_email,
    })
}

/// Maps a lifecycle refusal to the page's.
fn refused(e: UserError) -> AccountError {
    match e {
        UserError::Store(e) => AccountError::Store(e),
        UserError::WeakPassword(why) => AccountError::WeakPassword(why),
        UserError::Name => AccountError::BadName,
        UserError::LastCredential => AccountError::LastWayIn,
        UserError::NotFound => AccountError::NotThisBrowser,
        other => AccountError::User(other),
    }
}

/// Changes the display name.
pub async fn set_name<S: UserStore>(
    store: &S,
    session: &Session,
    name: &str,
    now: i64,
) -> Result<(), AccountError> {
    need_fresh(session, now)?;
    users::set_name(store, &session.user_id, name)
        .await
        .map_err(refused)?;
    let event = Event::new(
        AuditKind::UserChanged,
        now,
        Actor::User,
        "account: profile changed",
    )
    .user(&session.user_id)
    .with("changed", ["name"]);
    audit::record(store, event).await;
    Ok(())
}

/// Asks to change the email address to `address`: a link is mailed
/// there and the address is pending until it is used; meanwhile the
/// account keeps its old address, which tokens and userinfo carry. An
/// address another account has is answered the same (see
/// [`email::request_change`]). Needs a fresh sign-in; audited.
pub async fn change_email<S: UserStore + EmailTokenStore>(
    store: &S,
    outbox: &Outbox,
    session: &Session,
    address: &str,
    now: i64,
) -> Result<(), AccountError> {
    need_fresh(session, now)?;
    let user = store
        .user(&session.user_id)
        .await?
        .ok_or(AccountError::NotThisBrowser)?;
    match email::request_change(store, outbox, &user.id, &user.username, address, now).await {
        Ok(()) => {}
        Err(EmailError::NotAnAddress) => return Err(AccountError::NotAnAddress),
        Err(EmailError::Store(e)) => return Err(AccountError::Store(e)),
        Err(EmailError::Random) => return Err(AccountError::Random),
        Err(e) => return Err(AccountError::Email(e)),
    }
    let event = Event::new(
        AuditKind::EmailChangeRequested,
        now,
        Actor::User,
        "account: new email address pending verification",
    )
    .user(&user.id);
    audit::record(store, event).await;
    Ok(())
}

/// A password change as the form sends it.
pub struct NewPassword {
    /// The current password; empty when the sign-in is fresh enough.
    pub current: Zeroizing<String>,
    /// The new password.
    pub new: Zeroizing<String>,
    /// The new password again.
    pub again: Zeroizing<String>,
}

/// Changes the password: the current one must be given unless the
/// sign-in is at most [`FRESH_FOR`](super::sign_in::FRESH_FOR) old (a
/// given one is always checked, through the login guard). Ends the
/// user's other sessions and every refresh family; this browser's
/// session stays.
pub async fn change_password<S>(
    store: &S,
    session: &Session,
    change: NewPassword,
    peer: Option<IpAddr>,
    now: i64,
) -> Result<(), AccountError>
where
    S: UserStore + AttemptStore,
{
    if change.new != change.again {
        return Err(AccountError::PasswordsDiffer);
    }
    let user = store
        .user(&session.user_id)
        .await?
        .ok_or(AccountError::NotThisBrowser)?;
    if !change.current.is_empty() {
        let attempt = Attempt {
            now,
            peer,
            client_id: CLIENT_ID,
            device: None,
        };
        match guard::check_password(store, &attempt, &user.username, change.current).await {
            Ok(_) => {}
            Err(GuardError::BadCredentials) => {
                let event = Event::new(
                    AuditKind::PasswordChangeRefused,
                    now,
                    Actor::User,
                    "account: password change refused: wrong current password",
                )
                .user(&user.id)
                .ip(peer);
                audit::record(store, event).await;
                return Err(AccountError::WrongPassword);
            }
            Err(GuardError::TooManyAttempts) => return Err(AccountError::TooManyAttempts),
            Err(GuardError::Store(e)) => return Err(AccountError::Store(e)),
            Err(e) => return Err(AccountError::Guard(e)),
        }
    } else if !fresh(session, now) {
        return Err(AccountError::NotFresh);
    }
    users::change_password(store, &user.id, change.new, Some(&session.sid), now)
        .await
        .map_err(refused)?;
    let event = Event::new(
        AuditKind::PasswordChanged,
        now,
        Actor::User,
        "account: password changed; other sessions and every refresh family ended",
    )
    .user(&user.id)
    .ip(peer);
    audit::record(store, event).await;
    Ok(())
}

/// Ends the user's session `sid` (this one too, if named): that browser
/// is signed out and the refresh families started in it are revoked.
pub async fn end_session<S: SessionStore>(
    store: &S,
    session: &Session,
    sid: &str,
    now: i64,
) -> Result<(), AccountError> {
    need_fresh(session, now)?;
    if !store.end_session_by_sid(&session.user_id, sid, now).await? {
        return Err(AccountError::NoSuchSession);
    }
    let event = Event::new(
        AuditKind::SessionEnded,
        now,
        Actor::User,
        "account: session ended",
    )
    .user(&session.user_id)
    .with("sid", sid);
    audit::record(store, event).await;
    Ok(())
}

/// Ends every session of the user but this one, revoking the refresh
/// families each started; how many ended.
pub async fn end_other_sessions<S: SessionStore>(
    store: &S,
    session: &Session,
    now: i64,
) -> Result<usize, AccountError> {
    need_fresh(session, now)?;
    let mut ended = 0;
    for other in store.sessions_of(&session.user_id, now).await? {
        if other.sid != session.sid
            && store
                .end_session_by_sid(&session.user_id, &other.sid, now)
                .await?
        {
            ended += 1;
        }
    }
    let event = Event::new(
        AuditKind::SessionEnded,
        now,
        Actor::User,
        "account: other sessions ended",
    )
    .user(&session.user_id)
    .with("sessions_ended", ended);
    audit::record(store, event).await;
    Ok(ended)
}

/// Withdraws the consent to `client_id` and revokes that app's refresh
/// families for the user, offline ones included.
pub async fn revoke_app<S: ConsentStore>(
    store: &S,
    session: &Session,
    client_id: &str,
    now: i64,
) -> Result<(), AccountError> {
    need_fresh(session, now)?;
    if !store.revoke_consent(&session.user_id, client_id, now).await? {
        return Err(AccountError::NoSuchApp);
    }
    let event = Event::new(
        AuditKind::ConsentRevoked,
        now,
        Actor::User,
        "account: app consent revoked",
    )
    .user(&session.user_id)
    .client(client_id);
    audit::record(store, event).await;
    Ok(())
}

/// Whether the user has a way to sign in besides the upstream identity
/// `provider`: a password, a passkey, or another linked identity.
pub async fn other_way_in<S: PasskeyStore + UpstreamStore>(
    store: &S,
    user: &User,
    provider: &str,
) -> Result<bool, AccountError> {
    if user.password().is_some() || store.passkey_count(&user.id).await? > 0 {
        return Ok(true);
    }
    Ok(store
        .identities_of(&user.id)
        .await?
        .iter()
        .any(|i| i.provider != provider))
}

/// Unlinks the upstream identity `provider`; refused when it is the only
/// way to sign in. A change to how the user signs in: their other
/// sessions end.
pub async fn unlink<S>(store: &S, session: &Session, provider: &str, now: i64) -> Result<(), AccountError>
where
    S: UserStore + PasskeyStore + UpstreamStore + SessionStore,
{
    need_fresh(session, now)?;
    let user = store
        .user(&session.user_id)
        .await?
        .ok_or(AccountError::NotThisBrowser)?;
    if !other_way_in(store, &user, provider).await? {
        return Err(AccountError::LastWayIn);
    }
    if users::unlink(store, &user.id, provider).await.map_err(refused)? == 0 {
        return Err(AccountError::NoSuchIdentity);
    }
    changed(store, session, "upstream identity unlinked").await
}
