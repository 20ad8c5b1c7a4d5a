//! Issue 19, item 3: passkeys in the store and through the service
//! (`identity::passkeys`), on SQLite and PostgreSQL: a registration and a
//! sign-in with a software ES256 authenticator built here; a credential id
//! registered once; challenges single use (racing takes: one wins),
//! bound to the browser and the purpose, expiring and pruned; the
//! signature counter moved by one conditional update (racing uses: one
//! wins); renaming and removing only by the owner.
//! The verifier's own checks are unit-tested in `identity::webauthn`.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tessera_server::identity::passkeys::{self, PasskeyError, RelyingParty};
use tessera_server::identity::webauthn::WebAuthnError;
use tessera_server::store::{
    Added, ChallengePurpose, Passkey, PasskeyStore, PruneStore, Store, StoredChallenge, UserStore,
};
use tessera_testkit as support;
use tessera_testkit::webauthn::{sha256, unb64, Authenticator};

const NOW: i64 = 1_700_000_000;
const RACERS: usize = 8;
const TRIALS: usize = 20;
const BROWSER: &str = "browser-binding-1";

fn rp() -> RelyingParty {
    RelyingParty::from_issuer("https://localhost:8443", "Tessera").unwrap()
}

async fn store_with_users(db: &str) -> Store {
    let store = Store::open(db).await.unwrap();
    for (id, name) in [("u-ann", "ann"), ("u-bob", "bob")] {
        store
            .create_user(&support::user(id, name, "a long test password", &[]))
            .await
            .unwrap();
    }
    store
}

async fn register(
    store: &Store,
    user_id: &str,
    auth: &Authenticator,
    now: i64,
) -> Result<Passkey, PasskeyError> {
    let user = store.user(user_id).await.unwrap().unwrap();
    let options = passkeys::begin_registration(store, &user, &rp(), BROWSER, now)
        .await
        .unwrap();
    let options = serde_json::to_value(&options).unwrap();
    passkeys::finish_registration(
        store,
        &user,
        &rp(),
        BROWSER,
        &auth.register(&rp(), &options),
        "My key",
        now,
    )
    .await
}

