//! The client credentials grant ([RFC 6749 §4.4]): a service gets a token
//! for itself. Checks in the order of §4.4.2:
//!
//! 1. `grant_type` is `client_credentials` (dispatched by the caller).
//! 2. "The client MUST authenticate with the authorization server": an
//!    [`AuthenticatedClient`] is the proof, and only confidential clients
//!    have one.
//! 3. The client is registered for this grant type.
//! 4. `resource` ([RFC 8707 §2], optional, repeatable): each a registered
//!    resource server the client may ask for (`invalid_target`).
//! 5. `scope` (optional, [RFC 6749 §3.3]) must be within the client's
//!    registered scopes and those the resources accept; when absent, all of
//!    them are granted. With resources, the token's scope is narrowed
//!    silently to what they accept.
//! 6. `audience` (optional) must be one of the client's registered
//!    audiences; when absent, all of them (or the issuer, if none). With
//!    `resource`, the resources are the audience.
//! 7. Issue a JWT access token; no refresh token (§4.4.3: "A refresh token
//!    SHOULD NOT be included").
//!
//! [RFC 6749 §4.4]: https://www.rfc-editor.org/rfc/rfc6749#section-4.4
//! [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
//! [RFC 8707 §2]: https://www.rfc-editor.org/rfc/rfc8707#section-2

use tessera_jwt::{Audience, Signer};

use crate::domain::resource::accepted_scopes;
use crate::domain::{Registry, Resources};
use crate::oauth::access_token::{self, AccessClaims, TokenResponse};
use crate::oauth::{AuthenticatedClient, OAuthError, Params, Scope};

/// The grant type this module serves.
pub const GRANT_TYPE: super::GrantType = super::GrantType::ClientCredentials;

/// What the grant needs from the server.
pub struct Context<'a> {
    /// The issuer identifier.
    pub issuer: &'a str,
    /// The access-token signer.
    pub signer: &'a Signer,
    /// Now, in seconds since the epoch.
    pub now: i64,
    /// The registered resources (read only when the request names one).
    pub registry: &'a Registry,
    /// The DPoP key the request proved, if any: the token is bound to it.
    pub dpop: Option<&'a crate::oauth::dpop::Jkt>,
}

/// Handles a client credentials token request.
pub fn handle(
    ctx: &Context<'_>,
    client: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let client = client.client();
    // 3.
    if !client.may_use(GRANT_TYPE) {
        return Err(OAuthError::GrantNotAllowed(GRANT_TYPE.as_str()));
    }
    // 4.
    let resources = Resources::parse(params.all("resource"))?;
    let accepted = accepted_scopes(ctx.registry.resolve(client, &resources)?);
    // 5.
    let requested = params.get("scope").map(Scope::parse).transpose()?;
    let scope = client
        .scopes
        .union(&accepted)
        .narrow(requested.as_ref())
        .ok_or(OAuthError::ScopeNotAllowed)?;
    let target = ctx
        .registry
        .target(client, &resources, Resources::none(), &scope)?;
    let scope = target.as_ref().map_or(scope.clone(), |t| t.scope.clone());
    // 6.
    let aud = match (params.get("audience"), &target) {
        (Some(_), Some(_)) => return Err(OAuthError::AudienceNotAllowed),
        (None, Some(t)) => access_token::audience(t.resources.identifiers(), ctx.issuer),
        (Some(requested), None) if client.audiences.iter().any(|a| a == requested) => {
            Audience::One(requested.to_owned())
        }
        (Some(_), None) => return Err(OAuthError::AudienceNotAllowed),
        (None, None) => access_token::audience(&client.audiences, ctx.issuer),
    };
    // 7. An administrator's client carries the admin role (RFC 9068
    // §7.2.1.1 `roles`), so the admin API may be called with its tokens.
    let admin_role = [crate::domain::ADMIN_ROLE.to_owned()];
    let claims = AccessClaims {
        iss: ctx.issuer,
        sub: &client.id,
        aud,
        exp: ctx.now.saturating_add(client.access_token_ttl),
        iat: ctx.now,
        jti: access_token::new_jti()?,
        client_id: &client.id,
        scope: scope.as_str(),
        preferred_username: None,
        roles: client.admin.then_some(&admin_role[..]),
        email: None,
        email_verified: None,
        name: None,
        cnf: access_token::Confirmation::of(ctx.dpop),
    };
    Ok(TokenResponse {
        access_token: access_token::issue(ctx.signer, &claims)?,
        token_type: access_token::token_type(&claims.cnf),
        expires_in: client.access_token_ttl,
        scope: (!scope.is_empty()).then(|| scope.to_string()),
        refresh_token: None,
        id_token: None,
    })
}

