//! The authorization code grant's token request ([RFC 6749 §4.1.3]), with
//! PKCE ([RFC 7636 §4.6]) and OpenID Connect's ID token ([OpenID Connect
//! Core §3.1.3]). Checks in the order of §4.1.3:
//!
//! 1. `grant_type` is `authorization_code` (dispatched by the caller).
//! 2. "require client authentication for confidential clients": done by
//!    the caller; public clients are identified by `client_id`.
//! 3. The client is registered for this grant type.
//! 4. `code` and `redirect_uri` are required; the code is looked up, and
//!    nothing is consumed until every check below has passed, so a client
//!    that is not the code's cannot burn a leaked code or revoke its
//!    tokens.
//! 5. "ensure that the authorization code was issued to the authenticated
//!    confidential client, or ... to the public client", that it has not
//!    expired (60 s), and that `redirect_uri` is "identical" to the one in
//!    the authorization request.
//! 6. PKCE: with a challenge, the verifier is required and
//!    `BASE64URL(SHA256(code_verifier))` must equal it; without one, a
//!    verifier is refused (RFC 9700 §4.8.2, PKCE downgrade). A code issued
//!    for a `dpop_jkt` ([RFC 9449 §10]) needs a DPoP proof made with that
//!    key (`invalid_grant` otherwise).
//! 7. `resource` ([RFC 8707 §2.2]), if sent, within the resources the code
//!    was given for (`invalid_target`), each still registered and allowed
//!    to the client; the access token is for them, its scope narrowed to
//!    what they accept.
//! 8. Redeem, in one transaction: the code is marked used, the refresh
//!    family and token and the access token's `jti` are stored. A second
//!    use that passed steps 5-6 (the code's own client, its verifier) finds
//!    the code used and revokes what the first use issued ("SHOULD revoke
//!    ... all tokens previously issued based on that authorization code");
//!    two redemptions at once cannot both win.
//! 9. Sign the access token and, when `openid` was granted, the ID token.
//!
//! [RFC 6749 §4.1.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
//! [RFC 7636 §4.6]: https://www.rfc-editor.org/rfc/rfc7636#section-4.6
//! [RFC 8707 §2.2]: https://www.rfc-editor.org/rfc/rfc8707#section-2.2
//! [OpenID Connect Core §3.1.3]: https://openid.net/specs/openid-connect-core-1_0.html#TokenEndpoint
//! [RFC 9449 §10]: https://www.rfc-editor.org/rfc/rfc9449#section-10

use crate::audit::{self, Actor, AuditKind, Event};
use base64::Engine;
use tessera_jwt::Signer;

use crate::domain::{Registry, Resources};
use crate::oauth::access_token::TokenResponse;
use crate::oauth::client_auth::hash_secret;
use crate::oauth::client_auth::CallingClient;
use crate::oauth::user_tokens::{self, FamilyOf, Granted, Issue};
use crate::oauth::{id_token, OAuthError, Params};
use crate::store::{CodeStore, Redeemed, RefreshTokenStore, ResourceStore, UserStore};

/// The grant type this module serves.
pub const GRANT_TYPE: super::GrantType = super::GrantType::AuthorizationCode;

