//! Upstream identity providers: Tessera as an OAuth 2.0 / OpenID Connect
//! *client* of GitHub, Google or any OpenID provider, so a person can sign
//! in with an account they already have. Apps behind Tessera still get
//! Tessera's tokens only; nothing from upstream is passed on or kept but
//! the link between the upstream identity and the local user.
//!
//! A trip upstream ([`Upstreams::authorization_url`]) carries, as RFC 9700
//! §2.1 and §4.7 ask of a client:
//!
//! - `state`: random, stored as its SHA-256 with the interaction it
//!   continues and the browser binding that left; single use, ten minutes;
//! - PKCE S256 ([RFC 7636]) and, for OpenID providers, a `nonce`: both
//!   *derived* from the browser's binding secret and the state, so they
//!   are never stored and only the browser that left can finish the trip;
//! - on return, the `iss` parameter ([RFC 9207]) is checked when the
//!   provider sends it or says it does, which stops mix-up attacks.
//!
//! The identity ([`Profile`]) comes from a verified ID token ([`oidc`]),
//! GitHub's `/user` and `/user/emails` ([`github`]), or a plain OAuth 2.0
//! user-info URL ([`oauth2`]). [`link`] decides what it means locally.
//! Every call upstream is bounded in time (`upstream_timeout`) and size
//! (1 MiB); a failure is an [`UpstreamError`], shown as a page.
//!
//! [RFC 7636]: https://www.rfc-editor.org/rfc/rfc7636
//! [RFC 9207]: https://www.rfc-editor.org/rfc/rfc9207

pub mod github;
pub mod link;
pub mod oauth2;
pub mod oidc;

use std::time::Duration;

use base64::Engine;
use tessera_guard::fetch::{FetchError, Fetcher};
use zeroize::Zeroizing;

use crate::config::{UpstreamConfig, UpstreamKind};
use crate::domain::method::upstream_amr_shows_mfa;

/// How long a trip upstream may take, from leaving to coming back.
pub const TRIP_TTL: i64 = 600;

/// GitHub's authorization endpoint, unless configured otherwise.
const GITHUB_AUTHORIZE: &str = "https://github.com/login/oauth/authorize";

/// Why a sign-in through a provider failed. The text is for the page; the
/// provider's own answer goes to the log only.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No provider has this id.
    #[error("there is no such sign-in provider")]
    UnknownProvider,
    /// The provider could not be reached, was too slow, or refused.
    #[error("{0} could not be reached or refused the request; try again later")]
    Unavailable(String),
    /// The provider answered something that is not what the protocol says.
    #[error("{0} answered something unexpected")]
    Nonsense(String),
    /// The person declined at the provider (or it refused them).
    #[error("{0} did not sign you in")]
    Declined(String),
    /// The answer failed a security check (ID token, `iss`, `nonce`).
    #[error("the answer from {0} failed a security check")]
    Untrusted(String),
    /// No local account for this identity, and none may be made (or it is
    /// disabled).
    #[error("there is no account here for this {0} sign-in")]
    NoAccount(String),
    /// The `state` is unknown, used, expired, or another browser's.
    #[error("this sign-in has expired or did not start in this browser; start again from the application")]
    BadState,
}

/// What a provider says about the person, in Tessera's terms.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Profile {
    /// The provider's stable id for the person (OpenID `sub`, GitHub's
    /// numeric id).
    pub subject: String,
    /// A username to start from, if the provider has one.
    pub username: Option<String>,
    /// The display name.
    pub name: Option<String>,
    /// The email.
    pub email: Option<String>,
    /// Whether the provider asserts it verified the email.
    pub email_verified: bool,
    /// The groups the provider asserts (for `role_map`).
    pub groups: Vec<String>,
    /// How the provider says it signed the person in: its verified ID
    /// token's `amr` (OpenID Connect Core §2, RFC 8176 values); empty when
    /// absent, not an array of strings, or from a provider with no ID
    /// token. Read only for a `trust_mfa` provider
    /// ([`Provider::proves_mfa`]).
    #[serde(default)]
    pub amr: Vec<String>,
}

