//! The sign-in steps of [`super::flow`], end to end on an in-memory store
//! and without a socket: each row starts an interaction, runs steps the
//! way a browser would, and checks what the browser is shown or sent,
//! and when an SSO session is made.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use zeroize::Zeroizing;

use super::flow::{self, Answer, Browser, Ctx, FlowError, Outcome, Screen, SignInError, StepForm};
use super::policy::Method;
use super::ResumeError;
use crate::fixtures::{self, NOW};
use crate::identity::device::DeviceKey;
use crate::oauth::authorize::{AuthorizeError, Refusal};
use crate::oauth::grant::GrantType;
use crate::store::{ClientStore, SessionStore, Store};

const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

/// A store with a third-party client `app`, a first-party client `own`,
/// and the user `ann` (password `correct horse 1`).
async fn world() -> (Store, crate::keys::KeyRing) {
    let store = fixtures::store().await;
    let third = fixtures::client(
        "app",
        Some("s3cret"),
        &[GrantType::AuthorizationCode],
        "openid profile",
    );
    store.create_client(&third).await.unwrap();
    let mut own = fixtures::client(
        "own",
        Some("s3cret"),
        &[GrantType::AuthorizationCode],
        "openid profile",
    );
    own.first_party = true;
    store.create_client(&own).await.unwrap();
    fixtures::add_user(&store, &fixtures::user("u-ann", "ann", "correct horse 1")).await;
    let keys = fixtures::key_ring(&store, tessera_jwt::Algorithm::ES256).await;
    (store, keys)
}

fn authorize_query(client: &str, extra: &str) -> String {
    format!(
        "response_type=code&client_id={client}&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&scope=openid&state=st\
         &code_challenge={CHALLENGE}&code_challenge_method=S256{extra}"
    )
}

/// The interaction id and CSRF token of the page shown.
fn form_keys(answer: &Answer) -> (String, String) {
    match &answer.outcome {
        Outcome::Show(
            Screen::SignIn { keys, .. }
            | Screen::SignUp { keys, .. }
            | Screen::Consent { keys, .. }
            | Screen::Link { keys, .. },
        ) => (keys.interaction.clone(), keys.csrf.clone()),
        other => panic!("no page: {other:?}"),
    }
}

struct Run<'a> {
    store: &'a Store,
    keys: &'a crate::keys::KeyRing,
    devices: DeviceKey,
    master: crate::keys::MasterKey,
}

impl Run<'_> {
    fn ctx(&self) -> Ctx<'_, Store> {
        Ctx {
            store: self.store,
            issuer: fixtures::ISSUER,
            keys: &self.keys.verify,
            devices: &self.devices,
            master: &self.master,
            available: &[Method::Password],
            require_par: false,
            second_factor_max_age: 3600,
            now: NOW,
            clients: &crate::clients::directory::STORE_ONLY,
        }
    }

    /// `/authorize` from a browser holding `binding` (none: a new one).
    async fn start(&self, query: &str, binding: Option<&str>, session: Option<&str>) -> Answer {
        let browser = Browser {
            binding,
            session,
            ..Browser::default()
        };
        flow::start(&self.ctx(), query, browser).await.unwrap()
    }

    async fn password(&self, binding: &str, page: &Answer, password: &str) -> Result<Answer, FlowError> {
        let (interaction, csrf) = form_keys(page);
        let browser = Browser {
            binding: Some(binding),
            ..Browser::default()
        };
        let form = StepForm {
            interaction: &interaction,
            csrf: &csrf,
        };
        let issue = fixtures::issue(NOW);
        let password = Some(Zeroizing::new(password.to_owned()));
        flow::password(&self.ctx(), &issue, browser, form, Some("ann"), password).await
    }
}

