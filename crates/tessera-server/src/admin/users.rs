//! `/admin/v1/users`: list, create, read, change (disable, roles, second
//! factor, name, email), set the password of, and delete users, and a
//! user's SSO sessions and consents. Every change goes through the user lifecycle
//! ([`crate::identity::users`]), as `tessera user` does.

use zeroize::Zeroizing;

use super::{
    after_of, check_if_match, keyset_page, limit_of, page, Admin, AdminError, Page, PageRequest, Tagged,
};
use crate::audit::{self, AuditKind, Event};
use crate::domain::User;
use crate::identity::users::{self, NewUser, UserError};
use crate::store::{Conditional, ConsentStore, SessionStore, Store, UserChanges, VersionStore};

/// A user as the admin API shows it (never a credential's secret).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct UserView {
    /// The user's id, the `sub` of their tokens.
    pub user_id: String,
    /// Login name.
    pub username: String,
    /// Email address.
    pub email: Option<String>,
    /// Whether the address was verified.
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Roles carried in their tokens.
    pub roles: Vec<String>,
    /// Creation time (seconds since the epoch).
    pub created_at: i64,
    /// Whether an administrator disabled the account.
    pub disabled: bool,
    /// Whether they must sign in with a second factor.
    pub require_mfa: bool,
    /// Whether they have a password.
    pub has_password: bool,
    /// Locked after failed logins until this time.
    pub locked_until: Option<i64>,
}

/// A user as the admin API shows it.
pub fn view(u: &User) -> UserView {
    UserView {
        user_id: u.id.clone(),
        username: u.username.clone(),
        email: u.email.clone(),
        email_verified: u.email_verified,
        name: u.name.clone(),
        roles: u.roles.clone(),
        created_at: u.created_at,
        disabled: u.is_disabled(),
        require_mfa: u.require_mfa,
        has_password: u.password().is_some(),
        locked_until: u.locked_until,
    }
}

/// One SSO session of a user.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct SessionView {
    /// The session id (`sid` of its ID tokens).
    pub sid: String,
    /// When its sign-in completed (seconds since the epoch).
    pub auth_time: i64,
    /// When it ends.
    pub expires_at: i64,
    /// The address it was signed in from, when known.
    pub client_ip: Option<String>,
    /// How the user signed in (RFC 8176 `amr` values).
    pub amr: Vec<String>,
}

/// One app a user consented to.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ConsentView {
    /// The client.
    pub client_id: String,
    /// The scopes allowed, space-separated.
    pub scope: String,
    /// When it was last given (seconds since the epoch).
    pub granted_at: i64,
}

fn refusal(e: UserError) -> AdminError {
    match e {
        UserError::NotFound => AdminError::NotFound("user"),
        UserError::UsernameTaken => AdminError::Conflict("that username is taken".into()),
        UserError::EmailTaken { .. } => AdminError::Conflict("that email is another account's".into()),
        UserError::Store(e) => AdminError::Internal(e.to_string()),
        UserError::Password(e) => AdminError::Internal(e.to_string()),
        UserError::NoRandomness => AdminError::Internal("no randomness".into()),
        e @ (UserError::Username(_)
        | UserError::Email
        | UserError::Name
        | UserError::WeakPassword(_)
        | UserError::LastCredential) => AdminError::InvalidRequest(e.to_string()),
    }
}

/// `POST /admin/v1/users`: what `tessera user create` takes.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUser {
    /// The login name.
    pub username: String,
    /// Email address.
    pub email: Option<String>,
    /// Whether the address is known to be theirs.
    #[serde(default)]
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Roles carried in their tokens (`admin` makes an administrator).
    #[serde(default)]
    pub roles: Vec<String>,
    /// Their password (checked for strength, stored hashed); none for a
    /// user who signs in elsewhere.
    pub password: Option<String>,
}

/// `PATCH /admin/v1/users/{user_id}`: the members present are changed.
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchUser {
    /// Disable (`true`) or enable: disabling ends every grant and session.
    pub disabled: Option<bool>,
    /// The roles, replaced.
    pub roles: Option<Vec<String>>,
    /// Whether they must sign in with a second factor.
    pub require_mfa: Option<bool>,
    /// The display name (empty clears it).
    pub name: Option<String>,
    /// The email address (empty clears it). An address an administrator
    /// sets is not verified unless `email_verified` says so.
    pub email: Option<String>,
    /// Whether the address (the new one, with `email`) is known to be
    /// theirs; default `false` with a new `email`.
    pub email_verified: Option<bool>,
}

