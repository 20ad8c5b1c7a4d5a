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
    prune_drain, AttemptStore, CodeStore, EmailToken, EmailTokenStore, Interaction, InteractionStore,
    PruneStore, Purpose, RevocationStore, Session, SessionStore, Store, Trip, UpstreamStore, CODE_KEPT_FOR,
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
                proofs: tessera_server::domain::Proofs::none(),
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
                amr: tessera_server::domain::Amr::default(),
                resources: Default::default(),
                dpop_jkt: None,
                expires_at: if expires < now {
                    expires - CODE_KEPT_FOR
                } else {
                    expires
                },
            })
            .await
            .unwrap();
        store
            .create_email_token(
                &[i as u8; 32],
                Purpose::Reset,
                &EmailToken {
                    user_id: format!("u{i}"),
                    email: format!("u{i}@example.com"),
                    created_at: now - 2000,
                    expires_at: expires,
                },
                now - 2000,
            )
            .await
            .unwrap();
    }
    // A batch of 2: the first pass takes two of each table's three expired
    // rows, the second the last one, the third finds nothing.
    let first = store.prune(now, 2, 600).await.unwrap();
    assert_eq!(
        (
            first.revocations,
            first.sessions,
            first.attempts,
            first.codes,
            first.email_tokens
        ),
        (2, 2, 2, 2, 2),
        "{first:?}"
    );
    let second = store.prune(now, 2, 600).await.unwrap();
    assert_eq!(
        (
            second.revocations,
            second.sessions,
            second.attempts,
            second.codes,
            second.email_tokens
        ),
        (1, 1, 1, 1, 1),
        "{second:?}"
    );
    assert_eq!(store.prune(now, 2, 600).await.unwrap().total(), 0);
    // The live rows are still there.
    assert!(store.is_revoked("jti-3").await.unwrap());
    assert!(!store.is_revoked("jti-0").await.unwrap());
    assert!(store.session(&[3u8; 32], now).await.unwrap().is_some());
    assert!(store.code(&[3u8; 32]).await.unwrap().is_some());
    assert!(store.code(&[0u8; 32]).await.unwrap().is_none());
    assert!(store
        .email_token(&[3u8; 32], Purpose::Reset, now)
        .await
        .unwrap()
        .is_some());
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

/// Issue 17, item 5: one tick drains each table by its own count. Both the
/// interactions and the upstream trips hold more expired rows than a batch:
/// passes repeat until neither has any left (before the fix the two tables'
/// counts were added, a sum that never equals one full batch, so the tick
/// stopped after one pass and the backlog drained one batch per
/// `PRUNE_EVERY` while `GET /authorize` made rows freely). Live rows stay.
async fn drains_each_table_by_its_own_count(database: &str) {
    let store = Store::open(database).await.unwrap();
    let now = 1_000_000;
    let batch = 3;
    let expiring = |i: u8| if i == 0 { now + 100 } else { now - i64::from(i) };
    for i in 0..8u8 {
        store
            .create_interaction(&Interaction {
                id_hash: vec![i; 32],
                binding_hash: vec![0; 32],
                client_id: "c".into(),
                request: "client_id=c".into(),
                created_at: now - 700,
                expires_at: expiring(i),
                user_id: None,
                proofs: tessera_server::domain::Proofs::none(),
                session_sid: None,
                consented: false,
            })
            .await
            .unwrap();
    }
    for i in 0..5u8 {
        let trip = Trip {
            provider: "github".into(),
            interaction_id: format!("i-{i}"),
            binding_hash: vec![0; 32],
        };
        store.begin_trip(&[i; 32], &trip, expiring(i)).await.unwrap();
    }
    let pruned = prune_drain(&store, now, batch, 600).await.unwrap();
    let mut left = Vec::new();
    for i in 1..8u8 {
        if store.interaction(&[i; 32], 0).await.unwrap().is_some() {
            left.push(format!("interaction {i}"));
        }
    }
    for i in 1..5u8 {
        if store.take_trip(&[i; 32], 0).await.unwrap().is_some() {
            left.push(format!("trip {i}"));
        }
    }
    assert!(
        left.is_empty(),
        "expired rows left after one tick: {left:?} ({pruned:?})"
    );
    assert_eq!(
        (pruned.interactions, pruned.upstream_requests),
        (7, 4),
        "{pruned:?}"
    );
    assert!(store.interaction(&[0; 32], now).await.unwrap().is_some());
    assert!(store.take_trip(&[0; 32], now).await.unwrap().is_some());
}

#[tokio::test]
async fn a_tick_drains_each_table_by_its_own_count_sqlite() {
    drains_each_table_by_its_own_count(&support::sqlite_url()).await;
}

#[tokio::test]
async fn a_tick_drains_each_table_by_its_own_count_postgres() {
    if let Some(url) = support::postgres_url().await {
        drains_each_table_by_its_own_count(&url).await;
    }
}
