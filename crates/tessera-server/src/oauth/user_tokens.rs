//! Tokens for a user: a JWT access token with the user's claims, and a
//! refresh token (when the client may use the refresh grant) that belongs
//! to a rotation family.

use tessera_jwt::Signer;

use super::access_token::{self, AccessClaims, TokenResponse};
use super::client_auth::hash_secret;
use super::{scope, OAuthError};
use crate::store::{Client, RefreshToken, RefreshTokenStore, User};

/// How long a refresh token lives (30 days).
pub const REFRESH_TTL: i64 = 30 * 24 * 3600;

/// What issuing needs.
pub struct Issue<'a> {
    /// The issuer identifier.
    pub issuer: &'a str,
    /// The access-token signer.
    pub signer: &'a Signer,
    /// Now.
    pub now: i64,
    /// Failed logins by client address (password grant).
    pub throttle: &'a super::throttle::LoginThrottle,
    /// The client's network address, when known.
    pub peer: Option<std::net::IpAddr>,
}

fn random_token() -> Result<String, OAuthError> {
    crate::random::base64url(32).ok_or_else(|| OAuthError::Internal("no randomness".into()))
}

/// Issues an access token, and a refresh token in `family` (a new family
/// when `None`) if the client may refresh.
pub async fn issue<S: RefreshTokenStore>(
    store: &S,
    ctx: &Issue<'_>,
    client: &Client,
    user: &User,
    granted: &str,
    family: Option<String>,
) -> Result<TokenResponse, OAuthError> {
    issue_recorded(store, ctx, client, user, granted, family)
        .await
        .map(|issued| issued.response)
}

/// What was issued, with what revoking it later needs.
pub struct Issued {
    /// The token response.
    pub response: TokenResponse,
    /// The access token's `jti`.
    pub jti: String,
    /// The access token's `exp`.
    pub expires_at: i64,
    /// The refresh token's family, if one was issued.
    pub family_id: Option<String>,
}

/// [`issue`], also returning the access token's `jti` and the refresh
/// family, so an authorization code can record what it produced.
pub async fn issue_recorded<S: RefreshTokenStore>(
    store: &S,
    ctx: &Issue<'_>,
    client: &Client,
    user: &User,
    granted: &str,
    family: Option<String>,
) -> Result<Issued, OAuthError> {
    let aud = access_token::audience(&client.audiences, ctx.issuer);
    let jti = access_token::new_jti()?;
    let expires_at = ctx.now.saturating_add(client.access_token_ttl);
    let claims = AccessClaims {
        iss: ctx.issuer,
        sub: &user.id,
        aud,
        exp: expires_at,
        iat: ctx.now,
        jti: jti.clone(),
        client_id: &client.id,
        scope: granted,
        preferred_username: Some(&user.username),
        roles: Some(&user.roles),
        email: user.email.as_deref().filter(|_| scope::has(granted, "email")),
        name: user.name.as_deref().filter(|_| scope::has(granted, "profile")),
    };
    let access_token = access_token::issue(ctx.signer, &claims)?;
    let mut issued_family = None;
    let refresh_token = if client.grant_types.iter().any(|g| g == "refresh_token") {
        let token = random_token()?;
        let family_id = match family {
            Some(f) => f,
            None => random_token()?,
        };
        issued_family = Some(family_id.clone());
        store
            .insert_refresh_token(&RefreshToken {
                token_hash: hash_secret(&token),
                family_id,
                client_id: client.id.clone(),
                user_id: user.id.clone(),
                scope: granted.to_owned(),
                expires_at: ctx.now.saturating_add(REFRESH_TTL),
            })
            .await?;
        Some(token)
    } else {
        None
    };
    Ok(Issued {
        response: TokenResponse {
            access_token,
            token_type: "Bearer",
            expires_in: client.access_token_ttl,
            scope: (!granted.is_empty()).then(|| granted.to_owned()),
            refresh_token,
            id_token: None,
        },
        jti,
        expires_at,
        family_id: issued_family,
    })
}
