//! Client ID metadata documents ([draft-ietf-oauth-client-id-metadata-document]):
//! a client nobody registered here names itself by an https URL, and the
//! JSON client metadata ([RFC 7591 §2] names) at that URL describes it. On
//! when `client_metadata_documents = true`.
//!
//! The `client_id` ([`check_client_id`], draft §3): an `https` URL (plain
//! `http` only to a loopback host in `client_metadata_allow_hosts`), with a
//! path, without dot segments, fragment, user name or password, written
//! exactly as it parses (so one client has one spelling).
//!
//! The document ([`parse`], draft §4), checked in this order:
//!
//! 1. At most [`Limit::MetadataDocument`] bytes of JSON object.
//! 2. Its `client_id` is the URL it was fetched from, compared as strings
//!    (draft §4.1: "MUST ... match the URL of the document using simple
//!    string comparison").
//! 3. No `client_secret` or `client_secret_expires_at` (draft §4.1: no
//!    shared secret can be established this way).
//! 4. `token_endpoint_auth_method` is `none` (also when absent: a document
//!    cannot carry a secret, so RFC 7591's default `client_secret_basic`
//!    cannot apply) or `private_key_jwt` with `jwks` or `jwks_uri`.
//! 5. `grant_types` only `authorization_code` (the default) and
//!    `refresh_token`; `response_types`, if listed, only `code`.
//! 6. `scope` is what the client may ask for: without one,
//!    [`DEFAULT_SCOPE`].
//! 7. Every registration rule ([`super::registration::describe`]): the
//!    `redirect_uris` (at least one; each compared exactly at
//!    `/authorize`), the keys, the grant combination.
//!
//! [`Documents`] fetches ([`super::outbound`]: 5 KB, 5 s, no redirects,
//! public addresses only) and keeps each client for as long as its answer's
//! cache headers say, within [`MIN_TTL`] and [`MAX_TTL`].
//!
//! [draft-ietf-oauth-client-id-metadata-document]: https://datatracker.ietf.org/doc/draft-ietf-oauth-client-id-metadata-document/
//! [RFC 7591 §2]: https://www.rfc-editor.org/rfc/rfc7591#section-2

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::de::IgnoredAny;
use serde::Deserialize;

use super::jwks_uri::lifetime;
use super::outbound::{Limit, Outbound, OutboundError};
use super::registration::{describe, ClientType, NewClient, RegistrationError};
use crate::domain::{AuthMethod, Client, ClientKeys, GrantType, Provenance, Scope};

/// What a client described by a document may ask for when its document
/// has no `scope`: sign-in, the profile, the email address, and refresh
/// tokens (each with the user's consent).
pub const DEFAULT_SCOPE: &str = "openid profile email offline_access";

/// The shortest time a document is kept, whatever its answer said: a
/// client cannot make the server fetch its document on every request.
pub const MIN_TTL: Duration = Duration::from_secs(5 * 60);
/// The longest.
pub const MAX_TTL: Duration = Duration::from_secs(24 * 3600);
/// Without `max-age`.
pub const DEFAULT_TTL: Duration = Duration::from_secs(3600);
const MAX_ENTRIES: usize = 10_000;

