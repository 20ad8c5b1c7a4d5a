//! The authorization request ([RFC 6749 §4.1.1], [OpenID Connect Core
//! §3.1.2.1]), checked in the order that decides where an error may go:
//!
//! 1. Every parameter at most once (RFC 6749 §3.1). A repeated `client_id`
//!    or `redirect_uri` cannot be trusted to redirect to, so it is an
//!    error page; other repeats are redirected errors.
//! 2. `client_id` names a registered client, and `redirect_uri` is one of
//!    its registered URIs, compared exactly (RFC 9700 §4.1.3); it may be
//!    omitted only when the client has exactly one (RFC 6749 §3.1.2.3).
//!    Failing either, the user sees an error page and is never redirected
//!    (RFC 6749 §4.1.2.1: "MUST NOT automatically redirect").
//! 3. From here on errors go back to the client: `error`,
//!    `error_description`, `state`, and `iss` (RFC 9207).
//! 4. `response_type` is `code`; anything else (implicit, hybrid) is
//!    `unsupported_response_type` (RFC 9700 §2.1.2).
//! 5. The client is registered for the `authorization_code` grant
//!    (`unauthorized_client`).
//! 6. `request` and `request_uri` are not supported (OpenID Connect Core
//!    §6: `request_not_supported`, `request_uri_not_supported`).
//! 7. PKCE (RFC 7636): `code_challenge_method` is `S256` (`plain` is
//!    refused, RFC 9700 §2.1.1); a public client must send a
//!    `code_challenge`; a challenge is 43 unreserved characters (a
//!    base64url SHA-256).
//! 8. `scope` within the client's scopes (`invalid_scope`); `address` and
//!    `phone` are left out of the grant (no such data is held).
//! 9. `prompt` is a set of `none`, `login`, `consent`, `select_account`
//!    ([`Prompt`]); `response_mode`, if sent, is `query` ([`ResponseMode`]);
//!    and `none` stands alone; `max_age` is a non-negative integer.
//! 10. `id_token_hint`, when sent, is a current ID token this server issued
//!     to this client (fully verified: not an access token); only a session
//!     of the user it names will do.
//!
//! [RFC 6749 §4.1.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
//! [OpenID Connect Core §3.1.2.1]: https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest

use std::collections::HashMap;

pub use super::authorize_error::AuthorizeError;
use super::grant::authorization_code;
use crate::domain::Scope;
use crate::store::{Client, ClientStore};

/// A checked authorization request.
#[derive(Clone, Debug)]
pub struct AuthorizationRequest {
    /// The client.
    pub client: Client,
    /// Where the answer goes.
    pub redirect_uri: String,
    /// The granted scope.
    pub scope: Scope,
    /// Returned unchanged to the client.
    pub state: Option<String>,
    /// Put in the ID token.
    pub nonce: Option<String>,
    /// The PKCE S256 challenge.
    pub code_challenge: Option<String>,
    /// `prompt=none`: no page may be shown.
    pub prompt_none: bool,
    /// `prompt=login`: the user must enter the password again.
    pub prompt_login: bool,
    /// `prompt=consent`: consent must be asked even for a first-party
    /// client.
    pub prompt_consent: bool,
    /// The most seconds since the user last entered a password.
    pub max_age: Option<i64>,
    /// Pre-fills the username on the login page.
    pub login_hint: Option<String>,
    /// Preferred languages of the pages.
    pub ui_locales: Option<String>,
    /// The user an `id_token_hint` names: only that user's session will do.
    pub hint_subject: Option<String>,
}

/// A `prompt` value (OpenID Connect Core §3.1.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Prompt {
    /// No page may be shown.
    None,
    /// The user must sign in again.
    Login,
    /// Consent must be asked again.
    Consent,
    /// Offer to pick an account (one account per browser here: accepted,
    /// nothing to pick).
    SelectAccount,
}

impl Prompt {
    /// The value named `value`, if defined.
    pub fn parse(value: &str) -> Option<Prompt> {
        match value {
            "none" => Some(Prompt::None),
            "login" => Some(Prompt::Login),
            "consent" => Some(Prompt::Consent),
            "select_account" => Some(Prompt::SelectAccount),
            _ => None,
        }
    }
}

impl Prompt {
    /// Every value, in OpenID Connect Core §3.1.2.1's order.
    pub const ALL: [Prompt; 4] = [
        Prompt::None,
        Prompt::Login,
        Prompt::Consent,
        Prompt::SelectAccount,
    ];

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Prompt::None => "none",
            Prompt::Login => "login",
            Prompt::Consent => "consent",
            Prompt::SelectAccount => "select_account",
        }
    }

    /// Whether the server acts on the value, and so lists it in discovery's
    /// `prompt_values_supported` ([OpenID Connect Discovery §3]).
    /// `select_account` is accepted and dropped: one account per browser,
    /// nothing to select.
    ///
    /// [OpenID Connect Discovery §3]: https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata
    pub fn is_acted_on(self) -> bool {
        match self {
            Prompt::None | Prompt::Login | Prompt::Consent => true,
            Prompt::SelectAccount => false,
        }
    }
}

