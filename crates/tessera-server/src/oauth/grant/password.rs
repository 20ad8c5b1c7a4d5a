//! The resource owner password credentials grant ([RFC 6749 §4.3]), for
//! first-party apps only: a client must be registered for it explicitly.
//! Checks in the order of §4.3.2:
//!
//! 1. `grant_type` is `password` (dispatched by the caller).
//! 2. `username` and `password` are required.
//! 3. "require client authentication for confidential clients": done by
//!    the caller; public clients are identified by `client_id`.
//! 4. The client is registered for this grant type.
//! 5. `resource` ([RFC 8707 §2]), if sent: registered and allowed to the
//!    client (`invalid_target`); `scope` within the client's scopes and
//!    those the resources accept.
//! 6. "validate the resource owner password credentials using its existing
//!    password validation algorithm": argon2id on the blocking pool; an
//!    unknown user costs the same as a wrong password; a locked account is
//!    refused; five failures in a row lock it for five minutes
//!    ("the authorization server MUST protect the endpoint against
//!    brute force attacks").
//! 7. Issue 19, "no bypass": a user with a second factor is refused
//!    (`invalid_grant`) even after the right password, since this grant
//!    has no step for the code.
//! 8. Issue an access token and, if the client may refresh, a refresh
//!    token in a new family.
//!
//! [RFC 6749 §4.3]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3
//! [RFC 8707 §2]: https://www.rfc-editor.org/rfc/rfc8707#section-2

use crate::audit::{self, Actor, AuditKind, Event};
use zeroize::Zeroizing;

use crate::domain::resource::accepted_scopes;
use crate::domain::{Registry, Resources, Target};
use crate::oauth::access_token::TokenResponse;
use crate::oauth::client_auth::CallingClient;
use crate::oauth::user_tokens::{self, Granted, Issue};
use crate::oauth::{sign_in, OAuthError, Params, Scope};
use crate::store::{AttemptStore, FactorStore, RefreshTokenStore, ResourceStore, UserStore};

/// The grant type this module serves.
pub const GRANT_TYPE: super::GrantType = super::GrantType::Password;

/// What checks 4 and 5 granted a request: the scope, the resources, and
/// the access token's target. Issued by [`issue`] once the user is known
/// (after step 6, and for the JSON API after its second step).
#[derive(Debug)]
pub struct Approved {
    scope: Scope,
    resources: Resources,
    target: Option<Target>,
}

/// Handles a password grant request (the token endpoint: no device
/// cookie, so the account's plain lock applies). A user with a second
/// factor is refused after a correct password
/// ([`OAuthError::SecondFactorRequired`]): this grant has no second step,
/// and a password alone must not be enough (issue 19, "no bypass").
pub async fn handle<S: UserStore + AttemptStore + RefreshTokenStore + ResourceStore + FactorStore>(
    store: &S,
    ctx: &Issue<'_>,
    client: &CallingClient,
    params: &Params,
) -> Result<TokenResponse, OAuthError> {
    let approved = approve(store, client, params).await?;
    let (user, second_factor) = authenticate(store, ctx, client, params, None).await?;
    if second_factor {
        let event = Event::new(
            AuditKind::SignInFailed,
            ctx.now,
            Actor::User,
            "password grant refused: the user has a second factor",
        )
        .user(&user.id)
        .client(&client.client().id)
        .with("why", "second factor required");
        audit::record(store, event).await;
        return Err(OAuthError::SecondFactorRequired);
    }
    issue(store, ctx, client, &user, &approved).await
}

/// Checks 2 (`username` and `password` present), 4 and 5 of the module
/// docs: what the request may be granted.
pub async fn approve<S: ResourceStore>(
    store: &S,
    client: &CallingClient,
    params: &Params,
) -> Result<Approved, OAuthError> {
    // 2.
    params.require("username")?;
    params.require("password")?;
    approve_scope(store, client, params).await
}

/// Checks 4 and 5 alone (the JSON API's second step asks them again of
/// the first step's scope).
pub async fn approve_scope<S: ResourceStore>(
    store: &S,
    client: &CallingClient,
    params: &Params,
) -> Result<Approved, OAuthError> {
    let client = client.client();
    // 4.
    if !client.may_use(GRANT_TYPE) {
        return Err(OAuthError::GrantNotAllowed(GRANT_TYPE.as_str()));
    }
    // 5.
    let resources = Resources::parse(params.all("resource"))?;
    let registry = if resources.is_empty() {
        Registry::default()
    } else {
        store.resources().await?
    };
    let accepted = accepted_scopes(registry.resolve(client, &resources)?);
    let requested = params.get("scope").map(Scope::parse).transpose()?;
    let scope = client
        .scopes
        .union(&accepted)
        .narrow(requested.as_ref())
        .ok_or(OAuthError::ScopeNotAllowed)?;
    let target = registry.target(client, &resources, Resources::none(), &scope)?;
    Ok(Approved {
        scope,
        resources,
        target,
    })
}

