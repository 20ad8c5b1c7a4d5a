//! The first-party JSON API (`/api/v1/...`) for apps that want the classic
//! "JWT login" without OAuth redirects. It is the same grant logic as the
//! token endpoint: `login` is the password grant ([RFC 6749 §4.3]) for the
//! app's `client_id`, `logout` is refresh-token revocation ([RFC 7009]),
//! and `me` reads the caller's profile from a valid access token
//! ([RFC 6750 §2.1] bearer).
//!
//! [RFC 6749 §4.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3
//! [RFC 7009]: https://www.rfc-editor.org/rfc/rfc7009
//! [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1

use crate::audit::{self, Actor, AuditKind, Event};
use serde::Deserialize;
use serde_json::{json, Value};

use super::access_token::TokenResponse;
use super::client_auth::{hash_secret, identify, Audience, CallingClient, PublicClients};
use super::grant::{password, refresh_token};
use super::introspect::{active_claims, Context};
use super::sign_in;
use super::user_tokens::Issue;
use super::{OAuthError, Params, Scope};
use crate::identity::device::DeviceKey;
use crate::identity::factors;
use crate::identity::guard as throttle;
use crate::identity::users::{self, NewUser, UserError};
use crate::keys::MasterKey;
use crate::store::{
    AssertionStore, AttemptStore, ClientStore, EmailTokenStore, FactorStore, MfaToken as StoredMfaToken,
    MfaTokenStore, RefreshTokenStore, ResourceStore, RevocationStore, UserStore,
};

/// `POST /api/v1/login` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The app's client id.
    pub client_id: String,
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Requested scope (optional).
    #[serde(default)]
    pub scope: Option<String>,
}

/// `POST /api/v1/logout` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogoutRequest {
    /// The app's client id.
    pub client_id: String,
    /// The refresh token to end (with its whole family); for cookie
    /// clients it comes from the cookie instead.
    #[serde(default)]
    pub refresh_token: Option<String>,
}

/// `POST /api/v1/refresh` body (the token itself is in the cookie).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RefreshRequest {
    /// The app's client id.
    pub client_id: String,
}

/// Tokens from the JSON API, and whether the refresh token belongs in the
/// HttpOnly cookie rather than the body.
#[derive(Debug)]
pub struct Issued {
    /// The token response.
    pub tokens: TokenResponse,
    /// Deliver `tokens.refresh_token` as a cookie.
    pub cookie: bool,
    /// A new device cookie, after a password login (see
    /// [`crate::identity::device`]).
    pub device: Option<String>,
}

/// `POST /api/v1/users` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegisterRequest {
    /// Login name.
    pub username: String,
    /// Password.
    pub password: String,
    /// Email (optional, unique).
    #[serde(default)]
    pub email: Option<String>,
    /// Display name (optional).
    #[serde(default)]
    pub name: Option<String>,
}

/// What a registration did. The JSON API answers both the same way
/// (`201` with the username alone), so a taken email cannot be told from a
/// free one.
#[derive(Debug)]
pub enum Registered {
    /// The account was made.
    Created(crate::domain::User),
    /// The email is another account's: nothing was made, and nothing is
    /// mailed (its owner has an account; the person who registered finds
    /// out by signing in, or by "Forgot password?" if the address is
    /// theirs).
    EmailTaken {
        /// The (free) username that was asked for.
        username: String,
    },
}

impl Registered {
    /// The username, as registered (normalised).
    pub fn username(&self) -> &str {
        match self {
            Registered::Created(user) => &user.username,
            Registered::EmailTaken { username } => username,
        }
    }
}