/// How the authorization response is returned ([OAuth 2.0 Multiple
/// Response Type Encoding Practices §2.1]): only `query`, the default for
/// `response_type=code`. `fragment` and `form_post` are refused rather
/// than silently answered in the query.
///
/// [OAuth 2.0 Multiple Response Type Encoding Practices §2.1]: https://openid.net/specs/oauth-v2-multiple-response-types-1_0.html#ResponseModes
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResponseMode {
    /// In the redirect URI's query.
    Query,
}

impl ResponseMode {
    /// The mode named `value`, if supported.
    pub fn parse(value: &str) -> Option<ResponseMode> {
        match value {
            "query" => Some(ResponseMode::Query),
            _ => None,
        }
    }
}

/// Why an authorization request was refused.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The client or the redirect URI cannot be trusted: an error page,
    /// never a redirect.
    Page(AuthorizeError),
    /// An error for the client, sent to its redirect URI.
    Redirect(Redirect),
}

/// An error redirect (RFC 6749 §4.1.2.1).
#[derive(Debug, PartialEq, Eq)]
pub struct Redirect {
    /// The verified redirect URI.
    pub redirect_uri: String,
    /// What was wrong (code and description on the wire).
    pub error: AuthorizeError,
    /// The request's `state`.
    pub state: Option<String>,
}

