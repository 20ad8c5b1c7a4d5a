//! Client authentication at the token, introspection and revocation
//! endpoints ([RFC 6749 §2.3]): who is calling, and what they proved.
//!
//! - [`Presented`] is what the request carries: `client_secret_basic`
//!   (HTTP Basic, id and secret form-encoded first), `client_secret_post`
//!   (`client_id` and `client_secret` in the body), or a `client_id` alone
//!   ([RFC 6749 §2.3.1]); never two of them.
//! - [`identify`] answers a [`CallingClient`]: an [`IdentifiedClient`] (a
//!   public client, [RFC 6749 §2.1], known by its id alone) or an
//!   [`AuthenticatedClient`] (a confidential client that proved itself).
//!   [`authenticate`] answers only the second. Only this module makes
//!   either, so code that takes an `AuthenticatedClient` cannot run for a
//!   caller that proved nothing.
//!
//! Secrets are compared as SHA-256 hashes in constant time. A client
//! registered with keys (`private_key_jwt`) proves itself with an
//! assertion signed by one of them, inline or fetched from its `jwks_uri`:
//! it is confidential, never taken for public. The client is looked up in
//! the [`Directory`] (the store, or its metadata document).
//!
//! [RFC 6749 §2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.1
//! [RFC 6749 §2.3]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3
//! [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1

use aws_lc_rs::digest::{digest, SHA256};
use zeroize::Zeroizing;

use super::directory::Directory;
use crate::domain::{AuthMethod, Client, ClientCredentials, ClientKeys};
use crate::store::{AssertionStore, ClientStore, StoreError};

/// Why a caller was not identified or authenticated. The wire codes
/// (`invalid_request`, `invalid_client`) are chosen by `oauth::OAuthError`.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Credentials in more than one way, or a body `client_id` that is not
    /// the Basic one ([RFC 6749 §2.3]: "MUST NOT use more than one
    /// authentication method in each request").
    ///
    /// [RFC 6749 §2.3]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3
    #[error("the client must use exactly one authentication method")]
    SeveralMethods,
    /// The `Authorization` header is not valid HTTP Basic.
    #[error("the Authorization header is not valid HTTP Basic (RFC 6749 §2.3.1)")]
    MalformedBasic,
    /// No `client_id` at all.
    #[error("client authentication is required")]
    Missing,
    /// Unknown client, wrong secret, a secret sent for a public client, or
    /// a method the client did not register: one answer for all, so client
    /// ids cannot be probed.
    #[error("client authentication failed")]
    Failed,
    /// A public client where the endpoint needs a confidential one.
    #[error("this grant requires a confidential client")]
    PublicClientNotAllowed,
    /// `client_assertion` without `client_assertion_type` or the other way
    /// round ([RFC 7521 §4.2]).
    ///
    /// [RFC 7521 §4.2]: https://www.rfc-editor.org/rfc/rfc7521#section-4.2
    #[error("client_assertion and client_assertion_type go together")]
    IncompleteAssertion,
    /// A `client_assertion_type` other than a JWT bearer assertion.
    #[error("unsupported client_assertion_type")]
    UnsupportedAssertionType,
    /// Storage failed.
    #[error("storage failure")]
    Store(#[from] StoreError),
}

/// The SHA-256 of a client secret, as stored.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    digest(&SHA256, secret.as_bytes()).as_ref().to_vec()
}

/// What a request presents to say which client it comes from. Its
/// `Debug` leaves the secret out.
pub struct Presented {
    /// The claimed `client_id`.
    client_id: String,
    /// The secret, if one was sent.
    secret: Option<Zeroizing<String>>,
    /// How it was sent.
    method: AuthMethod,
    /// The client assertion (`private_key_jwt`), if one was sent.
    assertion: Option<String>,
}

impl std::fmt::Debug for Presented {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Presented")
            .field("client_id", &self.client_id)
            .field("secret", &self.secret.as_ref().map(|_| "[redacted]"))
            .field("method", &self.method)
            .field("assertion", &self.assertion.as_ref().map(|_| "[redacted]"))
            .finish()
    }
}

