//! Protocol errors, named for the rule that was broken, mapped to the wire
//! once. Descriptions are fixed words: they name the parameter at fault
//! (from a fixed list, [`super::params::parameter_name`]) but never repeat
//! what the client sent, so an answer cannot be made to carry an
//! attacker's text (reflected content, log injection), and internal
//! faults never show their detail: [`OAuthError::code`] and [`OAuthError::status`] are the only place
//! that knows RFC 6749 §5.2's codes ([RFC 6749 §5.2]).
//!
//! [RFC 6749 §5.2]: https://www.rfc-editor.org/rfc/rfc6749#section-5.2

use crate::store::StoreError;

/// Why a request was refused.
#[derive(Debug, thiserror::Error)]
pub enum OAuthError {
    /// The body is not `application/x-www-form-urlencoded` (RFC 6749 §3.2).
    #[error("the request body must be application/x-www-form-urlencoded")]
    WrongContentType,
    /// The body is larger than the server accepts.
    #[error("the request body is too large")]
    BodyTooLarge,
    /// The JSON body does not fit the endpoint (first-party API).
    #[error("the request body is not the expected JSON: {0}")]
    MalformedJson(&'static str),
    /// The body is not valid form encoding or UTF-8.
    #[error("the request body is not valid form data")]
    MalformedBody,
    /// A parameter appears more than once (RFC 6749 §3.1).
    #[error("{0} is repeated; each parameter may appear once")]
    RepeatedParameter(&'static str),
    /// A cookie name was sent twice (a planted cookie rides along with
    /// ours; which one is read is not for the sender to choose).
    #[error("a cookie was sent twice; clear this site's cookies and sign in again")]
    RepeatedCookie,
    /// A required parameter is missing.
    #[error("parameter {0:?} is required")]
    MissingParameter(&'static str),
    /// The client sent credentials in more than one way (RFC 6749 §2.3).
    #[error("the client must use exactly one authentication method")]
    SeveralAuthMethods,
    /// The Authorization header is not valid HTTP Basic.
    #[error("the Authorization header is not valid HTTP Basic (RFC 6749 §2.3.1)")]
    MalformedBasicAuth,
    /// No client credentials at all.
    #[error("client authentication is required")]
    ClientAuthMissing,
    /// Unknown client or wrong secret: one error for both, so client ids
    /// cannot be probed.
    #[error("client authentication failed")]
    ClientAuthFailed,
    /// A public client tried a grant that needs a confidential one.
    #[error("this grant requires a confidential client")]
    PublicClientNotAllowed,
    /// A pushed authorization request breaks a rule of the authorization
    /// request ([RFC 9126 §2.3]: the error is the one `/authorize` would
    /// give, as JSON).
    ///
    /// [RFC 9126 §2.3]: https://www.rfc-editor.org/rfc/rfc9126#section-2.3
    #[error("{}", .0.description())]
    PushedRequestRefused(crate::oauth::authorize_error::AuthorizeError),
    /// A client assertion's parameters are incomplete or of an unsupported
    /// type ([RFC 7521 §4.2]).
    ///
    /// [RFC 7521 §4.2]: https://www.rfc-editor.org/rfc/rfc7521#section-4.2
    #[error("{0}")]
    BadClientAssertion(&'static str),
    /// A DPoP proof was refused ([RFC 9449 §5]).
    ///
    /// [RFC 9449 §5]: https://www.rfc-editor.org/rfc/rfc9449#section-5
    #[error("{}", .0.description())]
    InvalidDpopProof(crate::oauth::dpop::DpopError),
    /// The client is registered `--dpop-bound` and sent no DPoP proof.
    #[error("this client's tokens must be DPoP-bound: send a DPoP proof (RFC 9449)")]
    DpopRequired,
    /// The code or refresh token is bound to a DPoP key ([RFC 9449 §5],
    /// §10) and the request did not prove possession of that key.
    ///
    /// [RFC 9449 §5]: https://www.rfc-editor.org/rfc/rfc9449#section-5
    #[error("the grant is bound to a DPoP key: send a DPoP proof made with that key")]
    DpopKeyMismatch,
    /// `grant_type` is not one this server implements.
    #[error(
        "grant_type is not supported; use authorization_code, client_credentials, password or refresh_token"
    )]
    UnsupportedGrantType,
    /// The client is not registered for this grant type.
    #[error("this client may not use grant_type {0}")]
    GrantNotAllowed(&'static str),
    /// A requested scope is not registered for the client.
    #[error("a requested scope is not allowed for this client")]
    ScopeNotAllowed,
    /// The `scope` parameter is not a scope (RFC 6749 §3.3).
    #[error("scope is malformed: {0}")]
    MalformedScope(#[from] crate::domain::ScopeError),
    /// A requested audience is not registered for the client (RFC 8707).
    #[error("the requested audience is not allowed for this client")]
    AudienceNotAllowed,
    /// A `resource` that cannot be granted (RFC 8707 §2).
    #[error(transparent)]
    Target(#[from] crate::domain::TargetError),
    /// A client tried to revoke a token issued to another (RFC 7009 §2.1).
    #[error("the token was not issued to this client")]
    NotYourToken,
    /// Wrong username or password: one error for both (RFC 6749 §5.2
    /// `invalid_grant`), so usernames cannot be probed.
    #[error("invalid username or password")]
    BadCredentials,
    /// The password was right, but the user has a second factor and the
    /// password grant has no step for it (issue 19, "no bypass").
    #[error("this user signs in with a second factor, which the password grant cannot ask for; use the authorization code flow, or POST /api/v1/login and /api/v1/login/mfa")]
    SecondFactorRequired,
    /// The password was right, but the user (`tessera user require-mfa`)
    /// or the client (`--require-mfa`) requires a second factor and the
    /// user has none: no token until one is enrolled (issue 19). The
    /// token endpoint answers `invalid_grant`; `POST /api/v1/login`
    /// answers 401 `mfa_enrollment_required`.
    #[error(
        "this sign-in requires a second factor and the user has none: enroll an authenticator app first"
    )]
    MfaEnrollmentRequired,
    /// The mfa_token of `POST /api/v1/login/mfa` is unknown, expired,
    /// used, dead after too many wrong codes, or another client's.
    #[error("the mfa_token is invalid, expired or used; sign in again with POST /api/v1/login")]
    InvalidMfaToken,
    /// Too many failed logins from the client's address (a locked
    /// account is [`OAuthError::BadCredentials`], so locks reveal nothing).
    #[error("too many failed sign-ins from this address; try again later")]
    TooManyAttempts,
    /// Too many registrations from the client's address.
    #[error("too many registrations from this address; try again later")]
    RegistrationThrottled,
    /// Too many client registrations from the client's address (open
    /// dynamic registration).
    #[error("too many client registrations from this address; try again in an hour")]
    ClientRegistrationThrottled,
    /// A redirect URI a client may not register ([RFC 7591 §3.2.2]
    /// `invalid_redirect_uri`). Fixed words: member names and rules, never
    /// the value sent.
    ///
    /// [RFC 7591 §3.2.2]: https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2
    #[error("{0}")]
    InvalidRedirectUri(String),
    /// Client metadata that cannot be registered ([RFC 7591 §3.2.2]
    /// `invalid_client_metadata`). Fixed words, as above.
    ///
    /// [RFC 7591 §3.2.2]: https://www.rfc-editor.org/rfc/rfc7591#section-3.2.2
    #[error("{0}")]
    InvalidClientMetadata(String),
    /// A client update request that breaks [RFC 7592 §2.2] (another
    /// `client_id`, a wrong `client_secret`, a member only the server sets).
    ///
    /// [RFC 7592 §2.2]: https://www.rfc-editor.org/rfc/rfc7592#section-2.2
    #[error("{0}")]
    ClientUpdateRefused(&'static str),
    /// The refresh token is unknown, expired, revoked or another client's.
    #[error("the refresh token is invalid, expired or revoked")]
    InvalidRefreshToken,
    /// A used refresh token came back: its whole family is now revoked.
    #[error("the refresh token was already used; all tokens from this login are revoked")]
    RefreshTokenReplayed,
    /// The authorization code is unknown, expired, or was issued to another
    /// client or for another redirect URI (RFC 6749 §4.1.3).
    #[error("the authorization code is invalid or expired, or was issued to another client or redirect_uri")]
    InvalidCode,
    /// A used authorization code came back: what it issued is revoked.
    #[error("the authorization code was already used; the tokens issued with it are revoked")]
    CodeReplayed,
    /// PKCE failed (RFC 7636 §4.6, RFC 9700 §4.8.2).
    #[error("PKCE: {0}")]
    PkceFailed(&'static str),
    /// An internal failure other than storage or signing.
    #[error("internal failure: {0}")]
    Internal(String),
    /// Self-registration is turned off.
    #[error("self-registration is disabled on this server")]
    RegistrationDisabled,
    /// The password is too weak.
    #[error("the password is too weak: {0}")]
    WeakPassword(&'static str),
    /// The username is taken (409). (A taken email is not told: see
    /// [`super::first_party::register`].)
    #[error("that username (or one that looks like it) is already registered; choose another")]
    UserExists,
    /// Password hashing failed.
    #[error("password hashing failure: {0}")]
    Password(crate::password::PasswordError),
    /// Too many password checks are waiting (503 with `Retry-After`).
    #[error("the server is busy; try again in a moment")]
    Busy,
    /// Storage failed.
    #[error("storage failure")]
    Store(#[from] StoreError),
    /// Signing failed.
    #[error("token signing failure")]
    Signing(#[from] tessera_jwt::Error),
}

impl From<crate::clients::authentication::AuthError> for OAuthError {
    fn from(e: crate::clients::authentication::AuthError) -> OAuthError {
        use crate::clients::authentication::AuthError;
        match e {
            AuthError::SeveralMethods => OAuthError::SeveralAuthMethods,
            AuthError::MalformedBasic => OAuthError::MalformedBasicAuth,
            AuthError::Missing => OAuthError::ClientAuthMissing,
            AuthError::Failed => OAuthError::ClientAuthFailed,
            AuthError::PublicClientNotAllowed => OAuthError::PublicClientNotAllowed,
            AuthError::IncompleteAssertion => {
                OAuthError::BadClientAssertion("client_assertion and client_assertion_type go together")
            }
            AuthError::UnsupportedAssertionType => OAuthError::BadClientAssertion(
                "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            AuthError::Store(e) => OAuthError::Store(e),
        }
    }
}

impl From<crate::password::PasswordError> for OAuthError {
    fn from(e: crate::password::PasswordError) -> OAuthError {
        match e {
            crate::password::PasswordError::Busy => OAuthError::Busy,
            other => OAuthError::Password(other),
        }
    }
}

/// The login guard's answer, as the protocol's errors.
impl From<crate::identity::guard::GuardError> for OAuthError {
    fn from(e: crate::identity::guard::GuardError) -> OAuthError {
        use crate::identity::guard::GuardError;
        match e {
            GuardError::BadCredentials => OAuthError::BadCredentials,
            GuardError::TooManyAttempts => OAuthError::TooManyAttempts,
            GuardError::Password(e) => e.into(),
            GuardError::Store(e) => OAuthError::Store(e),
            GuardError::Factor(crate::identity::factors::FactorError::Store(e)) => OAuthError::Store(e),
            GuardError::Factor(e) => OAuthError::Internal(format!("second factor: {e}")),
        }
    }
}

/// A second-factor failure: storage keeps its mapping; a secret that
/// cannot be opened is a fault of the server.
impl From<crate::identity::factors::FactorError> for OAuthError {
    fn from(e: crate::identity::factors::FactorError) -> OAuthError {
        use crate::identity::factors::FactorError;
        match e {
            FactorError::Store(e) => OAuthError::Store(e),
            other => OAuthError::Internal(other.to_string()),
        }
    }
}

/// A user-lifecycle failure where the protocol expects none of its
/// refusals (storage and hashing failures keep their own mapping; the
/// refusals a caller expects, such as a taken username, it matches first).
impl From<crate::identity::users::UserError> for OAuthError {
    fn from(e: crate::identity::users::UserError) -> OAuthError {
        use crate::identity::users::UserError;
        match e {
            UserError::Store(e) => OAuthError::Store(e),
            UserError::Password(e) => e.into(),
            UserError::WeakPassword(why) => OAuthError::WeakPassword(why),
            UserError::UsernameTaken => OAuthError::UserExists,
            other @ (UserError::Username(_)
            | UserError::Email
            | UserError::EmailTaken { .. }
            | UserError::Name
            | UserError::NotFound
            | UserError::LastCredential
            | UserError::NoRandomness) => OAuthError::Internal(other.to_string()),
        }
    }
}

impl OAuthError {
    /// The registered error code (RFC 6749 §5.2, RFC 8707 §2).
    pub fn code(&self) -> &'static str {
        match self {
            OAuthError::PushedRequestRefused(e) => e.code(),
            OAuthError::WrongContentType
            | OAuthError::BodyTooLarge
            | OAuthError::MalformedBody
            | OAuthError::RepeatedParameter(_)
            | OAuthError::RepeatedCookie
            | OAuthError::MissingParameter(_)
            | OAuthError::SeveralAuthMethods
            | OAuthError::MalformedBasicAuth
            | OAuthError::BadClientAssertion(_)
            | OAuthError::MalformedJson(_)
            | OAuthError::NotYourToken
            | OAuthError::WeakPassword(_)
            | OAuthError::UserExists
            | OAuthError::RegistrationThrottled
            | OAuthError::ClientRegistrationThrottled
            | OAuthError::ClientUpdateRefused(_)
            | OAuthError::DpopRequired => "invalid_request",
            OAuthError::InvalidDpopProof(_) => "invalid_dpop_proof",
            OAuthError::InvalidRedirectUri(_) => "invalid_redirect_uri",
            OAuthError::InvalidClientMetadata(_) => "invalid_client_metadata",
            OAuthError::RegistrationDisabled => "access_denied",
            OAuthError::ClientAuthMissing
            | OAuthError::ClientAuthFailed
            | OAuthError::PublicClientNotAllowed => "invalid_client",
            OAuthError::UnsupportedGrantType => "unsupported_grant_type",
            OAuthError::GrantNotAllowed(_) => "unauthorized_client",
            OAuthError::ScopeNotAllowed | OAuthError::MalformedScope(_) => "invalid_scope",
            OAuthError::BadCredentials
            | OAuthError::SecondFactorRequired
            | OAuthError::MfaEnrollmentRequired
            | OAuthError::InvalidMfaToken
            | OAuthError::TooManyAttempts
            | OAuthError::InvalidRefreshToken
            | OAuthError::RefreshTokenReplayed
            | OAuthError::InvalidCode
            | OAuthError::CodeReplayed
            | OAuthError::PkceFailed(_)
            | OAuthError::DpopKeyMismatch => "invalid_grant",
            OAuthError::AudienceNotAllowed | OAuthError::Target(_) => "invalid_target",
            // RFC 6749 §4.1.2.1's code for an overloaded server, or one
            // whose database is unreachable.
            OAuthError::Busy => "temporarily_unavailable",
            OAuthError::Store(e) if e.is_unavailable() => "temporarily_unavailable",
            OAuthError::Store(_)
            | OAuthError::Signing(_)
            | OAuthError::Internal(_)
            | OAuthError::Password(_) => "server_error",
        }
    }

    /// The HTTP status: 401 for failed client authentication (RFC 6749
    /// §5.2), 500 for internal faults, 400 otherwise.
    pub fn status(&self) -> u16 {
        match self {
            OAuthError::ClientAuthMissing
            | OAuthError::ClientAuthFailed
            | OAuthError::PublicClientNotAllowed => 401,
            OAuthError::Store(e) if e.is_unavailable() => 503,
            OAuthError::Store(_)
            | OAuthError::Signing(_)
            | OAuthError::Internal(_)
            | OAuthError::Password(_) => 500,
            OAuthError::RegistrationThrottled | OAuthError::ClientRegistrationThrottled => 429,
            OAuthError::Busy => 503,
            OAuthError::BodyTooLarge => 413,
            OAuthError::RegistrationDisabled => 403,
            OAuthError::PushedRequestRefused(e) if e.code() == "server_error" => 500,
            OAuthError::PushedRequestRefused(_) => 400,
            OAuthError::UserExists => 409,
            OAuthError::WrongContentType
            | OAuthError::MalformedBody
            | OAuthError::RepeatedParameter(_)
            | OAuthError::RepeatedCookie
            | OAuthError::MissingParameter(_)
            | OAuthError::SeveralAuthMethods
            | OAuthError::MalformedBasicAuth
            | OAuthError::BadClientAssertion(_)
            | OAuthError::MalformedJson(_)
            | OAuthError::NotYourToken
            | OAuthError::WeakPassword(_)
            | OAuthError::InvalidRedirectUri(_)
            | OAuthError::InvalidClientMetadata(_)
            | OAuthError::ClientUpdateRefused(_)
            | OAuthError::UnsupportedGrantType
            | OAuthError::GrantNotAllowed(_)
            | OAuthError::ScopeNotAllowed
            | OAuthError::MalformedScope(_)
            | OAuthError::AudienceNotAllowed
            | OAuthError::Target(_)
            | OAuthError::SecondFactorRequired
            | OAuthError::MfaEnrollmentRequired
            | OAuthError::InvalidMfaToken
            | OAuthError::BadCredentials
            | OAuthError::TooManyAttempts
            | OAuthError::InvalidRefreshToken
            | OAuthError::RefreshTokenReplayed
            | OAuthError::InvalidCode
            | OAuthError::CodeReplayed
            | OAuthError::PkceFailed(_)
            | OAuthError::InvalidDpopProof(_)
            | OAuthError::DpopRequired
            | OAuthError::DpopKeyMismatch => 400,
        }
    }

    /// The seconds a client should wait before trying again (`Retry-After`,
    /// RFC 9110 §10.2.3), for the answers that have one.
    pub fn retry_after(&self) -> Option<u32> {
        match self {
            OAuthError::Busy => Some(1),
            OAuthError::Store(e) if e.is_unavailable() => Some(1),
            // The windows of `identity::guard`.
            OAuthError::RegistrationThrottled => Some(600),
            OAuthError::ClientRegistrationThrottled => Some(3600),
            _ => None,
        }
    }

    /// The `error_description`: what to fix; internal faults get fixed text
    /// and their detail goes to the log only.
    pub fn description(&self) -> String {
        match self {
            OAuthError::Store(e) if e.is_unavailable() => {
                "the database is unreachable; try again shortly".to_owned()
            }
            OAuthError::Store(_)
            | OAuthError::Signing(_)
            | OAuthError::Internal(_)
            | OAuthError::Password(_) => "the server could not complete the request".to_owned(),
            other => other.to_string(),
        }
    }
}
