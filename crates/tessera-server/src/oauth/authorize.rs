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
//! 7. PKCE (RFC 7636): required of public clients and of clients that
//!    registered themselves; `code_challenge_method` is `S256` (`plain` is
//!    refused, RFC 9700 §2.1.1); a public client must send a
//!    `code_challenge`; a challenge is 43 unreserved characters (a
//!    base64url SHA-256). `dpop_jkt`, when sent, is a JWK SHA-256
//!    thumbprint ([RFC 9449 §10]): the code will be bound to that key.
//! 8. `resource` (RFC 8707 §2, repeatable): each an absolute URI without a
//!    fragment, a registered resource server the client may ask for
//!    (`invalid_target`); then `scope` within the client's scopes and those
//!    the named resources accept (`invalid_scope`); `address` and `phone`
//!    are left out of the grant (no such data is held).
//! 9. `prompt` is a set of `none`, `login`, `consent`, `select_account`
//!    ([`Prompt`]); `response_mode`, if sent, is `query` ([`ResponseMode`]);
//!    and `none` stands alone; `max_age` is a non-negative integer.
//! 10. `id_token_hint`, when sent, is a current ID token this server issued
//!     to this client (fully verified: not an access token); only a session
//!     of the user it names will do.
//! 11. `acr_values` and `claims` ([`super::acr`]): the level the sign-in is
//!     asked to reach; `claims` must be a JSON object (`invalid_request`).
//!
//! [RFC 6749 §4.1.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
//! [OpenID Connect Core §3.1.2.1]: https://openid.net/specs/openid-connect-core-1_0.html#AuthRequest
//! [RFC 9449 §10]: https://www.rfc-editor.org/rfc/rfc9449#section-10

pub use super::authorize_error::AuthorizeError;
use super::grant::authorization_code;
use super::Params;
use crate::clients::directory::Directory;
use crate::domain::{Acr, Provenance, Registry, RequestedAcr, Resources, Scope};
use crate::store::{Client, ClientStore, ResourceStore};

/// A checked authorization request. Only [`check`] (at `/authorize`) and
/// [`AuthorizationRequest::from_kept`] (at a later step) make one, so
/// holding one means every rule of this module held.
#[derive(Clone, Debug)]
pub struct AuthorizationRequest {
    client: Client,
    redirect_uri: String,
    scope: Scope,
    resources: Resources,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    dpop_jkt: Option<String>,
    prompt_none: bool,
    prompt_login: bool,
    prompt_consent: bool,
    max_age: Option<i64>,
    login_hint: Option<String>,
    ui_locales: Option<String>,
    hint_subject: Option<String>,
    acr: Option<RequestedAcr>,
}

impl AuthorizationRequest {
    /// The client, as registered now.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Where the answer goes: a URI the client registered.
    pub fn redirect_uri(&self) -> &str {
        &self.redirect_uri
    }

    /// The granted scope.
    pub fn scope(&self) -> &Scope {
        &self.scope
    }

    /// The resources (RFC 8707) the tokens are for; empty when none was
    /// named.
    pub fn resources(&self) -> &Resources {
        &self.resources
    }

    /// Returned unchanged to the client.
    pub fn state(&self) -> Option<&str> {
        self.state.as_deref()
    }

    /// Put in the ID token.
    pub fn nonce(&self) -> Option<&str> {
        self.nonce.as_deref()
    }

    /// The PKCE S256 challenge.
    pub fn code_challenge(&self) -> Option<&str> {
        self.code_challenge.as_deref()
    }

    /// The DPoP key the code is to be bound to (RFC 9449 §10).
    pub fn dpop_jkt(&self) -> Option<&str> {
        self.dpop_jkt.as_deref()
    }

    /// `prompt=none`: no page may be shown.
    pub fn prompt_none(&self) -> bool {
        self.prompt_none
    }

    /// `prompt=login`: the user must sign in again.
    pub fn prompt_login(&self) -> bool {
        self.prompt_login
    }

    /// `prompt=consent`: consent must be asked even for a first-party
    /// client.
    pub fn prompt_consent(&self) -> bool {
        self.prompt_consent
    }

    /// The most seconds since the user last signed in.
    pub fn max_age(&self) -> Option<i64> {
        self.max_age
    }

