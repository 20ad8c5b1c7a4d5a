//! What the browser-facing handlers (`/authorize*`, `/logout*`) share: the
//! browser's cookies, reading a form, and rendering a page or a redirect.
//!
//! - The **binding cookie** ties an interaction, and every form's CSRF
//!   token, to one browser (see [`crate::oauth::interaction`]).
//! - The **SSO session cookie** holds a random value whose SHA-256 the
//!   store keeps (`HttpOnly`, `SameSite=Lax` so a second app's redirect
//!   carries it).
//! - The **device cookie** says this browser signed in to an account with
//!   its password before (see [`crate::oauth::device`]): `HttpOnly`,
//!   `SameSite=Strict` (only our own pages' forms and first-party calls
//!   carry it), lasting [`crate::oauth::device::DEVICE_TTL`].
//! - On https issuers all three are `Secure` and `__Host-` prefixed, so no other
//!   host (a sibling subdomain included) can set them; on a plain-http
//!   development issuer browsers would drop such cookies, so they are not.
//!   [`super::cookie`] reads and writes them all.
//! - Two cookies of one of these names in one request are refused: the
//!   second was planted (a sibling domain's cookie with `Domain=` rides
//!   along with ours), and which one the server would read is not for the
//!   attacker to choose.
//! - Every POST is answered with 303, never 307, so a password is never
//!   re-posted (RFC 9700 §4.12).

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use tessera_jwt::UnixTime;

use super::cookie::{self, Cookie, SetCookie};
use super::{content_type_is, AppState};

use crate::domain::Method;
use crate::keys::KeyRing;
use crate::oauth::interaction::flow::{Browser, Ctx, StepForm};
use crate::oauth::{OAuthError, Params};
use crate::store::Store;
use crate::ui;

/// Whether the issuer is https (cookies `Secure` and `__Host-`).
pub(super) fn https(state: &AppState) -> bool {
    state.issuer.starts_with("https://")
}

/// A cookie's value, refusing a name sent twice ([`cookie::read_once`])
/// with a page.
pub(super) fn cookie_once<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, Box<Response>> {
    cookie::read_once(headers, name).map_err(|_| {
        Box::new(page(
            StatusCode::BAD_REQUEST,
            ui::error("Your browser sent a sign-in cookie twice. Clear this site's cookies and try again."),
            &[],
        ))
    })
}

/// The SSO session cookie's value, if the browser sent one.
pub(super) fn session_value<'h>(
    state: &AppState,
    headers: &'h HeaderMap,
) -> Result<Option<&'h str>, Box<Response>> {
    cookie_once(headers, Cookie::Session.name(https(state)))
}

/// The device cookie's value, if the browser sent one (once).
pub(super) fn device_value<'h>(
    state: &AppState,
    headers: &'h HeaderMap,
) -> Result<Option<&'h str>, Box<Response>> {
    cookie_once(headers, Cookie::Device.name(https(state)))
}

/// The browser's cookies (each name at most once) and address, as the
/// browser steps see them.
pub(super) fn presented<'h>(
    state: &AppState,
    headers: &'h HeaderMap,
    peer: Option<std::net::IpAddr>,
) -> Result<Browser<'h>, Box<Response>> {
    Ok(Browser {
        binding: existing_binding(state, headers)?,
        session: session_value(state, headers)?,
        peer,
        device: device_value(state, headers)?,
    })
}

impl AppState {
    /// What a browser step needs, now.
    pub(super) fn flow<'a>(&'a self, keys: &'a KeyRing) -> Ctx<'a, Store> {
        Ctx {
            store: &self.store,
            issuer: &self.issuer,
            keys: &keys.verify,
            devices: &self.devices,
            master: &self.master,
            require_par: self.require_par,
            second_factor_max_age: self.second_factor_max_age,
            // A passkey where the issuer can be a WebAuthn relying party
            // (a host name, not an IP address).
            available: match (self.upstreams.buttons().is_empty(), self.passkeys) {
                (true, false) => &[Method::Password],
                (true, true) => &[Method::Password, Method::Passkey],
                (false, false) => &[Method::Password, Method::Upstream],
                (false, true) => &[Method::Password, Method::Upstream, Method::Passkey],
            },
            now: UnixTime::now().as_secs(),
            clients: &self.clients,
        }
    }
}

