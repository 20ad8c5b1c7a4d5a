//! Tokens for a user: a JWT access token with the claims the grant
//! releases, and a refresh token (when the client may use the refresh
//! grant) that belongs to a rotation family.
//!
//! Issuing is two steps, so the grant can store what it issues in the same
//! transaction that consumes its code or refresh token ([RFC 9700
//! §4.14.2]): [`prepare`] draws the ids and secrets and says what will be
//! stored ([`IssuedGrant`]); the grant stores it; [`Prepared::sign`] then
//! signs the access token, whose `jti` is already recorded, so a
//! revocation racing with the grant always reaches it.
//!
//! [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2

use tessera_jwt::Signer;

use super::access_token::{self, AccessClaims, TokenResponse};
use super::client_auth::hash_secret;
use super::dpop::Jkt;
use super::{claims, OAuthError, Scope};
use crate::domain::{Resources, Target};
use crate::store::{Client, Family, IssuedGrant, RefreshToken, RefreshTokenStore, User};

/// What a grant gave the client: the scope and the resources (RFC 8707)
/// the refresh token remembers, and what this one access token is for.
#[derive(Clone, Copy, Debug)]
pub struct Granted<'a> {
    /// The granted scope.
    pub scope: &'a Scope,
    /// The granted resources (none: the client's registered audiences).
    pub resources: &'a Resources,
    /// This access token's resources and narrowed scope, when the grant
    /// names resources ([`crate::domain::Registry::target`]).
    pub target: Option<&'a Target>,
}

impl<'a> Granted<'a> {
    /// A grant of `scope` that names no resource.
    pub fn scope(scope: &'a Scope) -> Granted<'a> {
        Granted {
            scope,
            resources: Resources::none(),
            target: None,
        }
    }
}

/// How long one refresh token lives (30 days), within its family's
/// absolute lifetime.
pub const REFRESH_TTL: i64 = 30 * 24 * 3600;

/// What issuing needs.
pub struct Issue<'a> {
    /// The issuer identifier.
    pub issuer: &'a str,
    /// The access-token signer.
    pub signer: &'a Signer,
    /// Now.
    pub now: i64,
    /// The client's network address, when known.
    pub peer: Option<std::net::IpAddr>,
    /// How long a refresh family lives from its sign-in.
    pub family_lifetime: i64,
    /// Where clients are found.
    pub clients: &'a crate::clients::directory::Directory,
    /// The DPoP key the token request proved, if any ([RFC 9449 §5]): the
    /// access token is bound to it, and a public client's new refresh
    /// family too.
    ///
    /// [RFC 9449 §5]: https://www.rfc-editor.org/rfc/rfc9449#section-5
    pub dpop: Option<Jkt>,
}

impl Issue<'_> {
    /// Whom a client assertion sent with this request must be for.
    pub fn audience(&self) -> crate::oauth::client_auth::Audience<'_> {
        crate::oauth::client_auth::Audience {
            issuer: self.issuer,
            now: self.now,
            clients: self.clients,
        }
    }
}

fn random_token() -> Result<String, OAuthError> {
    crate::random::base64url(32).ok_or_else(|| OAuthError::Internal("no randomness".into()))
}

/// Where the refresh token goes.
pub enum FamilyOf {
    /// A new family, started by a sign-in now (password grant) or at
    /// `auth_time` in SSO session `sid` (authorization code).
    New {
        /// The SSO session, for browser sign-ins.
        sid: Option<String>,
    },
    /// The family of a rotated token, which ends at `expires_at`.
    Existing {
        /// The family.
        family_id: String,
        /// Its absolute end.
        expires_at: i64,
    },
}

/// Tokens drawn but not yet signed; [`Prepared::grant`] is what to store.
pub struct Prepared<'a> {
    claims: AccessClaims<'a>,
    refresh_token: Option<String>,
    ttl: i64,
    /// What the grant stores before signing.
    pub grant: IssuedGrant,
}

/// The random parts of one token response, drawn before the grant reads
/// what it needs, so that a grant deciding inside a transaction
/// ([`crate::store::RefreshTokenStore::rotate_refresh_token`]) and the
/// signing after it build the same tokens from them.
#[derive(Clone, Debug)]
pub struct Drawn {
    jti: String,
    refresh_token: String,
    family_id: String,
}

impl Drawn {
    /// Draws an access token `jti`, a refresh token and a family id.
    pub fn new() -> Result<Drawn, OAuthError> {
        Ok(Drawn {
            jti: access_token::new_jti()?,
            refresh_token: random_token()?,
            family_id: random_token()?,
        })
    }
}

/// Whether a new sign-in gives `client` a refresh token (when it may use
/// the refresh grant at all).
///
/// A third-party client gets one only when `offline_access` was granted
/// (OpenID Connect Core §11): a refresh token lets it act while the user is
/// away, which the user must approve. A third-party client is always shown
/// the consent page, which names `offline_access` ("Stay signed in when
/// you are away"), unless the user approved these very scopes, that scope
/// included, for it before; Tessera counts that earlier approval as the
/// consent §11 asks for (node-oidc-provider asks again with
/// `prompt=consent`; §11 allows "other conditions" in its place). The
/// operator's own apps (`first_party`, or allowed the password grant) get
/// one as before: the person is using the app, not delegating to a third
/// party.
pub fn offline_allowed(client: &Client, granted: &Scope) -> bool {
    claims::is_first_party(client) || granted.has("offline_access")
}