    /// Pre-fills the username on the sign-in page.
    pub fn login_hint(&self) -> Option<&str> {
        self.login_hint.as_deref()
    }

    /// Preferred languages of the pages.
    pub fn ui_locales(&self) -> Option<&str> {
        self.ui_locales.as_deref()
    }

    /// The user an `id_token_hint` names: only that user's session will do.
    pub fn hint_subject(&self) -> Option<&str> {
        self.hint_subject.as_deref()
    }

    /// The level the request's `acr_values` or `claims` ask for (the
    /// client's and the user's requirements are added by the
    /// interaction).
    pub fn acr(&self) -> Option<RequestedAcr> {
        self.acr
    }

    /// A request as [`check`] would make it, for tests of the steps after
    /// it.
    #[cfg(test)]
    pub(crate) fn for_tests(client: Client, redirect_uri: &str, scope: Scope, state: Option<&str>) -> Self {
        AuthorizationRequest {
            client,
            redirect_uri: redirect_uri.to_owned(),
            scope,
            resources: Resources::default(),
            state: state.map(str::to_owned),
            nonce: Some("n".into()),
            code_challenge: Some("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM".into()),
            dpop_jkt: None,
            prompt_none: false,
            prompt_login: false,
            prompt_consent: false,
            max_age: None,
            login_hint: None,
            ui_locales: None,
            hint_subject: None,
            acr: None,
        }
    }
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

/// Checks an authorization request's parameters (query or form), in the
/// order of the module's list; each numbered rule is one `check_*`
/// function.
pub async fn check<S: ClientStore + ResourceStore>(
    store: &S,
    clients: &Directory,
    keys: &tessera_jwt::KeySet,
    issuer: &str,
    query: &[u8],
    now: i64,
) -> Result<AuthorizationRequest, Refusal> {
    // 1.
    let (params, repeated) = Params::parse_browser(query);
    check_params(store, clients, keys, issuer, &params, repeated, now).await
}

/// [`check`] on parameters already parsed (`repeated`: the first name
/// sent twice), for callers that read the parameters themselves first:
/// `/authorize` looks for a pushed request's `request_uri`, `/par` adds the
/// authenticated `client_id`.
pub async fn check_params<S: ClientStore + ResourceStore>(
    store: &S,
    clients: &Directory,
    keys: &tessera_jwt::KeySet,
    issuer: &str,
    params: &Params,
    repeated: Option<&'static str>,
    now: i64,
) -> Result<AuthorizationRequest, Refusal> {
    // 2.
    let (client, redirect_uri) = check_client(store, clients, params, repeated, now).await?;
    // 3.
    let state = params.get("state").map(str::to_owned);
    let refuse = |error: AuthorizeError| {
        Refusal::Redirect(Redirect {
            redirect_uri: redirect_uri.clone(),
            error,
            state: state.clone(),
        })
    };
    if let Some(name) = repeated {
        return Err(refuse(AuthorizeError::RepeatedParameter(name)));
    }
    // 8. (the resources are read before the synchronous rules)
    let resources =
        Resources::parse(params.all("resource")).map_err(|e| refuse(AuthorizeError::Target(e)))?;
    let registry = if resources.is_empty() {
        Registry::default()
    } else {
        store.resources().await.map_err(|e| {
            tracing::error!("authorize: reading the resources failed: {e}");
            refuse(AuthorizeError::ResourcesUnavailable)
        })?
    };
    let checked = (|| {
        check_response_type(params)?; // 4.
        check_grant(&client)?; // 5.
        check_request_objects(params)?; // 6.
        let code_challenge = check_pkce(params, &client)?; // 7.
        let dpop_jkt = check_dpop_jkt(params)?;
        let accepted = check_resources(&registry, &client, &resources)?; // 8.
        let scope = check_scope(params, &client, &accepted)?;
        let prompts = check_prompt(params)?; // 9.
        check_response_mode(params)?;
        let max_age = check_max_age(params)?;
        let hint_subject = check_id_token_hint(params, keys, issuer, &client, now)?; // 10.
        let acr = super::acr::requested(params).map_err(AuthorizeError::Acr)?; // 11.
        Ok((
            code_challenge,
            dpop_jkt,
            scope,
            prompts,
            max_age,
            hint_subject,
            acr,
        ))
    })();
    let (code_challenge, dpop_jkt, scope, prompts, max_age, hint_subject, acr) = checked.map_err(refuse)?;
    Ok(AuthorizationRequest {
        redirect_uri,
        scope,
        resources,
        nonce: params.get("nonce").map(str::to_owned),
        code_challenge,
        dpop_jkt,
        prompt_none: prompts.contains(&Prompt::None),
        prompt_login: prompts.contains(&Prompt::Login),
        prompt_consent: prompts.contains(&Prompt::Consent),
        max_age,
        login_hint: params.get("login_hint").map(str::to_owned),
        ui_locales: params.get("ui_locales").map(str::to_owned),
        hint_subject,
        acr,
        state,
        client,
    })
}

/// Rule 1-2: A repeated `client_id` or `redirect_uri` cannot be trusted to
/// redirect to; the client must be registered and the redirect URI one of
/// its own, compared exactly. Every failure here is a page.
async fn check_client<S: ClientStore>(
    store: &S,
    clients: &Directory,
    params: &Params,
    repeated: Option<&'static str>,
    now: i64,
) -> Result<(Client, String), Refusal> {
    if let Some(name) = repeated.filter(|n| *n == "client_id" || *n == "redirect_uri") {
        return Err(Refusal::Page(AuthorizeError::RepeatedClientParameter(name)));
    }
    let client_id = params
        .get("client_id")
        .ok_or(Refusal::Page(AuthorizeError::MissingClientId))?;
    let client = clients
        .client(store, client_id, now)
        .await
        .map_err(|e| {
            tracing::error!("authorize: reading the client failed: {e}");
            Refusal::Page(AuthorizeError::ClientUnavailable)
        })?
        .ok_or(Refusal::Page(AuthorizeError::UnknownClient))?;
    let redirect_uri = check_redirect_uri(&client, params.get("redirect_uri")).map_err(Refusal::Page)?;
    Ok((client, redirect_uri))
}

/// Rule 2: The redirect URI: one the client registered, compared exactly (RFC
/// 9700 §4.1.3); omitted only when the client has exactly one (RFC 6749
/// §3.1.2.3).
fn check_redirect_uri(client: &Client, sent: Option<&str>) -> Result<String, AuthorizeError> {
    match (sent, client.redirect_uris.as_slice()) {
        (Some(uri), registered) if registered.iter().any(|r| r == uri) => Ok(uri.to_owned()),
        (Some(_), _) => Err(AuthorizeError::RedirectUriNotRegistered),
        (None, [only]) => Ok(only.clone()),
        (None, _) => Err(AuthorizeError::MissingRedirectUri),
    }
}

/// Rule 4: `response_type=code` only (RFC 9700 §2.1.2).
fn check_response_type(params: &Params) -> Result<(), AuthorizeError> {
    match params.get("response_type") {
        Some("code") => Ok(()),
        None => Err(AuthorizeError::MissingResponseType),
        Some(_) => Err(AuthorizeError::UnsupportedResponseType),
    }
}

/// Rule 5: The client may use the authorization code grant.
fn check_grant(client: &Client) -> Result<(), AuthorizeError> {
    if client.may_use(authorization_code::GRANT_TYPE) {
        Ok(())
    } else {
        Err(AuthorizeError::UnauthorizedClient)
    }
}

/// Rule 6: No request objects (OpenID Connect Core §6).
fn check_request_objects(params: &Params) -> Result<(), AuthorizeError> {
    if params.get("request").is_some() {
        return Err(AuthorizeError::RequestNotSupported);
    }
    if params.get("request_uri").is_some() {
        return Err(AuthorizeError::RequestUriNotSupported);
    }
    Ok(())
}

/// Rule 7: PKCE (RFC 7636, RFC 9700 §2.1.1): S256 only, required of public
/// clients, a challenge of 43 base64url characters.
fn check_pkce(params: &Params, client: &Client) -> Result<Option<String>, AuthorizeError> {
    let code_challenge = params.get("code_challenge").map(str::to_owned);
    match (params.get("code_challenge_method"), &code_challenge) {
        (Some("S256"), Some(_)) => {}
        (Some("plain"), _) => return Err(AuthorizeError::PlainPkce),
        (Some(_), Some(_)) => return Err(AuthorizeError::UnsupportedPkceMethod),
        (Some(_), None) => return Err(AuthorizeError::PkceMethodWithoutChallenge),
        // RFC 7636 §4.3 makes `plain` the default; it is not allowed here.
        (None, Some(_)) => return Err(AuthorizeError::PkceMethodRequired),
        (None, None) => check_pkce_not_needed(client)?,
    }
    if let Some(challenge) = &code_challenge {
        let well_formed = challenge.len() == 43
            && challenge
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        if !well_formed {
            return Err(AuthorizeError::MalformedChallenge);
        }
    }
    Ok(code_challenge)
}

/// Rule 7: `dpop_jkt` ([RFC 9449 §10]), a JWK SHA-256 thumbprint.
///
/// [RFC 9449 §10]: https://www.rfc-editor.org/rfc/rfc9449#section-10
fn check_dpop_jkt(params: &Params) -> Result<Option<String>, AuthorizeError> {
    match params.get("dpop_jkt") {
        None => Ok(None),
        Some(jkt) if super::dpop::is_thumbprint(jkt) => Ok(Some(jkt.to_owned())),
        Some(_) => Err(AuthorizeError::MalformedDpopJkt),
    }
}

/// Rule 7: A request without PKCE is allowed only of a confidential client
/// the operator registered: a client that registered itself always uses
/// PKCE (RFC 9700 §2.1.1), whatever it authenticates with.
fn check_pkce_not_needed(client: &Client) -> Result<(), AuthorizeError> {
    if client.is_public() {
        return Err(AuthorizeError::PublicClientWithoutPkce);
    }
    if !client.provenance.is_vetted() {
        return Err(AuthorizeError::UnvettedClientWithoutPkce);
    }
    Ok(())
}

/// Rule 8: The resources (RFC 8707 §2): registered, and allowed to the
/// client; the scopes they accept, which the client may ask for with them.
fn check_resources(
    registry: &Registry,
    client: &Client,
    resources: &Resources,
) -> Result<Scope, AuthorizeError> {
    let resolved = registry
        .resolve(client, resources)
        .map_err(AuthorizeError::Target)?;
    Ok(crate::domain::resource::accepted_scopes(resolved))
}

/// Rule 8: The scope, within the client's and what the named resources
/// accept. RFC 6749 §3.3 lets the server grant less than asked: the OpenID
/// scopes for data Tessera does not hold (`address`, `phone`) are left out
/// rather than refused, as OpenID Connect Core §5.4 allows.
fn check_scope(params: &Params, client: &Client, accepted: &Scope) -> Result<Scope, AuthorizeError> {
    let requested = params
        .get("scope")
        .map(Scope::parse)
        .transpose()
        .map_err(AuthorizeError::MalformedScope)?
        .map(|s| s.without(|t| matches!(t, "address" | "phone")))
        .filter(|s| !s.is_empty());
    allowed_scopes(client, accepted)
        .narrow(requested.as_ref())
        .ok_or(AuthorizeError::ScopeNotAllowed)
}

/// Rule 8: What a client may ask for: its own scopes and those the named
/// resources accept, except that a client ID metadata document that lists
/// its `scope` limits its client to exactly those (a document that lists
/// none gets [`metadata_document::DEFAULT_SCOPE`], and the resources'
/// scopes with it).
///
/// [`metadata_document::DEFAULT_SCOPE`]: crate::clients::metadata_document::DEFAULT_SCOPE
fn allowed_scopes(client: &Client, accepted: &Scope) -> Scope {
    let declared = client.provenance == Provenance::MetadataDocument
        && client.scopes.as_str() != crate::clients::metadata_document::DEFAULT_SCOPE;
    match declared {
        true => client.scopes.clone(),
        false => client.scopes.union(accepted),
    }
}

/// Rule 9: `prompt`: a set of known values, `none` alone.
fn check_prompt(params: &Params) -> Result<Vec<Prompt>, AuthorizeError> {
    let prompts: Vec<Prompt> = params
        .get("prompt")
        .unwrap_or("")
        .split(' ')
        .filter(|s| !s.is_empty())
        .map(|p| Prompt::parse(p).ok_or(AuthorizeError::UnknownPrompt))
        .collect::<Result<_, _>>()?;
    if prompts.contains(&Prompt::None) && prompts.len() > 1 {
        return Err(AuthorizeError::PromptNoneCombined);
    }
    Ok(prompts)
}

/// Rule 9: `response_mode`, if sent, is `query`.
fn check_response_mode(params: &Params) -> Result<(), AuthorizeError> {
    match params.get("response_mode").map(ResponseMode::parse) {
        None | Some(Some(ResponseMode::Query)) => Ok(()),
        Some(None) => Err(AuthorizeError::UnsupportedResponseMode),
    }
}

/// Rule 9: `max_age`: a non-negative integer.
fn check_max_age(params: &Params) -> Result<Option<i64>, AuthorizeError> {
    params
        .get("max_age")
        .map(|v| {
            v.parse::<i64>()
                .ok()
                .filter(|v| *v >= 0)
                .ok_or(AuthorizeError::BadMaxAge)
        })
        .transpose()
}

/// Rule 10: `id_token_hint` (OpenID Connect Core §3.1.2.1): a current ID token
/// of this server for this client; the user it names.
fn check_id_token_hint(
    params: &Params,
    keys: &tessera_jwt::KeySet,
    issuer: &str,
    client: &Client,
    now: i64,
) -> Result<Option<String>, AuthorizeError> {
    let Some(hint) = params.get("id_token_hint") else {
        return Ok(None);
    };
    let hint_use = super::id_token::HintUse::Authorize {
        client_id: &client.id,
    };
    super::id_token::hint(keys, issuer, hint, hint_use, now)
        .map(|(sub, _)| Some(sub))
        .ok_or(AuthorizeError::BadIdTokenHint)
}

/// An [`AuthorizationRequest`] as an interaction keeps it: everything the
/// checks produced but the client, which is read again at every step.
#[derive(serde::Serialize, serde::Deserialize)]
struct Kept {
    client_id: String,
    redirect_uri: String,
    scope: String,
    /// Space-separated; absent in requests kept before RFC 8707 support.
    #[serde(default)]
    resources: String,
    state: Option<String>,
    nonce: Option<String>,
    code_challenge: Option<String>,
    #[serde(default)]
    dpop_jkt: Option<String>,
    prompt_none: bool,
    prompt_login: bool,
    prompt_consent: bool,
    max_age: Option<i64>,
    login_hint: Option<String>,
    ui_locales: Option<String>,
    hint_subject: Option<String>,
    /// The requested level's `acr` value; absent in requests kept before
    /// step-up support.
    #[serde(default)]
    acr_level: Option<String>,
    /// Whether that level is essential.
    #[serde(default)]
    acr_essential: bool,
}

/// Why a kept request cannot be used again.
#[derive(Debug, thiserror::Error)]
pub enum Unkept {
    /// What was kept cannot be read (a request kept by an older version).
    #[error("a kept authorization request cannot be read: {0}")]
    Unreadable(String),
    /// The client's registration changed so that the request no longer
    /// holds.
    #[error("authorization request refused")]
    Refused(Refusal),
}

impl AuthorizationRequest {
    /// The checked request as an interaction keeps it (JSON).
    pub fn to_kept(&self) -> Result<String, serde_json::Error> {
        serde_json::to_string(&Kept {
            client_id: self.client.id.clone(),
            redirect_uri: self.redirect_uri.clone(),
            scope: self.scope.as_str().to_owned(),
            resources: self.resources.to_stored(),
            state: self.state.clone(),
            nonce: self.nonce.clone(),
            code_challenge: self.code_challenge.clone(),
            dpop_jkt: self.dpop_jkt.clone(),
            prompt_none: self.prompt_none,
            prompt_login: self.prompt_login,
            prompt_consent: self.prompt_consent,
            max_age: self.max_age,
            login_hint: self.login_hint.clone(),
            ui_locales: self.ui_locales.clone(),
            hint_subject: self.hint_subject.clone(),
            acr_level: self.acr.map(|a| a.level.as_str().to_owned()),
            acr_essential: self.acr.is_some_and(|a| a.essential),
        })
    }

