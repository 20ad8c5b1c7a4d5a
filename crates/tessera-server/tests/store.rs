//! The store conformance suite on SQLite and, when `TESSERA_TEST_POSTGRES_URL` is set
//! (CI sets it), PostgreSQL; the client cache; signing-key rotation.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

use tessera_testkit as support;

use serde_json::Value;
use support::client;
use tessera_server::store::{ClientStore, KeyStore, RevocationStore, Store, StoreError, StoredKey};

/// The same checks for every backend.
async fn store_conformance(url: &str) {
    let store = Store::open(url).await.unwrap();
    // Migrations are idempotent.
    let store2 = Store::open(url).await.unwrap();
    store.ping().await.unwrap();

    let a = client(
        "a",
        Some("secret-a"),
        &["client_credentials"],
        &["read", "write"],
        &["api"],
    );
    let b = client("b", None, &["password"], &[], &[]);
    store.create_client(&a).await.unwrap();
    store
        .create_client_with_origins(&b, &["https://b.example".into(), "https://b.example".into()])
        .await
        .unwrap();
    assert!(matches!(
        store.create_client(&a).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store2.client("a").await.unwrap(), Some(a.clone()));
    assert_eq!(
        store.client("b").await.unwrap().unwrap().credentials,
        tessera_server::domain::ClientCredentials::None
    );
    assert_eq!(store.client("nobody").await.unwrap(), None);
    assert_eq!(store.clients().await.unwrap().len(), 2);
    // Both or neither: a refused client leaves no origin behind.
    assert!(matches!(
        store
            .create_client_with_origins(&a, &["https://a2.example".into()])
            .await,
        Err(StoreError::Conflict(_))
    ));
    assert!(!store.origin_registered("https://a2.example").await.unwrap());
    assert!(store2.origin_registered("https://b.example").await.unwrap());
    assert!(!store.origin_registered("https://c.example").await.unwrap());
    assert!(store.delete_client("b").await.unwrap());
    assert!(
        !store.origin_registered("https://b.example").await.unwrap(),
        "origins go with their client"
    );
    assert!(!store.delete_client("b").await.unwrap());
    assert_eq!(store.clients().await.unwrap(), vec![a]);

    let key = StoredKey {
        kid: "k1".into(),
        alg: "ES256".into(),
        sealed_private_key: vec![1, 0, 255, 7],
        public_jwk: "{}".into(),
        created_at: 5,
        retired_at: None,
        activates_at: 5,
    };
    store.insert_key(&key).await.unwrap();
    assert!(matches!(
        store.insert_key(&key).await,
        Err(StoreError::Conflict(_))
    ));
    assert_eq!(store.keys().await.unwrap(), vec![key]);

    store.revoke("j1", 100).await.unwrap();
    store.revoke("j1", 100).await.unwrap();
    store.revoke("j2", 300).await.unwrap();
    assert!(store2.is_revoked("j1").await.unwrap());
    assert!(!store.is_revoked("j3").await.unwrap());
    assert_eq!(store.prune_revocations(200).await.unwrap(), 1);
    assert!(!store.is_revoked("j1").await.unwrap());
    assert!(store.is_revoked("j2").await.unwrap());

    // Checks that arrive together share queries (more than one query's
    // worth here): each still gets its own, right answer.
    for i in (0..400).step_by(3) {
        store.revoke(&format!("many-{i}"), i64::MAX).await.unwrap();
    }
    let checks: Vec<_> = (0..400)
        .map(|i| {
            let store = store.clone();
            tokio::spawn(async move { (i, store.is_revoked(&format!("many-{i}")).await.unwrap()) })
        })
        .collect();
    for check in checks {
        let (i, revoked) = check.await.unwrap();
        assert_eq!(revoked, i % 3 == 0, "many-{i}");
    }
    // Consent accumulates scopes and resources per user and client.
    use tessera_server::domain::{Approval, Resources};
    use tessera_server::store::ConsentStore;
    assert_eq!(store.consented("u", "c").await.unwrap(), None);
    let approval = |s, r: &[&str]| Approval {
        scope: tessera_server::oauth::Scope::parse(s).unwrap(),
        resources: Resources::from_identifiers(r.iter().copied()),
    };
    store
        .record_consent("u", "c", &approval("openid profile", &["https://a"]), 1)
        .await
        .unwrap();
    store
        .record_consent(
            "u",
            "c",
            &approval("openid email", &["https://b", "https://a"]),
            2,
        )
        .await
        .unwrap();
    assert_eq!(
        store2.consented("u", "c").await.unwrap(),
        Some(approval("openid profile email", &["https://a", "https://b"]))
    );
    assert_eq!(store.consented("u", "other").await.unwrap(), None);

    // A revocation made now is seen by the next check, on every node.
    store.revoke("late", i64::MAX).await.unwrap();
    assert!(store2.is_revoked("late").await.unwrap());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_conformance_sqlite() {
    store_conformance(&support::sqlite_url()).await;
    repeated_spends_recognise_their_own_commit(&support::sqlite_url()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_conformance_postgres() {
    if let Some(url) = support::postgres_url().await {
        store_conformance(&url).await;
    }
    if let Some(url) = support::postgres_url().await {
        repeated_spends_recognise_their_own_commit(&url).await;
    }
}

/// A refresh rotation or code redemption run again with the same draw (as
/// `store::retry` does after a lost connection, when the first run may have
/// committed) answers the same success; another request spending the same
/// token or code draws other values and is a replay, which revokes what the
/// first one issued.
async fn repeated_spends_recognise_their_own_commit(url: &str) {
    use tessera_server::oauth::Scope;
    use tessera_server::store::{
        AuthorizationCode, CodeStore, Consumed, Family, IssuedGrant, Redeemed, RefreshToken,
        RefreshTokenStore, UserStore,
    };
    let store = Store::open(url).await.unwrap();
    store
        .create_client(&client("c", Some("s"), &["refresh_token"], &["read"], &["api"]))
        .await
        .unwrap();
    store
        .create_user(&support::user("u1", "una", "a passphrase", &[]))
        .await
        .unwrap();
    let now = tessera_jwt::UnixTime::now().as_secs();
    let scope = Scope::parse("read").unwrap();
    let grant = |jti: &str, refresh: &[u8], family: &str, new: bool| IssuedGrant {
        access_jti: jti.into(),
        access_expires_at: now + 60,
        refresh: Some(RefreshToken {
            token_hash: refresh.to_vec(),
            family_id: family.into(),
            client_id: "c".into(),
            user_id: "u1".into(),
            scope: scope.clone(),
            resources: Default::default(),
            expires_at: now + 600,
        }),
        new_family: new.then(|| Family {
            family_id: family.into(),
            client_id: "c".into(),
            user_id: "u1".into(),
            sid: None,
            offline: false,
            created_at: now,
            expires_at: now + 3600,
            dpop_jkt: None,
        }),
    };

    // Refresh: r0 rotated to r1, the same rotation again, then r0 from
    // another request.
    store.record_grant(&grant("j0", b"r0", "f1", true)).await.unwrap();
    let rotate = |next: IssuedGrant| {
        let store = store.clone();
        async move {
            store
                .rotate_refresh_token(b"r0", "c", now, move |_, _| Ok::<_, ()>(next.clone()))
                .await
                .unwrap()
        }
    };
    assert!(matches!(
        rotate(grant("j1", b"r1", "f1", false)).await,
        Consumed::Fresh { .. }
    ));
    assert!(
        matches!(
            rotate(grant("j1", b"r1", "f1", false)).await,
            Consumed::Fresh { .. }
        ),
        "the same rotation repeated is its own success, not a replay"
    );
    assert!(!store.is_revoked("j1").await.unwrap(), "the family lives");
    assert_eq!(
        rotate(grant("j2", b"r2", "f1", false)).await,
        Consumed::Replayed {
            family_id: "f1".into()
        },
        "another request presenting r0 is a replay"
    );
    assert!(
        store.is_revoked("j1").await.unwrap(),
        "the replay ended the family"
    );

    // Code: redeemed, the same redemption again, then the code from another
    // request.
    store
        .insert_code(&AuthorizationCode {
            code_hash: b"k0".to_vec(),
            client_id: "c".into(),
            user_id: "u1".into(),
            redirect_uri: "https://c.example/cb".into(),
            scope: scope.clone(),
            nonce: None,
            code_challenge: None,
            auth_time: now,
            sid: "sid".into(),
            expires_at: now + 60,
            amr: tessera_server::domain::Amr::of([tessera_server::domain::Method::Password]),
            resources: Default::default(),
            dpop_jkt: None,
        })
        .await
        .unwrap();
    let first = grant("j3", b"r3", "f2", true);
    assert!(matches!(
        store.redeem_code(b"k0", now, &first).await.unwrap(),
        Redeemed::Fresh(_)
    ));
    assert!(
        matches!(
            store.redeem_code(b"k0", now, &first).await.unwrap(),
            Redeemed::Fresh(_)
        ),
        "the same redemption repeated is its own success"
    );
    assert!(!store.is_revoked("j3").await.unwrap());
    assert_eq!(
        store
            .redeem_code(b"k0", now, &grant("j4", b"r4", "f3", true))
            .await
            .unwrap(),
        Redeemed::Replayed,
        "another request redeeming the code is a replay"
    );
    assert!(
        store.is_revoked("j3").await.unwrap(),
        "what the code issued is revoked"
    );
}

/// The per-node client cache: changes through this node apply at once.
#[tokio::test]
async fn client_cache_never_serves_a_client_this_node_deleted() {
    let store = Store::open(&support::sqlite_url()).await.unwrap();
    store
        .create_client(&client("c", Some("pw"), &["client_credentials"], &[], &[]))
        .await
        .unwrap();
    assert!(store.client("c").await.unwrap().is_some());
    assert!(
        store.client("c").await.unwrap().is_some(),
        "served from the cache"
    );
    assert!(store.delete_client("c").await.unwrap());
    assert_eq!(store.client("c").await.unwrap(), None);
}

/// Issue 17, item 11: the first keys stored by a node whose clock runs
/// ahead are the keys of a node whose clock runs 5 s behind, which starts
/// and signs with them at once (they replace no key, so they sign from
/// [`keys::FIRST_KEYS_ACTIVATE_AT`]). A node that finds keys of its
/// algorithm but none signing yet says so, not "algorithm not supported".
#[tokio::test]
async fn first_keys_sign_at_once_on_a_node_whose_clock_is_behind() {
    use tessera_server::keys::{self, KeyRingError, MasterKey};
    let store = Store::open(&support::sqlite_url()).await.unwrap();
    let (master, _) = MasterKey::generate().unwrap();
    let alg = tessera_jwt::Algorithm::ES256;
    let t0 = 1_000_000;
    let ahead = keys::load_or_create(&store, &master, alg, t0).await.unwrap();
    for behind in 1..=5 {
        let ring = keys::load_or_create(&store, &master, alg, t0 - behind)
            .await
            .unwrap_or_else(|e| panic!("a node {behind} s behind cannot start: {e}"));
        assert_eq!(ring.access_tokens.key().kid(), ahead.access_tokens.key().kid());
        assert_eq!(ring.id_tokens.key().kid(), ahead.id_tokens.key().kid());
    }
    assert_eq!(
        store.keys().await.unwrap().len(),
        2,
        "no node made keys of its own"
    );

    // Keys that all activate later: the error names what happened.
    let store = Store::open(&support::sqlite_url()).await.unwrap();
    for alg in [tessera_jwt::Algorithm::RS256, alg] {
        keys::create_key(&store, &master, alg, t0, t0 + 100)
            .await
            .unwrap();
    }
    let e = keys::load(&store, &master, alg, t0, false).await.unwrap_err();
    assert!(
        matches!(e, KeyRingError::NoActiveKey { next: Some(n), .. } if n == t0 + 100),
        "{e:?}"
    );
    assert!(e.to_string().starts_with("no signing key is active yet"), "{e}");
}

/// Key rotation: the new key is published before it signs; the old one
/// signs until then and stays published until its tokens have expired.
#[tokio::test]
async fn key_rotation_publishes_ahead_and_retires_behind() {
    use tessera_server::keys::{self, MasterKey, PUBLISH_AHEAD, RETIRED_PUBLISHED_FOR};
    let db = support::sqlite_url();
    let store = Store::open(&db).await.unwrap();
    let (master, _) = MasterKey::generate().unwrap();
    let alg = tessera_jwt::Algorithm::ES256;
    let t0 = 1_000_000;
    let before = keys::load_or_create(&store, &master, alg, t0).await.unwrap();
    let old_kid = before.access_tokens.key().kid().to_owned();

    let new = keys::rotate(&store, &master, alg, t0 + 10).await.unwrap();
    let kids = |ring: &keys::KeyRing| {
        ring.verify
            .keys()
            .iter()
            .map(|k| k.kid().to_owned())
            .collect::<Vec<_>>()
    };

    // Just after rotating: the old key signs, both are published.
    let ring = keys::load(&store, &master, alg, t0 + 11, false).await.unwrap();
    assert_eq!(ring.access_tokens.key().kid(), old_kid);
    assert!(kids(&ring).contains(&new.kid) && kids(&ring).contains(&old_kid));
    // Once the new key is active, it signs; the old one is still published.
    let at = t0 + 10 + PUBLISH_AHEAD;
    let ring = keys::load(&store, &master, alg, at, false).await.unwrap();
    assert_eq!(ring.access_tokens.key().kid(), new.kid);
    assert!(kids(&ring).contains(&old_kid));
    // A day later the old key is gone from the JWKS.
    let ring = keys::load(&store, &master, alg, at + RETIRED_PUBLISHED_FOR, false)
        .await
        .unwrap();
    assert!(!kids(&ring).contains(&old_kid));
    assert!(kids(&ring).contains(&new.kid));
    // Starting again right after rotation creates no extra key.
    let count = store.keys().await.unwrap().len();
    keys::load_or_create(&store, &master, alg, t0 + 20).await.unwrap();
    assert_eq!(store.keys().await.unwrap().len(), count);

    // A rotation is one transaction: a successor that cannot be stored (its
    // kid is taken, here by the RS256 key) retires nothing, not even the
    // current ES256 key that the first statement retired.
    let mut clash = store
        .keys()
        .await
        .unwrap()
        .into_iter()
        .find(|k| k.alg == "RS256")
        .unwrap();
    clash.alg = "ES256".into();
    clash.activates_at = t0 + 30;
    let before: Vec<_> = store.keys().await.unwrap();
    assert!(store.insert_successor(&clash).await.is_err());
    assert_eq!(store.keys().await.unwrap(), before);

    // The CLI lists the states.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_tessera"))
        .args(["keys", "list", "--database", &db])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let listed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(listed.as_array().unwrap().len(), count);
}
