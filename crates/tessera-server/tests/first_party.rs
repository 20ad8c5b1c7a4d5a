//! The first-party JSON API: login, me, logout, the refresh cookie and self-registration.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

use tessera_testkit as support;

use serde_json::Value;
use support::{client, request, start, token, user};
use tessera_server::store::{ClientStore, Store};

/// The first-party JSON API: login, me, logout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_party_api_login_me_logout() {
    use tessera_server::store::UserStore;
    let db = support::sqlite_url();
    let server = start(&db, "ES256").await;
    let addr = server.addr;
    let store = Store::open(&db).await.unwrap();
    store
        .create_client(&client(
            "web",
            None,
            &["password", "refresh_token"],
            &["openid", "email"],
            &["tasks-api"],
        ))
        .await
        .unwrap();
    store
        .create_user(&user("u9", "carol", "carol's long password", &["user"]))
        .await
        .unwrap();
    let post = |path: &'static str, body: Value| async move {
        request(
            addr,
            "POST",
            path,
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
        .await
    };

    let r = post(
        "/api/v1/login",
        serde_json::json!({"client_id": "web", "username": "carol", "password": "carol's long password"}),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    let body = r.json();
    let access = body["access_token"].as_str().unwrap().to_owned();
    assert_eq!(
        r.header("authorization"),
        Some(format!("Bearer {access}").as_str())
    );
    assert_eq!(r.header("cache-control"), Some("no-store"));
    let refresh = body["refresh_token"].as_str().unwrap().to_owned();

    let bearer = format!("Bearer {access}");
    let me = request(addr, "GET", "/api/v1/me", &[("Authorization", &bearer)], b"").await;
    assert_eq!(me.status, 200);
    assert_eq!(me.json()["username"], "carol");
    assert_eq!(me.json()["roles"], serde_json::json!(["user"]));
    // RFC 6750 §3: no token, a bad token, a malformed header.
    let none = request(addr, "GET", "/api/v1/me", &[], b"").await;
    assert_eq!(none.status, 401);
    assert_eq!(none.header("www-authenticate"), Some("Bearer realm=\"tessera\""));
    let bad = request(
        addr,
        "GET",
        "/api/v1/me",
        &[("Authorization", "Bearer e30.e30.e30")],
        b"",
    )
    .await;
    assert_eq!(bad.status, 401);
    assert!(bad
        .header("www-authenticate")
        .unwrap()
        .contains("error=\"invalid_token\""));
    let odd = request(addr, "GET", "/api/v1/me", &[("Authorization", "Basic abc")], b"").await;
    assert_eq!(odd.status, 400);

    // Bad input gets RFC 6749 §5.2 JSON.
    let r = post(
        "/api/v1/login",
        serde_json::json!({"client_id": "web", "username": "carol", "password": "wrong"}),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    let r = post(
        "/api/v1/login",
        serde_json::json!({"client_id": "web", "username": "carol", "password": "x", "admin": true}),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let r = request(
        addr,
        "POST",
        "/api/v1/login",
        &[("Content-Type", "text/plain")],
        b"{}",
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );

    // Logout revokes the refresh token's family: 204, and again 204.
    for _ in 0..2 {
        let r = post(
            "/api/v1/logout",
            serde_json::json!({"client_id": "web", "refresh_token": refresh}),
        )
        .await;
        assert_eq!(r.status, 204);
    }
    let r = token(
        addr,
        &format!("grant_type=refresh_token&client_id=web&refresh_token={refresh}"),
        &[],
    )
    .await;
    assert_eq!(r.json()["error"], "invalid_grant");
    server.stop().await;
}

/// `POST /api/v1/users`: off by default; when on, password strength and
/// uniqueness are checked, and the new user can log in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn self_registration() {
    let post = |addr, body: Value| async move {
        request(
            addr,
            "POST",
            "/api/v1/users",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
        .await
    };
    let off = start(&support::sqlite_url(), "ES256").await;
    let r = post(
        off.addr,
        serde_json::json!({"username": "dave", "password": "a good long password"}),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (403, Some("access_denied"))
    );
    off.stop().await;

    let db = support::sqlite_url();
    let on = support::start_configured(&db, "ES256", None, |c| c.self_registration = true).await;
    let r = post(
        on.addr,
        serde_json::json!({"username": "dave", "password": "a good long password", "email": "d@example.com"}),
    )
    .await;
    assert_eq!(r.status, 201, "{}", String::from_utf8_lossy(&r.body));
    assert_eq!(r.json()["username"], "dave");
    // A taken username: 409. A taken email is not told (see
    // `a_taken_email_reads_like_a_free_one`), and makes no account.
    let r = post(
        on.addr,
        serde_json::json!({"username": "dave", "password": "another long password"}),
    )
    .await;
    assert_eq!(r.status, 409);
    let r = post(on.addr, serde_json::json!({"username": "dave2", "password": "another long password", "email": "d@example.com"})).await;
    assert_eq!(r.status, 201);
    {
        use tessera_server::store::UserStore;
        let store = Store::open(&db).await.unwrap();
        assert!(store.user_by_username("dave2").await.unwrap().is_none());
    }
    // Weak passwords and bad input: 400.
    for (user, password) in [
        ("erin", "short"),
        ("erin", "password1"),
        ("erin", "aaaaaaaaaaaa"),
        ("erin-the-user", "erin-the-user"),
    ] {
        let r = post(
            on.addr,
            serde_json::json!({"username": user, "password": password}),
        )
        .await;
        assert_eq!(
            (r.status, r.json()["error"].as_str()),
            (400, Some("invalid_request")),
            "{password}"
        );
    }
    let r = post(
        on.addr,
        serde_json::json!({"username": "x y", "password": "a good long password"}),
    )
    .await;
    assert_eq!(r.status, 400);
    // The new user logs in.
    let store = Store::open(&db).await.unwrap();
    store
        .create_client(&client("web", None, &["password"], &[], &[]))
        .await
        .unwrap();
    let r = token(
        on.addr,
        "grant_type=password&client_id=web&username=dave&password=a+good+long+password",
        &[],
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    on.stop().await;
}

/// Issue 17 item 9: `POST /api/v1/users` answers a taken email exactly as
/// it answers a free one (status, headers, body), so registration is no
/// oracle for who has an account here; the account with the taken email is
/// not made. A taken username is told, but every probe counts against the
/// address's registration limit.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_email_reads_like_a_free_one() {
    use tessera_server::oauth::throttle::REGISTRATIONS_PER_WINDOW;
    use tessera_server::store::UserStore;
    let db = support::sqlite_url();
    let on = support::start_configured(&db, "ES256", None, |c| c.self_registration = true).await;
    let store = Store::open(&db).await.unwrap();
    store
        .create_user(&support::user("u-ann", "ann", "correct horse battery", &[]))
        .await
        .unwrap();
    let mut ann = store.user("u-ann").await.unwrap().unwrap();
    ann.id = "u-vic".into();
    ann.username = "victim".into();
    ann.email = Some("victim@example.com".into());
    // (The copy's password is its own credential.)
    let hash = ann.password().unwrap().clone();
    ann.credentials = vec![tessera_server::domain::Credential::password("u-vic", hash, 1)];
    store.create_user(&ann).await.unwrap();
    let register = |from: &'static str, username: &'static str, email: &'static str| {
        let addr = on.addr;
        async move {
            let body =
                serde_json::json!({"username": username, "password": "a good long password", "email": email});
            support::request_from(
                from.parse().unwrap(),
                addr,
                "POST",
                "/api/v1/users",
                &[("Content-Type", "application/json")],
                body.to_string().as_bytes(),
            )
            .await
        }
    };
    // The same username with the victim's email, then with a free one
    // (which makes erin: the first made nothing).
    let taken = register("127.0.81.1", "erin", "victim@example.com").await;
    let free = register("127.0.81.1", "erin", "erin@example.com").await;
    let without_date_and_id = |r: &support::Response| {
        let mut headers: Vec<_> = r
            .headers
            .iter()
            // The date, and the request id (random for every answer).
            .filter(|(n, _)| !n.eq_ignore_ascii_case("date") && !n.eq_ignore_ascii_case("x-request-id"))
            .map(|(n, v)| (n.to_ascii_lowercase(), v.clone()))
            .collect();
        headers.sort();
        (r.status, headers, r.body.clone())
    };
    assert_eq!(
        without_date_and_id(&taken),
        without_date_and_id(&free),
        "{} / {}",
        String::from_utf8_lossy(&taken.body),
        String::from_utf8_lossy(&free.body)
    );
    assert_eq!(free.status, 201);
    assert_eq!(free.json(), serde_json::json!({"username": "erin"}));
    let erin = store.user_by_username("erin").await.unwrap().unwrap();
    assert_eq!(erin.email.as_deref(), Some("erin@example.com"));
    // The victim's email in another case is the same address.
    let r = register("127.0.81.1", "fay", "Victim@Example.COM").await;
    assert_eq!(r.status, 201);
    assert!(
        store.user_by_username("fay").await.unwrap().is_none(),
        "nothing made"
    );
    // A taken username is told, at the registration rate: every probe
    // counts against the address's limit.
    for _ in 0..REGISTRATIONS_PER_WINDOW {
        assert_eq!(
            register("127.0.81.2", "victim", "x@example.com").await.status,
            409
        );
    }
    let r = register("127.0.81.2", "victim", "x@example.com").await;
    assert_eq!(r.status, 429, "{}", String::from_utf8_lossy(&r.body));
    on.stop().await;
}

/// Refresh token in an HttpOnly cookie for browser apps, with the CSRF
/// guard on `/api/v1/refresh`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refresh_cookie_for_browser_apps() {
    use tessera_server::store::UserStore;
    let db = support::sqlite_url();
    let server = start(&db, "ES256").await;
    let addr = server.addr;
    let store = Store::open(&db).await.unwrap();
    let mut spa = client("spa", None, &["password", "refresh_token"], &["openid"], &[]);
    spa.refresh_cookie = true;
    store.create_client(&spa).await.unwrap();
    store
        .create_user(&user("u5", "fay", "fay's long password", &[]))
        .await
        .unwrap();
    let body = serde_json::json!({"client_id": "spa", "username": "fay", "password": "fay's long password"});
    let r = request(
        addr,
        "POST",
        "/api/v1/login",
        &[("Content-Type", "application/json")],
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(
        r.json().get("refresh_token").is_none(),
        "the refresh token must not reach script"
    );
    let set = r.header("set-cookie").unwrap().to_owned();
    for attr in ["HttpOnly", "Secure", "SameSite=Strict", "Path=/api/v1"] {
        assert!(set.contains(attr), "{set}");
    }
    let cookie = set.split(';').next().unwrap().to_owned();

    let refresh = |headers: Vec<(&'static str, String)>| async move {
        let mut h: Vec<(&str, &str)> = vec![("Content-Type", "application/json")];
        h.extend(headers.iter().map(|(n, v)| (*n, v.as_str())));
        request(addr, "POST", "/api/v1/refresh", &h, br#"{"client_id":"spa"}"#).await
    };
    // CSRF: the custom header is required, and a foreign Origin is refused.
    let r = refresh(vec![("Cookie", cookie.clone())]).await;
    assert_eq!(
        (r.status, r.json()["error"].as_str()),
        (400, Some("invalid_request"))
    );
    let r = refresh(vec![
        ("Cookie", cookie.clone()),
        ("X-Requested-With", "fetch".into()),
        ("Origin", "https://evil.example".into()),
    ])
    .await;
    assert_eq!(r.status, 400);
    // The real thing: a new access token and a rotated cookie.
    let r = refresh(vec![
        ("Cookie", cookie.clone()),
        ("X-Requested-With", "fetch".into()),
        ("Origin", server.issuer.clone()),
    ])
    .await;
    assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
    assert!(r.json()["access_token"].as_str().is_some());
    let rotated = r
        .header("set-cookie")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    assert_ne!(rotated, cookie);
    // The old cookie is used up; replaying it revokes the family.
    let r = refresh(vec![
        ("Cookie", cookie.clone()),
        ("X-Requested-With", "fetch".into()),
    ])
    .await;
    assert_eq!(r.json()["error"], "invalid_grant");
    let r = refresh(vec![
        ("Cookie", rotated.clone()),
        ("X-Requested-With", "fetch".into()),
    ])
    .await;
    assert_eq!(r.json()["error"], "invalid_grant");
    // Logout clears the cookie.
    let r = request(
        addr,
        "POST",
        "/api/v1/logout",
        &[
            ("Content-Type", "application/json"),
            ("Cookie", &rotated),
            ("X-Requested-With", "fetch"),
        ],
        br#"{"client_id":"spa"}"#,
    )
    .await;
    assert_eq!(r.status, 204);
    assert!(r.header("set-cookie").unwrap().contains("Max-Age=0"));
    server.stop().await;
}

/// Issue 17, item 3: the refresh cookie follows the sign-in cookies' rule.
/// On an https issuer it is `__Host-tessera_refresh` (`Secure`, `Path=/`,
/// no `Domain`: no sibling host can set it, RFC 6265bis §4.1.3.2); on any
/// issuer a name sent twice is refused (a planted cookie riding along),
/// and the real cookie alone still works after.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_refresh_cookie_is_host_only_on_https_and_read_once() {
    use tessera_server::store::UserStore;
    for (issuer, name) in [
        (Some("https://id.example"), "__Host-tessera_refresh"),
        (None, "tessera_refresh"),
    ] {
        let db = support::sqlite_url();
        let server = support::start_node(&db, "ES256", issuer).await;
        let addr = server.addr;
        let store = Store::open(&db).await.unwrap();
        let mut spa = client("spa", None, &["password", "refresh_token"], &["openid"], &[]);
        spa.refresh_cookie = true;
        store.create_client(&spa).await.unwrap();
        store
            .create_user(&user("u5", "fay", "fay's long password", &[]))
            .await
            .unwrap();
        let body =
            serde_json::json!({"client_id": "spa", "username": "fay", "password": "fay's long password"});
        let r = request(
            addr,
            "POST",
            "/api/v1/login",
            &[("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        )
        .await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        let set = r.header("set-cookie").unwrap().to_owned();
        assert!(set.starts_with(&format!("{name}=")), "{issuer:?}: {set}");
        assert!(set.contains("; Secure") && !set.contains("Domain"), "{set}");
        if issuer.is_some() {
            assert!(set.contains("Path=/;"), "__Host- requires Path=/: {set}");
        }
        let cookie = set.split(';').next().unwrap().to_owned();
        let refresh = |cookies: String| async move {
            request(
                addr,
                "POST",
                "/api/v1/refresh",
                &[
                    ("Content-Type", "application/json"),
                    ("X-Requested-With", "fetch"),
                    ("Cookie", &cookies),
                ],
                br#"{"client_id":"spa"}"#,
            )
            .await
        };
        // Ours first or second: refused, whichever the planted one is.
        for cookies in [
            format!("{cookie}; {name}=planted"),
            format!("{name}=planted; {cookie}"),
        ] {
            let r = refresh(cookies.clone()).await;
            assert_eq!(
                (r.status, r.json()["error"].as_str()),
                (400, Some("invalid_request")),
                "{issuer:?}: {cookies}: {}",
                String::from_utf8_lossy(&r.body)
            );
        }
        let r = refresh(cookie.clone()).await;
        assert_eq!(r.status, 200, "{}", String::from_utf8_lossy(&r.body));
        server.stop().await;
    }
}