    /// A request kept by [`AuthorizationRequest::to_kept`], checked again
    /// only where something can have changed since `/authorize`: the
    /// client's registration as it is now (it exists; the redirect URI,
    /// the grant, the resources, the scope and the PKCE rule still hold).
    /// The parameters themselves were checked once and are not parsed
    /// again.
    pub async fn from_kept<S: ClientStore + ResourceStore>(
        store: &S,
        clients: &Directory,
        kept: &str,
        now: i64,
    ) -> Result<AuthorizationRequest, Unkept> {
        let kept: Kept = serde_json::from_str(kept).map_err(|e| Unkept::Unreadable(e.to_string()))?;
        let acr = match kept.acr_level.as_deref() {
            None => None,
            Some(value) => Some(RequestedAcr {
                level: Acr::from_value(value)
                    .ok_or_else(|| Unkept::Unreadable(format!("an unknown acr level {value:?}")))?,
                essential: kept.acr_essential,
            }),
        };
        let client = clients
            .client(store, &kept.client_id, now)
            .await
            .map_err(|e| {
                tracing::error!("authorize: reading the client failed: {e}");
                Unkept::Refused(Refusal::Page(AuthorizeError::ClientUnavailable))
            })?
            .ok_or(Unkept::Refused(Refusal::Page(AuthorizeError::UnknownClient)))?;
        let redirect_uri = check_redirect_uri(&client, Some(&kept.redirect_uri))
            .map_err(|e| Unkept::Refused(Refusal::Page(e)))?;
        let scope = Scope::from_stored(&kept.scope);
        let resources = Resources::from_stored(&kept.resources);
        let registry = if resources.is_empty() {
            Registry::default()
        } else {
            store.resources().await.map_err(|e| {
                tracing::error!("authorize: reading the resources failed: {e}");
                Unkept::Refused(Refusal::Page(AuthorizeError::ResourcesUnavailable))
            })?
        };
        let still_holds = (|| {
            check_grant(&client)?;
            if kept.code_challenge.is_none() {
                check_pkce_not_needed(&client)?;
            }
            let accepted = check_resources(&registry, &client, &resources)?;
            allowed_scopes(&client, &accepted)
                .narrow(Some(&scope))
                .ok_or(AuthorizeError::ScopeNotAllowed)
        })();
        let scope = still_holds.map_err(|error| {
            Unkept::Refused(Refusal::Redirect(Redirect {
                redirect_uri: redirect_uri.clone(),
                error,
                state: kept.state.clone(),
            }))
        })?;
        Ok(AuthorizationRequest {
            client,
            redirect_uri,
            scope,
            resources,
            state: kept.state,
            nonce: kept.nonce,
            code_challenge: kept.code_challenge,
            dpop_jkt: kept.dpop_jkt,
            prompt_none: kept.prompt_none,
            prompt_login: kept.prompt_login,
            prompt_consent: kept.prompt_consent,
            max_age: kept.max_age,
            login_hint: kept.login_hint,
            ui_locales: kept.ui_locales,
            hint_subject: kept.hint_subject,
            acr,
        })
    }
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