#[cfg(test)]
mod tests {
    //! One row per check of [RFC 6749 §4.4.2] (the module's numbered
    //! list), against an in-memory store, no socket.
    //!
    //! [RFC 6749 §4.4.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.4.2

    use super::*;
    use crate::fixtures;
    use crate::oauth::client_auth;
    use crate::oauth::grant::GrantType;
    use crate::store::ClientStore;

    type Expect = fn(&Result<TokenResponse, OAuthError>) -> bool;

    /// The access token's claims, read back with the signer's own key.
    fn claims(token: &str) -> serde_json::Value {
        let key = fixtures::signer().key().verifying_key().unwrap();
        let keys = tessera_jwt::KeySet::new(vec![key]).unwrap();
        let rules = tessera_jwt::Validation::access_token(fixtures::ISSUER, "api");
        keys.verify::<serde_json::Value>(token, &rules, tessera_jwt::UnixTime::from_secs(fixtures::NOW))
            .unwrap()
            .into_claims()
    }

    #[tokio::test]
    async fn rfc_6749_4_4_2_checks() {
        let store = fixtures::store().await;
        let service = fixtures::client(
            "svc",
            Some("svc-secret"),
            &[GrantType::ClientCredentials],
            "tasks:read tasks:write",
        );
        let service = fixtures::proved(&store, &service, "svc-secret").await;
        let other = fixtures::client(
            "web",
            Some("web-secret"),
            &[GrantType::AuthorizationCode],
            "openid",
        );
        let other = fixtures::proved(&store, &other, "web-secret").await;
        let registry = Registry::default();
        let ctx = Context {
            issuer: fixtures::ISSUER,
            signer: fixtures::signer(),
            now: fixtures::NOW,
            registry: &registry,
            dpop: None,
        };
        let rows: &[(&str, &AuthenticatedClient, &str, Expect)] = &[
            (
                "3. a client not registered for the grant is unauthorized_client",
                &other,
                "",
                |r| matches!(r, Err(OAuthError::GrantNotAllowed("client_credentials"))),
            ),
            ("4. no scope: every registered scope", &service, "", |r| {
                r.as_ref()
                    .is_ok_and(|t| t.scope.as_deref() == Some("tasks:read tasks:write"))
            }),
            (
                "4. a registered scope is narrowed to",
                &service,
                "scope=tasks:read",
                |r| r.as_ref().is_ok_and(|t| t.scope.as_deref() == Some("tasks:read")),
            ),
            (
                "4. a scope outside the registration is invalid_scope",
                &service,
                "scope=tasks:read admin",
                |r| matches!(r, Err(OAuthError::ScopeNotAllowed)),
            ),
            (
                "4. a malformed scope is invalid_scope (RFC 6749 §3.3)",
                &service,
                "scope=tasks%22read",
                |r| matches!(r, Err(OAuthError::MalformedScope(_))),
            ),
            (
                "5. a registered audience is the token's",
                &service,
                "audience=api",
                |r| r.as_ref().is_ok_and(|t| claims(&t.access_token)["aud"] == "api"),
            ),
            (
                "5. an unregistered audience is refused",
                &service,
                "audience=billing",
                |r| matches!(r, Err(OAuthError::AudienceNotAllowed)),
            ),
            (
                "6. the token is the client's own, with no refresh token (§4.4.3)",
                &service,
                "",
                |r| {
                    r.as_ref().is_ok_and(|t| {
                        let c = claims(&t.access_token);
                        t.refresh_token.is_none()
                            && t.id_token.is_none()
                            && t.token_type == "Bearer"
                            && t.expires_in == 600
                            && c["sub"] == "svc"
                            && c["client_id"] == "svc"
                            && c["exp"] == fixtures::NOW + 600
                    })
                },
            ),
        ];
        for (check, client, form, expect) in rows {
            let result = handle(&ctx, client, &fixtures::params(form));
            assert!(expect(&result), "{check}: {result:?}");
        }

        // 2. "The client MUST authenticate": a public client gets no
        // AuthenticatedClient for this grant, a wrong secret neither.
        let public = fixtures::client("spa", None, &[GrantType::ClientCredentials], "tasks:read");
        store.create_client(&public).await.unwrap();
        for form in ["client_id=spa", "client_id=svc&client_secret=wrong"] {
            let refused =
                client_auth::authenticate(&store, None, &mut fixtures::params(form), fixtures::audience())
                    .await;
            assert!(
                matches!(
                    refused,
                    Err(OAuthError::PublicClientNotAllowed | OAuthError::ClientAuthFailed)
                ),
                "2. {form}: {refused:?}"
            );
        }
    }
}
