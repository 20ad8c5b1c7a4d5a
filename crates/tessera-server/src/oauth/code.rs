//! Issuing an authorization code ([RFC 6749 §4.1.2]), the authorization
//! endpoint's half of the code grant; [`super::grant::authorization_code`]
//! is the token endpoint's half, which redeems it.
//!
//! 1. 256 random bits; only the SHA-256 is stored.
//! 2. Bound to everything the token request must match: the client, the
//!    `redirect_uri`, the PKCE challenge, the DPoP key (`dpop_jkt`, RFC
//!    9449 §10), and what the ID token will say
//!    (user, `nonce`, `auth_time`, `sid`, `amr`).
//! 3. Redeemable for [`CODE_TTL`] seconds (RFC 6749 §4.1.2 recommends at
//!    most 10 minutes; a browser redirect takes seconds).
//! 4. The response: `code`, `state` when the request had one, and `iss`
//!    ([RFC 9207 §2]) on the registered redirect URI.
//!
//! [RFC 6749 §4.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2
//! [RFC 9207 §2]: https://www.rfc-editor.org/rfc/rfc9207#section-2

use super::authorize::{redirect_url, AuthorizationRequest};
use super::client_auth::hash_secret;
use super::OAuthError;
use crate::domain::Amr;
use crate::store::{AuthorizationCode, CodeStore};

/// How long an authorization code may be redeemed.
pub const CODE_TTL: i64 = 60;

/// Who the code is for.
#[derive(Clone, Copy, Debug)]
pub struct Subject<'a> {
    /// The user.
    pub user_id: &'a str,
    /// When they signed in (the ID token's `auth_time`).
    pub auth_time: i64,
    /// The SSO session (the ID token's `sid`).
    pub sid: &'a str,
    /// How they signed in (the ID token's `amr`, RFC 8176).
    pub amr: &'a Amr,
}

/// Issues a code for `request` and `subject`; the redirect that carries it.
pub async fn issue<S: CodeStore>(
    store: &S,
    issuer: &str,
    request: &AuthorizationRequest,
    subject: Subject<'_>,
    now: i64,
) -> Result<String, OAuthError> {
    // 1.
    let code = crate::random::base64url(32).ok_or_else(|| OAuthError::Internal("no randomness".into()))?;
    // 2-3.
    store
        .insert_code(&AuthorizationCode {
            code_hash: hash_secret(&code),
            client_id: request.client().id.clone(),
            user_id: subject.user_id.to_owned(),
            redirect_uri: request.redirect_uri().to_owned(),
            scope: request.scope().clone(),
            nonce: request.nonce().map(str::to_owned),
            code_challenge: request.code_challenge().map(str::to_owned),
            auth_time: subject.auth_time,
            sid: subject.sid.to_owned(),
            expires_at: now + CODE_TTL,
            amr: subject.amr.clone(),
            resources: request.resources().clone(),
            dpop_jkt: request.dpop_jkt().map(str::to_owned),
        })
        .await?;
    tracing::info!(target: "audit", user_id = %subject.user_id, client_id = %request.client().id, "authorization code issued");
    // 4.
    let mut params = vec![("code", code.as_str())];
    if let Some(state) = request.state() {
        params.push(("state", state));
    }
    params.push(("iss", issuer));
    Ok(redirect_url(request.redirect_uri(), &params))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Method;
    use crate::store::{Client, Store};

    fn request(state: Option<&str>, redirect_uri: &str) -> AuthorizationRequest {
        let client = Client {
            id: "app".into(),
            name: "App".into(),
            credentials: crate::domain::ClientCredentials::None,
            grant_types: vec![crate::domain::GrantType::AuthorizationCode],
            scopes: crate::oauth::Scope::from_tokens(["openid"]),
            audiences: vec![],
            redirect_uris: vec![redirect_uri.into()],
            access_token_ttl: 60,
            created_at: 0,
            refresh_cookie: false,
            first_party: false,
            post_logout_redirect_uris: vec![],
            resource_server_for: vec![],
            require_par: false,
            dpop_bound: false,
            require_mfa: false,
            admin: false,
            provenance: crate::domain::Provenance::Operator,
        };
        AuthorizationRequest::for_tests(
            client,
            redirect_uri,
            crate::oauth::Scope::from_stored("openid"),
            state,
        )
    }

    /// RFC 6749 §4.1.2 and RFC 9207 §2: the code and `state` go back on the
    /// registered URI (its own query kept), with `iss`; the stored code is
    /// bound to what the token request must match, hashed, for 60 s.
    #[tokio::test]
    async fn issues_a_bound_code_on_the_redirect_uri() {
        let dir = std::env::temp_dir().join(format!("tessera-code-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let store = Store::open(&format!("sqlite://{}/t.db", dir.display()))
            .await
            .unwrap();
        let amr = Amr::of([Method::Password]);
        let subject = Subject {
            user_id: "u1",
            auth_time: 900,
            sid: "sid-1",
            amr: &amr,
        };
        for (state, uri) in [
            (Some("xyz"), "https://app.example/cb?tenant=a"),
            (None, "https://app.example/cb"),
        ] {
            let url = issue(&store, "https://id.example", &request(state, uri), subject, 1_000)
                .await
                .unwrap();
            let (base, query) = url.split_once('?').unwrap();
            assert_eq!(base, "https://app.example/cb");
            let params: std::collections::HashMap<String, String> =
                form_urlencoded::parse(query.as_bytes()).into_owned().collect();
            assert_eq!(params.get("iss").map(String::as_str), Some("https://id.example"));
            assert_eq!(params.get("state").map(String::as_str), state);
            assert_eq!(params.contains_key("tenant"), uri.contains("tenant"));
            let code = &params["code"];
            assert_eq!(code.len(), 43, "256 bits");
            let stored = store.code(&hash_secret(code)).await.unwrap().unwrap();
            assert_eq!(
                (
                    stored.client_id.as_str(),
                    stored.user_id.as_str(),
                    stored.redirect_uri.as_str()
                ),
                ("app", "u1", uri)
            );
            assert_eq!(
                (stored.auth_time, stored.sid.as_str(), stored.amr.clone()),
                (900, "sid-1", amr.clone())
            );
            assert_eq!(stored.expires_at, 1_000 + CODE_TTL);
            assert!(
                store.code(code.as_bytes()).await.unwrap().is_none(),
                "only the hash is stored"
            );
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}