    const PKCE: &str =
        "&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256";

    /// What `check` answers for `query` against a store with a
    /// confidential client `conf` and a public client `pub`, both for the
    /// code grant and the scopes `openid profile`, and a client `cc` for
    /// client credentials only.
    async fn checked(query: &str) -> Result<AuthorizationRequest, Refusal> {
        use crate::domain::GrantType;
        use crate::fixtures;
        use crate::store::ClientStore;
        let store = fixtures::store().await;
        for (id, secret) in [("conf", Some("s3cret")), ("pub", None)] {
            let client = fixtures::client(id, secret, &[GrantType::AuthorizationCode], "openid profile");
            store.create_client(&client).await.unwrap();
        }
        let other = fixtures::client("cc", Some("s3cret"), &[GrantType::ClientCredentials], "api");
        store.create_client(&other).await.unwrap();
        let keys = fixtures::key_ring(&store, tessera_jwt::Algorithm::ES256).await;
        check(
            &store,
            &crate::clients::directory::STORE_ONLY,
            &keys.verify,
            fixtures::ISSUER,
            query.as_bytes(),
            fixtures::NOW,
        )
        .await
    }

    /// A metadata document's `scope` limits its client (issue 21); a
    /// document without one, and every other client, may also ask for the
    /// scopes of the resources it names (RFC 8707).
    #[test]
    fn a_documents_scope_limits_its_client() {
        use crate::clients::metadata_document::DEFAULT_SCOPE;
        let api = Scope::from_tokens(["notes:read"]);
        let mut client = crate::fixtures::client(
            "c",
            None,
            &[crate::domain::GrantType::AuthorizationCode],
            "openid",
        );
        assert!(
            allowed_scopes(&client, &api).has("notes:read"),
            "an operator's client"
        );
        client.provenance = Provenance::Dynamic;
        assert!(
            allowed_scopes(&client, &api).has("notes:read"),
            "a dynamic client"
        );
        client.provenance = Provenance::MetadataDocument;
        assert!(
            !allowed_scopes(&client, &api).has("notes:read"),
            "a document that lists openid only"
        );
        client.scopes = Scope::from_stored(DEFAULT_SCOPE);
        assert!(
            allowed_scopes(&client, &api).has("notes:read"),
            "a document that lists no scope"
        );
    }

