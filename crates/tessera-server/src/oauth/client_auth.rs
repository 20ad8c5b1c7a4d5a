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