/// Checks an authorization request's parameters (query or form).
pub async fn check<S: ClientStore>(
    store: &S,
    keys: &tessera_jwt::KeySet,
    issuer: &str,
    query: &[u8],
    now: i64,
) -> Result<AuthorizationRequest, Refusal> {
    // 1.
    let mut params: HashMap<String, String> = HashMap::new();
    let mut repeated = None;
    for (name, value) in form_urlencoded::parse(query) {
        if value.is_empty() {
            continue;
        }
        if params.insert(name.to_string(), value.into_owned()).is_some() {
            repeated.get_or_insert_with(|| name.into_owned());
        }
    }
    if let Some(name) = repeated
        .as_deref()
        .filter(|n| *n == "client_id" || *n == "redirect_uri")
    {
        return Err(Refusal::Page(AuthorizeError::RepeatedClientParameter(
            super::params::parameter_name(name),
        )));
    }
    let get = |name: &str| params.get(name).map(String::as_str);
    // 2.
    let client_id = get("client_id").ok_or(Refusal::Page(AuthorizeError::MissingClientId))?;
    let client = store
        .client(client_id)
        .await
        .map_err(|e| {
            tracing::error!("authorize: reading the client failed: {e}");
            Refusal::Page(AuthorizeError::ClientUnavailable)
        })?
        .ok_or(Refusal::Page(AuthorizeError::UnknownClient))?;
    let redirect_uri = match (get("redirect_uri"), client.redirect_uris.as_slice()) {
        (Some(uri), registered) if registered.iter().any(|r| r == uri) => uri.to_owned(),
        (Some(_), _) => return Err(Refusal::Page(AuthorizeError::RedirectUriNotRegistered)),
        (None, [only]) => only.clone(),
        (None, _) => return Err(Refusal::Page(AuthorizeError::MissingRedirectUri)),
    };
    // 3.
    let state = get("state").map(str::to_owned);
    let refuse = |error: AuthorizeError| {
        Refusal::Redirect(Redirect {
            redirect_uri: redirect_uri.clone(),
            error,
            state: state.clone(),
        })
    };
    if let Some(name) = repeated {
        return Err(refuse(AuthorizeError::RepeatedParameter(
            super::params::parameter_name(&name),
        )));
    }
    // 4.
    match get("response_type") {
        Some("code") => {}
        None => return Err(refuse(AuthorizeError::MissingResponseType)),
        Some(_) => return Err(refuse(AuthorizeError::UnsupportedResponseType)),
    }
    // 5.
    if !client.may_use(authorization_code::GRANT_TYPE) {
        return Err(refuse(AuthorizeError::UnauthorizedClient));
    }
    // 6.
    if get("request").is_some() {
        return Err(refuse(AuthorizeError::RequestNotSupported));
    }
    if get("request_uri").is_some() {
        return Err(refuse(AuthorizeError::RequestUriNotSupported));
    }
    // 7.
    let code_challenge = get("code_challenge").map(str::to_owned);
    match (get("code_challenge_method"), &code_challenge) {
        (Some("S256"), Some(_)) => {}
        (Some("plain"), _) => return Err(refuse(AuthorizeError::PlainPkce)),
        (Some(_), Some(_)) => return Err(refuse(AuthorizeError::UnsupportedPkceMethod)),
        (Some(_), None) => return Err(refuse(AuthorizeError::PkceMethodWithoutChallenge)),
        // RFC 7636 §4.3 makes `plain` the default; it is not allowed here.
        (None, Some(_)) => return Err(refuse(AuthorizeError::PkceMethodRequired)),
        (None, None) if client.secret_hash.is_none() => {
            return Err(refuse(AuthorizeError::PublicClientWithoutPkce))
        }
        (None, None) => {}
    }
    if let Some(challenge) = &code_challenge {
        let well_formed = challenge.len() == 43
            && challenge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(refuse(AuthorizeError::MalformedChallenge));
        }
    }
    // 8. RFC 6749 §3.3 lets the server grant less than asked: the OpenID
    // scopes for data Tessera does not hold (`address`, `phone`) are left
    // out rather than refused, as OpenID Connect Core §5.4 allows.
    let requested = get("scope")
        .map(Scope::parse)
        .transpose()
        .map_err(|e| refuse(AuthorizeError::MalformedScope(e)))?
        .map(|s| s.without(|t| matches!(t, "address" | "phone")))
        .filter(|s| !s.is_empty());
    let scope = client
        .scopes
        .narrow(requested.as_ref())
        .ok_or_else(|| refuse(AuthorizeError::ScopeNotAllowed))?;
    // 9.
    let prompts: Vec<Prompt> = get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|p| Prompt::parse(p).ok_or_else(|| refuse(AuthorizeError::UnknownPrompt)))
        .collect::<Result<_, _>>()?;
    let prompt_none = prompts.contains(&Prompt::None);
    if prompt_none && prompts.len() > 1 {
        return Err(refuse(AuthorizeError::PromptNoneCombined));
    }
    match get("response_mode").map(ResponseMode::parse) {
        None | Some(Some(ResponseMode::Query)) => {}
        Some(None) => return Err(refuse(AuthorizeError::UnsupportedResponseMode)),
    }
    let max_age = match get("max_age") {
        None => None,
        Some(v) => Some(
            v.parse::<i64>()
                .ok()
                .filter(|v| *v >= 0)
                .ok_or_else(|| refuse(AuthorizeError::BadMaxAge))?,
        ),
    };
    // 10. `id_token_hint` (OpenID Connect Core §3.1.2.1).
    let hint_subject = match get("id_token_hint") {
        None => None,
        Some(hint) => Some(
            super::id_token::hint(
                keys,
                issuer,
                hint,
                super::id_token::HintUse::Authorize {
                    client_id: &client.id,
                },
                now,
            )
            .map(|(sub, _)| sub)
            .ok_or_else(|| refuse(AuthorizeError::BadIdTokenHint))?,
        ),
    };
    Ok(AuthorizationRequest {
        redirect_uri: redirect_uri.clone(),
        scope,
        state,
        nonce: get("nonce").map(str::to_owned),
        code_challenge,
        prompt_none,
        prompt_login: prompts.contains(&Prompt::Login),
        prompt_consent: prompts.contains(&Prompt::Consent),
        max_age,
        login_hint: get("login_hint").map(str::to_owned),
        ui_locales: get("ui_locales").map(str::to_owned),
        hint_subject,
        client,
    })
}

/// The redirect that answers the client: the code (or an error), `state`,
/// and `iss` (RFC 9207 §2), added to the redirect URI's own query.
pub fn redirect_url(redirect_uri: &str, params: &[(&str, &str)]) -> String {
    let mut url = redirect_uri.to_owned();
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in params {
        query.append_pair(name, value);
    }
    url.push(if redirect_uri.contains('?') { '&' } else { '?' });
    url.push_str(&query.finish());
    url
}

impl Redirect {
    /// The URL that carries this error to the client.
    pub fn url(&self, issuer: &str) -> String {
        let description = self.error.description();
        let mut params = vec![
            ("error", self.error.code()),
            ("error_description", description.as_str()),
        ];
        if let Some(state) = &self.state {
            params.push(("state", state));
        }
        params.push(("iss", issuer));
        redirect_url(&self.redirect_uri, &params)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redirects_keep_the_registered_query() {
        assert_eq!(
            redirect_url(
                "https://app.example/cb?tenant=a",
                &[("code", "x y"), ("state", "s")]
            ),
            "https://app.example/cb?tenant=a&code=x+y&state=s"
        );
        assert_eq!(
            redirect_url("https://app.example/cb", &[("code", "c")]),
            "https://app.example/cb?code=c"
        );
    }
}