impl Presented {
    /// Reads the credentials of one request: an `Authorization` header
    /// and the body's `client_id` and `client_secret` ([RFC 6749 §2.3.1]).
    ///
    /// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
    pub fn new(
        authorization: Option<&str>,
        body_id: Option<String>,
        body_secret: Option<String>,
    ) -> Result<Presented, AuthError> {
        let body_secret = body_secret.map(Zeroizing::new);
        match (authorization, body_secret) {
            (Some(_), Some(_)) => Err(AuthError::SeveralMethods),
            (Some(header), None) => {
                let (client_id, secret) = basic(header)?;
                // A body client_id must agree with the Basic one.
                if body_id.as_deref().is_some_and(|b| b != client_id) {
                    return Err(AuthError::SeveralMethods);
                }
                Ok(Presented {
                    client_id,
                    secret: Some(secret),
                    method: AuthMethod::ClientSecretBasic,
                    assertion: None,
                })
            }
            (None, secret) => Ok(Presented {
                client_id: body_id.ok_or(AuthError::Missing)?,
                method: if secret.is_some() {
                    AuthMethod::ClientSecretPost
                } else {
                    AuthMethod::None
                },
                secret,
                assertion: None,
            }),
        }
    }

    /// Reads a JWT client assertion ([RFC 7521 §4.2], [RFC 7523 §2.2]):
    /// `client_assertion_type` and `client_assertion`, with the body's
    /// `client_id` if sent. No other credentials may come with it; without
    /// a `client_id` the assertion's own `sub` names the client, to be
    /// verified against that client's keys.
    ///
    /// [RFC 7521 §4.2]: https://www.rfc-editor.org/rfc/rfc7521#section-4.2
    /// [RFC 7523 §2.2]: https://www.rfc-editor.org/rfc/rfc7523#section-2.2
    pub fn assertion(
        authorization: Option<&str>,
        body_id: Option<String>,
        body_secret: Option<String>,
        assertion_type: Option<String>,
        assertion: Option<String>,
    ) -> Result<Presented, AuthError> {
        let (Some(kind), Some(assertion)) = (assertion_type, assertion) else {
            return Err(AuthError::IncompleteAssertion);
        };
        if kind != super::assertion::ASSERTION_TYPE {
            return Err(AuthError::UnsupportedAssertionType);
        }
        if authorization.is_some() || body_secret.is_some() {
            return Err(AuthError::SeveralMethods);
        }
        let client_id = body_id
            .or_else(|| super::assertion::claimed_client(&assertion))
            .ok_or(AuthError::Missing)?;
        Ok(Presented {
            client_id,
            secret: None,
            method: AuthMethod::PrivateKeyJwt,
            assertion: Some(assertion),
        })
    }

    /// The claimed `client_id`.
    pub fn client_id(&self) -> &str {
        &self.client_id
    }
}

/// Reads `Authorization: Basic` ([RFC 7617]); id and secret are
/// form-urlencoded inside ([RFC 6749 §2.3.1]).
///
/// [RFC 7617]: https://www.rfc-editor.org/rfc/rfc7617
/// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
fn basic(header: &str) -> Result<(String, Zeroizing<String>), AuthError> {
    let (scheme, rest) = header.trim().split_once(' ').ok_or(AuthError::MalformedBasic)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(AuthError::MalformedBasic);
    }
    let decoded = Zeroizing::new(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, rest.trim())
            .map_err(|_| AuthError::MalformedBasic)?,
    );
    let text = std::str::from_utf8(&decoded).map_err(|_| AuthError::MalformedBasic)?;
    let (id, secret) = text.split_once(':').ok_or(AuthError::MalformedBasic)?;
    // Most ids and secrets have nothing to decode (ours are base64url):
    // only a `%` or `+` sends them through the form decoder.
    let unescape = |s: &str| -> Result<String, AuthError> {
        if !s.bytes().any(|b| b == b'%' || b == b'+') {
            return Ok(s.to_owned());
        }
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .ok_or(AuthError::MalformedBasic)
    };
    Ok((unescape(id)?, Zeroizing::new(unescape(secret)?)))
}

