//! `/authorize` (GET and POST, OpenID Connect Core §3.1.2.1) and its
//! forms: sign-in, sign-up, consent. Each handler reads the browser's
//! cookies and the form, calls its step in [`crate::oauth::interaction::flow`]
//! (where the rules live), and renders the [`Answer`]: a page, or a 303 to
//! the client, with the cookies the step changed.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use zeroize::Zeroizing;

use super::browser::{self, busy, internal, page, page_to, see_other, BrowserForm, BrowserQuery};
use super::client_ip::ClientIp;
use super::cookie::Cookie;
use super::AppState;
use crate::domain::Method;
use crate::oauth::authorize::Refusal;
use crate::oauth::first_party::RegisterRequest;
use crate::oauth::interaction::enroll;
use crate::oauth::interaction::flow::{self, Answer, FlowError, Outcome, Screen, SignInError};
use crate::oauth::interaction::ResumeError;
use crate::oauth::upstream::UpstreamError;
use crate::oauth::OAuthError;
use crate::ui;

/// `GET /authorize`: the request is the query string.
pub(super) async fn get(
    State(state): State<Arc<AppState>>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> Response {
    start(&state, &headers, peer, query.as_deref().unwrap_or("")).await
}

/// `POST /authorize`: the request is a form body (OpenID Connect Core
/// §3.1.2.1: "MUST support the use of the HTTP GET and POST methods").
pub(super) async fn post(
    State(state): State<Arc<AppState>>,
    ClientIp(peer): ClientIp,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match browser::form_body(&headers, &body) {
        Ok(body) => start(&state, &headers, peer, body).await,
        Err(message) => page(StatusCode::BAD_REQUEST, ui::error(message), &[]),
    }
}

async fn start(state: &AppState, headers: &HeaderMap, peer: Option<std::net::IpAddr>, raw: &str) -> Response {
    let keys = state.keys();
    let ctx = state.flow(&keys);
    let browser = match browser::presented(state, headers, peer) {
        Ok(b) => b,
        Err(response) => return *response,
    };
    render(state, flow::start(&ctx, raw, browser).await)
}

/// `POST /authorize/login`: the password form.
pub(super) async fn login(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let keys = state.keys();
    let ctx = state.flow(&keys);
    let browser = sent.browser();
    let issue = state.issue(&keys, browser.peer);
    let password = sent.form.get("password").map(|p| Zeroizing::new(p.to_owned()));
    let username = sent.form.get("username");
    let answer = flow::password(&ctx, &issue, browser, sent.step(), username, password).await;
    render(&state, answer)
}

/// `POST /authorize/otp`: the one-time code form (a second factor).
pub(super) async fn otp(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let keys = state.keys();
    let ctx = state.flow(&keys);
    let browser = sent.browser();
    let issue = state.issue(&keys, browser.peer);
    let code = sent.form.get("code");
    let answer = flow::otp(&ctx, &issue, browser, sent.step(), code).await;
    render(&state, answer)
}

/// `GET /authorize/passkey?interaction=ID`: the passkey options for the
/// sign-in page's script (JSON, never cached); 404 where this server
/// offers no passkeys.
pub(super) async fn passkey_options(State(state): State<Arc<AppState>>, sent: BrowserQuery) -> Response {
    let keys = state.keys();
    let ctx = state.flow(&keys);
    let interaction = sent.query.get("interaction").unwrap_or("");
    match flow::passkey_options(&ctx, sent.browser(), interaction).await {
        Ok(Some(options)) => {
            let mut response = axum::response::IntoResponse::into_response((StatusCode::OK, options));
            let headers = response.headers_mut();
            headers.insert(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            );
            headers.insert(
                axum::http::header::CACHE_CONTROL,
                axum::http::HeaderValue::from_static("no-store"),
            );
            response
        }
        Ok(None) => axum::response::IntoResponse::into_response(StatusCode::NOT_FOUND),
        Err(e) => refused(&state, e),
    }
}

/// `POST /authorize/passkey`: a passkey (the page's script posts the
/// browser's credential).
pub(super) async fn passkey(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let keys = state.keys();
    let ctx = state.flow(&keys);
    let credential = sent.form.get("credential");
    let answer = flow::passkey(&ctx, sent.browser(), sent.step(), credential).await;
    render(&state, answer)
}

/// `POST /authorize/enroll`: the code of an authenticator app set up
/// inside the sign-in.
pub(super) async fn enroll(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let keys = state.keys();
    let ctx = state.flow(&keys);
    let code = sent.form.get("code");
    let answer = enroll::enroll(&ctx, sent.browser(), sent.step(), code).await;
    render(&state, answer)
}

/// `POST /authorize/continue`: on from the recovery codes shown after an
/// enrollment.
pub(super) async fn continue_sign_in(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let keys = state.keys();
    let ctx = state.flow(&keys);
    let answer = enroll::continue_sign_in(&ctx, sent.browser(), sent.step()).await;
    render(&state, answer)
}

/// `POST /authorize/consent`: the consent form.
pub(super) async fn consent(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let keys = state.keys();
    let ctx = state.flow(&keys);
    let allow = sent.form.get("decision") == Some("allow");
    render(
        &state,
        flow::consent(&ctx, sent.browser(), sent.step(), allow).await,
    )
}

/// `GET /authorize/register?interaction=ID`: the sign-up page, when
/// self-registration is on (404 otherwise, like the JSON API's refusal).
pub(super) async fn register_page(State(state): State<Arc<AppState>>, sent: BrowserQuery) -> Response {
    let keys = state.keys();
    let ctx = state.flow(&keys);
    let id = sent.query.get("interaction").unwrap_or("");
    render(
        &state,
        flow::register_page(&ctx, sent.browser(), id, state.self_registration).await,
    )
}

/// `POST /authorize/register`: the sign-up form.
pub(super) async fn register(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let keys = state.keys();
    let ctx = state.flow(&keys);
    let new_user = RegisterRequest {
        username: sent.form.get("username").unwrap_or("").to_owned(),
        password: sent.form.get("password").unwrap_or("").to_owned(),
        email: sent.form.get("email").map(str::to_owned),
        name: None,
    };
    let answer = flow::register(
        &ctx,
        &state.outbox,
        sent.browser(),
        sent.step(),
        state.self_registration,
        new_user,
    )
    .await;
    render(&state, answer)
}

/// A step's answer as HTTP.
pub(super) fn render(state: &AppState, answer: Result<Answer, FlowError>) -> Response {
    let answer = match answer {
        Ok(answer) => answer,
        Err(e) => return refused(state, e),
    };
    let https = browser::https(state);
    let cookies: Result<Vec<_>, _> = [
        (Cookie::Binding, &answer.new_binding),
        (Cookie::Session, &answer.new_session),
        (Cookie::Device, &answer.new_device),
    ]
    .into_iter()
    .filter_map(|(cookie, value)| value.as_deref().map(|v| cookie.set(https, v)))
    .collect();
    let cookies = match cookies {
        Ok(cookies) => cookies,
        Err(e) => return browser::internal(&OAuthError::Internal(e.to_string())),
    };
    let mut response = match answer.outcome {
        Outcome::ToClient(url) | Outcome::ToUpstream(url) => see_other(&url),
        Outcome::Show(screen) => screen_page(state, screen),
    };
    for cookie in &cookies {
        cookie.append_to(&mut response);
    }
    response
}

fn screen_page(state: &AppState, screen: Screen) -> Response {
    // Each page's forms end at the client (a 303 to its redirect URI);
    // the sign-in page's provider buttons at the providers.
    let client_target =
        |keys: &flow::FormKeys| -> Vec<String> { ui::form_target(&keys.redirect_uri).into_iter().collect() };
    match screen {
        Screen::SignIn {
            keys,
            client_name,
            username,
            methods,
            error,
        } => {
            let register_url = state.self_registration.then(|| {
                let query = form_urlencoded::Serializer::new(String::new())
                    .append_pair("interaction", &keys.interaction)
                    .finish();
                format!("/authorize/register?{query}")
            });
            // Exactly the methods the policy offered.
            let providers = if methods.contains(&Method::Upstream) {
                state.upstreams.buttons()
            } else {
                Vec::new()
            };
            let html = ui::login(&ui::Login {
                client_name: &client_name,
                interaction: &keys.interaction,
                csrf: &keys.csrf,
                username: username.as_deref(),
                error: error.map(sign_in_message),
                register_url: register_url.as_deref(),
                password: methods.contains(&Method::Password),
                code: methods.contains(&Method::Otp),
                providers: &providers,
                passkey: methods.contains(&Method::Passkey).then(|| ui::PasskeyOffer {
                    script: super::assets::passkey_script_path(),
                    // Passwordless beside the password form (conditional
                    // UI in its username field); else for the user who
                    // proved a first factor, shown only if they have one.
                    conditional: methods.contains(&Method::Password),
                    second_factor: !methods.contains(&Method::Password),
                }),
            });
            let status = match error {
                Some(
                    SignInError::BadCredentials
                    | SignInError::BadCode
                    | SignInError::BadPasskey
                    | SignInError::TooManyAttempts,
                ) => StatusCode::UNAUTHORIZED,
                _ => StatusCode::OK,
            };
            let mut targets = client_target(&keys);
            targets.extend(
                state
                    .upstreams
                    .authorization_endpoints()
                    .iter()
                    .filter_map(|e| ui::form_target(e)),
            );
            if methods.contains(&Method::Passkey) {
                browser::page_with_script(status, html, &[], &targets)
            } else {
                page_to(status, html, &[], &targets)
            }
        }
        Screen::Link {
            keys,
            client_name,
            provider,
            upstream_username,
            upstream_email,
            may_create,
            error,
        } => {
            let html = ui::link(&ui::Link {
                client_name: &client_name,
                provider: &provider,
                upstream_username: upstream_username.as_deref(),
                upstream_email: upstream_email.as_deref(),
                interaction: &keys.interaction,
                csrf: &keys.csrf,
                may_create,
                error: error.map(sign_in_message),
            });
            let status = match error {
                None => StatusCode::OK,
                Some(SignInError::TooManyRegistrations) => StatusCode::TOO_MANY_REQUESTS,
                Some(_) => StatusCode::UNAUTHORIZED,
            };
            page_to(status, html, &[], &client_target(&keys))
        }
        Screen::SignUp {
            keys,
            client_name,
            username,
            email,
            error,
        } => {
            let html = ui::register(&ui::Register {
                client_name: &client_name,
                interaction: &keys.interaction,
                csrf: &keys.csrf,
                username: username.as_deref(),
                email: email.as_deref(),
                error: error.as_deref(),
            });
            let status = if error.is_some() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            page_to(status, html, &[], &client_target(&keys))
        }
        Screen::Enroll {
            keys,
            client_name,
            uri,
            secret,
            error,
        } => {
            let html = ui::enroll::enroll(&ui::enroll::Enroll {
                client_name: &client_name,
                interaction: &keys.interaction,
                csrf: &keys.csrf,
                uri: &uri,
                secret: &secret,
                error: error.map(enroll_message),
            });
            let status = if error.is_some() {
                StatusCode::BAD_REQUEST
            } else {
                StatusCode::OK
            };
            page_to(status, html, &[], &client_target(&keys))
        }
        Screen::Enrolled {
            keys,
            client_name,
            recovery_codes,
        } => {
            let codes: Option<Vec<&str>> = recovery_codes
                .as_ref()
                .map(|codes| codes.iter().map(|c| c.as_str()).collect());
            let html = ui::enroll::enrolled(&ui::enroll::Enrolled {
                client_name: &client_name,
                interaction: &keys.interaction,
                csrf: &keys.csrf,
                recovery_codes: codes.as_deref(),
            });
            page_to(StatusCode::OK, html, &[], &client_target(&keys))
        }
        Screen::Consent {
            keys,
            client_name,
            provenance,
            client_host,
            username,
            scope,
            apis,
        } => {
            let html = ui::consent(&ui::Consent {
                client_name: &client_name,
                provenance,
                client_host: client_host.as_deref(),
                username: &username,
                scope: &scope,
                apis: &apis,
                interaction: &keys.interaction,
                csrf: &keys.csrf,
            });
            page_to(StatusCode::OK, html, &[], &client_target(&keys))
        }
    }
}

/// What the page says about a failed sign-in.
fn sign_in_message(e: SignInError) -> &'static str {
    match e {
        SignInError::Missing => "Enter your username and password.",
        // One text for an unknown user, a wrong password and a locked
        // account, so the page reveals neither.
        SignInError::BadCredentials => {
            "Wrong username or password. After repeated failures, sign-in pauses for a few minutes."
        }
        SignInError::TooManyAttempts => {
            "Too many failed sign-ins from your network. Wait a few minutes and try again."
        }
        SignInError::TooManyRegistrations => {
            "Too many new accounts from your network. Wait a few minutes and try again."
        }
        SignInError::MissingCode => "Enter the code from your authenticator app, or a recovery code.",
        // One text for a wrong, used or replayed code and a locked account.
        SignInError::BadCode => {
            "That code is not right, or was used already. After repeated failures, sign-in pauses for a few minutes."
        }
        SignInError::BadPasskey => "That passkey was not accepted. Try again, or sign in another way.",
    }
}