/// One configured provider.
pub struct Provider {
    /// Its configuration.
    pub config: UpstreamConfig,
    /// Whether a first sign-in may create a local user (`create_users`, by
    /// default as `self_registration`).
    pub create_users: bool,
    /// What its identities are keyed by beside the subject
    /// ([`UpstreamConfig::identity_key`]).
    pub key: String,
    secret: Zeroizing<String>,
    /// Its HTTP client: Mozilla's roots plus its `ca_file`.
    fetcher: Fetcher,
    /// Discovered metadata and keys (OpenID providers), fetched on first
    /// use and again when a key is missing.
    oidc: oidc::Cache,
}

impl Provider {
    /// Whether this sign-in through the provider also proves a second
    /// factor ([`crate::domain::Method::UpstreamMfa`]): only when its
    /// table says `trust_mfa` *and* its ID token's `amr` shows several
    /// factors ([`upstream_amr_shows_mfa`]). Issue 19, item 5: otherwise a
    /// user with a second factor here is asked for its code.
    pub fn proves_mfa(&self, profile: &Profile) -> bool {
        self.config.trust_mfa && upstream_amr_shows_mfa(profile.amr.iter().map(String::as_str))
    }

    /// The client for a call to `url`, refused ([`UpstreamError::Untrusted`])
    /// unless the call is protected in transit
    /// ([`crate::config::secure_transport`]): configured URLs are checked at
    /// start, this also covers those a discovery document names.
    fn fetcher_for(&self, url: &str) -> Result<&Fetcher, UpstreamError> {
        if !crate::config::secure_transport(url) {
            tracing::warn!(provider = %self.config.id, url, "upstream call refused: not https");
            return Err(UpstreamError::Untrusted(self.config.name.clone()));
        }
        Ok(&self.fetcher)
    }
}

impl std::fmt::Debug for Provider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Provider")
            .field("id", &self.config.id)
            .finish_non_exhaustive()
    }
}

/// The configured providers and the HTTP client that talks to them.
pub struct Upstreams {
    providers: Vec<Provider>,
    /// Tessera's issuer (callbacks are `{issuer}/upstream/{id}/callback`).
    issuer: String,
}

impl std::fmt::Debug for Upstreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Upstreams")
            .field("providers", &self.providers)
            .finish_non_exhaustive()
    }
}

/// Where a browser goes to sign in upstream, and what to remember.
#[derive(Debug)]
pub struct Departure {
    /// The provider's authorization URL with every parameter.
    pub url: String,
}

impl Upstreams {
    /// The providers of `configs`, for the server at `issuer`; whether
    /// each may create users follows `self_registration` unless its table
    /// says (logged at start, since it decides who may sign up).
    pub fn new(
        configs: &[UpstreamConfig],
        issuer: &str,
        timeout: Duration,
        self_registration: bool,
    ) -> Result<Upstreams, String> {
        let mut providers = Vec::with_capacity(configs.len());
        for config in configs {
            let secret = config.secret().map_err(|e| e.to_string())?;
            let create_users = config.create_users(self_registration);
            let why = match config.create_users {
                Some(_) => "set in its table",
                None => "as self_registration",
            };
            match create_users {
                true => {
                    tracing::info!(provider = %config.id, "upstream {}: a first sign-in may create a local user (create_users = true, {why})", config.id)
                }
                false => {
                    tracing::info!(provider = %config.id, "upstream {}: only people with an account here may sign in with it (create_users = false, {why})", config.id)
                }
            }
            let roots = match &config.ca_file {
                Some(path) => {
                    std::fs::read(path).map_err(|e| format!("{}: ca_file {path}: {e}", config.id))?
                }
                None => Vec::new(),
            };
            let fetcher = Fetcher::new(timeout, &roots).map_err(|e| format!("{}: {e}", config.id))?;
            providers.push(Provider {
                create_users,
                key: config.identity_key(),
                config: config.clone(),
                secret: Zeroizing::new(secret),
                fetcher,
                oidc: oidc::Cache::default(),
            });
        }
        Ok(Upstreams {
            providers,
            issuer: issuer.to_owned(),
        })
    }

