//! Token introspection ([RFC 7662]): a protected resource, or the client
//! that holds a token, asks whether it is active and what it says.
//!
//! 1. The caller is an authenticated confidential client ([§2.1]: "the
//!    endpoint MUST also require some form of authorization").
//! 2. `token` is required. `token_type_hint` (`access_token` or
//!    `refresh_token`) only picks which kind is looked up first: when that
//!    finds nothing, the other is tried ([§2.1]).
//! 3. A token that fails any check is `{"active": false}`, with nothing
//!    else ([§2.2]): an access token whose signature, issuer, `typ` or
//!    expiry is wrong, whose `jti` was revoked, or whose signing key was
//!    revoked (`tessera keys revoke`); a refresh token that is unknown,
//!    used (rotated), revoked or expired.
//! 4. Introspection is need-to-know ([§4]: the server "SHOULD ... determine
//!    whether or not the protected resource is allowed to introspect the
//!    token"). An access token is active only for its own client
//!    (`client_id`) or for a client registered as the resource server of
//!    one of its audiences (`aud`; `tessera client create
//!    --resource-server`). A refresh token is active only for its own
//!    client. To anyone else the answer is `{"active": false}` ([§2.2]: "the
//!    authorization server ... SHOULD return `active: false`" rather than
//!    reveal the token), never an error.
//! 5. An active access token's claims are returned with `active: true` and
//!    `token_type: Bearer`, or `DPoP` with its `cnf` for a DPoP-bound one
//!    ([RFC 9449 §6.2]) (and `username` from `preferred_username`); an
//!    active refresh token as `token_type: refresh_token` with `client_id`,
//!    `sub` (the user), `scope`, `exp` and `iss` ([§2.2]).
//!
//! [RFC 7662]: https://www.rfc-editor.org/rfc/rfc7662
//! [§2.1]: https://www.rfc-editor.org/rfc/rfc7662#section-2.1
//! [§2.2]: https://www.rfc-editor.org/rfc/rfc7662#section-2.2
//! [§4]: https://www.rfc-editor.org/rfc/rfc7662#section-4
//! [RFC 9449 §6.2]: https://www.rfc-editor.org/rfc/rfc9449#section-6.2

use std::sync::Arc;

use serde_json::{json, Map, Value};
use tessera_jwt::{KeySet, UnixTime, Validation};

use super::client_auth::hash_secret;
use super::client_auth::{identify, Audience, AuthenticatedClient, CallingClient, PublicClients};
use super::verified_tokens::{Verified, VerifiedTokens};
use super::{OAuthError, Params};
use crate::store::{
    key_revocation_jti, AssertionStore, Client, ClientStore, IntrospectionStore, RevocationStore,
};

/// What introspection needs from the server.
pub struct Context<'a, S> {
    /// The store.
    pub store: &'a S,
    /// The issuer identifier.
    pub issuer: &'a str,
    /// The server's published keys.
    pub keys: &'a KeySet,
    /// Tokens already verified with `keys` ([`super::verified_tokens`]).
    pub verified: &'a VerifiedTokens,
    /// Now, in seconds since the epoch.
    pub now: i64,
    /// Where clients are found.
    pub clients: &'a crate::clients::directory::Directory,
}

/// Verifies one of this server's access tokens, without the audience check
/// (the audience is reported, not checked). `None` when not active: it
/// fails verification, its `jti` was revoked, or the key that signed it was
/// ([`crate::keys::revoke`]). Both revocations are asked in one batched
/// query, so a revocation made on any node holds here from this request on.
/// A token seen before skips the signature ([`super::verified_tokens`]),
/// never the expiry or the revocation reads.
pub(crate) async fn active_token<S: RevocationStore>(
    ctx: &Context<'_, S>,
    token: &str,
) -> Result<Option<Arc<Verified>>, OAuthError> {
    let verified = match ctx.verified.get(token, ctx.now) {
        Some(hit) => hit,
        None => {
            let Some(fresh) = verify(ctx, token) else {
                return Ok(None);
            };
            let fresh = Arc::new(fresh);
            ctx.verified.insert(token, Arc::clone(&fresh), fresh.exp, ctx.now);
            fresh
        }
    };
    let jti = verified.claims.get("jti").and_then(Value::as_str);
    let (by_token, by_key) = tokio::join!(
        async {
            match jti {
                Some(jti) => ctx.store.is_revoked(jti).await,
                None => Ok(false),
            }
        },
        ctx.store.is_revoked(&verified.key_jti),
    );
    Ok((!by_token? && !by_key?).then_some(verified))
}

/// The claims of an active access token ([`active_token`]).
pub(crate) async fn active_claims<S: RevocationStore>(
    ctx: &Context<'_, S>,
    token: &str,
) -> Result<Option<Map<String, Value>>, OAuthError> {
    Ok(active_token(ctx, token).await?.map(|v| v.claims.clone()))
}

