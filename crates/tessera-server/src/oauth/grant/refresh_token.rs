//! The refresh token grant ([RFC 6749 §6]) with rotation and reuse
//! detection ([RFC 9700 §4.14.2]). Checks in the order of §6:
//!
//! 1. `grant_type` is `refresh_token` (dispatched by the caller).
//! 2. `refresh_token` is required.
//! 3. "require client authentication for confidential clients": done by
//!    the caller; public clients are identified by `client_id`.
//! 4. The client may use the refresh grant.
//! 5. "ensure that the refresh token was issued to the authenticated
//!    client" and is still usable: unused, unrevoked, unexpired, in a live
//!    family (a family ends a fixed time after its sign-in, however often it
//!    is rotated). Another client's token is invalid and stays untouched.
//! 6. `scope`, if given, within the original grant ("MUST NOT include any
//!    scope not originally granted"); `resource` ([RFC 8707 §2.2]), if
//!    given, within the resources granted (`invalid_target`: narrowed,
//!    never widened), each still registered and allowed to the client; the
//!    user still exists and is enabled. The new refresh token remembers
//!    the whole grant; the access token is for the resources asked for. A
//!    family bound to a DPoP key (a public client's, [RFC 9449 §5]) is
//!    refreshed only with a proof made with that key (`invalid_grant`).
//! 7. Rotate, in one transaction serialised on the family: the old token is
//!    used up, the new refresh token and the new access token's `jti` are
//!    stored. A token presented a second time is a replay: the whole family
//!    and every access token it issued are revoked ("the authorization
//!    server ... revokes all refresh tokens of that family", RFC 9700
//!    §4.14.2), and the answer is `invalid_grant`.
//! 8. Sign the new access token (its `jti` is already recorded, so a replay
//!    racing with this request revokes it too).
//!
//! [RFC 6749 §6]: https://www.rfc-editor.org/rfc/rfc6749#section-6
//! [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2
//! [RFC 8707 §2.2]: https://www.rfc-editor.org/rfc/rfc8707#section-2.2
//! [RFC 9449 §5]: https://www.rfc-editor.org/rfc/rfc9449#section-5

use crate::audit::{self, Actor, AuditKind, Event};
use crate::domain::{Resources, Target};
use crate::oauth::access_token::TokenResponse;
use crate::oauth::client_auth::hash_secret;
use crate::oauth::client_auth::CallingClient;
use crate::oauth::user_tokens::{self, FamilyOf, Granted, Issue};
use crate::oauth::{OAuthError, Params, Scope};
use crate::store::{Consumed, Presented, RefreshTokenStore, ResourceStore, User};

/// The grant type this module serves.
pub const GRANT_TYPE: super::GrantType = super::GrantType::RefreshToken;

/// Handles a refresh token request.
pub async fn handle<S: RefreshTokenStore + ResourceStore>(
    store: &S,
    ctx: &Issue<'_>,
    client: &CallingClient,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    // 2.
    let presented = params.require("refresh_token")?;
    let client = client.client();
    // 4.
    if !client.may_use(GRANT_TYPE) {
        return Err(OAuthError::GrantNotAllowed(GRANT_TYPE.as_str()));
    }
    // 6. (parsed before the transaction; checked inside it)
    let requested = params.get("scope").map(Scope::parse).transpose()?;
    let resources = Resources::parse(params.all("resource"))?;
    let registry = store.resources().await?;
    let drawn = user_tokens::Drawn::new()?;
    // What to issue for the token as read: the narrowed scope and the
    // access token's target, built the same way inside the rotation and
    // for signing.
    let grant_for = |presented: &Presented, user: &User| -> Result<(Scope, Option<Target>), OAuthError> {
        if user.disabled_at.is_some() {
            return Err(OAuthError::InvalidRefreshToken);
        }
        if let Some(bound) = &presented.family_jkt {
            if !ctx.dpop.as_ref().is_some_and(|k| k.matches(bound)) {
                return Err(OAuthError::DpopKeyMismatch);
            }
        }
        let scope = presented
            .token
            .scope
            .narrow(requested.as_ref())
            .ok_or(OAuthError::ScopeNotAllowed)?;
        let target = registry.target(client, &presented.token.resources, &resources, &scope)?;
        Ok((scope, target))
    };
    let family_of = |presented: &Presented| FamilyOf::Existing {
        family_id: presented.token.family_id.clone(),
        expires_at: presented.family_expires_at,
    };
    // 5. to 7., in one transaction serialised on the family. (A used token
    // is still found: the store tells a replay.)
    let hash = hash_secret(presented);
    let rotated = store
        .rotate_refresh_token(&hash, &client.id, ctx.now, |presented, user| {
            let (scope, target) = grant_for(presented, user)?;
            let family = family_of(presented);
            let granted = Granted {
                scope: &scope,
                resources: &presented.token.resources,
                target: target.as_ref(),
            };
            Ok(user_tokens::prepare_drawn(ctx, client, user, granted, family, drawn.clone()).grant)
        })
        .await?;
    let (presented, user) = match rotated {
        Consumed::Fresh { presented, user } => (presented, user),
        Consumed::Refused(refused) => return Err(refused),
        Consumed::Replayed { family_id } => {
            let event = Event::new(
                AuditKind::TokenReplayed,
                ctx.now,
                Actor::Server,
                "refresh token replayed: family revoked",
            )
            .client(&client.id)
            .with("token", "refresh_token")
            .with("family_id", family_id.as_str());
            audit::record(store, event).await;
            return Err(OAuthError::RefreshTokenReplayed);
        }
        Consumed::Invalid => return Err(OAuthError::InvalidRefreshToken),
    };
    // 8. The tokens stored in the rotation, rebuilt from the same draw.
    let (scope, target) = grant_for(&presented, &user)?;
    let family = family_of(&presented);
    let granted = Granted {
        scope: &scope,
        resources: &presented.token.resources,
        target: target.as_ref(),
    };
    user_tokens::prepare_drawn(ctx, client, &user, granted, family, drawn).sign(ctx.signer)
}