    /// RFC 6749 §4.1.1 and OpenID Connect Core §3.1.2.1, one row per rule,
    /// in the order the module lists them: a page where the client or the
    /// redirect URI cannot be trusted, a redirect (with `state`) after.
    #[tokio::test]
    async fn rfc_6749_4_1_1_checks() {
        let base = "response_type=code&client_id=conf&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=st";
        let public = base.replace("client_id=conf", "client_id=pub");
        let page = |e: AuthorizeError| Err(Refusal::Page(e));
        let redirect = |e: AuthorizeError| {
            Err(Refusal::Redirect(Redirect {
                redirect_uri: "https://app.example/cb".into(),
                error: e,
                state: Some("st".into()),
            }))
        };
        let rows: Vec<(&str, String, Result<(), Refusal>)> = vec![
            (
                "1. client_id twice",
                format!("{base}&client_id=pub"),
                page(AuthorizeError::RepeatedClientParameter("client_id")),
            ),
            (
                "2. no client_id",
                "response_type=code".into(),
                page(AuthorizeError::MissingClientId),
            ),
            (
                "2. unknown client",
                "client_id=nobody".into(),
                page(AuthorizeError::UnknownClient),
            ),
            (
                "2. unregistered redirect URI",
                "client_id=conf&redirect_uri=https%3A%2F%2Fevil.example%2Fcb".into(),
                page(AuthorizeError::RedirectUriNotRegistered),
            ),
            (
                "2. the only redirect URI may be omitted",
                "response_type=code&client_id=conf".into(),
                Ok(()),
            ),
            (
                "3. another parameter twice",
                format!("{base}&scope=openid&scope=profile"),
                redirect(AuthorizeError::RepeatedParameter("scope")),
            ),
            (
                "4. no response_type",
                base.replace("response_type=code&", ""),
                redirect(AuthorizeError::MissingResponseType),
            ),
            (
                "4. implicit",
                base.replace("response_type=code", "response_type=token"),
                redirect(AuthorizeError::UnsupportedResponseType),
            ),
            (
                "6. request objects",
                format!("{base}&request=x"),
                redirect(AuthorizeError::RequestNotSupported),
            ),
            (
                "6. request_uri",
                format!("{base}&request_uri=x"),
                redirect(AuthorizeError::RequestUriNotSupported),
            ),
            (
                "7. plain PKCE",
                format!("{base}&code_challenge=abc&code_challenge_method=plain"),
                redirect(AuthorizeError::PlainPkce),
            ),
            (
                "7. a challenge without its method",
                format!("{base}&code_challenge=abc"),
                redirect(AuthorizeError::PkceMethodRequired),
            ),
            (
                "7. a short challenge",
                format!("{base}&code_challenge=abc&code_challenge_method=S256"),
                redirect(AuthorizeError::MalformedChallenge),
            ),
            (
                "7. a public client without PKCE",
                public.clone(),
                redirect(AuthorizeError::PublicClientWithoutPkce),
            ),
            ("7. a public client with PKCE", format!("{public}{PKCE}"), Ok(())),
            (
                "8. a scope beyond the client's",
                format!("{base}&scope=openid%20admin"),
                redirect(AuthorizeError::ScopeNotAllowed),
            ),
            (
                "8. address and phone are left out",
                format!("{base}&scope=openid%20address"),
                Ok(()),
            ),
            (
                "9. an unknown prompt",
                format!("{base}&prompt=sometimes"),
                redirect(AuthorizeError::UnknownPrompt),
            ),
            (
                "9. none with another prompt",
                format!("{base}&prompt=none%20login"),
                redirect(AuthorizeError::PromptNoneCombined),
            ),
            (
                "9. fragment response mode",
                format!("{base}&response_mode=fragment"),
                redirect(AuthorizeError::UnsupportedResponseMode),
            ),
            (
                "9. a negative max_age",
                format!("{base}&max_age=-1"),
                redirect(AuthorizeError::BadMaxAge),
            ),
            (
                "10. a hint that is no ID token",
                format!("{base}&id_token_hint=abc"),
                redirect(AuthorizeError::BadIdTokenHint),
            ),
            ("a confidential client without PKCE", base.into(), Ok(())),
        ];
        for (name, query, want) in rows {
            let got = checked(&query).await.map(|_| ());
            assert_eq!(got, want, "{name}");
        }
        // Rule 5, for a client not registered for the code grant.
        let got =
            checked("response_type=code&client_id=cc&redirect_uri=https%3A%2F%2Fapp.example%2Fcb").await;
        assert!(
            matches!(
                got,
                Err(Refusal::Redirect(Redirect {
                    error: AuthorizeError::UnauthorizedClient,
                    ..
                }))
            ),
            "5. {got:?}"
        );
    }

