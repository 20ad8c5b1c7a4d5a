//! Issue item 15: expired rows are pruned in bounded batches, on both
//! backends; live rows stay.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tessera_testkit as support;

use tessera_server::store::{
    AttemptStore, CodeStore, PruneStore, RevocationStore, Session, SessionStore, Store, CODE_KEPT_FOR,
};

async fn prunes(database: &str) {
    let store = Store::open(database).await.unwrap();
    let now = 1_000_000;
    for (i, expires) in [now - 10, now - 20, now - 30, now + 100].into_iter().enumerate() {
        store.revoke(&format!("jti-{i}"), expires).await.unwrap();
        store
            .create_session(&Session {
                id_hash: vec![i as u8; 32],
                sid: format!("sid-{i}"),
                user_id: "u".into(),
                auth_time: now - 1000,
                expires_at: expires,
                client_ip: None,
                amr: vec![],
            })
            .await
            .unwrap();
        store
            .reserve_attempt(&format!("login:10.0.0.{i}"), expires - 600, 600)
            .await
            .unwrap();
        store
            .insert_code(&tessera_server::store::AuthorizationCode {
                code_hash: vec![i as u8; 32],
                client_id: "c".into(),
                user_id: "u".into(),
                redirect_uri: "https://app.example/cb".into(),
                scope: tessera_server::oauth::Scope::from_stored("openid"),
                nonce: None,
                code_challenge: None,
                auth_time: now,
                sid: "sid".into(),
                amr: vec![],
                expires_at: if expires < now {
                    expires - CODE_KEPT_FOR
                } else {
                    expires
                },
            })
            .await
            .unwrap();
    }
    // A batch of 2: the first pass takes two of each table's three expired
    // rows, the second the last one, the third finds nothing.
    let first = store.prune(now, 2, 600).await.unwrap();
    assert_eq!(
        (first.revocations, first.sessions, first.attempts, first.codes),
        (2, 2, 2, 2),
        "{first:?}"
    );
    let second = store.prune(now, 2, 600).await.unwrap();
    assert_eq!(
        (second.revocations, second.sessions, second.attempts, second.codes),
        (1, 1, 1, 1),
        "{second:?}"
    );
    assert_eq!(store.prune(now, 2, 600).await.unwrap().total(), 0);
    // The live rows are still there.
    assert!(store.is_revoked("jti-3").await.unwrap());
    assert!(!store.is_revoked("jti-0").await.unwrap());
    assert!(store.session(&[3u8; 32], now).await.unwrap().is_some());
    assert!(store.code(&[3u8; 32]).await.unwrap().is_some());
    assert!(store.code(&[0u8; 32]).await.unwrap().is_none());
}

#[tokio::test]
async fn expired_rows_are_pruned_in_batches_sqlite() {
    prunes(&support::sqlite_url()).await;
}

#[tokio::test]
async fn expired_rows_are_pruned_in_batches_postgres() {
    if let Some(url) = support::postgres_url().await {
        prunes(&url).await;
    }
}