#[tokio::test]
async fn the_sign_in_steps() {
    let (store, keys) = world().await;
    let run = Run {
        store: &store,
        keys: &keys,
        devices: DeviceKey::random().unwrap(),
        master: crate::keys::MasterKey::generate().unwrap().0,
    };

    // 1. No session: the sign-in page, offering what the policy offers; a
    //    binding is given, no session.
    let page = run.start(&authorize_query("app", ""), None, None).await;
    let binding = page.new_binding.clone().expect("a new binding");
    assert!(page.new_session.is_none());
    match &page.outcome {
        Outcome::Show(Screen::SignIn { methods, error, .. }) => {
            assert_eq!(methods, &[Method::Password]);
            assert_eq!(*error, None);
        }
        other => panic!("1: {other:?}"),
    }

    // 2. A wrong password: the page again with the error; no session.
    let wrong = run.password(&binding, &page, "wrong horse 1").await.unwrap();
    assert!(wrong.new_session.is_none(), "2: no session for a failed proof");
    assert!(matches!(
        wrong.outcome,
        Outcome::Show(Screen::SignIn {
            error: Some(SignInError::BadCredentials),
            ..
        })
    ));

    // 3. The right password, for a third-party client: the session is
    //    made (its amr from the proof), then consent is asked.
    let consent = run.password(&binding, &page, "correct horse 1").await.unwrap();
    let session = consent
        .new_session
        .clone()
        .expect("3: a session once the policy is met");
    let stored = store
        .session(&crate::oauth::client_auth::hash_secret(&session), NOW)
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.user_id.as_str(), stored.auth_time), ("u-ann", NOW));
    assert_eq!(stored.amr().values(), ["pwd"]);
    assert!(
        matches!(consent.outcome, Outcome::Show(Screen::Consent { .. })),
        "3"
    );

    // 4. Consent given: the code goes back to the client with state and iss.
    let (interaction, csrf) = form_keys(&consent);
    let browser = Browser {
        binding: Some(&binding),
        session: Some(&session),
        ..Browser::default()
    };
    let form = StepForm {
        interaction: &interaction,
        csrf: &csrf,
    };
    let done = flow::consent(&run.ctx(), browser, form, true).await.unwrap();
    match &done.outcome {
        Outcome::ToClient(url) => {
            assert!(url.starts_with("https://app.example/cb?code="), "4: {url}");
            assert!(
                url.contains("state=st") && url.contains("iss=https%3A%2F%2Fid.example"),
                "4: {url}"
            );
        }
        other => panic!("4: {other:?}"),
    }
    assert!(done.new_session.is_none(), "4: the session is not made twice");

    // 5. The same browser, signed in, at a first-party client: straight
    //    back with a code, no page, no new session.
    let again = run
        .start(&authorize_query("own", ""), Some(&binding), Some(&session))
        .await;
    assert!(
        matches!(&again.outcome, Outcome::ToClient(url) if url.contains("code=")),
        "5"
    );
    assert!(again.new_session.is_none(), "5");

    // 6. prompt=none without a session: login_required to the client.
    let none = run
        .start(&authorize_query("app", "&prompt=none"), None, None)
        .await;
    assert!(
        matches!(&none.outcome, Outcome::ToClient(url) if url.contains("error=login_required")),
        "6"
    );

    // 7. prompt=login with a session: the sign-in page again; the new
    //    session replaces the old one.
    let relogin = run
        .start(
            &authorize_query("own", "&prompt=login"),
            Some(&binding),
            Some(&session),
        )
        .await;
    assert!(
        matches!(relogin.outcome, Outcome::Show(Screen::SignIn { .. })),
        "7"
    );
    let fresh = run.password(&binding, &relogin, "correct horse 1").await.unwrap();
    assert!(
        matches!(&fresh.outcome, Outcome::ToClient(url) if url.contains("code=")),
        "7"
    );
    assert!(
        fresh.new_session.is_some_and(|s| s != session),
        "7: a new session"
    );
}

#[tokio::test]
async fn steps_are_accepted_only_from_the_browser_with_the_form() {
    let (store, keys) = world().await;
    let run = Run {
        store: &store,
        keys: &keys,
        devices: DeviceKey::random().unwrap(),
        master: crate::keys::MasterKey::generate().unwrap().0,
    };
    let page = run.start(&authorize_query("app", ""), None, None).await;
    let binding = page.new_binding.clone().unwrap();
    let (interaction, csrf) = form_keys(&page);
    let other = crate::oauth::interaction::new_binding().unwrap();
    let ctx = run.ctx();
    let rows: [(&str, Option<&str>, String); 4] = [
        ("another browser", Some(&other), csrf.clone()),
        ("no binding cookie", None, csrf.clone()),
        ("a forged token", Some(&binding), "forged".into()),
        (
            "another browser's token",
            Some(&binding),
            super::csrf_token(&other, &interaction),
        ),
    ];
    for (name, binding, csrf) in rows {
        let refused = deny(&ctx, binding, &interaction, &csrf).await;
        assert!(
            matches!(refused, Err(FlowError::Resume(ResumeError::NotThisBrowser))),
            "{name}: {refused:?}"
        );
    }
    // The sign-up page is a link: the binding alone, and only this
    // browser's.
    let browser = Browser {
        binding: Some(&other),
        ..Browser::default()
    };
    let refused = flow::register_page(&ctx, browser, &interaction, true).await;
    assert!(matches!(
        refused,
        Err(FlowError::Resume(ResumeError::NotThisBrowser))
    ));
    let browser = Browser {
        binding: Some(&binding),
        ..Browser::default()
    };
    let shown = flow::register_page(&ctx, browser, &interaction, true)
        .await
        .unwrap();
    assert!(matches!(shown.outcome, Outcome::Show(Screen::SignUp { .. })));
    // The right browser and form: the consent step runs (a denial here).
    let denied = deny(&ctx, Some(&binding), &interaction, &csrf).await.unwrap();
    assert!(matches!(&denied.outcome, Outcome::ToClient(url) if url.contains("error=access_denied")));
}

/// The consent form's "deny", from a browser holding `binding`.
async fn deny(
    ctx: &Ctx<'_, Store>,
    binding: Option<&str>,
    interaction: &str,
    csrf: &str,
) -> Result<Answer, FlowError> {
    let browser = Browser {
        binding,
        ..Browser::default()
    };
    flow::consent(ctx, browser, StepForm { interaction, csrf }, false).await
}

/// The kept request is checked again against the client as it is now.
#[tokio::test]
async fn a_later_step_sees_the_clients_registration_as_it_is_now() {
    let (store, keys) = world().await;
    let run = Run {
        store: &store,
        keys: &keys,
        devices: DeviceKey::random().unwrap(),
        master: crate::keys::MasterKey::generate().unwrap().0,
    };
    let page = run.start(&authorize_query("app", ""), None, None).await;
    let binding = page.new_binding.clone().unwrap();
    assert!(store.delete_client("app").await.unwrap());
    let refused = run.password(&binding, &page, "correct horse 1").await;
    assert!(
        matches!(
            refused,
            Err(FlowError::Refused(Refusal::Page(AuthorizeError::UnknownClient)))
        ),
        "{refused:?}"
    );
}