/// Self-registration: creates a user with no roles. Refused unless
/// enabled, and throttled per client address like logins
/// ([`throttle::reserve_registration`]): every attempt counts, a taken
/// username included, so one client can neither fill the user table or the
/// password-hashing queue, nor probe usernames faster than
/// [`throttle::REGISTRATIONS_PER_WINDOW`] per window.
///
/// A taken username is told (409: the person must choose another); a taken
/// email is not (OWASP Authentication Cheat Sheet, "Authentication and
/// Error Messages": account creation should not reveal whether an account
/// exists). The answer is [`Registered::EmailTaken`], which the API renders
/// like a success, after the same work (the password is hashed either way).
pub async fn register<S: UserStore + AttemptStore + EmailTokenStore>(
    store: &S,
    outbox: &crate::mail::Outbox,
    enabled: bool,
    now: i64,
    peer: Option<std::net::IpAddr>,
    request: RegisterRequest,
) -> Result<Registered, OAuthError> {
    if !enabled {
        return Err(OAuthError::RegistrationDisabled);
    }
    if !throttle::reserve_registration(store, peer, now).await? {
        tracing::warn!(target: "audit", peer = ?peer, "registration refused: too many from this address");
        return Err(OAuthError::RegistrationThrottled);
    }
    let request_name = crate::username::normalize(&request.username);
    // The rules for a new user (username, email, password strength) are
    // the lifecycle's; the password is hashed before the email is looked
    // up, so a taken email costs the same work as a free one.
    let new = NewUser {
        username: request.username,
        email: request.email,
        // Nobody has checked the address yet (OpenID Connect Core §5.1).
        email_verified: false,
        name: request.name,
        roles: vec![],
        password: Some(zeroize::Zeroizing::new(request.password)),
    };
    let user = match users::create(store, new, now).await {
        Ok(user) => user,
        Err(UserError::Username(e)) => return Err(OAuthError::MalformedJson(e.message())),
        Err(UserError::Email) => return Err(OAuthError::MalformedJson("email is not an address")),
        Err(UserError::WeakPassword(why)) => return Err(OAuthError::WeakPassword(why)),
        Err(UserError::UsernameTaken) => {
            tracing::info!(target: "audit", username = %request_name, peer = ?peer, "registration refused: username taken");
            return Err(OAuthError::UserExists);
        }
        Err(UserError::EmailTaken { username }) => {
            tracing::info!(target: "audit", username, peer = ?peer, "registration not made: the email is another account's");
            return Ok(Registered::EmailTaken { username });
        }
        Err(e) => return Err(e.into()),
    };
    let event = Event::new(AuditKind::UserCreated, now, Actor::User, "user registered")
        .user(&user.id)
        .ip(peer)
        .with("self_registered", true);
    audit::record(store, event).await;
    if let Some(address) = user.email.as_deref() {
        // The account is made either way: a link that could not be made
        // is logged, and the person can ask again from /account.
        if let Err(e) =
            crate::identity::email::send_verification(store, outbox, &user.id, &user.username, address, now)
                .await
        {
            tracing::error!(user_id = %user.id, "verification link not made: {e}");
        }
    }
    Ok(Registered::Created(user))
}

/// How long an mfa_token lives: five minutes.
pub const MFA_TOKEN_SECONDS: i64 = 300;

/// `POST /api/v1/login/mfa` body: the second step of a login.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MfaRequest {
    /// The token `POST /api/v1/login` answered with.
    pub mfa_token: String,
    /// A one-time code from the user's authenticator, or a recovery code.
    pub code: String,
    /// The app's client id (optional: the first step's client is bound to
    /// the token; when sent, it must be that client).
    #[serde(default)]
    pub client_id: Option<String>,
}

impl std::fmt::Debug for MfaRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaRequest")
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// What a correct password gets from `POST /api/v1/login`.
#[derive(Debug)]
pub enum Login {
    /// The tokens: the user has no second factor.
    Issued(Issued),
    /// The user has a second factor: the token for
    /// `POST /api/v1/login/mfa` (answered as 401 `mfa_required`).
    MfaRequired(MfaToken),
}

/// A fresh mfa_token, shown once (its `Debug` leaves it out).
pub struct MfaToken(zeroize::Zeroizing<String>);

impl MfaToken {
    /// The token, to send to the app.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for MfaToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MfaToken(..)")
    }
}

/// Logs a user in for an app: the password grant. A browser's device
/// cookie (`device`, checked with `devices`) is counted on its own budget
/// rather than against the account's lock (see [`crate::identity::device`]); a
/// successful login gets a new one. A user with a second factor gets no
/// tokens: [`Login::MfaRequired`], with a token bound to the user, the
/// client and the scope, for [`login_mfa`].
pub async fn login<
    S: ClientStore
        + AssertionStore
        + UserStore
        + AttemptStore
        + RefreshTokenStore
        + ResourceStore
        + FactorStore
        + MfaTokenStore,