/// `POST /admin/v1/users/{user_id}/password`.
#[derive(serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetPassword {
    /// The new password (the usual strength rules; stored hashed).
    #[schema(value_type = String, format = Password)]
    pub password: Zeroizing<String>,
}

impl std::fmt::Debug for SetPassword {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SetPassword { .. }")
    }
}

/// Makes a user.
pub async fn create(
    store: &Store,
    admin: &Admin,
    request: CreateUser,
    now: i64,
) -> Result<UserView, AdminError> {
    if let Some(email) = request.email.as_deref() {
        if !users::is_address(email) {
            return Err(refusal(UserError::Email));
        }
    }
    if let Some(role) = request
        .roles
        .iter()
        .find(|r| r.is_empty() || r.chars().any(char::is_whitespace))
    {
        return Err(AdminError::InvalidRequest(format!(
            "roles: {role:?} is not one word"
        )));
    }
    let new = NewUser {
        username: request.username,
        email: request.email,
        email_verified: request.email_verified,
        name: request.name,
        roles: request.roles,
        password: request.password.map(Zeroizing::new),
    };
    let user = users::create(store, new, now).await.map_err(refusal)?;
    let event = Event::new(
        AuditKind::UserCreated,
        now,
        admin.actor(),
        "user created through the admin API",
    )
    .user(&user.id)
    .with("roles", user.roles.clone());
    audit::record(store, event).await;
    Ok(view(&user))
}

/// Users, a page at a time, by user id, read a page at a time from the
/// store (keyset on the id).
pub async fn list(store: &Store, request: &PageRequest) -> Result<Page<UserView>, AdminError> {
    let limit = limit_of(request)?;
    let after = after_of(request)?;
    let want = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let rows = store.users_after(after.as_deref(), want).await?;
    Ok(keyset_page(rows, limit, |u| u.id.as_str(), view))
}

/// One user, with their `ETag` (the version read first: see
/// [`super::clients::get`]).
pub async fn get(store: &Store, id: &str) -> Result<Tagged<UserView>, AdminError> {
    let Some(version) = store.user_version(id).await? else {
        return Err(AdminError::NotFound("user"));
    };
    Ok(Tagged::new(
        view(&users::get(store, id).await.map_err(refusal)?),
        version,
    ))
}

/// Changes a user, if `if_match` is their current `ETag` and they are
/// still at the version read with it: every member in one conditional
/// write ([`users::change_if`]); the user as changed, tagged.
pub async fn patch(
    store: &Store,
    admin: &Admin,
    id: &str,
    if_match: Option<&str>,
    request: PatchUser,
    now: i64,
) -> Result<Tagged<UserView>, AdminError> {
    let current = get(store, id).await?;
    check_if_match(if_match, &current.etag)?;
    if let Some(roles) = &request.roles {
        if let Some(role) = roles
            .iter()
            .find(|r| r.is_empty() || r.chars().any(char::is_whitespace))
        {
            return Err(AdminError::InvalidRequest(format!(
                "roles: {role:?} is not one word"
            )));
        }
    }
    let email = match (request.email, request.email_verified) {
        (Some(email), verified) => {
            let email = email.trim().to_owned();
            Some(((!email.is_empty()).then_some(email), verified.unwrap_or(false)))
        }
        (None, Some(verified)) => match &current.view.email {
            Some(_) => Some((current.view.email.clone(), verified)),
            None => {
                return Err(AdminError::InvalidRequest(
                    "email_verified: the user has no email".into(),
                ))
            }
        },
        (None, None) => None,
    };
    let changes = UserChanges {
        name: request.name.map(Some),
        email,
        roles: request.roles,
        require_mfa: request.require_mfa,
        disabled: request.disabled,
    };
    let mut changed: Vec<&str> = Vec::new();
    for (present, name) in [
        (changes.name.is_some(), "name"),
        (changes.email.is_some(), "email"),
        (changes.roles.is_some(), "roles"),
        (changes.require_mfa.is_some(), "require_mfa"),
        (changes.disabled.is_some(), "disabled"),
    ] {
        if present {
            changed.push(name);
        }
    }
    let disabled = changes.disabled;
    let roles = changes.roles.clone();
    match users::change_if(store, id, current.version, changes, now)
        .await
        .map_err(refusal)?
    {
        Conditional::Done => {}
        Conditional::Stale => return Err(AdminError::PreconditionFailed),
    }
    let mut event = Event::new(
        AuditKind::UserChanged,
        now,
        admin.actor(),
        "user changed through the admin API",
    )
    .user(id)
    .with("changed", changed);
    if let Some(disabled) = disabled {
        event = event.with("disabled", disabled);
    }
    if let Some(roles) = roles {
        event = event.with("roles", roles);
    }
    audit::record(store, event).await;
    get(store, id).await
}

