//! A small browser for tests: keeps cookies, reads the forms' hidden
//! fields, follows the sign-in pages; and the clients and requests the
//! sign-in tests share.

use std::collections::HashMap;

use super::{client, request, start, token, user, Response, Running};
use tessera_server::store::{ClientStore, Store, UserStore};

/// RFC 7636 Appendix B.
pub const VERIFIER: &str = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
pub const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
pub const CALLBACK: &str = "http://app.example/cb";

/// Where a browser sends its requests: a server started in-process, or
/// the address of one started another way (a `tessera serve` process).
pub trait At {
    /// The server's address.
    fn at(&self) -> std::net::SocketAddr;
}

impl At for Running {
    fn at(&self) -> std::net::SocketAddr {
        self.addr
    }
}

impl At for std::net::SocketAddr {
    fn at(&self) -> std::net::SocketAddr {
        *self
    }
}

/// A browser: cookies by name.
#[derive(Default)]
pub struct Browser {
    pub cookies: HashMap<String, String>,
}

impl Browser {
    pub fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    pub fn keep(&mut self, r: &Response) {
        for (name, value) in &r.headers {
            if name.eq_ignore_ascii_case("set-cookie") {
                let pair = value.split(';').next().unwrap();
                let (k, v) = pair.split_once('=').unwrap();
                self.cookies.insert(k.to_owned(), v.to_owned());
            }
        }
    }

    pub async fn get(&mut self, server: &impl At, path: &str) -> Response {
        let cookies = self.cookie_header();
        let r = request(server.at(), "GET", path, &[("Cookie", &cookies)], b"").await;
        self.keep(&r);
        r
    }

    /// Submits the login form of the page `html` as `username`.
    pub async fn log_in(&mut self, server: &impl At, html: &str, username: &str, password: &str) -> Response {
        let (interaction, csrf) = (field(html, "interaction"), field(html, "csrf"));
        self.post(
            server,
            "/authorize/login",
            &[
                ("interaction", &interaction),
                ("csrf", &csrf),
                ("username", username),
                ("password", password),
            ],
        )
        .await
    }

    pub async fn post(&mut self, server: &impl At, path: &str, form: &[(&str, &str)]) -> Response {
        let cookies = self.cookie_header();
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let r = request(
            server.at(),
            "POST",
            path,
            &[
                ("Cookie", &cookies),
                ("Content-Type", "application/x-www-form-urlencoded"),
            ],
            body.as_bytes(),
        )
        .await;
        self.keep(&r);
        r
    }
}

/// A hidden field's value in a page, unescaped (named entities, and the
/// numeric ones askama writes).
pub fn field(html: &str, name: &str) -> String {
    let marker = format!("name=\"{name}\" value=\"");
    let start = html
        .find(&marker)
        .unwrap_or_else(|| panic!("no field {name} in {html}"))
        + marker.len();
    let end = start + html[start..].find('"').unwrap();
    unescape(&html[start..end])
}

/// Text or an attribute value from a page, its character references
/// decoded: the five that HTML escaping writes, by name (`&quot;`) or by
/// number (`&#34;`, as askama writes them).
pub fn unescape(html: &str) -> String {
    html.replace("&quot;", "\"")
        .replace("&#34;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&#60;", "<")
        .replace("&gt;", ">")
        .replace("&#62;", ">")
        .replace("&amp;", "&")
        .replace("&#38;", "&")
}

pub fn text(r: &Response) -> String {
    String::from_utf8_lossy(&r.body).into_owned()
}

/// The query parameters of a 303's Location.
pub fn redirected(r: &Response) -> HashMap<String, String> {
    assert_eq!(r.status, 303, "{}", text(r));
    let location = r.header("location").unwrap();
    let (base, query) = location.split_once('?').unwrap();
    assert_eq!(base, CALLBACK);
    form_urlencoded::parse(query.as_bytes()).into_owned().collect()
}

pub fn authorize_path(client_id: &str, extra: &str) -> String {
    format!(
        "/authorize?response_type=code&client_id={client_id}&redirect_uri=http%3A%2F%2Fapp.example%2Fcb\
         &scope=openid+profile+email&state=st-1&nonce=n-1&code_challenge={CHALLENGE}&code_challenge_method=S256{extra}"
    )
}

pub async fn setup(database: &str) -> (Running, Store) {
    let server = start(database, "ES256").await;
    let store = Store::open(database).await.unwrap();
    seed(&store).await;
    (server, store)
}

/// The sign-in tests' clients and user: "web" (third party, public, may
/// refresh), "first" (first party, confidential, secret "pw", may log out
/// to `http://app.example/bye`), and ann.
pub async fn seed(store: &Store) {
    let mut web = client(
        "web",
        None,
        &["authorization_code", "refresh_token"],
        &["openid", "profile", "email", "offline_access"],
        &["api"],
    );
    web.name = "Photo Book".into();
    web.redirect_uris = vec![CALLBACK.into()];
    store.create_client(&web).await.unwrap();
    let mut first = client(
        "first",
        Some("pw"),
        &["authorization_code"],
        &["openid", "profile", "email", "read"],
        &["api"],
    );
    first.redirect_uris = vec![CALLBACK.into()];
    first.post_logout_redirect_uris = vec!["http://app.example/bye".into()];
    first.first_party = true;
    store.create_client(&first).await.unwrap();
    store
        .create_user(&user("u-ann", "ann", "correct horse battery", &["user"]))
        .await
        .unwrap();
}

/// Signs in through the login page (and the consent page for a
/// third-party client); the code's redirect.
pub async fn sign_in(browser: &mut Browser, server: &impl At, path: &str) -> HashMap<String, String> {
    let page = browser.get(server, path).await;
    assert_eq!(page.status, 200, "{}", text(&page));
    let html = text(&page);
    let page = browser
        .log_in(server, &html, "ann", "correct horse battery")
        .await;
    through_consent(browser, server, page).await
}

/// From the page after sign-in to the client's redirect: the redirect
/// itself, or Photo Book's consent page allowed.
pub async fn through_consent(
    browser: &mut Browser,
    server: &impl At,
    page: Response,
) -> HashMap<String, String> {
    if page.status == 303 {
        return redirected(&page);
    }
    let html = text(&page);
    assert_eq!(page.status, 200, "{html}");
    assert!(html.contains("Allow Photo Book?"), "{html}");
    let done = browser
        .post(
            server,
            "/authorize/consent",
            &[
                ("interaction", &field(&html, "interaction")),
                ("csrf", &field(&html, "csrf")),
                ("decision", "allow"),
            ],
        )
        .await;
    redirected(&done)
}

pub async fn redeem(server: &impl At, client_id: &str, code: &str, verifier: Option<&str>) -> Response {
    let mut form = format!(
        "grant_type=authorization_code&code={code}&redirect_uri=http%3A%2F%2Fapp.example%2Fcb&client_id={client_id}"
    );
    if let Some(v) = verifier {
        form.push_str(&format!("&code_verifier={v}"));
    }
    token(server.at(), &form, &[]).await
}