>(
    store: &S,
    issue: &Issue<'_>,
    authorization: Option<&str>,
    request: &LoginRequest,
    devices: &DeviceKey,
    device: Option<&str>,
) -> Result<Login, OAuthError> {
    let mut params = Params::from_pairs([
        ("client_id", Some(request.client_id.as_str())),
        ("username", Some(request.username.as_str())),
        ("password", Some(request.password.as_str())),
        ("scope", request.scope.as_deref()),
    ]);
    let client = identify(
        store,
        authorization,
        &mut params,
        PublicClients::Allowed,
        issue.audience(),
    )
    .await?;
    let approved = password::approve(store, &client, &params).await?;
    let presented = device.map(|cookie| sign_in::Presented { key: devices, cookie });
    let (user, second_factor) = password::authenticate(store, issue, &client, &params, presented).await?;
    if second_factor {
        let token = crate::random::base64url(32)
            .ok_or_else(|| OAuthError::Internal("no randomness for the mfa_token".into()))?;
        store
            .create_mfa_token(
                &hash_secret(&token),
                &StoredMfaToken {
                    user_id: user.id.clone(),
                    client_id: client.client().id.clone(),
                    scope: request.scope.clone(),
                    expires_at: issue.now + MFA_TOKEN_SECONDS,
                },
            )
            .await?;
        tracing::info!(target: "audit", user_id = %user.id, client_id = %client.client().id, "login: second factor required");
        return Ok(Login::MfaRequired(MfaToken(zeroize::Zeroizing::new(token))));
    }
    finish(store, issue, &client, &user, &approved, devices)
        .await
        .map(Login::Issued)
}

/// The second step of a login (`POST /api/v1/login/mfa`): the mfa_token
/// of [`login`] and a one-time or recovery code. In order:
///
/// 1. The token is live (known, unexpired, unused, fewer than
///    [`crate::store::MFA_TOKEN_FAILURES`] wrong codes) and its client is the caller
///    (identified, and authenticated if confidential, as in [`login`]).
/// 2. The first step's scope is still allowed to the client.
/// 3. The code goes through the login guard like a password
///    ([`throttle::check_code`]): a TOTP code is verified and its time
///    step advanced (a replay is refused), else a recovery code is spent.
///    A wrong code counts against the account and the address, and
///    against the token.
/// 4. The token is spent in one statement; of two racing uses, one wins.
/// 5. The tokens, exactly as [`login`] issues them.
pub async fn login_mfa<
    S: ClientStore
        + AssertionStore
        + UserStore
        + AttemptStore
        + RefreshTokenStore
        + ResourceStore
        + FactorStore
        + MfaTokenStore,
>(
    store: &S,
    issue: &Issue<'_>,
    master: &MasterKey,
    authorization: Option<&str>,
    request: &MfaRequest,
    devices: &DeviceKey,
) -> Result<Issued, OAuthError> {
    // 1.
    let hash = hash_secret(&request.mfa_token);
    let pending = store
        .mfa_token(&hash, issue.now)
        .await?
        .ok_or(OAuthError::InvalidMfaToken)?;
    let client_id = request.client_id.as_deref().unwrap_or(&pending.client_id);
    let mut params = Params::from_pairs([
        ("client_id", Some(client_id)),
        ("scope", pending.scope.as_deref()),
    ]);
    let client = identify(
        store,
        authorization,
        &mut params,
        PublicClients::Allowed,
        issue.audience(),
    )
    .await?;
    if client.client().id != pending.client_id {
        tracing::warn!(target: "audit", client_id = %client.client().id, "mfa_token of another client refused");
        return Err(OAuthError::InvalidMfaToken);
    }
    let user = store
        .user(&pending.user_id)
        .await?
        .ok_or(OAuthError::InvalidMfaToken)?;
    // 2.
    let approved = password::approve_scope(store, &client, &params).await?;
    // 3.
    let attempt = throttle::Attempt {
        now: issue.now,
        peer: issue.peer,
        client_id: &client.client().id,
        device: None,
    };
    let checked = throttle::check_code(store, &attempt, &user, async {
        if factors::verify_totp(store, master, &user.id, &request.code, issue.now)
            .await?
            .is_some()
        {
            return Ok(true);
        }
        Ok::<_, OAuthError>(factors::use_recovery_code(store, master, &user.id, &request.code).await?)
    })
    .await;
    if let Err(e) = checked {
        if matches!(e, OAuthError::BadCredentials) {
            store.mfa_token_failed(&hash).await?;
        }
        return Err(e);
    }
    // 4.
    if !store.consume_mfa_token(&hash, issue.now).await? {
        return Err(OAuthError::InvalidMfaToken);
    }
    // 5.
    finish(store, issue, &client, &user, &approved, devices).await
}