#[cfg(test)]
mod tests {
    //! One row per check of [RFC 6749 §6] and [RFC 9700 §4.14.2] (the
    //! module's numbered list), against an in-memory store, no socket.
    //!
    //! [RFC 6749 §6]: https://www.rfc-editor.org/rfc/rfc6749#section-6
    //! [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2

    use super::*;
    use crate::fixtures;
    use crate::oauth::grant::GrantType;
    use crate::oauth::user_tokens::REFRESH_TTL;
    use crate::store::Store;

    type Expect = fn(&Result<TokenResponse, OAuthError>) -> bool;

    /// The clients `web` (may refresh), `other` (may refresh too) and `cc`
    /// (may not), and the user `u1`.
    async fn setup() -> (Store, [CallingClient; 3], User) {
        let store = fixtures::store().await;
        let grants = [GrantType::AuthorizationCode, GrantType::RefreshToken];
        let scopes = "openid profile email offline_access";
        let web = fixtures::client("web", Some("web-secret"), &grants, scopes);
        let web = fixtures::registered(&store, &web, Some("web-secret")).await;
        let other = fixtures::client("other", Some("other-secret"), &grants, scopes);
        let other = fixtures::registered(&store, &other, Some("other-secret")).await;
        let cc = fixtures::client("cc", Some("cc-secret"), &[GrantType::ClientCredentials], scopes);
        let cc = fixtures::registered(&store, &cc, Some("cc-secret")).await;
        let user = fixtures::user("u1", "alice", "alice's long password");
        fixtures::add_user(&store, &user).await;
        (store, [web, other, cc], user)
    }

    /// A refresh token for `web` and `u1`, issued at [`fixtures::NOW`] in a
    /// family that lives `family_lifetime`.
    async fn issued(store: &Store, web: &CallingClient, user: &User, family_lifetime: i64) -> String {
        let ctx = Issue {
            family_lifetime,
            ..fixtures::issue(fixtures::NOW)
        };
        let scope = Scope::from_tokens(["openid", "profile", "offline_access"]);
        user_tokens::issue(store, &ctx, web.client(), user, Granted::scope(&scope))
            .await
            .unwrap()
            .refresh_token
            .unwrap()
    }