/// Register, sign in passwordless and as a second factor, and every
/// refusal the store and service add to the verifier's.
async fn register_and_sign_in(db: &str) {
    let store = store_with_users(db).await;
    let rp = rp();
    let auth = Authenticator::new(b"credential-ann-1");

    // Registration; the options name the user by handle, not username.
    let ann = store.user("u-ann").await.unwrap().unwrap();
    let options = passkeys::begin_registration(&store, &ann, &rp, BROWSER, NOW)
        .await
        .unwrap();
    let options = serde_json::to_value(&options).unwrap();
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(unb64(options["user"]["id"].as_str().unwrap()), b"u-ann");
    assert_eq!(options["excludeCredentials"], serde_json::json!([]));
    let response = auth.register(&rp, &options);
    // Another browser cannot finish it, another user neither.
    let bob = store.user("u-bob").await.unwrap().unwrap();
    assert!(matches!(
        passkeys::finish_registration(&store, &ann, &rp, "another-browser", &response, "k", NOW).await,
        Err(PasskeyError::Challenge)
    ));
    assert!(matches!(
        passkeys::finish_registration(&store, &bob, &rp, BROWSER, &response, "k", NOW).await,
        Err(PasskeyError::Challenge)
    ));
    // (Bob's try spent the challenge: it is single use whatever happens.)
    assert!(matches!(
        passkeys::finish_registration(&store, &ann, &rp, BROWSER, &response, "k", NOW).await,
        Err(PasskeyError::Challenge)
    ));
    let passkey = register(&store, "u-ann", &auth, NOW).await.unwrap();
    assert_eq!(passkey.name, "My key");
    assert_eq!(passkey.alg, -7);
    assert!(passkey.user_verified && !passkey.backup_eligible);
    assert_eq!(passkeys::count(&store, "u-ann").await.unwrap(), 1);

    // A credential id is registered once: again for Ann, or for Bob.
    assert!(matches!(
        register(&store, "u-ann", &auth, NOW).await,
        Err(PasskeyError::AlreadyRegistered)
    ));
    let same_id = Authenticator::new(b"credential-ann-1");
    assert!(matches!(
        register(&store, "u-bob", &same_id, NOW).await,
        Err(PasskeyError::AlreadyRegistered)
    ));
    assert_eq!(passkeys::count(&store, "u-bob").await.unwrap(), 0);
    // The next creation options exclude it.
    let options = passkeys::begin_registration(&store, &ann, &rp, BROWSER, NOW)
        .await
        .unwrap();
    assert_eq!(options.exclude_credentials.len(), 1);
    assert_eq!(unb64(&options.exclude_credentials[0].id), b"credential-ann-1");

    // Passwordless (discoverable): no allowCredentials, UV required, the
    // user handle names the owner.
    let options = passkeys::begin_authentication(&store, &rp, BROWSER, None, NOW)
        .await
        .unwrap();
    assert!(options.allow_credentials.is_empty());
    assert_eq!(options.user_verification, "required");
    let options = serde_json::to_value(&options).unwrap();
    let response = auth.sign_in(&rp, &options, 1, Some(b"u-ann"));
    let signed_in = passkeys::finish_authentication(&store, &rp, BROWSER, &response, NOW + 1)
        .await
        .unwrap();
    assert_eq!(signed_in.user_id, "u-ann");
    assert_eq!(signed_in.passkey_id, passkey.id);
    assert!(signed_in.user_verified);
    let stored = store
        .passkey_by_credential_id(b"credential-ann-1")
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.sign_count, stored.last_used_at), (1, Some(NOW + 1)));
    // The same response again: its challenge is spent.
    assert!(matches!(
        passkeys::finish_authentication(&store, &rp, BROWSER, &response, NOW + 1).await,
        Err(PasskeyError::Challenge)
    ));

    // Discoverable without a user handle, or with another's: refused.
    for handle in [None, Some(&b"u-bob"[..])] {
        let options = passkeys::begin_authentication(&store, &rp, BROWSER, None, NOW)
            .await
            .unwrap();
        let response = auth.sign_in(&rp, &serde_json::to_value(&options).unwrap(), 2, handle);
        assert!(matches!(
            passkeys::finish_authentication(&store, &rp, BROWSER, &response, NOW).await,
            Err(PasskeyError::UserHandle)
        ));
    }

    // Second factor for Ann: her credentials are listed; Bob's challenge
    // does not accept Ann's passkey.
    let options = passkeys::begin_authentication(&store, &rp, BROWSER, Some("u-ann"), NOW)
        .await
        .unwrap();
    assert_eq!(options.allow_credentials.len(), 1);
    let response = auth.sign_in(&rp, &serde_json::to_value(&options).unwrap(), 2, None);
    let signed_in = passkeys::finish_authentication(&store, &rp, BROWSER, &response, NOW)
        .await
        .unwrap();
    assert_eq!(signed_in.user_id, "u-ann");
    let options = passkeys::begin_authentication(&store, &rp, BROWSER, Some("u-bob"), NOW)
        .await
        .unwrap();
    let response = auth.sign_in(&rp, &serde_json::to_value(&options).unwrap(), 3, None);
    assert!(matches!(
        passkeys::finish_authentication(&store, &rp, BROWSER, &response, NOW).await,
        Err(PasskeyError::UnknownCredential)
    ));

    // The counter did not increase (2 after 2): a possible clone.
    let options = passkeys::begin_authentication(&store, &rp, BROWSER, Some("u-ann"), NOW)
        .await
        .unwrap();
    let response = auth.sign_in(&rp, &serde_json::to_value(&options).unwrap(), 2, None);
    assert!(matches!(
        passkeys::finish_authentication(&store, &rp, BROWSER, &response, NOW).await,
        Err(PasskeyError::WebAuthn(WebAuthnError::Counter))
    ));
    // An unknown credential.
    let stranger = Authenticator::new(b"never-registered");
    let options = passkeys::begin_authentication(&store, &rp, BROWSER, None, NOW)
        .await
        .unwrap();
    let response = stranger.sign_in(&rp, &serde_json::to_value(&options).unwrap(), 1, Some(b"u-ann"));
    assert!(matches!(
        passkeys::finish_authentication(&store, &rp, BROWSER, &response, NOW).await,
        Err(PasskeyError::UnknownCredential)
    ));
    // A registration challenge does not serve a sign-in.
    let options = passkeys::begin_registration(&store, &ann, &rp, BROWSER, NOW)
        .await
        .unwrap();
    let response = auth.sign_in(&rp, &serde_json::to_value(&options).unwrap(), 9, Some(b"u-ann"));
    assert!(matches!(
        passkeys::finish_authentication(&store, &rp, BROWSER, &response, NOW).await,
        Err(PasskeyError::Challenge)
    ));

    // Renaming and removing: only by the owner.
    assert!(!passkeys::rename(&store, "u-bob", &passkey.id, "mine now")
        .await
        .unwrap());
    assert!(passkeys::rename(&store, "u-ann", &passkey.id, "  Laptop  ")
        .await
        .unwrap());
    assert_eq!(passkeys::list(&store, "u-ann").await.unwrap()[0].name, "Laptop");
    assert!(!passkeys::remove(&store, "u-bob", &passkey.id).await.unwrap());
    assert_eq!(passkeys::count(&store, "u-ann").await.unwrap(), 1);
    assert!(passkeys::remove(&store, "u-ann", &passkey.id).await.unwrap());
    assert!(!passkeys::remove(&store, "u-ann", &passkey.id).await.unwrap());
    assert_eq!(passkeys::count(&store, "u-ann").await.unwrap(), 0);

    // Deleting a user deletes their passkeys.
    let again = Authenticator::new(b"credential-ann-2");
    register(&store, "u-ann", &again, NOW).await.unwrap();
    assert!(store.delete_user("u-ann", NOW).await.unwrap());
    assert!(store
        .passkey_by_credential_id(b"credential-ann-2")
        .await
        .unwrap()
        .is_none());
}