/// The tokens of a completed login, the same for one step or two: the
/// grant's tokens, the refresh cookie if the client uses it, and a new
/// device cookie.
async fn finish<S: RefreshTokenStore>(
    store: &S,
    issue: &Issue<'_>,
    client: &CallingClient,
    user: &crate::store::User,
    approved: &password::Approved,
    devices: &DeviceKey,
) -> Result<Issued, OAuthError> {
    let tokens = password::issue(store, issue, client, user, approved).await?;
    Ok(Issued {
        tokens,
        cookie: client.client().refresh_cookie,
        device: devices.issue(&user.id, issue.now),
    })
}

/// Refreshes from the cookie: the refresh grant for a cookie client.
pub async fn refresh<S: ClientStore + AssertionStore + UserStore + RefreshTokenStore + ResourceStore>(
    store: &S,
    issue: &Issue<'_>,
    request: &RefreshRequest,
    cookie: Option<&str>,
) -> Result<Issued, OAuthError> {
    let mut params = Params::from_pairs([
        ("client_id", Some(request.client_id.as_str())),
        ("refresh_token", cookie),
    ]);
    let client = identify(store, None, &mut params, PublicClients::Allowed, issue.audience()).await?;
    if !client.client().refresh_cookie {
        return Err(OAuthError::MalformedJson(
            "this client does not use the refresh cookie",
        ));
    }
    let tokens = refresh_token::handle(store, issue, &client, &params).await?;
    Ok(Issued {
        tokens,
        cookie: true,
        device: None,
    })
}

/// Ends a login: revokes the refresh token's family. Repeating it, or an
/// unknown token, is not an error (RFC 7009 §2.2).
pub async fn logout<S: ClientStore + AssertionStore + RefreshTokenStore>(
    store: &S,
    audience: Audience<'_>,
    authorization: Option<&str>,
    request: &LogoutRequest,
    cookie: Option<&str>,
) -> Result<(), OAuthError> {
    let mut params = Params::from_pairs([("client_id", Some(request.client_id.as_str()))]);
    let client = identify(
        store,
        authorization,
        &mut params,
        PublicClients::Allowed,
        audience,
    )
    .await?;
    let caller = &client.client().id;
    let Some(token) = request.refresh_token.as_deref().or(cookie) else {
        return Ok(());
    };
    if let Some(found) = store
        .revoke_refresh_family(&hash_secret(token), caller, audience.now)
        .await?
    {
        if &found.client_id != caller {
            return Err(OAuthError::NotYourToken);
        }
        let event = Event::new(AuditKind::TokenRevoked, audience.now, Actor::Client, "logout")
            .user(&found.user_id)
            .client(caller.as_str())
            .with("token", "refresh_token");
        audit::record(store, event).await;
    }
    Ok(())
}

/// The profile of the user a bearer token belongs to, as far as the
/// token's grant releases it (see [`super::claims`]); `None` when the token
/// is not active or not a user's.
pub async fn me<S: UserStore + ClientStore + RevocationStore>(
    ctx: &Context<'_, S>,
    token: &str,
) -> Result<Option<Value>, OAuthError> {
    let Some(claims) = active_claims(ctx, token).await? else {
        return Ok(None);
    };
    let (Some(sub), Some(client_id)) = (
        claims.get("sub").and_then(Value::as_str),
        claims.get("client_id").and_then(Value::as_str),
    ) else {
        return Ok(None);
    };
    let (Some(user), Some(client)) = (ctx.store.user(sub).await?, ctx.store.client(client_id).await?) else {
        return Ok(None);
    };
    let granted = Scope::from_stored(claims.get("scope").and_then(Value::as_str).unwrap_or(""));
    let mut profile = super::claims::Released::for_grant(&user, &client, &granted).to_json();
    if let Some(username) = profile.remove("preferred_username") {
        profile.insert("username".into(), username);
    }
    profile.insert("sub".into(), json!(user.id));
    Ok(Some(Value::Object(profile)))
}