/// The browser's binding secret, if it has one.
pub(super) fn existing_binding<'h>(
    state: &AppState,
    headers: &'h HeaderMap,
) -> Result<Option<&'h str>, Box<Response>> {
    cookie_once(headers, Cookie::Binding.name(https(state)))
}

/// A form POST's fields: `application/x-www-form-urlencoded`, UTF-8, each
/// field at most once.
pub(super) fn form(
    headers: &HeaderMap,
    body: &Result<Bytes, BytesRejection>,
) -> Result<Params, Box<Response>> {
    let body =
        form_body(headers, body).map_err(|m| Box::new(page(StatusCode::BAD_REQUEST, ui::error(m), &[])))?;
    Params::parse(body.as_bytes())
        .map_err(|e| Box::new(page(StatusCode::BAD_REQUEST, ui::error(&e.to_string()), &[])))
}

/// A form body as text.
pub(super) fn form_body<'a>(
    headers: &HeaderMap,
    body: &'a Result<Bytes, BytesRejection>,
) -> Result<&'a str, &'static str> {
    if !content_type_is(headers, "application/x-www-form-urlencoded") {
        return Err("the form must be sent as application/x-www-form-urlencoded");
    }
    let body = body.as_ref().map_err(|_| "the form is too large")?;
    std::str::from_utf8(body).map_err(|_| "the form is not valid UTF-8")
}

/// An HTML page with the security headers and any cookies to set; its
/// forms may only post to Tessera and end there.
pub(super) fn page(status: StatusCode, html: String, set_cookies: &[SetCookie]) -> Response {
    page_to(status, html, set_cookies, &[])
}

/// [`page`] for a page whose forms Tessera may answer with a 303 to one of
/// `form_targets` ([`ui::form_target`]s: the client's redirect URI, an
/// upstream provider), which its CSP `form-action` then allows.
pub(super) fn page_to(
    status: StatusCode,
    html: String,
    set_cookies: &[SetCookie],
    form_targets: &[String],
) -> Response {
    let mut response = (status, html).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    for (name, value) in ui::SECURITY_HEADERS {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Every target is an origin or scheme of checked characters, so the
    // value is a valid header; a failure would leave the page without a
    // policy, so it falls back to the strictest one.
    let csp = HeaderValue::from_str(&ui::content_security_policy(form_targets))
        .unwrap_or_else(|_| HeaderValue::from_static("default-src 'none'; form-action 'none'"));
    headers.insert(header::CONTENT_SECURITY_POLICY, csp);
    for cookie in set_cookies {
        cookie.append_to(&mut response);
    }
    response
}

/// [`page_to`] for a page that runs the passkey script: its CSP also
/// allows scripts from Tessera itself.
pub(super) fn page_with_script(
    status: StatusCode,
    html: String,
    set_cookies: &[SetCookie],
    form_targets: &[String],
) -> Response {
    let mut response = page_to(status, html, set_cookies, form_targets);
    if let Ok(csp) = HeaderValue::from_str(&ui::content_security_policy_with_script(form_targets)) {
        response
            .headers_mut()
            .insert(header::CONTENT_SECURITY_POLICY, csp);
    }
    response
}

/// RFC 9700 §4.12: 303, so the browser follows with a GET.
pub(super) fn see_other(url: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::from_str(url) {
        response.headers_mut().insert(header::LOCATION, location);
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
        .headers_mut()
        .insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    response
}

/// Too many password checks are waiting: try again (503, `Retry-After`).
pub(super) fn busy() -> Response {
    let mut response = page(
        StatusCode::SERVICE_UNAVAILABLE,
        ui::error("The server is busy. Wait a moment and try again."),
        &[],
    );
    response
        .headers_mut()
        .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    response
}

/// An internal failure: logged with its detail, shown as fixed text.
pub(super) fn internal(error: &OAuthError) -> Response {
    if let OAuthError::Store(e) = error {
        if e.is_unavailable() {
            tracing::warn!("sign-in failed: {e}");
            return busy();
        }
    }
    tracing::error!("sign-in failed: {error:?}");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        ui::error("The server could not complete the sign-in. Try again."),
        &[],
    )
}

/// The browser a request comes from: its address and its cookies (each
/// name at most once), read from the request's head.
struct Sender {
    binding: Option<String>,
    session: Option<String>,
    peer: Option<std::net::IpAddr>,
    device: Option<String>,
}

impl Sender {
    async fn from_parts(
        parts: &mut axum::http::request::Parts,
        state: &std::sync::Arc<AppState>,
    ) -> Result<Sender, Response> {
        use axum::extract::FromRequestParts;
        let Ok(super::client_ip::ClientIp(peer)) =
            super::client_ip::ClientIp::from_request_parts(parts, state).await;
        let binding = existing_binding(state, &parts.headers)
            .map_err(|r| *r)?
            .map(str::to_owned);
        let session = session_value(state, &parts.headers)
            .map_err(|r| *r)?
            .map(str::to_owned);
        let device = device_value(state, &parts.headers)
            .map_err(|r| *r)?
            .map(str::to_owned);
        Ok(Sender {
            binding,
            session,
            peer,
            device,
        })
    }

    fn browser(&self) -> Browser<'_> {
        Browser {
            binding: self.binding.as_deref(),
            session: self.session.as_deref(),
            peer: self.peer,
            device: self.device.as_deref(),
        }
    }
}