fn challenge(hash: &[u8], purpose: ChallengePurpose, expires_at: i64) -> StoredChallenge {
    StoredChallenge {
        hash: hash.to_vec(),
        purpose,
        binding: BROWSER.into(),
        user_id: Some("u-ann".into()),
        expires_at,
    }
}

/// A challenge is taken once, for its purpose and binding, before it
/// expires; expired ones are pruned.
async fn challenges_are_single_use_bound_and_expiring(db: &str) {
    let store = store_with_users(db).await;
    let auth = ChallengePurpose::Authenticate;
    store
        .put_challenge(&challenge(b"h1", auth, NOW + 10))
        .await
        .unwrap();
    assert!(store
        .take_challenge(b"h1", ChallengePurpose::Register, BROWSER, NOW)
        .await
        .unwrap()
        .is_none());
    assert!(store
        .take_challenge(b"h1", auth, "other-browser", NOW)
        .await
        .unwrap()
        .is_none());
    assert!(
        store
            .take_challenge(b"h1", auth, BROWSER, NOW + 10)
            .await
            .unwrap()
            .is_none(),
        "expired"
    );
    let taken = store
        .take_challenge(b"h1", auth, BROWSER, NOW + 9)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(taken.user_id.as_deref(), Some("u-ann"));
    assert_eq!(taken.expires_at, NOW + 10);
    assert!(
        store
            .take_challenge(b"h1", auth, BROWSER, NOW)
            .await
            .unwrap()
            .is_none(),
        "single use"
    );

    // Pruned once expired.
    store
        .put_challenge(&challenge(b"h2", auth, NOW + 10))
        .await
        .unwrap();
    store
        .put_challenge(&challenge(b"h3", auth, NOW + 100))
        .await
        .unwrap();
    let pruned = store.prune(NOW + 50, 100, 3600).await.unwrap();
    assert_eq!(pruned.webauthn_challenges, 1);
    assert!(store
        .take_challenge(b"h3", auth, BROWSER, NOW + 60)
        .await
        .unwrap()
        .is_some());

    // Through the service: an expired challenge is refused.
    let rp = rp();
    let authenticator = Authenticator::new(b"credential-exp");
    let ann = store.user("u-ann").await.unwrap().unwrap();
    let options = passkeys::begin_registration(&store, &ann, &rp, BROWSER, NOW)
        .await
        .unwrap();
    let response = authenticator.register(&rp, &serde_json::to_value(&options).unwrap());
    let late = NOW + passkeys::CHALLENGE_SECONDS;
    assert!(matches!(
        passkeys::finish_registration(&store, &ann, &rp, BROWSER, &response, "k", late).await,
        Err(PasskeyError::Challenge)
    ));
}