/// Draws the access token's `jti`, and a refresh token in `family` when the
/// client may refresh (a new family: see [`offline_allowed`]).
pub fn prepare<'a>(
    ctx: &Issue<'a>,
    client: &'a Client,
    user: &'a User,
    granted: Granted<'a>,
    family: FamilyOf,
) -> Result<Prepared<'a>, OAuthError> {
    Ok(prepare_drawn(ctx, client, user, granted, family, Drawn::new()?))
}

/// [`prepare`] from values drawn already: the same `drawn` and inputs give
/// the same tokens.
pub fn prepare_drawn<'a>(
    ctx: &Issue<'a>,
    client: &'a Client,
    user: &'a User,
    granted: Granted<'a>,
    family: FamilyOf,
    drawn: Drawn,
) -> Prepared<'a> {
    // RFC 8707 §2: the token is for the named resources, with the scopes
    // they accept; else for the client's registered audiences.
    let (aud, access_scope) = match granted.target {
        Some(t) => (
            access_token::audience(t.resources.identifiers(), ctx.issuer),
            &t.scope,
        ),
        None => (
            access_token::audience(&client.audiences, ctx.issuer),
            granted.scope,
        ),
    };
    let jti = drawn.jti;
    let expires_at = ctx.now.saturating_add(client.access_token_ttl);
    let released = claims::Released::for_grant(user, client, access_scope);
    let claims = AccessClaims {
        iss: ctx.issuer,
        sub: &user.id,
        aud,
        exp: expires_at,
        iat: ctx.now,
        jti: jti.clone(),
        client_id: &client.id,
        scope: access_scope.as_str(),
        preferred_username: released.preferred_username,
        roles: released.roles,
        email: released.email,
        email_verified: released.email_verified,
        name: released.name,
        cnf: access_token::Confirmation::of(ctx.dpop.as_ref()),
    };
    let mut grant = IssuedGrant {
        access_jti: jti,
        access_expires_at: expires_at,
        refresh: None,
        new_family: None,
    };
    let refreshable = client.may_use(super::grant::GrantType::RefreshToken)
        && match family {
            FamilyOf::New { .. } => offline_allowed(client, granted.scope),
            // A family exists: it was allowed when it began.
            FamilyOf::Existing { .. } => true,
        };
    let refresh_token = if refreshable {
        let token = drawn.refresh_token;
        let (family_id, family_ends) = match family {
            FamilyOf::Existing {
                family_id,
                expires_at,
            } => (family_id, expires_at),
            FamilyOf::New { sid } => {
                let family = Family {
                    family_id: drawn.family_id,
                    client_id: client.id.clone(),
                    user_id: user.id.clone(),
                    sid,
                    offline: granted.scope.has("offline_access"),
                    created_at: ctx.now,
                    expires_at: ctx.now.saturating_add(ctx.family_lifetime),
                    // RFC 9449 §5: a public client's refresh tokens are
                    // bound to the key; a confidential client's are not
                    // ("already sender-constrained" by its authentication).
                    dpop_jkt: match client.is_public() {
                        true => ctx.dpop.as_ref().map(|k| k.as_str().to_owned()),
                        false => None,
                    },
                };
                let ids = (family.family_id.clone(), family.expires_at);
                grant.new_family = Some(family);
                ids
            }
        };
        grant.refresh = Some(RefreshToken {
            token_hash: hash_secret(&token),
            family_id,
            client_id: client.id.clone(),
            user_id: user.id.clone(),
            scope: granted.scope.clone(),
            resources: granted.resources.clone(),
            expires_at: ctx.now.saturating_add(REFRESH_TTL).min(family_ends),
        });
        Some(token)
    } else {
        None
    };
    Prepared {
        claims,
        refresh_token,
        ttl: client.access_token_ttl,
        grant,
    }
}

impl Prepared<'_> {
    /// Signs the access token: the token response.
    pub fn sign(self, signer: &Signer) -> Result<TokenResponse, OAuthError> {
        let access_token = access_token::issue(signer, &self.claims)?;
        let scope = (!self.claims.scope.is_empty()).then(|| self.claims.scope.to_owned());
        Ok(TokenResponse {
            token_type: access_token::token_type(&self.claims.cnf),
            access_token,
            expires_in: self.ttl,
            scope,
            refresh_token: self.refresh_token,
            id_token: None,
        })
    }
}

/// Issues tokens that start a new family (password grant): stores the
/// family and refresh token, then signs.
pub async fn issue<S: RefreshTokenStore>(
    store: &S,
    ctx: &Issue<'_>,
    client: &Client,
    user: &User,
    granted: Granted<'_>,
) -> Result<TokenResponse, OAuthError> {
    let prepared = prepare(ctx, client, user, granted, FamilyOf::New { sid: None })?;
    store.record_grant(&prepared.grant).await?;
    prepared.sign(ctx.signer)
}
