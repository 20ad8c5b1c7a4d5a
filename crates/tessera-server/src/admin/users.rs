//! `/admin/v1/users`: list, create, read, change (disable, roles, second
//! factor, name) and delete users, and a user's SSO sessions and
//! consents. Every change goes through the user lifecycle
//! ([`crate::identity::users`]), as `tessera user` does.

use zeroize::Zeroizing;

use super::{check_if_match, page, Admin, AdminError, Page, PageRequest};
use crate::domain::User;
use crate::identity::users::{self, NewUser, UserError};
use crate::store::{ConsentStore, SessionStore, Store};

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
    tracing::info!(target: "audit", user_id = %user.id, by = %admin.subject, "user created through the admin API");
    Ok(view(&user))
}

/// Users, a page at a time, by user id.
pub async fn list(store: &Store, request: &PageRequest) -> Result<Page<UserView>, AdminError> {
    page(
        users::list(store).await.map_err(refusal)?,
        |u| u.id.as_str(),
        request,
        view,
    )
}

/// One user.
pub async fn get(store: &Store, id: &str) -> Result<UserView, AdminError> {
    Ok(view(&users::get(store, id).await.map_err(refusal)?))
}

/// Changes a user, if `if_match` is their current `ETag`; the user as
/// changed.
pub async fn patch(
    store: &Store,
    admin: &Admin,
    id: &str,
    if_match: Option<&str>,
    request: PatchUser,
    now: i64,
) -> Result<UserView, AdminError> {
    let current = get(store, id).await?;
    check_if_match(if_match, &current)?;
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
    if let Some(name) = &request.name {
        users::set_name(store, id, name).await.map_err(refusal)?;
    }
    if let Some(roles) = &request.roles {
        users::set_roles(store, id, roles).await.map_err(refusal)?;
    }
    if let Some(required) = request.require_mfa {
        users::set_require_mfa(store, id, required)
            .await
            .map_err(refusal)?;
    }
    if let Some(disabled) = request.disabled {
        users::set_disabled(store, id, disabled, now)
            .await
            .map_err(refusal)?;
    }
    tracing::info!(target: "audit", user_id = %id, by = %admin.subject, "user changed through the admin API");
    get(store, id).await
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
    check_if_match(if_match, &current)?;
    users::delete(store, id, now).await.map_err(refusal)?;
    tracing::info!(target: "audit", user_id = %id, by = %admin.subject, "user deleted through the admin API");
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
    tracing::info!(target: "audit", user_id = %id, by = %admin.subject, "session ended through the admin API");
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
    tracing::info!(target: "audit", user_id = %id, client_id = %client_id, by = %admin.subject, "consent revoked through the admin API");
    Ok(())
}
