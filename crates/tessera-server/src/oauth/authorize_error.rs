//! The authorization endpoint's errors, named for the rule that was
//! broken, mapped to the wire in one place: [`AuthorizeError::code`] (the
//! registered codes of [RFC 6749 §4.1.2.1] and [OpenID Connect Core
//! §3.1.2.6]), [`AuthorizeError::description`] (fixed words that never
//! repeat the request), and [`AuthorizeError::may_redirect`] (whether the
//! client's redirect URI can be trusted with it). Each is one exhaustive
//! `match`: a new variant does not compile until all three say what it is.
//!
//! [RFC 6749 §4.1.2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
//! [OpenID Connect Core §3.1.2.6]: https://openid.net/specs/openid-connect-core-1_0.html#AuthError
//! [Unmet Authentication Requirements §1]: https://openid.net/specs/openid-connect-unmet-authentication-requirements-1_0.html

use super::interaction::policy::PromptError;

/// Why an authorization request was refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthorizeError {
    /// `client_id` or `redirect_uri` appears twice: neither can be trusted.
    RepeatedClientParameter(&'static str),
    /// No `client_id`.
    MissingClientId,
    /// `client_id` names no registered client.
    UnknownClient,
    /// The client could not be read (storage failed).
    ClientUnavailable,
    /// `redirect_uri` is not one the client registered (RFC 9700 §4.1.3).
    RedirectUriNotRegistered,
    /// No `redirect_uri`, and the client registered several.
    MissingRedirectUri,
    /// Another parameter appears twice (RFC 6749 §3.1).
    RepeatedParameter(&'static str),
    /// No `response_type`.
    MissingResponseType,
    /// A `response_type` other than `code` (RFC 9700 §2.1.2).
    UnsupportedResponseType,
    /// The client is not registered for the authorization code grant.
    UnauthorizedClient,
    /// A request object (OpenID Connect Core §6).
    RequestNotSupported,
    /// A request object by reference.
    RequestUriNotSupported,
    /// A `request_uri` that names no pushed request of this client: unknown,
    /// expired, used up or another client's ([RFC 9126 §4]).
    ///
    /// [RFC 9126 §4]: https://www.rfc-editor.org/rfc/rfc9126#section-4
    BadRequestUri,
    /// A `request_uri` sent to `/par` itself ([RFC 9126 §2.1]: it "MUST NOT
    /// be provided").
    ///
    /// [RFC 9126 §2.1]: https://www.rfc-editor.org/rfc/rfc9126#section-2.1
    RequestUriPushed,
    /// Plain parameters where the server requires pushed requests
    /// ([RFC 9126 §5]).
    ///
    /// [RFC 9126 §5]: https://www.rfc-editor.org/rfc/rfc9126#section-5
    ParRequired,
    /// `code_challenge_method=plain` (RFC 9700 §2.1.1).
    PlainPkce,
    /// A `code_challenge_method` other than `S256`.
    UnsupportedPkceMethod,
    /// `code_challenge_method` without `code_challenge`.
    PkceMethodWithoutChallenge,
    /// `code_challenge` without `code_challenge_method=S256` (RFC 7636 §4.3
    /// would default to `plain`).
    PkceMethodRequired,
    /// A public client without PKCE.
    PublicClientWithoutPkce,
    /// A client that registered itself, without PKCE.
    UnvettedClientWithoutPkce,
    /// A `code_challenge` that is not a base64url SHA-256.
    MalformedChallenge,
    /// A `dpop_jkt` that is not a JWK SHA-256 thumbprint (RFC 9449 §10).
    MalformedDpopJkt,
    /// A scope not registered for the client.
    ScopeNotAllowed,
    /// A `scope` that is not one (RFC 6749 §3.3).
    MalformedScope(crate::domain::ScopeError),
    /// A `resource` that cannot be granted (RFC 8707 §2).
    Target(crate::domain::TargetError),
    /// The registered resources could not be read (storage failed).
    ResourcesUnavailable,
    /// A `prompt` value that is not defined.
    UnknownPrompt,
    /// `prompt=none` with other values.
    PromptNoneCombined,
    /// A `response_mode` other than `query`.
    UnsupportedResponseMode,
    /// `max_age` is not a non-negative integer.
    BadMaxAge,
    /// `id_token_hint` is not an ID token this server issued to the client.
    BadIdTokenHint,
    /// `prompt=none`, and a sign-in or consent is needed.
    Prompt(PromptError),
    /// The user denied the request.
    AccessDenied,
    /// The `claims` parameter cannot be read, or its essential `acr`
    /// names no level of this server ([`super::acr`]).
    Acr(super::acr::AcrError),
    /// An essential level the sign-in cannot reach (the user has no
    /// second factor and cannot enroll one here): the
    /// `unmet_authentication_requirements` error of [OpenID Connect Core
    /// Error Code unmet_authentication_requirements 1.0 §1][Unmet
    /// Authentication Requirements §1] ("SHALL be used if the Relying
    /// Party wants the OP to conform to a certain Authentication Context
    /// Class Reference value using an essential claim acr claim ... and
    /// the OP is unable to meet this requirement"), registered in IANA's
    /// OAuth Extensions Error registry.
    UnmetAuthenticationRequirements,
}

impl AuthorizeError {
    /// Whether the error may go to the client's redirect URI. The ones
    /// about the client or the redirect URI itself are shown on a page and
    /// never redirected (RFC 6749 §4.1.2.1: "MUST NOT automatically
    /// redirect").
    pub fn may_redirect(self) -> bool {
        match self {
            AuthorizeError::RepeatedClientParameter(_)
            | AuthorizeError::MissingClientId
            | AuthorizeError::UnknownClient
            | AuthorizeError::ClientUnavailable
            | AuthorizeError::RedirectUriNotRegistered
            | AuthorizeError::MissingRedirectUri
            | AuthorizeError::BadRequestUri
            | AuthorizeError::RequestUriPushed => false,
            AuthorizeError::RepeatedParameter(_)
            | AuthorizeError::ParRequired
            | AuthorizeError::MissingResponseType
            | AuthorizeError::UnsupportedResponseType
            | AuthorizeError::UnauthorizedClient
            | AuthorizeError::RequestNotSupported
            | AuthorizeError::RequestUriNotSupported
            | AuthorizeError::PlainPkce
            | AuthorizeError::UnsupportedPkceMethod
            | AuthorizeError::PkceMethodWithoutChallenge
            | AuthorizeError::PkceMethodRequired
            | AuthorizeError::PublicClientWithoutPkce
            | AuthorizeError::UnvettedClientWithoutPkce
            | AuthorizeError::MalformedChallenge
            | AuthorizeError::MalformedDpopJkt
            | AuthorizeError::ScopeNotAllowed
            | AuthorizeError::MalformedScope(_)
            | AuthorizeError::Target(_)
            | AuthorizeError::ResourcesUnavailable
            | AuthorizeError::UnknownPrompt
            | AuthorizeError::PromptNoneCombined
            | AuthorizeError::UnsupportedResponseMode
            | AuthorizeError::BadMaxAge
            | AuthorizeError::BadIdTokenHint
            | AuthorizeError::Prompt(_)
            | AuthorizeError::AccessDenied
            | AuthorizeError::Acr(_)
            | AuthorizeError::UnmetAuthenticationRequirements => true,
        }
    }

    /// The registered error code.
    pub fn code(self) -> &'static str {
        match self {
            AuthorizeError::RepeatedClientParameter(_)
            | AuthorizeError::MissingClientId
            | AuthorizeError::UnknownClient
            | AuthorizeError::RedirectUriNotRegistered
            | AuthorizeError::MissingRedirectUri
            | AuthorizeError::RepeatedParameter(_)
            | AuthorizeError::MissingResponseType
            | AuthorizeError::PlainPkce
            | AuthorizeError::UnsupportedPkceMethod
            | AuthorizeError::PkceMethodWithoutChallenge
            | AuthorizeError::PkceMethodRequired
            | AuthorizeError::PublicClientWithoutPkce
            | AuthorizeError::UnvettedClientWithoutPkce
            | AuthorizeError::MalformedChallenge
            | AuthorizeError::MalformedDpopJkt
            | AuthorizeError::UnknownPrompt
            | AuthorizeError::PromptNoneCombined
            | AuthorizeError::UnsupportedResponseMode
            | AuthorizeError::BadMaxAge
            | AuthorizeError::BadIdTokenHint
            | AuthorizeError::RequestUriPushed
            | AuthorizeError::ParRequired => "invalid_request",
            AuthorizeError::BadRequestUri => "invalid_request_uri",
            AuthorizeError::ClientUnavailable | AuthorizeError::ResourcesUnavailable => "server_error",
            AuthorizeError::Target(_) => "invalid_target",
            AuthorizeError::UnsupportedResponseType => "unsupported_response_type",
            AuthorizeError::UnauthorizedClient => "unauthorized_client",
            AuthorizeError::RequestNotSupported => "request_not_supported",
            AuthorizeError::RequestUriNotSupported => "request_uri_not_supported",
            AuthorizeError::ScopeNotAllowed | AuthorizeError::MalformedScope(_) => "invalid_scope",
            AuthorizeError::Prompt(e) => e.code(),
            AuthorizeError::AccessDenied => "access_denied",
            AuthorizeError::Acr(super::acr::AcrError::UnmeetableEssential)
            | AuthorizeError::UnmetAuthenticationRequirements => "unmet_authentication_requirements",
            AuthorizeError::Acr(_) => "invalid_request",
        }
    }

    /// What was wrong, in fixed words.
    pub fn description(self) -> String {
        let text = match self {
            AuthorizeError::RepeatedClientParameter(name) | AuthorizeError::RepeatedParameter(name) => {
                return format!("the parameter {name} is repeated")
            }
            AuthorizeError::MissingClientId => "client_id is required",
            AuthorizeError::UnknownClient => "the client_id is not a registered client",
            AuthorizeError::ClientUnavailable => "the server could not read the client; try again",
            AuthorizeError::RedirectUriNotRegistered => {
                "the redirect_uri is not one registered for this client"
            }
            AuthorizeError::MissingRedirectUri => "redirect_uri is required",
            AuthorizeError::MissingResponseType => "response_type is required",
            AuthorizeError::UnsupportedResponseType => "this response_type is not supported; use code",
            AuthorizeError::UnauthorizedClient => "this client may not use the authorization code flow",
            AuthorizeError::RequestNotSupported => "request objects are not supported",
            AuthorizeError::RequestUriNotSupported => "request_uri is not supported",
            AuthorizeError::BadRequestUri => {
                "the request_uri is unknown, expired, already used, or another client's: push the request again"
            }
            AuthorizeError::RequestUriPushed => "request_uri may not be pushed (RFC 9126 section 2.1)",
            AuthorizeError::ParRequired => {
                "this server requires pushed authorization requests: push to /par first (RFC 9126)"
            }
            AuthorizeError::PlainPkce => "code_challenge_method plain is not allowed; use S256",
            AuthorizeError::UnsupportedPkceMethod => "this code_challenge_method is not supported; use S256",
            AuthorizeError::PkceMethodWithoutChallenge => "code_challenge_method without code_challenge",
            AuthorizeError::PkceMethodRequired => "code_challenge_method=S256 is required",
            AuthorizeError::PublicClientWithoutPkce => {
                "a public client must use PKCE (code_challenge with S256)"
            }
            AuthorizeError::UnvettedClientWithoutPkce => {
                "a client that registered itself must use PKCE (code_challenge with S256)"
            }
            AuthorizeError::MalformedChallenge => {
                "code_challenge must be the base64url SHA-256 of the verifier (43 characters)"
            }
            AuthorizeError::MalformedDpopJkt => {
                "dpop_jkt must be the base64url SHA-256 JWK thumbprint of the DPoP key (43 characters)"
            }
            AuthorizeError::ScopeNotAllowed => "a requested scope is not allowed for this client",
            AuthorizeError::MalformedScope(e) => return format!("scope is malformed: {e}"),
            AuthorizeError::Target(e) => return e.to_string(),
            AuthorizeError::ResourcesUnavailable => "the server could not read the resources; try again",
            AuthorizeError::UnknownPrompt => "prompt may only be none, login, consent or select_account",
            AuthorizeError::PromptNoneCombined => "prompt=none cannot be combined with other values",
            AuthorizeError::UnsupportedResponseMode => "response_mode must be query",
            AuthorizeError::BadMaxAge => "max_age must be a non-negative integer",
            AuthorizeError::BadIdTokenHint => "the id_token_hint is not an ID token from this server",
            AuthorizeError::Prompt(e) => e.description(),
            AuthorizeError::AccessDenied => "the user denied access",
            AuthorizeError::Acr(e) => return e.to_string(),
            AuthorizeError::UnmetAuthenticationRequirements => {
                "the essential authentication level cannot be met: the user has no second factor"
            }
        };
        text.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::interaction::policy::LoginCheck;

    #[test]
    fn client_and_redirect_uri_errors_never_redirect() {
        for e in [
            AuthorizeError::UnknownClient,
            AuthorizeError::RedirectUriNotRegistered,
            AuthorizeError::RepeatedClientParameter("redirect_uri"),
        ] {
            assert!(!e.may_redirect(), "{e:?}");
        }
        assert!(AuthorizeError::UnsupportedResponseType.may_redirect());
        assert_eq!(
            AuthorizeError::Prompt(PromptError::LoginRequired(LoginCheck::NoSession)).code(),
            "login_required"
        );
        assert_eq!(AuthorizeError::AccessDenied.code(), "access_denied");
    }
}