/// Check 6: the user, if the password is theirs, from a browser that may
/// have presented a device cookie (`POST /api/v1/login`, see
/// [`crate::identity::device`]), and whether they have a second factor.
/// For such a user a right password does not clear the account's count of
/// failures: only the completed sign-in does (issue 19). A user without
/// one whom the user's or the client's `require_mfa` obliges to have one
/// is refused ([`OAuthError::MfaEnrollmentRequired`]).
pub async fn authenticate<S: UserStore + AttemptStore + FactorStore>(
    store: &S,
    ctx: &Issue<'_>,
    client: &CallingClient,
    params: &Params,
    device: Option<sign_in::Presented<'_>>,
) -> Result<(crate::store::User, bool), OAuthError> {
    let username = params.require("username")?;
    let password = Zeroizing::new(params.require("password")?.to_owned());
    let known = store
        .user_by_username(&crate::username::normalize(username))
        .await?;
    let second_factor = match &known {
        Some(user) => crate::oauth::sign_in::has_second_factor(store, &user.id).await?,
        None => false,
    };
    let client_id = &client.client().id;
    // 6.
    let user = if second_factor {
        sign_in::check_password_before_code(store, ctx, username, password, client_id, device).await?
    } else {
        sign_in::check_password_from(store, ctx, username, password, client_id, device).await?
    };
    // (A factor confirmed between the two looks is seen here.)
    let second_factor = second_factor || crate::oauth::sign_in::has_second_factor(store, &user.id).await?;
    // A user or client that requires a second factor, and a user without
    // one: no token on a password alone, and no second step to offer.
    if !second_factor && (user.require_mfa || client.client().require_mfa) {
        let event = Event::new(
            AuditKind::SignInFailed,
            ctx.now,
            Actor::User,
            "password sign-in refused: a second factor is required and the user has none",
        )
        .user(&user.id)
        .client(client_id.as_str())
        .with("why", "second factor required, none enrolled");
        audit::record(store, event).await;
        return Err(OAuthError::MfaEnrollmentRequired);
    }
    Ok((user, second_factor))
}

/// Step 7: the tokens for `user`.
pub async fn issue<S: RefreshTokenStore>(
    store: &S,
    ctx: &Issue<'_>,
    client: &CallingClient,
    user: &crate::store::User,
    approved: &Approved,
) -> Result<TokenResponse, OAuthError> {
    let granted = Granted {
        scope: &approved.scope,
        resources: &approved.resources,
        target: approved.target.as_ref(),
    };
    user_tokens::issue(store, ctx, client.client(), user, granted).await
}

#[cfg(test)]
mod tests {
    //! One row per check of [RFC 6749 §4.3.2] (the module's numbered
    //! list), against an in-memory store, no socket.
    //!
    //! [RFC 6749 §4.3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2

    use super::*;
    use crate::fixtures;
    use crate::oauth::grant::GrantType;
    use crate::oauth::sign_in::LOCK_THRESHOLD;
    use crate::store::Store;

    type Expect = fn(&Result<TokenResponse, OAuthError>) -> bool;

    const PASSWORD: &str = "alice's long password";

    /// The clients `app` (password and refresh grants), `once` (password
    /// only) and `web` (not the password grant); the users `alice` and
    /// `bob` (disabled).
    async fn setup() -> (Store, [CallingClient; 3]) {
        let store = fixtures::store().await;
        let scopes = "openid profile offline_access";
        let app = fixtures::client(
            "app",
            None,
            &[GrantType::Password, GrantType::RefreshToken],
            scopes,
        );
        let app = fixtures::registered(&store, &app, None).await;
        let once = fixtures::client("once", Some("once-secret"), &[GrantType::Password], scopes);
        let once = fixtures::registered(&store, &once, Some("once-secret")).await;
        let web = fixtures::client("web", None, &[GrantType::AuthorizationCode], scopes);
        let web = fixtures::registered(&store, &web, None).await;
        fixtures::add_user(&store, &fixtures::user("u1", "alice", PASSWORD)).await;
        fixtures::add_user(&store, &fixtures::user("u2", "bob", PASSWORD)).await;
        fixtures::disable(&store, "u2").await;
        (store, [app, once, web])
    }