/// Sets a user's password as an administrator: the usual strength rules,
/// and every SSO session and refresh family of the user ends in the same
/// transaction ([`users::set_password`], what `/account/password` and
/// `tessera user passwd` use).
pub async fn set_password(
    store: &Store,
    admin: &Admin,
    id: &str,
    request: SetPassword,
    now: i64,
) -> Result<(), AdminError> {
    users::set_password(store, id, request.password, now)
        .await
        .map_err(refusal)?;
    let event = Event::new(
        AuditKind::PasswordChanged,
        now,
        admin.actor(),
        "password set through the admin API; every session and refresh family ended",
    )
    .user(id);
    audit::record(store, event).await;
    Ok(())
}

/// Deletes a user, if `if_match` is their current `ETag`.
pub async fn delete(
    store: &Store,
    admin: &Admin,
    id: &str,
    if_match: Option<&str>,
    now: i64,
) -> Result<(), AdminError> {
    let current = get(store, id).await?;
    check_if_match(if_match, &current.etag)?;
    users::delete(store, id, now).await.map_err(refusal)?;
    let event = Event::new(
        AuditKind::UserDeleted,
        now,
        admin.actor(),
        "user deleted through the admin API",
    )
    .user(id);
    audit::record(store, event).await;
    Ok(())
}

/// The user's unexpired SSO sessions, a page at a time, by `sid`.
pub async fn sessions(
    store: &Store,
    id: &str,
    request: &PageRequest,
    now: i64,
) -> Result<Page<SessionView>, AdminError> {
    users::get(store, id).await.map_err(refusal)?;
    let sessions = store.sessions_of(id, now).await?;
    page(
        sessions,
        |s| s.sid.as_str(),
        request,
        |s| SessionView {
            sid: s.sid.clone(),
            auth_time: s.auth_time,
            expires_at: s.expires_at,
            client_ip: s.client_ip.clone(),
            amr: s.amr().claim_values().into_iter().map(str::to_owned).collect(),
        },
    )
}

/// Ends one SSO session of the user and revokes the refresh tokens
/// issued in it.
pub async fn end_session(
    store: &Store,
    admin: &Admin,
    id: &str,
    sid: &str,
    now: i64,
) -> Result<(), AdminError> {
    if !store.end_session_by_sid(id, sid, now).await? {
        return Err(AdminError::NotFound("session"));
    }
    let event = Event::new(
        AuditKind::SessionEnded,
        now,
        admin.actor(),
        "session ended through the admin API",
    )
    .user(id)
    .with("sid", sid);
    audit::record(store, event).await;
    Ok(())
}

/// The apps the user consented to, a page at a time, by client id.
pub async fn consents(
    store: &Store,
    id: &str,
    request: &PageRequest,
) -> Result<Page<ConsentView>, AdminError> {
    users::get(store, id).await.map_err(refusal)?;
    let consents = store.consents_of(id).await?;
    page(
        consents,
        |c| c.client_id.as_str(),
        request,
        |c| ConsentView {
            client_id: c.client_id.clone(),
            scope: c.approval.scope.as_str().to_owned(),
            granted_at: c.granted_at,
        },
    )
}

/// Withdraws the user's consent to a client and revokes the refresh
/// tokens they hold there (offline ones included).
pub async fn revoke_consent(
    store: &Store,
    admin: &Admin,
    id: &str,
    client_id: &str,
    now: i64,
) -> Result<(), AdminError> {
    if !store.revoke_consent(id, client_id, now).await? {
        return Err(AdminError::NotFound("consent"));
    }
    let event = Event::new(
        AuditKind::ConsentRevoked,
        now,
        admin.actor(),
        "consent revoked through the admin API",
    )
    .user(id)
    .client(client_id);
    audit::record(store, event).await;
    Ok(())
}