/// A public client, identified by its `client_id` alone ([RFC 6749 §2.1]):
/// nothing was proved. Only [`identify`] makes one, and only for a client
/// registered with [`ClientCredentials::None`].
///
/// [RFC 6749 §2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.1
#[derive(Debug, Clone)]
pub struct IdentifiedClient(Client);

impl IdentifiedClient {
    /// The client's registration.
    pub fn client(&self) -> &Client {
        &self.0
    }
}

/// A confidential client that proved who it is, with the method it used.
/// Only [`identify`] and [`authenticate`] make one, so a grant that takes
/// it cannot run for a caller that proved nothing.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient {
    client: Client,
    method: AuthMethod,
}

impl AuthenticatedClient {
    /// The client's registration.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// How it authenticated.
    pub fn method(&self) -> AuthMethod {
        self.method
    }
}

/// The caller of an endpoint that serves public and confidential clients
/// alike (the code grant with PKCE, the password and refresh grants,
/// revocation).
#[derive(Debug, Clone)]
pub enum CallingClient {
    /// A public client.
    Identified(IdentifiedClient),
    /// A confidential client, authenticated.
    Authenticated(AuthenticatedClient),
}

impl CallingClient {
    /// The client's registration.
    pub fn client(&self) -> &Client {
        match self {
            CallingClient::Identified(c) => c.client(),
            CallingClient::Authenticated(c) => c.client(),
        }
    }

    /// The proof, if the caller gave one.
    pub fn authenticated(&self) -> Option<&AuthenticatedClient> {
        match self {
            CallingClient::Identified(_) => None,
            CallingClient::Authenticated(c) => Some(c),
        }
    }

    /// The proof, or [`AuthError::PublicClientNotAllowed`].
    pub fn into_authenticated(self) -> Result<AuthenticatedClient, AuthError> {
        match self {
            CallingClient::Identified(_) => Err(AuthError::PublicClientNotAllowed),
            CallingClient::Authenticated(c) => Ok(c),
        }
    }
}

/// Whom a client assertion must be for: this server (its issuer
/// identifier), now; and where the calling client is found.
#[derive(Clone, Copy, Debug)]
pub struct Audience<'a> {
    /// The issuer identifier (the token endpoint URL is derived from it).
    pub issuer: &'a str,
    /// Now, in seconds since the epoch.
    pub now: i64,
    /// Where clients are found, and their `jwks_uri` keys.
    pub clients: &'a Directory,
}

/// Identifies a public client or authenticates a confidential one.
pub async fn identify<S: ClientStore + AssertionStore>(
    store: &S,
    presented: Presented,
    audience: Audience<'_>,
) -> Result<CallingClient, AuthError> {
    let client = audience
        .clients
        .client(store, &presented.client_id, audience.now)
        .await?;
    if let Some(assertion) = presented.assertion.as_deref() {
        return by_assertion(store, client, assertion, audience)
            .await
            .map(CallingClient::Authenticated);
    }
    check(client, &presented)
}

/// Authenticates a confidential client: a public one is refused
/// ([`AuthError::PublicClientNotAllowed`]).
pub async fn authenticate<S: ClientStore + AssertionStore>(
    store: &S,
    presented: Presented,
    audience: Audience<'_>,
) -> Result<AuthenticatedClient, AuthError> {
    identify(store, presented, audience).await?.into_authenticated()
}

