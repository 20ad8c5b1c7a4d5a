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
//!    verifier is refused (RFC 9700 §4.8.2, PKCE downgrade).
//! 7. Redeem, in one transaction: the code is marked used, the refresh
//!    family and token and the access token's `jti` are stored. A second
//!    use that passed steps 5-6 (the code's own client, its verifier) finds
//!    the code used and revokes what the first use issued ("SHOULD revoke
//!    ... all tokens previously issued based on that authorization code");
//!    two redemptions at once cannot both win.
//! 8. Sign the access token and, when `openid` was granted, the ID token.
//!
//! [RFC 6749 §4.1.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
//! [RFC 7636 §4.6]: https://www.rfc-editor.org/rfc/rfc7636#section-4.6
//! [OpenID Connect Core §3.1.3]: https://openid.net/specs/openid-connect-core-1_0.html#TokenEndpoint

use base64::Engine;
use tessera_jwt::Signer;

use crate::oauth::access_token::TokenResponse;
use crate::oauth::client_auth::hash_secret;
use crate::oauth::client_auth::CallingClient;
use crate::oauth::user_tokens::{self, FamilyOf, Issue};
use crate::oauth::{id_token, OAuthError, Params};
use crate::store::{CodeStore, Redeemed, RefreshTokenStore, UserStore};

/// The grant type this module serves.
pub const GRANT_TYPE: super::GrantType = super::GrantType::AuthorizationCode;

/// Handles an authorization code token request.
pub async fn handle<S: CodeStore + UserStore + RefreshTokenStore>(
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
    // 7.
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
    let prepared = user_tokens::prepare(ctx, client, &user, &code.scope, family)?;
    match store.redeem_code(&hash, ctx.now, &prepared.grant).await? {
        Redeemed::Fresh(_) => {}
        Redeemed::Replayed => {
            tracing::warn!(target: "audit", client_id = %client.id, "authorization code replayed; its tokens are revoked");
            return Err(OAuthError::CodeReplayed);
        }
        Redeemed::Unknown => return Err(OAuthError::InvalidCode),
    }
    // 8.
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
