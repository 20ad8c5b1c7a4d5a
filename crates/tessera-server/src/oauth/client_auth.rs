//! Client authentication as the protocol endpoints call it: takes the
//! credentials out of a request's parameters ([RFC 6749 §2.3.1]) and hands
//! them to [`crate::clients::authentication`], where the rules live.
//!
//! [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1

pub use crate::clients::authentication::{
    hash_secret, Audience, AuthenticatedClient, CallingClient, IdentifiedClient,
};
pub use crate::domain::AuthMethod;

use super::{OAuthError, Params};
use crate::clients::authentication::{self, Presented};
use crate::store::{AssertionStore, ClientStore};

/// What the request presents: the `Authorization` header, the body's
/// `client_id` and `client_secret`, or a client assertion
/// (`client_assertion_type`, `client_assertion`), taken out of `params` so
/// no grant reads them again.
fn presented(authorization: Option<&str>, params: &mut Params) -> Result<Presented, OAuthError> {
    let body_id = params.take("client_id");
    let body_secret = params.take("client_secret");
    let assertion_type = params.take("client_assertion_type");
    let assertion = params.take("client_assertion");
    if assertion_type.is_some() || assertion.is_some() {
        return Ok(Presented::assertion(
            authorization,
            body_id,
            body_secret,
            assertion_type,
            assertion,
        )?);
    }
    Ok(Presented::new(authorization, body_id, body_secret)?)
}

/// Who may call an endpoint: whether a public client, identified by its
/// `client_id` alone, is served ([RFC 6749 §2.1], §3.2.1). Each endpoint
/// declares it once; discovery lists `none` among its methods only where
/// it is [`PublicClients::Allowed`].
///
/// [RFC 6749 §2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.1
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PublicClients {
    /// Grants and endpoints a public client may use (the user grants,
    /// revocation of its own tokens).
    Allowed,
    /// Endpoints that need a confidential client (introspection).
    Refused,
}

/// Authenticates a confidential client, the only kind allowed here
/// (client_credentials, introspection): the answer is the proof.
pub async fn authenticate<S: ClientStore + AssertionStore>(
    store: &S,
    authorization: Option<&str>,
    params: &mut Params,
    audience: Audience<'_>,
) -> Result<AuthenticatedClient, OAuthError> {
    Ok(authentication::authenticate(store, presented(authorization, params)?, audience).await?)
}

/// Identifies a public client or authenticates a confidential one; a
/// public one is refused ([`OAuthError::PublicClientNotAllowed`]) where
/// `public` says so.
pub async fn identify<S: ClientStore + AssertionStore>(
    store: &S,
    authorization: Option<&str>,
    params: &mut Params,
    public: PublicClients,
    audience: Audience<'_>,
) -> Result<CallingClient, OAuthError> {
    let caller = authentication::identify(store, presented(authorization, params)?, audience).await?;
    match (caller, public) {
        (CallingClient::Identified(_), PublicClients::Refused) => Err(OAuthError::PublicClientNotAllowed),
        (caller, _) => Ok(caller),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clients::registration::{register_with_id, ClientType, NewClient};
    use crate::domain::{ClientKeys, GrantType};

    /// A client registered with keys is confidential: without an assertion
    /// it gets `invalid_client`, whether it sends its id alone (as a
    /// public client would) or a secret, and however the endpoint treats
    /// public clients.
    #[tokio::test]
    async fn a_keys_client_is_refused_never_taken_for_public() {
        let store = crate::fixtures::store().await;
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
            for public in [Some(PublicClients::Allowed), Some(PublicClients::Refused), None] {
                let mut params = Params::parse(body.as_bytes()).unwrap();
                let e = match public {
                    Some(public) => identify(&store, None, &mut params, public, crate::fixtures::audience())
                        .await
                        .unwrap_err(),
                    None => authenticate(&store, None, &mut params, crate::fixtures::audience())
                        .await
                        .unwrap_err(),
                };
                assert!(matches!(e, OAuthError::ClientAuthFailed), "{body}: {e:?}");
                assert_eq!((e.code(), e.status()), ("invalid_client", 401));
            }
        }
        // The public client is identified, and the credentials are taken
        // out of the parameters.
        let mut params = Params::parse(b"client_id=spa&username=ann").unwrap();
        let caller = identify(
            &store,
            None,
            &mut params,
            PublicClients::Allowed,
            crate::fixtures::audience(),
        )
        .await
        .unwrap();
        assert!(caller.authenticated().is_none());
        assert_eq!(params.get("client_id"), None);
        assert_eq!(params.get("username"), Some("ann"));
        // Where public clients are refused, it is refused.
        let mut params = Params::parse(b"client_id=spa").unwrap();
        let e = authenticate(&store, None, &mut params, crate::fixtures::audience())
            .await
            .unwrap_err();
        assert_eq!((e.code(), e.status()), ("invalid_client", 401));
        let mut params = Params::parse(b"client_id=spa").unwrap();
        let e = identify(
            &store,
            None,
            &mut params,
            PublicClients::Refused,
            crate::fixtures::audience(),
        )
        .await
        .unwrap_err();
        assert!(matches!(e, OAuthError::PublicClientNotAllowed), "{e:?}");
    }
}
