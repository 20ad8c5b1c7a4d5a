//! The pages of mailed links (issue 20, item 2), thin handlers over
//! [`crate::identity::email`]:
//!
//! - `GET|POST /password/forgot`: "Forgot password?". The `POST` answers
//!   one page, 200, whatever happened (see [`email::forgot`]).
//! - `GET|POST /password/reset`: the link's new-password form, and the
//!   new password. The token travels in the query, then in the form.
//! - `GET|POST /email/verify`: the link's confirm button, and the
//!   confirmation. A `GET` never spends a link (mail scanners fetch them).
//!
//! No sign-in is needed: the link's token is the proof (and, for the
//! `POST`s, stands in for a CSRF token: a cross-site form cannot know it).
//! Every page carries `Referrer-Policy: no-referrer` and `no-store`, so the
//! token in the URL does not leak to another site or a cache.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use tessera_jwt::UnixTime;
use zeroize::Zeroizing;

use super::browser::{self, page, BrowserForm, BrowserQuery};
use super::AppState;
use crate::identity::email::{self, EmailError};
use crate::store::Confirmed;
use crate::ui;
use crate::ui::email as pages;

fn now() -> i64 {
    UnixTime::now().as_secs()
}

/// The page for a link that is unknown, spent or expired.
fn invalid_link(again: (&str, &str)) -> Response {
    page(
        StatusCode::BAD_REQUEST,
        pages::render(&pages::Outcome {
            heading: "This link does not work",
            message: "It was used already, it has expired, or it was not copied whole.",
            failed: true,
            link: Some(again),
        }),
        &[],
    )
}

/// A failure no request should meet (storage, randomness, hashing).
fn failed(e: &EmailError) -> Response {
    match e {
        EmailError::Password(crate::password::PasswordError::Busy) => return browser::busy(),
        EmailError::Store(s) if s.is_unavailable() => return browser::busy(),
        _ => {}
    }
    tracing::error!("mailed link failed: {e}");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        ui::error("The server could not complete this. Try again."),
        &[],
    )
}

const FORGOT_AGAIN: (&str, &str) = ("/password/forgot", "Ask for a new link");
const ACCOUNT: (&str, &str) = ("/account", "Open your account");

/// `GET /password/forgot`.
pub(super) async fn forgot_page() -> Response {
    page(StatusCode::OK, pages::render(&pages::Forgot), &[])
}

/// `POST /password/forgot`: always the same page, at once. The request
/// is handled in a task of its own, so not even the time to answer tells
/// whether an account was found (its lookups and writes happen after).
pub(super) async fn forgot(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let typed = sent.form.get("username").unwrap_or("").to_owned();
    let peer = sent.browser().peer;
    let at = now();
    tokio::spawn(async move {
        email::forgot(&state.store, &state.outbox, &typed, peer, at).await;
    });
    page(StatusCode::OK, pages::render(&pages::ForgotSent), &[])
}

/// The new-password form for `token`.
fn reset_form(token: &str, error: Option<&str>) -> Response {
    page(
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        pages::render(&pages::Reset { token, error }),
        &[],
    )
}

/// `GET /password/reset?token=...`.
pub(super) async fn reset_page(State(state): State<Arc<AppState>>, sent: BrowserQuery) -> Response {
    let token = sent.query.get("token").unwrap_or("");
    match email::reset_link(&state.store, token, now()).await {
        Ok(_) => reset_form(token, None),
        Err(EmailError::InvalidLink) => invalid_link(FORGOT_AGAIN),
        Err(e) => failed(&e),
    }
}

/// `POST /password/reset`.
pub(super) async fn reset(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let token = sent.form.get("token").unwrap_or("");
    let field = |name: &str| Zeroizing::new(sent.form.get(name).unwrap_or("").to_owned());
    match email::reset(&state.store, token, field("new"), field("again"), now()).await {
        Ok(()) => page(
            StatusCode::OK,
            pages::render(&pages::Outcome {
                heading: "Your password was changed",
                message: "Every session of your account was signed out. Sign in with the new password.",
                failed: false,
                link: Some(ACCOUNT),
            }),
            &[],
        ),
        Err(EmailError::InvalidLink) => invalid_link(FORGOT_AGAIN),
        Err(EmailError::PasswordsDiffer) => reset_form(token, Some("The two passwords differ.")),
        Err(EmailError::WeakPassword(why)) => {
            reset_form(token, Some(&format!("That password cannot be used: {why}.")))
        }
        Err(e) => failed(&e),
    }
}

/// `GET /email/verify?token=...`: the confirm button.
pub(super) async fn verify_page(State(state): State<Arc<AppState>>, sent: BrowserQuery) -> Response {
    let token = sent.query.get("token").unwrap_or("");
    match email::verification(&state.store, token, now()).await {
        Ok(link) => page(
            StatusCode::OK,
            pages::render(&pages::Verify {
                token,
                address: &link.email,
            }),
            &[],
        ),
        Err(EmailError::InvalidLink) => invalid_link(ACCOUNT),
        Err(e) => failed(&e),
    }
}

/// `POST /email/verify`.
pub(super) async fn verify(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let token = sent.form.get("token").unwrap_or("");
    match email::confirm(&state.store, token, now()).await {
        Ok(Confirmed::Verified { email, .. }) => page(
            StatusCode::OK,
            pages::render(&pages::Outcome {
                heading: "Your email address is confirmed",
                message: &format!("{email} is now the verified email address of your account."),
                failed: false,
                link: Some(ACCOUNT),
            }),
            &[],
        ),
        Ok(Confirmed::Taken { .. }) => page(
            StatusCode::CONFLICT,
            pages::render(&pages::Outcome {
                heading: "This address cannot be used",
                message: "Another account uses this email address now. Your account keeps its address.",
                failed: true,
                link: Some(ACCOUNT),
            }),
            &[],
        ),
        Ok(Confirmed::Invalid) | Err(EmailError::InvalidLink) => invalid_link(ACCOUNT),
        Err(e) => failed(&e),
    }
}