/// `private_key_jwt` ([`super::assertion`]): the assertion verifies with
/// the client's registered keys, then its `jti` is used up in the store
/// every node shares, so a replay is refused anywhere.
async fn by_assertion<S: AssertionStore>(
    store: &S,
    client: Option<Client>,
    assertion: &str,
    audience: Audience<'_>,
) -> Result<AuthenticatedClient, AuthError> {
    let Some(client) = client else {
        return Err(AuthError::Failed);
    };
    let verify =
        |jwks: &str| super::assertion::verify(jwks, assertion, &client.id, audience.issuer, audience.now);
    let refused = |e: &dyn std::fmt::Display| {
        tracing::info!(target: "audit", client_id = %client.id, "client assertion refused: {e}");
        AuthError::Failed
    };
    let verified = match &client.credentials {
        ClientCredentials::Keys {
            keys: ClientKeys::Jwks(jwks),
        } => verify(jwks).map_err(|e| refused(&e))?,
        ClientCredentials::Keys {
            keys: ClientKeys::JwksUri(uri),
        } => {
            let jwks = audience
                .clients
                .keys(&client.id, uri)
                .await
                .map_err(|e| refused(&e))?;
            match verify(&jwks) {
                // A key the set does not hold: the client may have rotated
                // its keys since they were fetched. Fetch again (rate
                // limited) and try once more.
                Err(super::assertion::AssertionError::Invalid(
                    tessera_jwt::Error::UnknownKid(_) | tessera_jwt::Error::NoKeyForAlgorithm(_),
                )) => match audience
                    .clients
                    .refreshed_keys(&client.id, uri, &jwks)
                    .await
                    .map_err(|e| refused(&e))?
                {
                    Some(jwks) => verify(&jwks).map_err(|e| refused(&e))?,
                    None => return Err(refused(&"a key the client's jwks_uri does not hold")),
                },
                other => other.map_err(|e| refused(&e))?,
            }
        }
        // Only a client registered for private_key_jwt may use it
        // (RFC 7591 §2 `token_endpoint_auth_method`).
        ClientCredentials::Secret { .. } | ClientCredentials::None => {
            tracing::info!(target: "audit", client_id = %client.id, "client assertion from a client not registered for private_key_jwt");
            return Err(AuthError::Failed);
        }
    };
    if !store
        .use_client_assertion(&client.id, &verified.jti, verified.exp)
        .await?
    {
        tracing::warn!(target: "audit", client_id = %client.id, "client assertion replayed");
        return Err(AuthError::Failed);
    }
    Ok(AuthenticatedClient {
        client,
        method: AuthMethod::PrivateKeyJwt,
    })
}