/// The signature, header and time checks of one of our access tokens; its
/// claims, expiry and key's revocation id, or `None` if it fails any.
fn verify<S>(ctx: &Context<'_, S>, token: &str) -> Option<Verified> {
    let rules = Validation::new()
        .issuer(ctx.issuer)
        .typ("at+jwt")
        .ignore_audience()
        .leeway(0);
    let verified = ctx
        .keys
        .verify::<Map<String, Value>>(token, &rules, UnixTime::from_secs(ctx.now))
        .ok()?;
    // Every token this server signs names its key. One that does not could
    // only have been made with a key's private part by someone else, and
    // its key could not be checked for revocation.
    let key_jti = key_revocation_jti(verified.header().kid.as_deref()?);
    let claims = verified.into_claims();
    // `Validation::new` requires `exp`, so this finds it.
    let exp = claims.get("exp").and_then(Value::as_i64)?;
    Some(Verified::new(claims, exp, key_jti))
}

/// Whether `caller` may learn about an access token with these claims
/// (step 4): it is the token's client, or the resource server of one of
/// its audiences.
fn may_introspect(caller: &Client, claims: &Map<String, Value>) -> bool {
    if claims.get("client_id").and_then(Value::as_str) == Some(caller.id.as_str()) {
        return true;
    }
    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(aud)) => vec![aud.as_str()],
        Some(Value::Array(auds)) => auds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    audiences
        .iter()
        .any(|aud| caller.resource_server_for.iter().any(|rs| rs == aud))
}

/// The answer for an access token, if it is one of ours and active.
async fn access_token<S: RevocationStore>(
    ctx: &Context<'_, S>,
    caller: &Client,
    token: &str,
) -> Result<Option<String>, OAuthError> {
    let Some(verified) = active_token(ctx, token).await? else {
        return Ok(None);
    };
    // 4.
    if !may_introspect(caller, &verified.claims) {
        tracing::debug!(client_id = %caller.id, "introspection of another client's token refused");
        return Ok(Some(INACTIVE.to_owned()));
    }
    // 5. The same for every caller allowed to ask: rendered once per token.
    Ok(Some(
        verified
            .introspection
            .get_or_init(|| active_answer(&verified.claims))
            .clone(),
    ))
}

/// RFC 7662 §2.2's answer for an active access token: its claims, `active`,
/// `token_type`, and `username` from `preferred_username`.
fn active_answer(claims: &Map<String, Value>) -> String {
    let mut claims = claims.clone();
    claims.insert("active".into(), Value::Bool(true));
    let bound = claims.get("cnf").and_then(|c| c.get("jkt")).is_some();
    claims.insert(
        "token_type".into(),
        Value::from(if bound { "DPoP" } else { "Bearer" }),
    );
    if let Some(name) = claims.get("preferred_username").cloned() {
        claims.entry("username").or_insert(name);
    }
    Value::Object(claims).to_string()
}

/// The answer for a refresh token, if it is one of ours and active.
async fn refresh_token<S: IntrospectionStore>(
    ctx: &Context<'_, S>,
    caller: &Client,
    token: &str,
) -> Result<Option<String>, OAuthError> {
    // Refresh tokens are base64url: a '.' means a JWT (or junk).
    if token.contains('.') {
        return Ok(None);
    }
    let Some(found) = ctx
        .store
        .refresh_token_status(&hash_secret(token), ctx.now)
        .await?
    else {
        return Ok(None);
    };
    // 4.
    if found.client_id != caller.id {
        tracing::debug!(client_id = %caller.id, "introspection of another client's refresh token refused");
        return Ok(Some(INACTIVE.to_owned()));
    }
    // 5.
    Ok(Some(
        json!({
            "active": true,
            "token_type": "refresh_token",
            "client_id": found.client_id,
            "sub": found.user_id,
            "scope": found.scope,
            "exp": found.expires_at,
            "iss": ctx.issuer,
        })
        .to_string(),
    ))
}

/// RFC 7662 §2.2's answer for a token that is not active, whatever the
/// reason: nothing else is said.
const INACTIVE: &str = r#"{"active":false}"#;

/// Who may call: authenticated confidential clients only ([§2.1]).
/// Discovery's `introspection_endpoint_auth_methods_supported` is derived
/// from it.
///
/// [§2.1]: https://www.rfc-editor.org/rfc/rfc7662#section-2.1
pub const CALLERS: PublicClients = PublicClients::Refused;