    /// A kept request reads back as it was, and is refused once the
    /// client's registration no longer allows it.
    #[tokio::test]
    async fn a_kept_request_is_checked_against_the_client_as_it_is_now() {
        use crate::domain::GrantType;
        use crate::fixtures;
        use crate::store::ClientStore;
        let store = fixtures::store().await;
        let client = fixtures::client(
            "conf",
            Some("s3cret"),
            &[GrantType::AuthorizationCode],
            "openid profile",
        );
        store.create_client(&client).await.unwrap();
        let keys = fixtures::key_ring(&store, tessera_jwt::Algorithm::ES256).await;
        let query = "response_type=code&client_id=conf&scope=openid%20profile&state=st&nonce=n&prompt=login&max_age=60";
        let request = check(
            &store,
            &crate::clients::directory::STORE_ONLY,
            &keys.verify,
            fixtures::ISSUER,
            query.as_bytes(),
            fixtures::NOW,
        )
        .await
        .unwrap();
        let kept = request.to_kept().unwrap();
        let back = AuthorizationRequest::from_kept(&store, &crate::clients::directory::STORE_ONLY, &kept, 0)
            .await
            .unwrap();
        assert_eq!(
            (
                back.scope().as_str(),
                back.state(),
                back.nonce(),
                back.prompt_login(),
                back.max_age()
            ),
            ("openid profile", Some("st"), Some("n"), true, Some(60))
        );
        assert!(matches!(
            AuthorizationRequest::from_kept(
                &store,
                &crate::clients::directory::STORE_ONLY,
                "client_id=conf&response_type=code",
                0
            )
            .await,
            Err(Unkept::Unreadable(_))
        ));
        // The client loses the profile scope: the kept request no longer holds.
        assert!(store.delete_client("conf").await.unwrap());
        let narrower = fixtures::client("conf", Some("s3cret"), &[GrantType::AuthorizationCode], "openid");
        store.create_client(&narrower).await.unwrap();
        let refused =
            AuthorizationRequest::from_kept(&store, &crate::clients::directory::STORE_ONLY, &kept, 0).await;
        assert!(
            matches!(
                refused,
                Err(Unkept::Refused(Refusal::Redirect(Redirect {
                    error: AuthorizeError::ScopeNotAllowed,
                    ..
                })))
            ),
            "{refused:?}"
        );
    }
}