    /// No providers.
    pub fn none(issuer: &str) -> Upstreams {
        Upstreams {
            providers: Vec::new(),
            issuer: issuer.to_owned(),
        }
    }

    /// (id, label) of each provider, for the sign-in page's buttons.
    pub fn buttons(&self) -> Vec<(String, String)> {
        self.providers
            .iter()
            .map(|p| (p.config.id.clone(), p.config.name.clone()))
            .collect()
    }

    /// Each provider's authorization endpoint, where a "Continue with"
    /// form ends after Tessera's 303 (the sign-in page's CSP
    /// `form-action` names them). An OpenID provider's is its discovered
    /// one when the metadata is at hand, else its issuer, where providers
    /// serve it in practice; this never waits on the network, so a
    /// provider that is down cannot slow the sign-in page.
    /// [`Upstreams::discover`] fetches the metadata at start.
    pub fn authorization_endpoints(&self) -> Vec<String> {
        self.providers
            .iter()
            .map(|p| {
                let c = &p.config;
                match c.kind {
                    UpstreamKind::Oidc => p
                        .oidc
                        .cached_authorization_endpoint()
                        .or_else(|| c.issuer.clone())
                        .unwrap_or_default(),
                    UpstreamKind::Github => c
                        .authorization_endpoint
                        .clone()
                        .unwrap_or_else(|| GITHUB_AUTHORIZE.into()),
                    UpstreamKind::Oauth2 => c.authorization_endpoint.clone().unwrap_or_default(),
                }
            })
            .collect()
    }

    /// Fetches every OpenID provider's metadata once (at start), so the
    /// sign-in page names the authorization endpoint it discovered; a
    /// failure is logged and tried again at the first sign-in.
    pub async fn discover(&self) {
        for provider in &self.providers {
            if provider.config.kind == UpstreamKind::Oidc {
                if let Err(e) = self.metadata(provider).await {
                    tracing::warn!(provider = %provider.config.id, "discovery at start failed: {e}");
                }
            }
        }
    }

    /// Every configured provider, in the configuration's order.
    pub fn providers(&self) -> impl Iterator<Item = &Provider> {
        self.providers.iter()
    }

    /// The provider with this id.
    pub fn provider(&self, id: &str) -> Result<&Provider, UpstreamError> {
        self.providers
            .iter()
            .find(|p| p.config.id == id)
            .ok_or(UpstreamError::UnknownProvider)
    }

    /// The redirect URI registered at the provider.
    pub fn callback(&self, provider: &Provider) -> String {
        format!("{}/upstream/{}/callback", self.issuer, provider.config.id)
    }

