//! Bounded retries of writes (issue 12, `store::retry`), with faults
//! injected by PostgreSQL itself: a deferred trigger fires at COMMIT and
//! either raises a serialization failure (`40001`: the database rolled the
//! transaction back) or ends its own connection (`pg_terminate_backend`:
//! the server cannot tell whether the commit happened). A sequence counts
//! every try, since rolling back does not undo `nextval`.
//!
//! Needs `TESSERA_TEST_POSTGRES_URL` (`.ci/run` sets it); says it was
//! skipped otherwise. Each test has a database of its own.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use tessera_server::store::{ClientStore, Store, UserStore, MOST_ATTEMPTS};
use tessera_testkit as support;

use support::{basic, token, Running};

/// A fault injected into inserts on a table.
#[derive(Clone, Copy)]
enum Fault {
    /// The commit fails with a serialization failure: rolled back, and
    /// the database says so.
    RolledBack,
    /// The connection ends during the commit: the server does not know
    /// what happened.
    ConnectionLost,
}

struct Setup {
    server: Running,
    database: String,
}

async fn setup() -> Option<Setup> {
    let database = support::postgres_url().await?;
    let server = support::start(&database, "ES256").await;
    let store = Store::open(&database).await.unwrap();
    store
        .create_client(&support::client(
            "svc",
            Some("svc-secret"),
            &["password", "refresh_token"],
            &["read"],
            &["api"],
        ))
        .await
        .unwrap();
    store
        .create_user(&support::user("u-ann", "ann", "correct horse battery", &[]))
        .await
        .unwrap();
    Some(Setup { server, database })
}

async fn sql(database: &str, statement: &str) {
    sqlx::any::install_default_drivers();
    let mut db = <sqlx::AnyConnection as sqlx::Connection>::connect(database)
        .await
        .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(statement.to_owned()))
        .execute(&mut db)
        .await
        .unwrap();
}

/// Makes the next `times` commits that insert into `table` meet `fault`.
async fn inject(database: &str, table: &str, fault: Fault, times: u32) {
    let action = match fault {
        Fault::RolledBack => "RAISE EXCEPTION 'injected serialization failure' USING ERRCODE = '40001';",
        // The signal is taken at the next interrupt check, inside the sleep.
        Fault::ConnectionLost => "PERFORM pg_terminate_backend(pg_backend_pid()); PERFORM pg_sleep(5);",
    };
    sql(
        database,
        &format!(
            "CREATE SEQUENCE IF NOT EXISTS test_tries;
             CREATE OR REPLACE FUNCTION test_fault() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF nextval('test_tries') <= {times} THEN {action} END IF;
               RETURN NULL;
             END $$;
             CREATE CONSTRAINT TRIGGER test_fault AFTER INSERT ON {table}
               DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION test_fault();"
        ),
    )
    .await;
}

/// How many commits met the trigger since it was injected; and removes it.
async fn tries_and_heal(database: &str, table: &str) -> i64 {
    sqlx::any::install_default_drivers();
    let mut db = <sqlx::AnyConnection as sqlx::Connection>::connect(database)
        .await
        .unwrap();
    let tries: i64 =
        sqlx::query_scalar("SELECT CASE WHEN is_called THEN last_value ELSE 0 END FROM test_tries")
            .fetch_one(&mut db)
            .await
            .unwrap();
    sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
        "DROP TRIGGER test_fault ON {table}; DROP SEQUENCE test_tries;"
    )))
    .execute(&mut db)
    .await
    .unwrap();
    tries
}

fn svc() -> String {
    basic("svc", "svc-secret")
}

/// ann's access and refresh tokens.
async fn sign_in(server: &Running) -> (String, String) {
    let r = token(
        server.addr,
        "grant_type=password&username=ann&password=correct+horse+battery&scope=read",
        &[("Authorization", &svc())],
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    let body = r.json();
    (
        body["access_token"].as_str().unwrap().to_owned(),
        body["refresh_token"].as_str().unwrap().to_owned(),
    )
}

async fn refresh(server: &Running, refresh_token: &str) -> support::Response {
    token(
        server.addr,
        &format!("grant_type=refresh_token&refresh_token={refresh_token}"),
        &[("Authorization", &svc())],
    )
    .await
}

/// A rotation the database rolled back is run again, and succeeds once the
/// fault passes: the client never sees it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_the_database_rolled_back_is_tried_again() {
    let Some(setup) = setup().await else { return };
    let (_, r1) = sign_in(&setup.server).await;
    inject(
        &setup.database,
        "refresh_tokens",
        Fault::RolledBack,
        MOST_ATTEMPTS - 1,
    )
    .await;
    let r = refresh(&setup.server, &r1).await;
    assert_eq!(r.status, 200, "{:?}", r.json());
    assert_eq!(
        tries_and_heal(&setup.database, "refresh_tokens").await,
        i64::from(MOST_ATTEMPTS),
        "two rolled-back tries, then the one that committed"
    );
    let r2 = r.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        refresh(&setup.server, &r2).await.status,
        200,
        "its successor lives"
    );
    assert_eq!(refresh(&setup.server, &r1).await.status, 400, "r1 was used once");
}