/// What a browser sent with a sign-in form, checked before the handler
/// runs: its address, its cookies (each name at most once) and the form's
/// fields (`application/x-www-form-urlencoded`, UTF-8, each field once).
/// A refusal is the page that says why.
pub(super) struct BrowserForm {
    /// The form's fields.
    pub form: Params,
    sender: Sender,
}

impl BrowserForm {
    /// The browser, as the sign-in steps see it.
    pub fn browser(&self) -> Browser<'_> {
        self.sender.browser()
    }

    /// The interaction the form continues, and its CSRF token.
    pub fn step(&self) -> StepForm<'_> {
        StepForm {
            interaction: self.form.get("interaction").unwrap_or(""),
            csrf: self.form.get("csrf").unwrap_or(""),
        }
    }
}

impl axum::extract::FromRequest<std::sync::Arc<AppState>> for BrowserForm {
    type Rejection = Response;

    async fn from_request(
        request: axum::extract::Request,
        state: &std::sync::Arc<AppState>,
    ) -> Result<BrowserForm, Response> {
        let (mut parts, body) = request.into_parts();
        let sender = Sender::from_parts(&mut parts, state).await?;
        let headers = parts.headers.clone();
        let bytes = Bytes::from_request(axum::extract::Request::from_parts(parts, body), state).await;
        let form = form(&headers, &bytes).map_err(|r| *r)?;
        Ok(BrowserForm { form, sender })
    }
}

/// What a browser sent with a GET to a sign-in page, checked before the
/// handler runs: its address, its cookies (each name at most once) and the
/// query's parameters (each once). A refusal is the page that says why.
pub(super) struct BrowserQuery {
    /// The query's parameters.
    pub query: Params,
    sender: Sender,
}

impl BrowserQuery {
    /// The browser, as the sign-in steps see it.
    pub fn browser(&self) -> Browser<'_> {
        self.sender.browser()
    }
}

impl axum::extract::FromRequestParts<std::sync::Arc<AppState>> for BrowserQuery {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &std::sync::Arc<AppState>,
    ) -> Result<BrowserQuery, Response> {
        let query = Params::parse(parts.uri.query().unwrap_or("").as_bytes())
            .map_err(|e| page(StatusCode::BAD_REQUEST, ui::error(&e.to_string()), &[]))?;
        let sender = Sender::from_parts(parts, state).await?;
        Ok(BrowserQuery { query, sender })
    }
}