    #[tokio::test]
    async fn rfc_6749_4_3_2_checks() {
        let (store, [app, once, web]) = setup().await;
        let pw = "password=alice%27s%20long%20password";
        let rows: Vec<(&str, &CallingClient, String, Expect)> = vec![
            ("2. username is required", &app, pw.to_owned(), |r| {
                matches!(r, Err(OAuthError::MissingParameter("username")))
            }),
            (
                "2. password is required",
                &app,
                "username=alice".to_owned(),
                |r| matches!(r, Err(OAuthError::MissingParameter("password"))),
            ),
            (
                "4. a client not registered for the grant",
                &web,
                format!("username=alice&{pw}"),
                |r| matches!(r, Err(OAuthError::GrantNotAllowed("password"))),
            ),
            (
                "5. a scope outside the client's",
                &app,
                format!("username=alice&{pw}&scope=openid%20admin"),
                |r| matches!(r, Err(OAuthError::ScopeNotAllowed)),
            ),
            (
                "6. a wrong password",
                &app,
                "username=alice&password=not%20her%20password".to_owned(),
                |r| matches!(r, Err(OAuthError::BadCredentials)),
            ),
            (
                "6. an unknown user, answered as a wrong password",
                &app,
                format!("username=nobody&{pw}"),
                |r| matches!(r, Err(OAuthError::BadCredentials)),
            ),
            (
                "6. a disabled user, answered as a wrong password",
                &app,
                format!("username=bob&{pw}"),
                |r| matches!(r, Err(OAuthError::BadCredentials)),
            ),
            (
                "6. one spelling per name: ALICE is alice",
                &app,
                format!("username=ALICE&{pw}&scope=openid"),
                |r| r.as_ref().is_ok_and(|t| t.scope.as_deref() == Some("openid")),
            ),
            (
                "7. a client that may refresh gets a refresh token",
                &app,
                format!("username=alice&{pw}"),
                |r| {
                    r.as_ref().is_ok_and(|t| {
                        t.refresh_token.is_some()
                            && t.id_token.is_none()
                            && t.scope.as_deref() == Some("openid profile offline_access")
                    })
                },
            ),
            (
                "7. a client that may not refresh gets none",
                &once,
                format!("username=alice&{pw}"),
                |r| r.as_ref().is_ok_and(|t| t.refresh_token.is_none()),
            ),
        ];
        let ctx = fixtures::issue(fixtures::NOW);
        for (check, client, form, expect) in rows {
            let result = handle(&store, &ctx, client, &fixtures::params(&form)).await;
            assert!(expect(&result), "{check}: {result:?}");
        }
    }

    /// 7. Issue 19, "no bypass": once alice has a confirmed authenticator,
    /// her right password gets `invalid_grant` saying why (a wrong one
    /// still gets the plain wrong-password answer); an enrollment not yet
    /// confirmed does not count.
    #[tokio::test]
    async fn a_user_with_a_second_factor_is_refused_after_a_correct_password() {
        use crate::identity::{factors, totp};
        let (store, [app, _, _]) = setup().await;
        let ctx = fixtures::issue(fixtures::NOW);
        let right = fixtures::params("username=alice&password=alice%27s%20long%20password");
        let wrong = fixtures::params("username=alice&password=not%20her%20password");
        let master = fixtures::master_key();
        let enrollment = factors::enroll_totp(&store, master, "u1", fixtures::NOW)
            .await
            .unwrap();
        let pending = handle(&store, &ctx, &app, &right).await;
        assert!(
            pending.is_ok(),
            "an unconfirmed enrollment does not count: {pending:?}"
        );
        let code = totp::code_at(&enrollment.secret, totp::step_of(fixtures::NOW));
        assert!(factors::confirm_totp(&store, master, "u1", &code, fixtures::NOW)
            .await
            .unwrap());
        let refused = handle(&store, &ctx, &app, &right).await;
        assert!(
            matches!(refused, Err(OAuthError::SecondFactorRequired)),
            "{refused:?}"
        );
        let e = refused.unwrap_err();
        assert_eq!(e.code(), "invalid_grant");
        assert!(
            e.description().contains("authorization code flow"),
            "{}",
            e.description()
        );
        assert!(e.description().contains("/api/v1/login"), "{}", e.description());
        let bad = handle(&store, &ctx, &app, &wrong).await;
        assert!(matches!(bad, Err(OAuthError::BadCredentials)), "{bad:?}");
    }

    /// 6. "MUST protect the endpoint against brute force attacks": after
    /// [`LOCK_THRESHOLD`] failures in a row the account is locked, and even
    /// the right password is refused (as a wrong one) until the lock ends.
    #[tokio::test]
    async fn repeated_failures_lock_the_account() {
        let (store, [app, _, _]) = setup().await;
        let ctx = fixtures::issue(fixtures::NOW);
        let wrong = fixtures::params("username=alice&password=not%20her%20password");
        for _ in 0..LOCK_THRESHOLD {
            let r = handle(&store, &ctx, &app, &wrong).await;
            assert!(matches!(r, Err(OAuthError::BadCredentials)), "{r:?}");
        }
        let right = fixtures::params("username=alice&password=alice%27s%20long%20password");
        let locked = handle(&store, &ctx, &app, &right).await;
        assert!(matches!(locked, Err(OAuthError::BadCredentials)), "{locked:?}");
        let after = fixtures::issue(fixtures::NOW + crate::oauth::sign_in::LOCK_SECONDS + 1);
        let unlocked = handle(&store, &after, &app, &right).await;
        assert!(unlocked.is_ok(), "the lock ends: {unlocked:?}");
    }
}