/// Handles an authorization code token request.
pub async fn handle<S: CodeStore + UserStore + RefreshTokenStore + ResourceStore>(
    store: &S,
    ctx: &Issue<'_>,
    id_signer: &Signer,
    client: &CallingClient,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let client = client.client();
    // 3.
    if !client.may_use(GRANT_TYPE) {
        return Err(OAuthError::GrantNotAllowed(GRANT_TYPE.as_str()));
    }
    // 4.
    let code = params.require("code")?;
    let redirect_uri = params.require("redirect_uri")?;
    let hash = hash_secret(code);
    let Some(code) = store.code(&hash).await? else {
        return Err(OAuthError::InvalidCode);
    };
    // 5.
    if code.client_id != client.id || code.expires_at <= ctx.now || code.redirect_uri != redirect_uri {
        return Err(OAuthError::InvalidCode);
    }
    // 6.
    match (&code.code_challenge, params.get("code_verifier")) {
        (Some(challenge), Some(verifier)) => {
            if !is_verifier(verifier) {
                return Err(OAuthError::PkceFailed(
                    "code_verifier must be 43-128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1)",
                ));
            }
            let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
            let computed = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest);
            if aws_lc_rs::constant_time::verify_slices_are_equal(computed.as_bytes(), challenge.as_bytes())
                .is_err()
            {
                return Err(OAuthError::PkceFailed(
                    "code_verifier does not match the code_challenge",
                ));
            }
        }
        (Some(_), None) => return Err(OAuthError::PkceFailed("code_verifier is required")),
        (None, Some(_)) => {
            return Err(OAuthError::PkceFailed(
                "code_verifier sent, but the authorization request had no code_challenge",
            ))
        }
        (None, None) => {}
    }
    // 6. RFC 9449 §10: the code is bound to the key named at /authorize.
    if let Some(bound) = &code.dpop_jkt {
        if !ctx.dpop.as_ref().is_some_and(|k| k.matches(bound)) {
            return Err(OAuthError::DpopKeyMismatch);
        }
    }
    // 7.
    let requested = Resources::parse(params.all("resource"))?;
    let registry = if code.resources.is_empty() {
        Registry::default()
    } else {
        store.resources().await?
    };
    let target = registry.target(client, &code.resources, &requested, &code.scope)?;
    // 8.
    let Some(user) = store
        .user(&code.user_id)
        .await?
        .filter(|u| u.disabled_at.is_none())
    else {
        return Err(OAuthError::InvalidCode);
    };
    let family = FamilyOf::New {
        sid: Some(code.sid.clone()),
    };
    let granted = Granted {
        scope: &code.scope,
        resources: &code.resources,
        target: target.as_ref(),
    };
    let prepared = user_tokens::prepare(ctx, client, &user, granted, family)?;
    match store.redeem_code(&hash, ctx.now, &prepared.grant).await? {
        Redeemed::Fresh(_) => {}
        Redeemed::Replayed => {
            let event = Event::new(
                AuditKind::TokenReplayed,
                ctx.now,
                Actor::Server,
                "authorization code replayed; its tokens are revoked",
            )
            .user(&code.user_id)
            .client(&client.id)
            .with("token", "authorization_code");
            audit::record(store, event).await;
            return Err(OAuthError::CodeReplayed);
        }
        Redeemed::Unknown => return Err(OAuthError::InvalidCode),
    }
    // 9.
    let mut response = prepared.sign(ctx.signer)?;
    if code.scope.has("openid") {
        response.id_token = Some(id_token::issue(
            id_signer,
            &id_token::IdToken {
                issuer: ctx.issuer,
                client,
                user: &user,
                scope: &code.scope,
                nonce: code.nonce.as_deref(),
                auth_time: code.auth_time,
                sid: &code.sid,
                amr: &code.amr,
                access_token: &response.access_token,
                now: ctx.now,
            },
        )?);
    }
    tracing::info!(target: "audit", user_id = %user.id, client_id = %client.id, "authorization code redeemed");
    Ok(response)
}

