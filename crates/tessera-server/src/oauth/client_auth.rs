//! Client authentication at the token endpoint ([RFC 6749 §2.3.1]):
//! `client_secret_basic` (HTTP Basic, id and secret form-encoded first) or
//! `client_secret_post` (`client_id` and `client_secret` in the body), never
//! both. Secrets are compared as SHA-256 hashes in constant time.
//!
//! [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1

use aws_lc_rs::digest::{digest, SHA256};
use zeroize::Zeroizing;

use super::{OAuthError, Params};
use crate::store::{Client, ClientStore};

/// A client whose credentials were checked. Only [`authenticate`] makes one,
/// so a grant that takes it cannot run for an unauthenticated caller.
#[derive(Debug, Clone)]
pub struct AuthenticatedClient(Client);

impl AuthenticatedClient {
    /// Whether this is a public client (identified, not authenticated).
    pub fn is_public(&self) -> bool {
        self.0.secret_hash.is_none()
    }

    /// The client's registration.
    pub fn client(&self) -> &Client {
        &self.0
    }
}

/// The SHA-256 of a client secret, as stored.
pub fn hash_secret(secret: &str) -> Vec<u8> {
    digest(&SHA256, secret.as_bytes()).as_ref().to_vec()
}

/// Reads `Authorization: Basic` ([RFC 7617]); id and secret are
/// form-urlencoded inside (RFC 6749 §2.3.1).
///
/// [RFC 7617]: https://www.rfc-editor.org/rfc/rfc7617
fn basic(header: &str) -> Result<(String, Zeroizing<String>), OAuthError> {
    let (scheme, rest) = header
        .trim()
        .split_once(' ')
        .ok_or(OAuthError::MalformedBasicAuth)?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return Err(OAuthError::MalformedBasicAuth);
    }
    let decoded = Zeroizing::new(
        base64::Engine::decode(&base64::engine::general_purpose::STANDARD, rest.trim())
            .map_err(|_| OAuthError::MalformedBasicAuth)?,
    );
    let text = std::str::from_utf8(&decoded).map_err(|_| OAuthError::MalformedBasicAuth)?;
    let (id, secret) = text.split_once(':').ok_or(OAuthError::MalformedBasicAuth)?;
    let unescape = |s: &str| -> Result<String, OAuthError> {
        form_urlencoded::parse(format!("v={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .ok_or(OAuthError::MalformedBasicAuth)
    };
    Ok((unescape(id)?, Zeroizing::new(unescape(secret)?)))
}

/// How a client authenticates at the token endpoint ([RFC 7591 §2]
/// `token_endpoint_auth_method`).
///
/// [RFC 7591 §2]: https://www.rfc-editor.org/rfc/rfc7591#section-2
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AuthMethod {
    /// HTTP Basic with the client id and secret (RFC 6749 §2.3.1).
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body (RFC 6749 §2.3.1).
    ClientSecretPost,
    /// A public client: `client_id` alone (RFC 6749 §2.1).
    None,
}

impl AuthMethod {
    /// Every method, in discovery's order.
    pub const ALL: [AuthMethod; 3] = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::None,
    ];

    /// The registered name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::None => "none",
        }
    }

    /// The method named `value`, if implemented.
    pub fn parse(value: &str) -> Option<AuthMethod> {
        AuthMethod::ALL.into_iter().find(|m| m.as_str() == value)
    }
}

impl crate::store::Client {
    /// The one secret method the client registered, if it registered one
    /// (either is accepted otherwise).
    pub fn registered_auth_method(&self) -> Option<AuthMethod> {
        AuthMethod::parse(&self.auth_method).filter(|_| self.secret_hash.is_some())
    }
}

/// Whether a request may come from a public client, identified by its
/// `client_id` alone (RFC 6749 §2.1, §3.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublicClients {
    /// Grants a public client may use (password, refresh_token).
    Allowed,
    /// Endpoints that need a confidential client.
    Refused,
}

/// Authenticates a confidential client (the only kind allowed here),
/// taking its credentials out of `params`.
pub async fn authenticate<S: ClientStore>(
    store: &S,
    authorization: Option<&str>,
    params: &mut Params,
) -> Result<AuthenticatedClient, OAuthError> {
    identify(store, authorization, params, PublicClients::Refused).await
}

/// Authenticates a confidential client, or identifies a public one when
/// `public` allows it.
pub async fn identify<S: ClientStore>(
    store: &S,
    authorization: Option<&str>,
    params: &mut Params,
    public: PublicClients,
) -> Result<AuthenticatedClient, OAuthError> {
    let body_id = params.take("client_id");
    let body_secret = params.take("client_secret").map(Zeroizing::new);
    let method = match (authorization, &body_secret) {
        (Some(_), _) => AuthMethod::ClientSecretBasic,
        (None, Some(_)) => AuthMethod::ClientSecretPost,
        (None, None) => AuthMethod::None,
    };
    let (id, secret) = match (authorization, body_secret) {
        (Some(_), Some(_)) => return Err(OAuthError::SeveralAuthMethods),
        (Some(header), None) => {
            let (id, secret) = basic(header)?;
            // A body client_id must agree with the Basic one.
            if body_id.as_deref().is_some_and(|b| b != id) {
                return Err(OAuthError::SeveralAuthMethods);
            }
            (id, Some(secret))
        }
        (None, secret) => (body_id.ok_or(OAuthError::ClientAuthMissing)?, secret),
    };
    let client = store.client(&id).await?;
    // Hash even when the client is unknown, so timing does not tell.
    let presented = secret.as_deref().map(|s| hash_secret(s));
    let Some(client) = client else {
        return Err(OAuthError::ClientAuthFailed);
    };
    match (&client.secret_hash, presented) {
        (Some(stored), Some(presented)) => {
            #[allow(deprecated)] // aws-lc-rs's constant-time comparison
            let equal = aws_lc_rs::constant_time::verify_slices_are_equal(stored, &presented).is_ok();
            if !equal {
                tracing::info!(target: "audit", client_id = %client.id, "client authentication failed");
                return Err(OAuthError::ClientAuthFailed);
            }
        }
        (Some(_), None) => return Err(OAuthError::ClientAuthFailed),
        (None, Some(_)) => return Err(OAuthError::ClientAuthFailed),
        (None, None) if public == PublicClients::Allowed => {}
        (None, None) => return Err(OAuthError::PublicClientNotAllowed),
    }
    // A client registered for one method may not use the other (RFC 7591
    // §2 `token_endpoint_auth_method`).
    if client
        .registered_auth_method()
        .is_some_and(|registered| registered != method)
    {
        tracing::info!(target: "audit", client_id = %client.id, method = method.as_str(), "client used an unregistered auth method");
        return Err(OAuthError::ClientAuthFailed);
    }
    Ok(AuthenticatedClient(client))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_methods_round_trip() {
        for m in AuthMethod::ALL {
            assert_eq!(AuthMethod::parse(m.as_str()), Some(m));
        }
        assert_eq!(AuthMethod::parse("private_key_jwt"), None, "not implemented");
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
        assert!(basic("Bearer abc").is_err());
        assert!(basic("Basic !!!").is_err());
    }
}