/// The rules, over the registration found for the claimed id (if any) and
/// what was presented.
fn check(client: Option<Client>, presented: &Presented) -> Result<CallingClient, AuthError> {
    // Hash even when the client is unknown, so timing does not tell.
    let hashed = presented.secret.as_deref().map(|s| hash_secret(s));
    let Some(client) = client else {
        return Err(AuthError::Failed);
    };
    match (&client.credentials, hashed) {
        (ClientCredentials::Secret { hash, method }, Some(hashed)) => {
            #[allow(deprecated)] // aws-lc-rs's constant-time comparison
            let equal = aws_lc_rs::constant_time::verify_slices_are_equal(hash, &hashed).is_ok();
            if !equal {
                tracing::info!(target: "audit", client_id = %client.id, "client authentication failed");
                return Err(AuthError::Failed);
            }
            // A client registered for one method may not use the other
            // (RFC 7591 §2 `token_endpoint_auth_method`).
            if !method.accepts(presented.method) {
                tracing::info!(target: "audit", client_id = %client.id, method = presented.method.as_str(), "client used an unregistered auth method");
                return Err(AuthError::Failed);
            }
            let method = presented.method;
            Ok(CallingClient::Authenticated(AuthenticatedClient {
                client,
                method,
            }))
        }
        // A confidential client that sent no secret proved nothing.
        (ClientCredentials::Secret { .. }, None) => Err(AuthError::Failed),
        // A client registered for private_key_jwt that sent no assertion
        // proved nothing (and is never taken for public).
        (ClientCredentials::Keys { .. }, _) => Err(AuthError::Failed),
        // A public client has no secret to send: one sent is wrong.
        (ClientCredentials::None, Some(_)) => Err(AuthError::Failed),
        (ClientCredentials::None, None) => Ok(CallingClient::Identified(IdentifiedClient(client))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClientKeys, GrantType, Scope, SecretMethod};

    fn registered(id: &str, credentials: ClientCredentials) -> Client {
        Client {
            id: id.into(),
            name: id.into(),
            credentials,
            grant_types: vec![GrantType::Password],
            scopes: Scope::default(),
            audiences: vec![],
            redirect_uris: vec![],
            access_token_ttl: 60,
            created_at: 0,
            refresh_cookie: false,
            first_party: false,
            post_logout_redirect_uris: vec![],
            resource_server_for: vec![],
            require_par: false,
            dpop_bound: false,
            require_mfa: false,
            admin: false,
            provenance: crate::domain::Provenance::Operator,
        }
    }

    fn secret(method: SecretMethod) -> ClientCredentials {
        ClientCredentials::Secret {
            hash: hash_secret("s3cret"),
            method,
        }
    }

    fn basic_header(id: &str, secret: &str) -> String {
        format!(
            "Basic {}",
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                format!("{id}:{secret}")
            )
        )
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let header = format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "my%20client:s%3Acret")
        );
        let (id, secret) = basic(&header).unwrap();
        assert_eq!(id, "my client");
        assert_eq!(&*secret, "s:cret");
        // `+` is a space in form encoding (RFC 6749 §2.3.1, Appendix B).
        let header = format!(
            "Basic {}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, "a+b:c+d")
        );
        let (id, secret) = basic(&header).unwrap();
        assert_eq!((id.as_str(), secret.as_str()), ("a b", "c d"));
        let plain = basic_header("Abc-_09", "s3cret.~");
        let (id, secret) = basic(&plain).unwrap();
        assert_eq!((id.as_str(), secret.as_str()), ("Abc-_09", "s3cret.~"));
        assert!(basic("Bearer abc").is_err());
        assert!(basic("Basic !!!").is_err());
    }

    /// RFC 6749 §2.3: one method per request; a body `client_id` must be
    /// the Basic one.
    #[test]
    fn presented_credentials_use_one_method() {
        let header = basic_header("app", "s3cret");
        let s = |v: &str| Some(v.to_owned());
        type Row<'a> = (
            Option<&'a str>,
            Option<String>,
            Option<String>,
            Result<AuthMethod, &'a str>,
        );
        let table: &[Row<'_>] = &[
            (Some(&header), None, None, Ok(AuthMethod::ClientSecretBasic)),
            (Some(&header), s("app"), None, Ok(AuthMethod::ClientSecretBasic)),
            (Some(&header), s("other"), None, Err("SeveralMethods")),
            (Some(&header), None, s("s3cret"), Err("SeveralMethods")),
            (Some("Basic !!!"), None, None, Err("MalformedBasic")),
            (Some("Bearer x"), None, None, Err("MalformedBasic")),
            (None, s("app"), s("s3cret"), Ok(AuthMethod::ClientSecretPost)),
            (None, s("app"), None, Ok(AuthMethod::None)),
            (None, None, s("s3cret"), Err("Missing")),
            (None, None, None, Err("Missing")),
        ];
        for (authorization, id, secret, expected) in table {
            let got = Presented::new(*authorization, id.clone(), secret.clone())
                .map(|p| p.method)
                .map_err(|e| format!("{e:?}"));
            let expected = expected.map_err(str::to_owned);
            assert_eq!(got, expected, "{authorization:?} {id:?} {secret:?}");
        }
    }

    /// The authentication rules, one row each: what is registered, what is
    /// presented, what the caller becomes.
    #[test]
    fn authentication_rules() {
        let keys = ClientCredentials::Keys {
            keys: ClientKeys::Jwks(r#"{"keys":[]}"#.into()),
        };
        let keys_by_uri = ClientCredentials::Keys {
            keys: ClientKeys::JwksUri("https://svc.example/jwks".into()),
        };
        let post = |id: &str, secret: Option<&str>| {
            Presented::new(None, Some(id.into()), secret.map(str::to_owned)).unwrap()
        };
        let basic =
            |id: &str, secret: &str| Presented::new(Some(&basic_header(id, secret)), None, None).unwrap();
        #[derive(Debug, PartialEq)]
        enum Then {
            Public,
            Proved(AuthMethod),
            Refused(&'static str),
        }
        use Then::*;
        let table: Vec<(&str, Option<ClientCredentials>, Presented, Then)> = vec![
            (
                "right secret, basic",
                Some(secret(SecretMethod::Either)),
                basic("c", "s3cret"),
                Proved(AuthMethod::ClientSecretBasic),
            ),
            (
                "right secret, post",
                Some(secret(SecretMethod::Either)),
                post("c", Some("s3cret")),
                Proved(AuthMethod::ClientSecretPost),
            ),
            (
                "wrong secret",
                Some(secret(SecretMethod::Either)),
                basic("c", "s3cret!"),
                Refused("Failed"),
            ),
            (
                "prefix of the secret",
                Some(secret(SecretMethod::Either)),
                post("c", Some("s3cre")),
                Refused("Failed"),
            ),
            (
                "confidential client, no secret",
                Some(secret(SecretMethod::Either)),
                post("c", None),
                Refused("Failed"),
            ),
            (
                "registered basic, used basic",
                Some(secret(SecretMethod::Basic)),
                basic("c", "s3cret"),
                Proved(AuthMethod::ClientSecretBasic),
            ),
            (
                "registered basic, used post",
                Some(secret(SecretMethod::Basic)),
                post("c", Some("s3cret")),
                Refused("Failed"),
            ),
            (
                "registered post, used basic",
                Some(secret(SecretMethod::Post)),
                basic("c", "s3cret"),
                Refused("Failed"),
            ),
            (
                "registered post, used post",
                Some(secret(SecretMethod::Post)),
                post("c", Some("s3cret")),
                Proved(AuthMethod::ClientSecretPost),
            ),
            (
                "public client, id alone",
                Some(ClientCredentials::None),
                post("c", None),
                Public,
            ),
            (
                "public client sends a secret",
                Some(ClientCredentials::None),
                post("c", Some("anything")),
                Refused("Failed"),
            ),
            (
                "public client sends basic",
                Some(ClientCredentials::None),
                basic("c", ""),
                Refused("Failed"),
            ),
            (
                "keys client, id alone: not public",
                Some(keys.clone()),
                post("c", None),
                Refused("Failed"),
            ),
            (
                "keys client with a secret",
                Some(keys),
                post("c", Some("s3cret")),
                Refused("Failed"),
            ),
            (
                "jwks_uri client, id alone: not public",
                Some(keys_by_uri.clone()),
                post("c", None),
                Refused("Failed"),
            ),
            (
                "jwks_uri client with a secret",
                Some(keys_by_uri),
                post("c", Some("s3cret")),
                Refused("Failed"),
            ),
            (
                "unknown client",
                None,
                post("c", Some("s3cret")),
                Refused("Failed"),
            ),
            (
                "unknown client, id alone",
                None,
                post("c", None),
                Refused("Failed"),
            ),
        ];
        for (name, credentials, presented, expected) in table {
            let got = match check(credentials.map(|c| registered("c", c)), &presented) {
                Ok(CallingClient::Identified(c)) => {
                    assert!(c.client().is_public(), "{name}");
                    Public
                }
                Ok(CallingClient::Authenticated(c)) => {
                    assert!(!c.client().is_public(), "{name}");
                    Proved(c.method())
                }
                Err(e) => Refused(match e {
                    AuthError::Failed => "Failed",
                    other => panic!("{name}: {other:?}"),
                }),
            };
            assert_eq!(got, expected, "{name}");
        }
    }

    /// Endpoints that need proof refuse a public client; others take it.
    #[tokio::test]
    async fn authenticate_refuses_public_clients_identify_takes_them() {
        let store = crate::fixtures::store().await;
        use crate::store::ClientStore as _;
        store
            .create_client(&registered("spa", ClientCredentials::None))
            .await
            .unwrap();
        store
            .create_client(&registered("svc", secret(SecretMethod::Either)))
            .await
            .unwrap();
        let id_alone = || Presented::new(None, Some("spa".into()), None).unwrap();
        assert!(matches!(
            identify(&store, id_alone(), crate::fixtures::audience()).await,
            Ok(CallingClient::Identified(_))
        ));
        assert!(matches!(
            authenticate(&store, id_alone(), crate::fixtures::audience()).await,
            Err(AuthError::PublicClientNotAllowed)
        ));
        let proved = authenticate(
            &store,
            Presented::new(None, Some("svc".into()), Some("s3cret".into())).unwrap(),
            crate::fixtures::audience(),
        )
        .await
        .unwrap();
        assert_eq!(proved.client().id, "svc");
        assert_eq!(proved.method(), AuthMethod::ClientSecretPost);
    }
}
