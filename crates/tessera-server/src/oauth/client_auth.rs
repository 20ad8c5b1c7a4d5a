//! Client authentication as the protocol endpoints call it: takes the
//! credentials out of a request's parameters ([RFC 6749 §2.3.1]) and hands
//! them to [`crate::clients::authentication`], where the rules live.
//!
//! [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1

pub use crate::clients::authentication::{hash_secret, AuthenticatedClient, CallingClient, IdentifiedClient};
pub use crate::domain::AuthMethod;

use super::{OAuthError, Params};
use crate::clients::authentication::{self, Presented};
use crate::store::ClientStore;

/// What the request presents: the `Authorization` header and the body's
/// `client_id` and `client_secret`, taken out of `params` so no grant
/// reads them again.
fn presented(authorization: Option<&str>, params: &mut Params) -> Result<Presented, OAuthError> {
    let body_id = params.take("client_id");
    let body_secret = params.take("client_secret");
    Ok(Presented::new(authorization, body_id, body_secret)?)
}

/// Authenticates a confidential client, the only kind allowed here
/// (client_credentials, introspection).
pub async fn authenticate<S: ClientStore>(
    store: &S,
    authorization: Option<&str>,
    params: &mut Params,
) -> Result<AuthenticatedClient, OAuthError> {
    Ok(authentication::authenticate(store, presented(authorization, params)?).await?)
}

/// Identifies a public client or authenticates a confidential one, for
/// endpoints that serve both (RFC 6749 §2.1, §3.2.1).
pub async fn identify<S: ClientStore>(
    store: &S,
    authorization: Option<&str>,
    params: &mut Params,
) -> Result<CallingClient, OAuthError> {
    Ok(authentication::identify(store, presented(authorization, params)?).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::registration::{register_with_id, ClientType, NewClient};
    use crate::domain::{ClientKeys, GrantType};

    /// A client registered with keys is confidential: at the token endpoint
    /// it gets `invalid_client` ("private_key_jwt is not supported yet"),
    /// whether it sends its id alone (as a public client would) or a
    /// secret, and however the endpoint treats public clients.
    #[tokio::test]
    async fn a_keys_client_is_refused_never_taken_for_public() {
        let dir = std::env::temp_dir().join(format!("tessera-client-auth-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = crate::store::Store::open(&format!("sqlite://{}/t.db", dir.display()))
            .await
            .unwrap();
        let keyed = NewClient {
            keys: Some(ClientKeys::JwksUri("https://svc.example/jwks".into())),
            grant_types: vec![GrantType::Password],
            ..NewClient::new("keys", 600)
        };
        register_with_id(&store, "keys", keyed, 1).await.unwrap();
        let public = NewClient {
            client_type: ClientType::Public,
            grant_types: vec![GrantType::Password],
            ..NewClient::new("spa", 600)
        };
        register_with_id(&store, "spa", public, 1).await.unwrap();
        for body in ["client_id=keys", "client_id=keys&client_secret=x"] {
            for identified in [true, false] {
                let mut params = Params::parse(body.as_bytes()).unwrap();
                let e = if identified {
                    identify(&store, None, &mut params).await.unwrap_err()
                } else {
                    authenticate(&store, None, &mut params).await.unwrap_err()
                };
                assert!(matches!(e, OAuthError::ClientKeysNotSupported), "{body}: {e:?}");
                assert_eq!((e.code(), e.status()), ("invalid_client", 401));
                assert_eq!(e.description(), "private_key_jwt is not supported yet");
            }
        }
        // The public client is identified, and the credentials are taken
        // out of the parameters.
        let mut params = Params::parse(b"client_id=spa&username=ann").unwrap();
        let caller = identify(&store, None, &mut params).await.unwrap();
        assert!(caller.authenticated().is_none());
        assert_eq!(params.get("client_id"), None);
        assert_eq!(params.get("username"), Some("ann"));
        let mut params = Params::parse(b"client_id=spa").unwrap();
        let e = authenticate(&store, None, &mut params).await.unwrap_err();
        assert_eq!((e.code(), e.status()), ("invalid_client", 401));
    }
}
