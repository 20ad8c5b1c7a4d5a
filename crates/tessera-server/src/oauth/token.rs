//! The token endpoint ([RFC 6749 §3.2]): authenticate the client, then
//! dispatch on `grant_type` to the grant's module.
//!
//! [RFC 6749 §3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.2

use tessera_jwt::Signer;

use super::access_token::TokenResponse;
use super::client_auth::{identify, PublicClients};
use super::grant::{client_credentials, password, refresh_token};
use super::user_tokens::Issue;
use super::{OAuthError, Params};
use crate::store::{ClientStore, RefreshTokenStore, UserStore};

/// The server state a token request needs.
pub struct TokenContext<'a, S> {
    /// The store.
    pub store: &'a S,
    /// The issuer identifier.
    pub issuer: &'a str,
    /// The access-token signer.
    pub signer: &'a Signer,
    /// Now, in seconds since the epoch.
    pub now: i64,
    /// Failed logins by client address.
    pub throttle: &'a super::throttle::LoginThrottle,
    /// The client's network address, when known.
    pub peer: Option<std::net::IpAddr>,
}

/// Handles a token request from its form body and `Authorization` header.
pub async fn handle<S: ClientStore + UserStore + RefreshTokenStore>(
    ctx: &TokenContext<'_, S>,
    body: &[u8],
    authorization: Option<&str>,
) -> Result<TokenResponse, OAuthError> {
    let mut params = Params::parse(body)?;
    let grant_type = params.require("grant_type")?.to_owned();
    // Refuse unknown grant types before touching client credentials; public
    // clients may use the user grants (RFC 6749 §4.3.2, §6), never
    // client_credentials (§4.4).
    let public = match grant_type.as_str() {
        client_credentials::GRANT_TYPE => PublicClients::Refused,
        password::GRANT_TYPE | refresh_token::GRANT_TYPE => PublicClients::Allowed,
        _ => return Err(OAuthError::UnsupportedGrantType(grant_type)),
    };
    let client = identify(ctx.store, authorization, &mut params, public).await?;
    let issue = Issue {
        issuer: ctx.issuer,
        signer: ctx.signer,
        now: ctx.now,
        throttle: ctx.throttle,
        peer: ctx.peer,
    };
    let result = match grant_type.as_str() {
        password::GRANT_TYPE => password::handle(ctx.store, &issue, &client, &params).await,
        refresh_token::GRANT_TYPE => refresh_token::handle(ctx.store, &issue, &client, &params).await,
        _ => {
            let grant = client_credentials::Context {
                issuer: ctx.issuer,
                signer: ctx.signer,
                now: ctx.now,
            };
            client_credentials::handle(&grant, &client, &params)
        }
    };
    match &result {
        Ok(_) => tracing::debug!(client_id = %client.client().id, grant_type, "token issued"),
        Err(e) => {
            tracing::info!(target: "audit", client_id = %client.client().id, grant_type, error = e.code(), "token refused")
        }
    }
    result
}