    /// The authorization request for a trip with this `state`, from the
    /// browser holding `binding` ([RFC 6749 §4.1.1], [RFC 7636 §4.3],
    /// OpenID Connect Core §3.1.2.1).
    ///
    /// [RFC 6749 §4.1.1]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.1
    /// [RFC 7636 §4.3]: https://www.rfc-editor.org/rfc/rfc7636#section-4.3
    pub async fn authorization_url(
        &self,
        provider: &Provider,
        binding: &str,
        state: &str,
    ) -> Result<Departure, UpstreamError> {
        let c = &provider.config;
        let endpoint = match c.kind {
            UpstreamKind::Oidc => self.metadata(provider).await?.authorization_endpoint,
            UpstreamKind::Github => c
                .authorization_endpoint
                .clone()
                .unwrap_or_else(|| GITHUB_AUTHORIZE.into()),
            UpstreamKind::Oauth2 => c.authorization_endpoint.clone().unwrap_or_default(),
        };
        let verifier = derived(binding, state, "pkce");
        let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(aws_lc_rs::digest::digest(
            &aws_lc_rs::digest::SHA256,
            verifier.as_bytes(),
        ));
        let mut query = form_urlencoded::Serializer::new(String::new());
        query
            .append_pair("response_type", "code")
            .append_pair("client_id", &c.client_id)
            .append_pair("redirect_uri", &self.callback(provider))
            .append_pair("state", state)
            .append_pair("code_challenge", &challenge)
            .append_pair("code_challenge_method", "S256");
        let scopes = c.scopes();
        if !scopes.is_empty() {
            query.append_pair("scope", &scopes.join(" "));
        }
        if c.kind == UpstreamKind::Oidc {
            query.append_pair("nonce", &derived(binding, state, "nonce"));
        }
        let separator = if endpoint.contains('?') { '&' } else { '?' };
        Ok(Departure {
            url: format!("{endpoint}{separator}{}", query.finish()),
        })
    }

    /// The person behind an authorization response: `code` exchanged
    /// (with the PKCE verifier of this browser's trip), then the identity
    /// read and checked. `iss` is the response's `iss` parameter.
    pub async fn arrive(
        &self,
        provider: &Provider,
        binding: &str,
        state: &str,
        code: &str,
        iss: Option<&str>,
        now: i64,
    ) -> Result<Profile, UpstreamError> {
        let verifier = derived(binding, state, "pkce");
        match provider.config.kind {
            UpstreamKind::Oidc => {
                let nonce = derived(binding, state, "nonce");
                oidc::arrive(self, provider, code, &verifier, &nonce, iss, now).await
            }
            // RFC 9207 §2.4: no issuer identifier is known for a plain
            // OAuth 2.0 provider (GitHub included), so no `iss` can match.
            UpstreamKind::Github | UpstreamKind::Oauth2 if iss.is_some() => {
                tracing::warn!(target: "audit", provider = %provider.config.id, "unexpected iss from an OAuth 2.0 provider");
                Err(UpstreamError::Untrusted(provider.config.name.clone()))
            }
            UpstreamKind::Github => github::arrive(self, provider, code, &verifier).await,
            UpstreamKind::Oauth2 => oauth2::arrive(self, provider, code, &verifier).await,
        }
    }

    async fn metadata(&self, provider: &Provider) -> Result<oidc::Metadata, UpstreamError> {
        oidc::metadata(provider).await
    }

    /// Exchanges the code at `endpoint` ([RFC 6749 §4.1.3]): client
    /// credentials in HTTP Basic (RFC 6749 §2.3.1), or in the body where
    /// `in_body` (GitHub's way).
    ///
    /// [RFC 6749 §4.1.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
    async fn exchange(
        &self,
        provider: &Provider,
        endpoint: &str,
        code: &str,
        verifier: &str,
        in_body: bool,
    ) -> Result<serde_json::Value, UpstreamError> {
        let c = &provider.config;
        // (The serializer is not Send: finished before any await.)
        let form = Zeroizing::new({
            let mut form = form_urlencoded::Serializer::new(String::new());
            form.append_pair("grant_type", "authorization_code")
                .append_pair("code", code)
                .append_pair("redirect_uri", &self.callback(provider))
                .append_pair("code_verifier", verifier);
            if in_body {
                form.append_pair("client_id", &c.client_id)
                    .append_pair("client_secret", &provider.secret);
            }
            form.finish()
        });
        let basic;
        let authorization = if in_body {
            None
        } else {
            // RFC 6749 §2.3.1: each form-urlencoded, then Basic.
            let enc = |s: &str| form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            basic = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!(
                    "{}:{}",
                    enc(&c.client_id),
                    enc(&provider.secret)
                ))
            );
            Some(basic.as_str())
        };
        let fetched = provider
            .fetcher_for(endpoint)?
            .post_form(endpoint, authorization, form.to_string())
            .await
            .map_err(|e| unavailable(provider, &e))?;
        let answer: serde_json::Value = json(provider, &fetched.body)?;
        // GitHub answers a refused code with 200 and an `error` member.
        if let Some(error) = answer.get("error").and_then(serde_json::Value::as_str) {
            tracing::warn!(provider = %c.id, error, "upstream token request refused");
            return Err(UpstreamError::Declined(c.name.clone()));
        }
        Ok(answer)
    }

    /// GET a JSON resource with the upstream access token.
    async fn resource(
        &self,
        provider: &Provider,
        url: &str,
        access_token: &str,
    ) -> Result<serde_json::Value, UpstreamError> {
        let fetched = provider
            .fetcher_for(url)?
            .get_authorized(url, &format!("Bearer {access_token}"))
            .await
            .map_err(|e| unavailable(provider, &e))?;
        json(provider, &fetched.body)
    }
}