    #[tokio::test]
    async fn rfc_6749_6_checks() {
        let (store, [web, other, cc], user) = setup().await;
        let later = fixtures::NOW + 60;
        let rows: &[(&str, &CallingClient, i64, i64, &str, Expect)] = &[
            (
                "2. refresh_token is required",
                &web,
                fixtures::FAMILY_LIFETIME,
                later,
                "",
                |r| matches!(r, Err(OAuthError::MissingParameter("refresh_token"))),
            ),
            (
                "4. a client that may not refresh",
                &cc,
                fixtures::FAMILY_LIFETIME,
                later,
                "refresh_token=TOKEN",
                |r| matches!(r, Err(OAuthError::GrantNotAllowed("refresh_token"))),
            ),
            (
                "5. an unknown token",
                &web,
                fixtures::FAMILY_LIFETIME,
                later,
                "refresh_token=not-a-token",
                |r| matches!(r, Err(OAuthError::InvalidRefreshToken)),
            ),
            (
                "5. a token issued to another client",
                &other,
                fixtures::FAMILY_LIFETIME,
                later,
                "refresh_token=TOKEN",
                |r| matches!(r, Err(OAuthError::InvalidRefreshToken)),
            ),
            (
                "5. an expired token",
                &web,
                fixtures::FAMILY_LIFETIME,
                fixtures::NOW + REFRESH_TTL + 1,
                "refresh_token=TOKEN",
                |r| matches!(r, Err(OAuthError::InvalidRefreshToken)),
            ),
            (
                "5. a token of a family past its lifetime (however often rotated)",
                &web,
                30,
                fixtures::NOW + 31,
                "refresh_token=TOKEN",
                |r| matches!(r, Err(OAuthError::InvalidRefreshToken)),
            ),
            (
                "6. a scope not originally granted",
                &web,
                fixtures::FAMILY_LIFETIME,
                later,
                "refresh_token=TOKEN&scope=openid%20email",
                |r| matches!(r, Err(OAuthError::ScopeNotAllowed)),
            ),
            (
                "6. a narrower scope is granted",
                &web,
                fixtures::FAMILY_LIFETIME,
                later,
                "refresh_token=TOKEN&scope=openid",
                |r| r.as_ref().is_ok_and(|t| t.scope.as_deref() == Some("openid")),
            ),
            (
                "7./8. rotation: a new refresh token and access token",
                &web,
                fixtures::FAMILY_LIFETIME,
                later,
                "refresh_token=TOKEN",
                |r| {
                    r.as_ref().is_ok_and(|t| {
                        t.refresh_token.is_some()
                            && t.scope.as_deref() == Some("openid profile offline_access")
                    })
                },
            ),
        ];
        for (check, client, lifetime, now, form, expect) in rows {
            let token = issued(&store, &web, &user, *lifetime).await;
            let ctx = fixtures::issue(*now);
            let form = fixtures::params(&form.replace("TOKEN", &token));
            let result = handle(&store, &ctx, client, &form).await;
            assert!(expect(&result), "{check}: {result:?}");
            assert_ne!(
                result.ok().and_then(|t| t.refresh_token),
                Some(token),
                "{check}: rotated"
            );
        }
    }

    /// 5.: another client's attempt leaves the token untouched: its own
    /// client refreshes with it after.
    #[tokio::test]
    async fn another_client_cannot_burn_a_token() {
        let (store, [web, other, _], user) = setup().await;
        let token = issued(&store, &web, &user, fixtures::FAMILY_LIFETIME).await;
        let ctx = fixtures::issue(fixtures::NOW + 1);
        let form = fixtures::params(&format!("refresh_token={token}"));
        let stolen = handle(&store, &ctx, &other, &form).await;
        assert!(
            matches!(stolen, Err(OAuthError::InvalidRefreshToken)),
            "{stolen:?}"
        );
        let own = handle(&store, &ctx, &web, &form).await;
        assert!(own.is_ok(), "{own:?}");
    }

    /// 6.: a disabled user's token no longer refreshes.
    #[tokio::test]
    async fn a_disabled_users_token_is_refused() {
        let (store, [web, _, _], user) = setup().await;
        let token = issued(&store, &web, &user, fixtures::FAMILY_LIFETIME).await;
        fixtures::disable(&store, "u1").await;
        let ctx = fixtures::issue(fixtures::NOW + 1);
        let result = handle(
            &store,
            &ctx,
            &web,
            &fixtures::params(&format!("refresh_token={token}")),
        )
        .await;
        assert!(
            matches!(result, Err(OAuthError::InvalidRefreshToken)),
            "{result:?}"
        );
    }

    /// 7.: a used token presented again is a replay: `invalid_grant`, and
    /// the whole family is revoked, the token it was rotated into too
    /// (RFC 9700 §4.14.2).
    #[tokio::test]
    async fn a_replayed_token_revokes_its_family() {
        let (store, [web, _, _], user) = setup().await;
        let first = issued(&store, &web, &user, fixtures::FAMILY_LIFETIME).await;
        let ctx = fixtures::issue(fixtures::NOW + 1);
        let form = |t: &str| fixtures::params(&format!("refresh_token={t}"));
        let second = handle(&store, &ctx, &web, &form(&first))
            .await
            .unwrap()
            .refresh_token
            .unwrap();
        let replay = handle(&store, &ctx, &web, &form(&first)).await;
        assert!(
            matches!(replay, Err(OAuthError::RefreshTokenReplayed)),
            "{replay:?}"
        );
        let after = handle(&store, &ctx, &web, &form(&second)).await;
        assert!(after.is_err(), "the family is revoked: {after:?}");
    }
}