/// Why a `client_id` or its document is refused.
#[derive(Debug, thiserror::Error)]
pub enum DocumentError {
    /// The `client_id` is not a URL a document may be at (draft §3).
    #[error("client_id {0:?} is not a client ID metadata document URL: https, a path, no dot segments, fragment or credentials, written as it parses")]
    ClientId(String),
    /// The document could not be fetched.
    #[error("fetching the document: {0}")]
    Fetch(#[from] OutboundError),
    /// Larger than [`Limit::MetadataDocument`].
    #[error("the document is larger than {} bytes", Limit::MetadataDocument.bytes())]
    TooLarge,
    /// Not a JSON object of client metadata.
    #[error("the document is not client metadata JSON: {0}")]
    NotJson(String),
    /// Its `client_id` is not its URL (draft §4.1).
    #[error("the document's client_id {found:?} is not its URL")]
    ClientIdMismatch {
        /// The document's `client_id`.
        found: String,
    },
    /// It carries a secret (draft §4.1).
    #[error("the document carries {0}: a client described by a document cannot have a secret")]
    Secret(&'static str),
    /// An authentication method other than `none` and `private_key_jwt`.
    #[error("token_endpoint_auth_method {0:?}: only none and private_key_jwt")]
    AuthMethod(String),
    /// A grant type other than the code and refresh grants.
    #[error("grant_types {0:?}: only authorization_code and refresh_token")]
    GrantType(String),
    /// A response type other than `code`.
    #[error("response_types {0:?}: only code")]
    ResponseType(String),
    /// A `scope` that is not one.
    #[error("scope: {0}")]
    Scope(String),
    /// A registration rule is broken.
    #[error("{0}")]
    Registration(#[from] RegistrationError),
}

/// Draft §3: whether `id` may name a client by its metadata document's URL.
/// Plain http is judged by the fetcher (allow-listed loopback hosts only).
pub fn check_client_id(id: &str) -> Result<url::Url, DocumentError> {
    let refuse = || DocumentError::ClientId(id.to_owned());
    let url = url::Url::parse(id).map_err(|_| refuse())?;
    let scheme_ok = matches!(url.scheme(), "https" | "http");
    // Written exactly as it parses: dot segments, an empty path, upper-case
    // hosts, default ports and stray escapes all change when parsed.
    let canonical = url.as_str() == id;
    let no_dots = !url.path().split('/').any(|s| s == "." || s == "..");
    if !scheme_ok
        || !canonical
        || !no_dots
        || url.host_str().is_none_or(str::is_empty)
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(refuse());
    }
    Ok(url)
}

/// Whether `id` looks like a URL, so is looked up as a document rather
/// than only in the store.
pub fn is_url(id: &str) -> bool {
    id.starts_with("https://") || id.starts_with("http://")
}

/// The document, RFC 7591 §2 names; other metadata is ignored.
#[derive(Deserialize)]
struct Document {
    client_id: String,
    #[serde(default)]
    redirect_uris: Vec<String>,
    client_name: Option<String>,
    token_endpoint_auth_method: Option<String>,
    grant_types: Option<Vec<String>>,
    response_types: Option<Vec<String>>,
    scope: Option<String>,
    jwks: Option<serde_json::Value>,
    jwks_uri: Option<String>,
    post_logout_redirect_uris: Option<Vec<String>>,
    client_secret: Option<IgnoredAny>,
    client_secret_expires_at: Option<IgnoredAny>,
}

/// Checks 1-7 of the module: the client the document at `client_id`
/// describes, whose tokens live `access_token_ttl` seconds.
pub fn parse(client_id: &str, body: &[u8], access_token_ttl: i64, now: i64) -> Result<Client, DocumentError> {
    // 1.
    if body.len() > Limit::MetadataDocument.bytes() {
        return Err(DocumentError::TooLarge);
    }
    let doc: Document = serde_json::from_slice(body).map_err(|e| DocumentError::NotJson(e.to_string()))?;
    // 2.
    if doc.client_id != client_id {
        return Err(DocumentError::ClientIdMismatch { found: doc.client_id });
    }
    // 3.
    if doc.client_secret.is_some() {
        return Err(DocumentError::Secret("client_secret"));
    }
    if doc.client_secret_expires_at.is_some() {
        return Err(DocumentError::Secret("client_secret_expires_at"));
    }
    // 4.
    let method = doc.token_endpoint_auth_method.as_deref().unwrap_or("none");
    let (client_type, auth_method, keys) = match AuthMethod::parse(method) {
        Some(AuthMethod::None) => (ClientType::Public, AuthMethod::None, None),
        Some(AuthMethod::PrivateKeyJwt) => {
            let keys = match (&doc.jwks, &doc.jwks_uri) {
                (Some(jwks), None) => Some(ClientKeys::Jwks(jwks.to_string())),
                (None, Some(uri)) => Some(ClientKeys::JwksUri(uri.clone())),
                // Both, or neither: registration says which.
                (Some(_), Some(_)) => return Err(RegistrationError::MalformedJwks.into()),
                (None, None) => None,
            };
            (ClientType::Confidential, AuthMethod::PrivateKeyJwt, keys)
        }
        _ => return Err(DocumentError::AuthMethod(method.to_owned())),
    };
    // 5.
    let grant_types = match &doc.grant_types {
        None => vec![GrantType::AuthorizationCode],
        Some(names) => names
            .iter()
            .map(|n| match GrantType::parse(n) {
                Some(g @ (GrantType::AuthorizationCode | GrantType::RefreshToken)) => Ok(g),
                _ => Err(DocumentError::GrantType(n.clone())),
            })
            .collect::<Result<Vec<_>, _>>()?,
    };
    if let Some(other) = doc.response_types.iter().flatten().find(|t| *t != "code") {
        return Err(DocumentError::ResponseType(other.clone()));
    }
    // 6.
    let scopes = Scope::parse(doc.scope.as_deref().unwrap_or(DEFAULT_SCOPE))
        .map_err(|e| DocumentError::Scope(e.to_string()))?;
    // 7.
    let new = NewClient {
        name: doc
            .client_name
            .filter(|n| !n.trim().is_empty())
            .unwrap_or_else(|| client_id.to_owned()),
        client_type,
        auth_method: Some(auth_method),
        keys,
        grant_types,
        scopes,
        redirect_uris: doc.redirect_uris,
        post_logout_redirect_uris: doc.post_logout_redirect_uris.unwrap_or_default(),
        provenance: Provenance::MetadataDocument,
        ..NewClient::new(client_id, access_token_ttl)
    };
    Ok(describe(client_id, new, now)?)
}

/// Clients by their documents, fetched and kept.
#[derive(Debug, Default)]
pub struct Documents {
    kept: Mutex<HashMap<String, (Client, Instant)>>,
}

impl Documents {
    /// The client `client_id` names: kept, or fetched and checked now.
    pub async fn resolve(
        &self,
        outbound: &Outbound,
        client_id: &str,
        access_token_ttl: i64,
        now: i64,
    ) -> Result<Client, DocumentError> {
        if let Some(client) = self.kept(client_id) {
            return Ok(client);
        }
        check_client_id(client_id)?;
        let fetched = outbound.get(client_id, Limit::MetadataDocument).await?;
        let client = parse(client_id, &fetched.body, access_token_ttl, now)?;
        let ttl = lifetime(&fetched, MIN_TTL, MAX_TTL, DEFAULT_TTL);
        if let Ok(mut kept) = self.kept.lock() {
            if kept.len() >= MAX_ENTRIES {
                kept.clear();
            }
            kept.insert(client_id.to_owned(), (client.clone(), Instant::now() + ttl));
        }
        tracing::info!(target: "audit", client_id, ttl = ttl.as_secs(), "client metadata document fetched");
        Ok(client)
    }

    fn kept(&self, client_id: &str) -> Option<Client> {
        let kept = self.kept.lock().ok()?;
        let (client, until) = kept.get(client_id)?;
        (*until > Instant::now()).then(|| client.clone())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]
    use super::*;
    use crate::domain::ClientCredentials;
    use serde_json::json;

    const ID: &str = "https://app.example/oauth/client.json";

    fn doc(over: serde_json::Value) -> Vec<u8> {
        let mut d = json!({
            "client_id": ID,
            "client_name": "Example App",
            "redirect_uris": ["https://app.example/cb"],
        });
        for (k, v) in over.as_object().unwrap() {
            if v.is_null() {
                d.as_object_mut().unwrap().remove(k);
            } else {
                d[k] = v.clone();
            }
        }
        serde_json::to_vec(&d).unwrap()
    }

    #[test]
    fn client_ids_are_canonical_https_urls_with_a_path() {
        for ok in [
            ID,
            "https://app.example/",
            "https://app.example:8443/c?v=1",
            "http://127.0.0.1:8080/client.json",
        ] {
            assert!(check_client_id(ok).is_ok(), "{ok}");
        }
        for bad in [
            "app",
            "https://app.example",
            "https://app.example/a/../client.json",
            "https://app.example/./client.json",
            "https://app.example/%2e%2e/client.json",
            "https://app.example/client.json#x",
            "https://user@app.example/client.json",
            "https://user:pw@app.example/client.json",
            "https://APP.example/client.json",
            "https://app.example:443/client.json",
            "ftp://app.example/client.json",
            "urn:x:y",
        ] {
            assert!(check_client_id(bad).is_err(), "{bad}");
        }
    }

    /// The module's checks, one row each.
    #[test]
    fn documents_are_checked_in_order() {
        let rows: Vec<(&str, Vec<u8>, Result<(), &str>)> = vec![
            ("a public client", doc(json!({})), Ok(())),
            (
                "private_key_jwt, jwks_uri",
                doc(
                    json!({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://app.example/jwks"}),
                ),
                Ok(()),
            ),
            (
                "refresh listed",
                doc(
                    json!({"grant_types": ["authorization_code", "refresh_token"], "response_types": ["code"]}),
                ),
                Ok(()),
            ),
            ("1. not JSON", b"<html>".to_vec(), Err("NotJson")),
            ("1. an array", b"[]".to_vec(), Err("NotJson")),
            ("1. too large", vec![b' '; 5 * 1024 + 1], Err("TooLarge")),
            (
                "2. another client_id",
                doc(json!({"client_id": "https://evil.example/client.json"})),
                Err("ClientIdMismatch"),
            ),
            (
                "2. client_id differs by a slash",
                doc(json!({"client_id": format!("{ID}/")})),
                Err("ClientIdMismatch"),
            ),
            ("2. no client_id", doc(json!({"client_id": null})), Err("NotJson")),
            ("3. a secret", doc(json!({"client_secret": "s"})), Err("Secret")),
            (
                "3. a secret expiry",
                doc(json!({"client_secret_expires_at": 0})),
                Err("Secret"),
            ),
            (
                "4. client_secret_basic",
                doc(json!({"token_endpoint_auth_method": "client_secret_basic"})),
                Err("AuthMethod"),
            ),
            (
                "4. client_secret_post",
                doc(json!({"token_endpoint_auth_method": "client_secret_post"})),
                Err("AuthMethod"),
            ),
            (
                "4. client_secret_jwt",
                doc(json!({"token_endpoint_auth_method": "client_secret_jwt"})),
                Err("AuthMethod"),
            ),
            (
                "4. private_key_jwt without keys",
                doc(json!({"token_endpoint_auth_method": "private_key_jwt"})),
                Err("Registration"),
            ),
            (
                "4. private_key_jwt with both",
                doc(
                    json!({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "https://app.example/jwks", "jwks": {"keys": []}}),
                ),
                Err("Registration"),
            ),
            (
                "4. plain http jwks_uri",
                doc(
                    json!({"token_endpoint_auth_method": "private_key_jwt", "jwks_uri": "http://app.example/jwks"}),
                ),
                Err("Registration"),
            ),
            (
                "5. client_credentials",
                doc(json!({"grant_types": ["client_credentials"]})),
                Err("GrantType"),
            ),
            (
                "5. implicit",
                doc(json!({"response_types": ["token"]})),
                Err("ResponseType"),
            ),
            ("6. a bad scope", doc(json!({"scope": "a\"b"})), Err("Scope")),
            (
                "7. no redirect URI",
                doc(json!({"redirect_uris": []})),
                Err("Registration"),
            ),
            (
                "7. a javascript: redirect URI",
                doc(json!({"redirect_uris": ["javascript:alert(1)"]})),
                Err("Registration"),
            ),
            (
                "7. refresh alone",
                doc(json!({"grant_types": ["refresh_token"]})),
                Err("Registration"),
            ),
        ];
        let mut wrong = Vec::new();
        for (name, body, want) in rows {
            let got = parse(ID, &body, 900, 1).map(|_| ()).map_err(|e| {
                let text = format!("{e:?}");
                text.split(['(', ' ', '{']).next().unwrap_or_default().to_owned()
            });
            if got != want.map_err(str::to_owned) {
                wrong.push(format!("{name}: got {got:?}, want {want:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn a_document_describes_a_third_party_client() {
        let client = parse(ID, &doc(json!({"scope": "openid tasks:read"})), 900, 7).unwrap();
        assert_eq!(client.id, ID);
        assert_eq!(client.name, "Example App");
        assert_eq!(client.provenance, Provenance::MetadataDocument);
        assert!(
            !client.first_party,
            "never first-party: the consent page is shown"
        );
        assert_eq!(client.credentials, ClientCredentials::None);
        assert_eq!(client.grant_types, [GrantType::AuthorizationCode]);
        assert_eq!(client.scopes.as_str(), "openid tasks:read");
        assert_eq!(client.redirect_uris, ["https://app.example/cb"]);
        let unnamed = parse(ID, &doc(json!({"client_name": null})), 900, 7).unwrap();
        assert_eq!(unnamed.name, ID, "named by its URL");
        assert_eq!(unnamed.scopes.as_str(), DEFAULT_SCOPE);
    }
}
