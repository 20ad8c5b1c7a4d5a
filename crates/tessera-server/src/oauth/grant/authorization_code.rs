//! The authorization code grant's token request ([RFC 6749 §4.1.3]), with
//! PKCE ([RFC 7636 §4.6]) and OpenID Connect's ID token ([OpenID Connect
//! Core §3.1.3]). Checks in the order of §4.1.3:
//!
//! 1. `grant_type` is `authorization_code` (dispatched by the caller).
//! 2. "require client authentication for confidential clients": done by
//!    the caller; public clients are identified by `client_id`.
//! 3. The client is registered for this grant type.
//! 4. `code` is required; it is redeemed in one conditional update, so it
//!    works once. A second use fails and revokes the tokens issued with the
//!    first ("SHOULD revoke ... all tokens previously issued based on that
//!    authorization code").
//! 5. "ensure that the authorization code was issued to the authenticated
//!    confidential client, or ... to the public client", that it has not
//!    expired (60 s), and that `redirect_uri` is "identical" to the one in
//!    the authorization request.
//! 6. PKCE: with a challenge, the verifier is required and
//!    `BASE64URL(SHA256(code_verifier))` must equal it; without one, a
//!    verifier is refused (RFC 9700 §4.8.2, PKCE downgrade).
//! 7. Issue the access token (and a refresh token when the client may
//!    refresh) and, when `openid` was granted, an ID token; record what was
//!    issued against the code, for step 4's revocation.
//!
//! [RFC 6749 §4.1.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.3
//! [RFC 7636 §4.6]: https://www.rfc-editor.org/rfc/rfc7636#section-4.6
//! [OpenID Connect Core §3.1.3]: https://openid.net/specs/openid-connect-core-1_0.html#TokenEndpoint

use base64::Engine;
use tessera_jwt::Signer;

use crate::oauth::access_token::TokenResponse;
use crate::oauth::client_auth::hash_secret;
use crate::oauth::user_tokens::{self, Issue};
use crate::oauth::{id_token, scope, AuthenticatedClient, OAuthError, Params};
use crate::store::{CodeStore, Redeemed, RefreshTokenStore, UserStore};

/// The grant type this module serves.
pub const GRANT_TYPE: &str = "authorization_code";

/// Handles an authorization code token request.
pub async fn handle<S: CodeStore + UserStore + RefreshTokenStore>(
    store: &S,
    ctx: &Issue<'_>,
    id_signer: &Signer,
    client: &AuthenticatedClient,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let client = client.client();
    // 3.
    if !client.grant_types.iter().any(|g| g == GRANT_TYPE) {
        return Err(OAuthError::GrantNotAllowed(GRANT_TYPE.into()));
    }
    // 4.
    let code = params.require("code")?;
    let redirect_uri = params.require("redirect_uri")?;
    let hash = hash_secret(code);
    let code = match store.redeem_code(&hash, ctx.now).await? {
        Redeemed::Fresh(code) => code,
        Redeemed::Replayed => {
            tracing::warn!(target: "audit", client_id = %client.id, "authorization code replayed; its tokens are revoked");
            return Err(OAuthError::CodeReplayed);
        }
        Redeemed::Unknown => return Err(OAuthError::InvalidCode),
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
    let Some(user) = store.user(&code.user_id).await? else {
        return Err(OAuthError::InvalidCode);
    };
    let issued = user_tokens::issue_recorded(store, ctx, client, &user, &code.scope, None).await?;
    store
        .record_issued(&hash, &issued.jti, issued.expires_at, issued.family_id.as_deref())
        .await?;
    let mut response = issued.response;
    if scope::has(&code.scope, "openid") {
        response.id_token = Some(id_token::issue(
            id_signer,
            &id_token::IdToken {
                issuer: ctx.issuer,
                client_id: &client.id,
                user: &user,
                scope: &code.scope,
                nonce: code.nonce.as_deref(),
                auth_time: code.auth_time,
                sid: &code.sid,
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