/// Handles an introspection request; the answer as JSON text.
pub async fn handle<S: ClientStore + AssertionStore + RevocationStore + IntrospectionStore>(
    ctx: &Context<'_, S>,
    body: &[u8],
    authorization: Option<&str>,
) -> Result<String, OAuthError> {
    let mut params = Params::parse(body)?;
    // 1.
    let audience = Audience {
        issuer: ctx.issuer,
        now: ctx.now,
        clients: ctx.clients,
    };
    let caller: AuthenticatedClient =
        match identify(ctx.store, authorization, &mut params, CALLERS, audience).await? {
            CallingClient::Authenticated(proved) => proved,
            // (`CALLERS` refuses public clients; `identify` said so already.)
            CallingClient::Identified(_) => return Err(OAuthError::PublicClientNotAllowed),
        };
    let caller = caller.client();
    // 2.
    let token = params.require("token")?;
    let refresh_first = params.get("token_type_hint") == Some("refresh_token");
    let found = if refresh_first {
        match refresh_token(ctx, caller, token).await? {
            Some(answer) => Some(answer),
            None => access_token(ctx, caller, token).await?,
        }
    } else {
        match access_token(ctx, caller, token).await? {
            Some(answer) => Some(answer),
            None => refresh_token(ctx, caller, token).await?,
        }
    };
    // 3.
    Ok(found.unwrap_or_else(|| INACTIVE.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::oauth::access_token::{self, AccessClaims};

    fn token(exp: i64) -> String {
        let claims = AccessClaims {
            iss: fixtures::ISSUER,
            sub: "svc",
            aud: tessera_jwt::Audience::One("api".to_owned()),
            exp,
            iat: fixtures::NOW,
            jti: access_token::new_jti().unwrap(),
            client_id: "svc",
            scope: "read",
            preferred_username: None,
            roles: None,
            email: None,
            email_verified: None,
            name: None,
            cnf: None,
        };
        access_token::issue(fixtures::signer(), &claims).unwrap()
    }

    /// A token verified twice is remembered ([`super::super::verified_tokens`]),
    /// and each later check still applies what can change: expiry (RFC 7519
    /// §4.1.4) and revocation of the token (RFC 7009) or of its key.
    #[tokio::test]
    async fn a_remembered_token_still_expires_and_can_still_be_revoked() {
        let store = fixtures::store().await;
        let ours = KeySet::new(vec![fixtures::signer().key().verifying_key().unwrap()]).unwrap();
        let other = tessera_jwt::SigningKey::generate(tessera_jwt::Algorithm::ES256).unwrap();
        let others = KeySet::new(vec![other.verifying_key().unwrap()]).unwrap();
        let clients = crate::clients::directory::Directory::default();
        let verified = crate::oauth::verified_tokens::empty();
        let at = |keys, now| Context {
            store: &store,
            issuer: fixtures::ISSUER,
            keys,
            verified: &verified,
            now,
            clients: &clients,
        };

        let t = token(fixtures::NOW + 60);
        // Verified twice, so remembered (the first time is only noted).
        for _ in 0..2 {
            assert!(active_claims(&at(&ours, fixtures::NOW), &t)
                .await
                .unwrap()
                .is_some());
        }
        assert_eq!(verified.len(), 1);
        // The second check is a hit: no signature is verified (these keys
        // could not verify it), yet it is active until its `exp`...
        assert!(active_claims(&at(&others, fixtures::NOW + 59), &t)
            .await
            .unwrap()
            .is_some());
        // ...and not from its `exp` on.
        assert!(active_claims(&at(&ours, fixtures::NOW + 60), &t)
            .await
            .unwrap()
            .is_none());

        // Revoking a remembered token makes it inactive at once.
        let revoked = token(fixtures::NOW + 60);
        assert!(active_claims(&at(&ours, fixtures::NOW), &revoked)
            .await
            .unwrap()
            .is_some());
        let jti = active_claims(&at(&ours, fixtures::NOW), &revoked)
            .await
            .unwrap()
            .unwrap()["jti"]
            .as_str()
            .unwrap()
            .to_owned();
        store.revoke(&jti, fixtures::NOW + 60).await.unwrap();
        assert!(active_claims(&at(&ours, fixtures::NOW), &revoked)
            .await
            .unwrap()
            .is_none());

        // So does revoking the key that signed it.
        let kid = fixtures::signer().key().kid().to_owned();
        store
            .revoke(&key_revocation_jti(&kid), fixtures::NOW + 60)
            .await
            .unwrap();
        assert!(active_claims(&at(&ours, fixtures::NOW), &t)
            .await
            .unwrap()
            .is_none());

        // A token that fails verification is not remembered, however often
        // it is sent.
        let before = verified.len();
        let forged = format!("{}x", token(fixtures::NOW + 60));
        for _ in 0..3 {
            assert!(active_claims(&at(&ours, fixtures::NOW), &forged)
                .await
                .unwrap()
                .is_none());
        }
        assert_eq!(verified.len(), before);
    }
}