/// What the enrollment page says about a refused code.
fn enroll_message(e: SignInError) -> &'static str {
    match e {
        SignInError::MissingCode => "Enter the code your authenticator app shows.",
        _ => "That code is not right. Check the time on your phone, and type the code your app shows now.",
    }
}

/// A step that could not go on.
fn refused(state: &AppState, e: FlowError) -> Response {
    match e {
        FlowError::Refused(Refusal::Page(error)) => {
            page(StatusCode::BAD_REQUEST, ui::error(&error.description()), &[])
        }
        FlowError::Refused(Refusal::Redirect(redirect)) => see_other(&redirect.url(&state.issuer)),
        FlowError::Resume(ResumeError::Gone) => page(
            StatusCode::BAD_REQUEST,
            ui::error("This sign-in has expired or was already completed. Go back to the application and start again."),
            &[],
        ),
        FlowError::Resume(ResumeError::NotThisBrowser) => {
            tracing::warn!(target: "audit", "sign-in step refused: not this browser's interaction or a bad CSRF token");
            page(
                StatusCode::FORBIDDEN,
                ui::error("This form did not come from this browser's sign-in. Go back to the application and start again."),
                &[],
            )
        }
        FlowError::Resume(ResumeError::Store(e)) => internal(&e.into()),
        FlowError::RegistrationOff => page(
            StatusCode::NOT_FOUND,
            ui::error("Sign-up is not enabled on this server."),
            &[],
        ),
        FlowError::Busy => busy(),
        FlowError::Upstream(e) => {
            let status = match e {
                UpstreamError::Unavailable(_) | UpstreamError::Nonsense(_) => StatusCode::BAD_GATEWAY,
                UpstreamError::UnknownProvider => StatusCode::NOT_FOUND,
                UpstreamError::BadState | UpstreamError::Untrusted(_) => StatusCode::FORBIDDEN,
                UpstreamError::Declined(_) | UpstreamError::NoAccount(_) => StatusCode::BAD_REQUEST,
            };
            page(status, ui::error(&format!("{e}.")), &[])
        }
        FlowError::Internal(e) => internal(&e),
    }
}
