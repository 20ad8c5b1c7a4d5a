//! The token endpoint ([RFC 6749 §3.2]): check a DPoP proof if one came
//! ([RFC 9449 §5], [`super::dpop`]), authenticate the client (one
//! registered `--dpop-bound` must have sent a proof), then dispatch on
//! `grant_type` to the grant's module, which binds what it issues to the
//! proof's key.
//!
//! [RFC 6749 §3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.2
//! [RFC 9449 §5]: https://www.rfc-editor.org/rfc/rfc9449#section-5

use super::access_token::TokenResponse;
use super::client_auth::{identify, PublicClients};
use super::grant::{authorization_code, client_credentials, password, refresh_token, GrantType};
use super::user_tokens::Issue;
use super::{OAuthError, Params};
use crate::domain::Registry;
use crate::store::{
    AssertionStore, AttemptStore, ClientStore, CodeStore, DpopProofStore, FactorStore, RefreshTokenStore,
    ResourceStore, UserStore,
};

/// The server state a token request needs.
pub struct TokenContext<'a, S> {
    /// The store.
    pub store: &'a S,
    /// Issuer, signer, clock, login throttle and the caller's address.
    pub issue: Issue<'a>,
    /// Signs ID tokens.
    pub id_signer: &'a tessera_jwt::Signer,
}

/// Handles a token request from its form body, `Authorization` header and
/// `DPoP` headers; the response and the grant type that issued it.
pub async fn handle<
    S: ClientStore
        + AssertionStore
        + UserStore
        + AttemptStore
        + RefreshTokenStore
        + CodeStore
        + ResourceStore
        + DpopProofStore
        + FactorStore,
>(
    ctx: &TokenContext<'_, S>,
    body: &[u8],
    authorization: Option<&str>,
    dpop: &[String],
) -> Result<(TokenResponse, GrantType), OAuthError> {
    let mut params = Params::parse(body)?;
    // Refuse unknown grant types before touching client credentials; public
    // clients may use the user grants (RFC 6749 §4.1.3, §4.3.2, §6), never
    // client_credentials (§4.4), which takes the proof.
    let grant_type =
        GrantType::parse(params.require("grant_type")?).ok_or(OAuthError::UnsupportedGrantType)?;
    let public = match grant_type {
        GrantType::ClientCredentials => PublicClients::Refused,
        GrantType::AuthorizationCode | GrantType::Password | GrantType::RefreshToken => {
            PublicClients::Allowed
        }
    };
    let audience = ctx.issue.audience();
    let client = identify(ctx.store, authorization, &mut params, public, audience).await?;
    // RFC 9449 §5: the proof, once the request is known to be well formed
    // and its client known; a client registered to be DPoP-bound must
    // send one (§5.2, `dpop_bound_access_tokens`).
    let proved = super::dpop::at_token_endpoint(ctx.store, dpop, ctx.issue.issuer, ctx.issue.now).await?;
    if proved.is_none() && client.client().dpop_bound {
        return Err(OAuthError::DpopRequired);
    }
    let issue = &Issue {
        issuer: ctx.issue.issuer,
        signer: ctx.issue.signer,
        now: ctx.issue.now,
        peer: ctx.issue.peer,
        family_lifetime: ctx.issue.family_lifetime,
        clients: ctx.issue.clients,
        dpop: proved,
    };
    let result = match grant_type {
        GrantType::Password => password::handle(ctx.store, issue, &client, &params).await,
        GrantType::AuthorizationCode => {
            authorization_code::handle(ctx.store, issue, ctx.id_signer, &client, &params).await
        }
        GrantType::RefreshToken => refresh_token::handle(ctx.store, issue, &client, &params).await,
        GrantType::ClientCredentials => {
            let registry = if params.get("resource").is_some() {
                ctx.store.resources().await?
            } else {
                Registry::default()
            };
            let grant = client_credentials::Context {
                issuer: issue.issuer,
                signer: issue.signer,
                now: issue.now,
                registry: &registry,
                dpop: issue.dpop.as_ref(),
            };
            // §4.4.2: "The client MUST authenticate": the proof (a public
            // client was refused above).
            let Some(proved) = client.authenticated() else {
                return Err(OAuthError::PublicClientNotAllowed);
            };
            client_credentials::handle(&grant, proved, &params)
        }
    };
    match &result {
        Ok(_) => {
            tracing::debug!(client_id = %client.client().id, grant_type = grant_type.as_str(), "token issued")
        }
        Err(e) => {
            tracing::info!(target: "audit", client_id = %client.client().id, grant_type = grant_type.as_str(), error = e.code(), "token refused")
        }
    }
    result.map(|response| (response, grant_type))
}