/// RFC 7636 §4.1: `code-verifier = 43*128unreserved`.
fn is_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::oauth::grant::GrantType;
    use crate::store::{AuthorizationCode, Store};

    type Expect = fn(&Result<TokenResponse, OAuthError>) -> bool;
    /// A check's name, how its code is stored, who redeems it, with what
    /// form, and what the answer must be.
    type Row<'a> = (
        &'static str,
        fn(&mut AuthorizationCode),
        &'a CallingClient,
        String,
        Expect,
    );

    /// RFC 7636 Appendix B.
    const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn no_change(_: &mut AuthorizationCode) {}

    /// A store with the client `web` (confidential, code and refresh
    /// grants), `other` (registered for the code grant too), `cc` (not
    /// registered for it), and the user `u1`.
    async fn setup() -> (Store, [CallingClient; 3]) {
        let store = fixtures::store().await;
        let grants = [GrantType::AuthorizationCode, GrantType::RefreshToken];
        let web = fixtures::client(
            "web",
            Some("web-secret"),
            &grants,
            "openid profile email offline_access",
        );
        let web = fixtures::registered(&store, &web, Some("web-secret")).await;
        let other = fixtures::client("other", Some("other-secret"), &grants, "openid");
        let other = fixtures::registered(&store, &other, Some("other-secret")).await;
        let cc = fixtures::client("cc", Some("cc-secret"), &[GrantType::ClientCredentials], "openid");
        let cc = fixtures::registered(&store, &cc, Some("cc-secret")).await;
        fixtures::add_user(&store, &fixtures::user("u1", "alice", "alice's long password")).await;
        (store, [web, other, cc])
    }

    /// One row per check of [RFC 6749 §4.1.3] and [RFC 7636 §4.6] (the
    /// module's numbered list): a code is stored as the row sets it up, and
    /// `client` redeems it with `form` (`CODE` is the row's code).
    ///
    /// [RFC 6749 §4.1.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
    /// [RFC 7636 §4.6]: https://www.rfc-editor.org/rfc/rfc7636#section-4.6
    #[tokio::test]
    async fn rfc_6749_4_1_3_checks() {
        let (store, [web, other, cc]) = setup().await;
        let cb = "redirect_uri=https%3A%2F%2Fapp.example%2Fcb";
        let with_pkce = |c: &mut AuthorizationCode| c.code_challenge = Some(CHALLENGE.into());
        let rows: Vec<Row<'_>> = vec![
            (
                "3. a client not registered for the grant",
                no_change,
                &cc,
                format!("code=CODE&{cb}"),
                |r| matches!(r, Err(OAuthError::GrantNotAllowed("authorization_code"))),
            ),
            ("4. code is required", no_change, &web, cb.to_owned(), |r| {
                matches!(r, Err(OAuthError::MissingParameter("code")))
            }),
            (
                "4. redirect_uri is required",
                no_change,
                &web,
                "code=CODE".to_owned(),
                |r| matches!(r, Err(OAuthError::MissingParameter("redirect_uri"))),
            ),
            (
                "4. an unknown code",
                no_change,
                &web,
                format!("code=not-a-code&{cb}"),
                |r| matches!(r, Err(OAuthError::InvalidCode)),
            ),
            (
                "5. a code issued to another client",
                no_change,
                &other,
                format!("code=CODE&{cb}"),
                |r| matches!(r, Err(OAuthError::InvalidCode)),
            ),
            (
                "5. an expired code",
                |c| c.expires_at = fixtures::NOW,
                &web,
                format!("code=CODE&{cb}"),
                |r| matches!(r, Err(OAuthError::InvalidCode)),
            ),
            (
                "5. a redirect_uri not identical to the request's",
                no_change,
                &web,
                "code=CODE&redirect_uri=https%3A%2F%2Fapp.example%2Fcb%2F".to_owned(),
                |r| matches!(r, Err(OAuthError::InvalidCode)),
            ),
            (
                "6. with a challenge, the verifier is required",
                with_pkce,
                &web,
                format!("code=CODE&{cb}"),
                |r| matches!(r, Err(OAuthError::PkceFailed(_))),
            ),
            (
                "6. a verifier that does not match the challenge",
                with_pkce,
                &web,
                format!("code=CODE&{cb}&code_verifier={}", "a".repeat(43)),
                |r| matches!(r, Err(OAuthError::PkceFailed(_))),
            ),
            (
                "6. a verifier outside RFC 7636 §4.1's syntax",
                with_pkce,
                &web,
                format!("code=CODE&{cb}&code_verifier=short"),
                |r| matches!(r, Err(OAuthError::PkceFailed(_))),
            ),
            (
                "6. a verifier without a challenge (PKCE downgrade, RFC 9700 §4.8.2)",
                no_change,
                &web,
                format!("code=CODE&{cb}&code_verifier={VERIFIER}"),
                |r| matches!(r, Err(OAuthError::PkceFailed(_))),
            ),
            (
                "6. the RFC 7636 Appendix B verifier matches its challenge",
                with_pkce,
                &web,
                format!("code=CODE&{cb}&code_verifier={VERIFIER}"),
                |r| r.is_ok(),
            ),
            (
                "7. a code of a user who does not exist (any more)",
                |c| c.user_id = "gone".into(),
                &web,
                format!("code=CODE&{cb}"),
                |r| matches!(r, Err(OAuthError::InvalidCode)),
            ),
            (
                "8. openid granted: an ID token, and a refresh token for a refreshing client",
                no_change,
                &web,
                format!("code=CODE&{cb}"),
                |r| {
                    r.as_ref().is_ok_and(|t| {
                        t.id_token.is_some()
                            && t.refresh_token.is_some()
                            && t.scope.as_deref() == Some("openid profile offline_access")
                    })
                },
            ),
            (
                "8. openid not granted: no ID token",
                |c| c.scope = crate::oauth::Scope::from_tokens(["profile"]),
                &web,
                format!("code=CODE&{cb}"),
                |r| r.as_ref().is_ok_and(|t| t.id_token.is_none()),
            ),
        ];
        let ctx = fixtures::issue(fixtures::NOW);
        for (n, (check, setup, client, form, expect)) in rows.into_iter().enumerate() {
            let value = format!("code-{n}");
            let mut code = fixtures::code(&value, "web", "u1", "openid profile offline_access");
            setup(&mut code);
            fixtures::add_code(&store, &code).await;
            let form = form.replace("CODE", &value);
            let result = handle(
                &store,
                &ctx,
                fixtures::id_signer(),
                client,
                &fixtures::params(&form),
            )
            .await;
            assert!(expect(&result), "{check}: {result:?}");
        }
    }

    /// 4./5.: a client that is not the code's cannot burn it: the code's
    /// own client redeems it after.
    #[tokio::test]
    async fn another_client_cannot_burn_a_code() {
        let (store, [web, other, _]) = setup().await;
        fixtures::add_code(&store, &fixtures::code("c", "web", "u1", "openid")).await;
        let ctx = fixtures::issue(fixtures::NOW);
        let form = fixtures::params("code=c&redirect_uri=https%3A%2F%2Fapp.example%2Fcb");
        let stolen = handle(&store, &ctx, fixtures::id_signer(), &other, &form).await;
        assert!(matches!(stolen, Err(OAuthError::InvalidCode)), "{stolen:?}");
        let own = handle(&store, &ctx, fixtures::id_signer(), &web, &form).await;
        assert!(own.is_ok(), "{own:?}");
    }

    /// 7.: a disabled user's code is refused.
    #[tokio::test]
    async fn a_disabled_users_code_is_refused() {
        let (store, [web, _, _]) = setup().await;
        fixtures::add_code(&store, &fixtures::code("c", "web", "u1", "openid")).await;
        fixtures::disable(&store, "u1").await;
        let ctx = fixtures::issue(fixtures::NOW);
        let form = fixtures::params("code=c&redirect_uri=https%3A%2F%2Fapp.example%2Fcb");
        let result = handle(&store, &ctx, fixtures::id_signer(), &web, &form).await;
        assert!(matches!(result, Err(OAuthError::InvalidCode)), "{result:?}");
    }

    /// 7.: a code used twice is `invalid_grant`, and what its first use
    /// issued is revoked (RFC 6749 §4.1.2): its refresh token no longer
    /// refreshes.
    #[tokio::test]
    async fn a_replayed_code_revokes_what_it_issued() {
        let (store, [web, _, _]) = setup().await;
        fixtures::add_code(&store, &fixtures::code("c", "web", "u1", "openid offline_access")).await;
        let ctx = fixtures::issue(fixtures::NOW);
        let form = fixtures::params("code=c&redirect_uri=https%3A%2F%2Fapp.example%2Fcb");
        let first = handle(&store, &ctx, fixtures::id_signer(), &web, &form)
            .await
            .unwrap();
        let again = handle(&store, &ctx, fixtures::id_signer(), &web, &form).await;
        assert!(matches!(again, Err(OAuthError::CodeReplayed)), "{again:?}");
        let refresh = fixtures::params(&format!("refresh_token={}", first.refresh_token.unwrap()));
        let refreshed = super::super::refresh_token::handle(&store, &ctx, &web, &refresh).await;
        assert!(refreshed.is_err(), "the family is revoked: {refreshed:?}");
    }

    /// 8.: the ID token carries the code's nonce, `sid`, `amr` and
    /// `auth_time`, for the client, signed by the ID-token signer.
    #[tokio::test]
    async fn the_id_token_carries_the_codes_sign_in() {
        let (store, [web, _, _]) = setup().await;
        fixtures::add_code(&store, &fixtures::code("c", "web", "u1", "openid")).await;
        let ctx = fixtures::issue(fixtures::NOW);
        let form = fixtures::params("code=c&redirect_uri=https%3A%2F%2Fapp.example%2Fcb");
        let tokens = handle(&store, &ctx, fixtures::id_signer(), &web, &form)
            .await
            .unwrap();
        let key = fixtures::id_signer().key().verifying_key().unwrap();
        let keys = tessera_jwt::KeySet::new(vec![key]).unwrap();
        let rules = tessera_jwt::Validation::new()
            .issuer(fixtures::ISSUER)
            .audience("web");
        let claims = keys
            .verify::<serde_json::Value>(
                tokens.id_token.as_deref().unwrap(),
                &rules,
                tessera_jwt::UnixTime::from_secs(fixtures::NOW),
            )
            .unwrap()
            .into_claims();
        assert_eq!(claims["sub"], "u1");
        assert_eq!(claims["nonce"], "n-0S6_WzA2Mj");
        assert_eq!(claims["sid"], "sid-1");
        assert_eq!(claims["amr"], serde_json::json!(["pwd"]));
        assert_eq!(claims["auth_time"], fixtures::NOW - 5);
        assert!(claims["at_hash"].is_string());
    }

    /// RFC 7636 Appendix B: the verifier
    /// `dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk` has the S256 challenge
    /// `E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM`.
    #[test]
    fn s256_matches_rfc_7636_appendix_b() {
        let verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
        assert!(is_verifier(verifier));
        let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, verifier.as_bytes());
        assert_eq!(
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(digest),
            "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
        );
        assert!(!is_verifier("short"));
        assert!(!is_verifier(&"a".repeat(129)));
        assert!(!is_verifier(&format!("{}+", "a".repeat(43))));
    }
}