/// A fault that does not pass: the tries stop at `MOST_ATTEMPTS`, the
/// client gets a 503 it may retry, and nothing was written: the refresh
/// token still rotates afterwards.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tries_are_bounded_and_leave_nothing_half_done() {
    let Some(setup) = setup().await else { return };
    let (_, r1) = sign_in(&setup.server).await;
    inject(&setup.database, "refresh_tokens", Fault::RolledBack, 1000).await;
    let r = refresh(&setup.server, &r1).await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["error"], "temporarily_unavailable");
    assert!(r.header("retry-after").is_some());
    assert_eq!(
        tries_and_heal(&setup.database, "refresh_tokens").await,
        i64::from(MOST_ATTEMPTS)
    );
    assert_eq!(refresh(&setup.server, &r1).await.status, 200, "r1 was not spent");
}

/// A rotation whose connection is lost at COMMIT is run again: it may
/// have committed, but a repeat recognises its own successor (stored with
/// the token it drew) and answers the same instead of taking itself for a
/// replay (`tests/store.rs` checks the committed case). So the client gets
/// its 200, and the family lives.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rotation_whose_connection_was_lost_is_tried_again() {
    let Some(setup) = setup().await else { return };
    let (_, r1) = sign_in(&setup.server).await;
    inject(&setup.database, "refresh_tokens", Fault::ConnectionLost, 1).await;
    let r = refresh(&setup.server, &r1).await;
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        tries_and_heal(&setup.database, "refresh_tokens").await,
        2,
        "the lost try, then the one that committed"
    );
    let r2 = r.json()["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(refresh(&setup.server, &r2).await.status, 200, "the family lives");
}

/// A login attempt counted per address is a write that cannot tell its own
/// earlier commit from another request's: after a lost connection it is
/// never run again (it could count one attempt twice). The client gets a
/// 503 it may retry.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_count_whose_connection_was_lost_is_not_tried_again() {
    let Some(setup) = setup().await else { return };
    inject(&setup.database, "login_attempts", Fault::ConnectionLost, 1).await;
    let r = token(
        setup.server.addr,
        "grant_type=password&username=ann&password=correct+horse+battery&scope=read",
        &[("Authorization", &svc())],
    )
    .await;
    assert_eq!(r.status, 503, "{:?}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["error"], "temporarily_unavailable");
    assert_eq!(
        tries_and_heal(&setup.database, "login_attempts").await,
        1,
        "a count is not repeated after an unknown outcome"
    );
    sign_in(&setup.server).await;
}

/// A revocation whose connection is lost at COMMIT is run again (recording
/// a revocation twice changes nothing), so the client gets its 200 and the
/// token is revoked.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revocation_whose_connection_was_lost_is_tried_again() {
    let Some(setup) = setup().await else { return };
    let (access, _) = sign_in(&setup.server).await;
    inject(&setup.database, "revoked_tokens", Fault::ConnectionLost, 1).await;
    let form = |t: &str| format!("token={t}");
    let headers = [
        ("Authorization", svc()),
        ("Content-Type", "application/x-www-form-urlencoded".to_owned()),
    ];
    let headers: Vec<(&str, &str)> = headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
    let r = support::request(
        setup.server.addr,
        "POST",
        "/revoke",
        &headers,
        form(&access).as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{:?}", String::from_utf8_lossy(&r.body));
    assert_eq!(
        tries_and_heal(&setup.database, "revoked_tokens").await,
        2,
        "the lost try, then the one that committed"
    );
    let r = support::request(
        setup.server.addr,
        "POST",
        "/introspect",
        &headers,
        form(&access).as_bytes(),
    )
    .await;
    assert_eq!(r.json()["active"], false, "revoked");
}