/// A value only this browser can compute for this trip: base64url of
/// SHA-256("tessera-upstream", purpose, binding, state). The binding secret
/// never leaves the browser's `HttpOnly` cookie, so a stolen `state` or
/// code is useless elsewhere.
fn derived(binding: &str, state: &str, purpose: &str) -> String {
    let mut input = Vec::with_capacity(binding.len() + state.len() + 32);
    for part in ["tessera-upstream", purpose, binding, state] {
        input.extend_from_slice(part.as_bytes());
        input.push(0);
    }
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, &input))
}

fn unavailable(provider: &Provider, e: &FetchError) -> UpstreamError {
    tracing::warn!(provider = %provider.config.id, "upstream call failed: {e}");
    UpstreamError::Unavailable(provider.config.name.clone())
}

fn json(provider: &Provider, body: &[u8]) -> Result<serde_json::Value, UpstreamError> {
    serde_json::from_slice(body).map_err(|e| {
        tracing::warn!(provider = %provider.config.id, "upstream answer is not JSON: {e}");
        UpstreamError::Nonsense(provider.config.name.clone())
    })
}

/// The groups in `claim` (default `groups`) of a user's JSON, for
/// `role_map`; anything but an array of strings is none.
fn groups(user: &serde_json::Map<String, serde_json::Value>, claim: Option<&str>) -> Vec<String> {
    user.get(claim.unwrap_or("groups"))
        .and_then(serde_json::Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(serde_json::Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

/// The access token of a token response.
fn access_token(provider: &Provider, answer: &serde_json::Value) -> Result<String, UpstreamError> {
    answer
        .get("access_token")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| UpstreamError::Nonsense(provider.config.name.clone()))
}

/// RFC 9207 §2.4 for a provider whose issuer identifier is known: an `iss`
/// parameter must be it, and one that says it sends `iss` must send it.
fn check_iss(
    provider: &Provider,
    expected: &str,
    sent: Option<&str>,
    required: bool,
) -> Result<(), UpstreamError> {
    match sent {
        Some(iss) if iss == expected => Ok(()),
        None if !required => Ok(()),
        _ => {
            tracing::warn!(target: "audit", provider = %provider.config.id, sent = ?sent, "upstream iss mismatch (mix-up?)");
            Err(UpstreamError::Untrusted(provider.config.name.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_values_are_per_browser_state_and_purpose() {
        let a = derived("binding-a", "state", "pkce");
        assert_eq!(a, derived("binding-a", "state", "pkce"));
        assert_ne!(a, derived("binding-b", "state", "pkce"));
        assert_ne!(a, derived("binding-a", "state2", "pkce"));
        assert_ne!(a, derived("binding-a", "state", "nonce"));
        // RFC 7636 §4.1: 43 to 128 characters of the unreserved set.
        assert_eq!(a.len(), 43);
    }
}