/// One challenge taken by many at once: exactly one gets it.
async fn racing_takes_of_one_challenge_give_one_success(db: &str) {
    let store = store_with_users(db).await;
    for trial in 0..TRIALS {
        let hash = sha256(format!("challenge {trial}").as_bytes());
        store
            .put_challenge(&challenge(&hash, ChallengePurpose::Authenticate, NOW + 300))
            .await
            .unwrap();
        let tasks: Vec<_> = (0..RACERS)
            .map(|_| {
                let (store, hash) = (store.clone(), hash.clone());
                tokio::spawn(async move {
                    store
                        .take_challenge(&hash, ChallengePurpose::Authenticate, BROWSER, NOW)
                        .await
                })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            if task.await.unwrap().unwrap().is_some() {
                won += 1;
            }
        }
        assert_eq!(won, 1, "trial {trial}");
    }
}

fn stored_passkey(id: &str, credential_id: &[u8], count: i64) -> Passkey {
    Passkey {
        id: id.into(),
        user_id: "u-ann".into(),
        credential_id: credential_id.to_vec(),
        public_key: vec![0xa0],
        alg: -7,
        sign_count: count,
        backup_eligible: true,
        backup_state: false,
        user_verified: true,
        name: "k".into(),
        created_at: NOW,
        last_used_at: None,
    }
}

/// The counter moves only from the value an assertion was checked
/// against: of racing uses, one wins; and a duplicate credential id is
/// `AlreadyRegistered`, not an error.
async fn racing_counter_updates_give_one_success(db: &str) {
    let store = store_with_users(db).await;
    assert_eq!(
        store
            .add_passkey(&stored_passkey("pk-1", b"cred", 0))
            .await
            .unwrap(),
        Added::Added
    );
    let mut dup = stored_passkey("pk-2", b"cred", 0);
    assert_eq!(store.add_passkey(&dup).await.unwrap(), Added::AlreadyRegistered);
    dup.user_id = "u-bob".into();
    assert_eq!(store.add_passkey(&dup).await.unwrap(), Added::AlreadyRegistered);
    for trial in 0..TRIALS as i64 {
        let tasks: Vec<_> = (0..RACERS)
            .map(|_| {
                let store = store.clone();
                tokio::spawn(async move {
                    store
                        .record_passkey_use("pk-1", trial, trial + 1, true, NOW)
                        .await
                })
            })
            .collect();
        let mut won = 0;
        for task in tasks {
            if task.await.unwrap().unwrap() {
                won += 1;
            }
        }
        assert_eq!(won, 1, "trial {trial}");
        let row = store.passkey_by_credential_id(b"cred").await.unwrap().unwrap();
        assert_eq!(row.sign_count, trial + 1);
        assert!(row.backup_state);
    }
    assert!(
        !store.record_passkey_use("pk-1", 0, 1, false, NOW).await.unwrap(),
        "stale old count"
    );
}

macro_rules! on_both {
    ($name:ident) => {
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn sqlite() {
                super::$name(&tessera_testkit::sqlite_url()).await;
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn postgres() {
                if let Some(url) = tessera_testkit::postgres_url().await {
                    super::$name(&url).await;
                }
            }
        }
    };
}

on_both!(register_and_sign_in);
on_both!(challenges_are_single_use_bound_and_expiring);
on_both!(racing_takes_of_one_challenge_give_one_success);
on_both!(racing_counter_updates_give_one_success);
