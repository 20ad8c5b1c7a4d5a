//! `/account` and its pages: thin handlers over [`crate::account`]. Each
//! reads the browser's cookies, finds who is signed in, calls one account
//! function and renders the page or a 303.
//!
//! A browser without a session, or whose sign-in is too old for a change,
//! is sent through `/authorize` as the account client
//! ([`crate::account::sign_in`]) and comes back at `/account/callback`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use tessera_jwt::UnixTime;
use zeroize::Zeroizing;

use super::browser::{self, page, see_other, BrowserForm, BrowserQuery};
use super::own_client;
use super::AppState;
use crate::account::factors as account_factors;
use crate::account::passkeys as account_passkeys;
use crate::account::profile as account_profile;
use crate::account::sign_in::{self, Then};
use crate::account::AccountError;
use crate::identity::passkeys::RelyingParty;
use crate::own_client::Need;
use crate::store::Session;
use crate::ui;
use crate::ui::account as pages;

/// What just happened, said at the top of `/account` after a 303: a fixed
/// set, so the query cannot put words on the page.
#[derive(Clone, Copy)]
enum Done {
    AuthenticatorAdded,
    AuthenticatorRemoved,
    PasskeyAdded,
    PasskeyRenamed,
    PasskeyRemoved,
    KeptLast,
    NameChanged,
    BadName,
    PasswordChanged,
    SessionEnded,
    OthersEnded,
    AppRevoked,
    Unlinked,
    LastWayIn,
    EmailPending,
    BadEmail,
}

impl Done {
    const ALL: [Done; 16] = [
        Done::EmailPending,
        Done::BadEmail,
        Done::NameChanged,
        Done::BadName,
        Done::PasswordChanged,
        Done::SessionEnded,
        Done::OthersEnded,
        Done::AppRevoked,
        Done::Unlinked,
        Done::LastWayIn,
        Done::KeptLast,
        Done::AuthenticatorAdded,
        Done::AuthenticatorRemoved,
        Done::PasskeyAdded,
        Done::PasskeyRenamed,
        Done::PasskeyRemoved,
    ];

    fn name(self) -> &'static str {
        match self {
            Done::AuthenticatorAdded => "authenticator-added",
            Done::AuthenticatorRemoved => "authenticator-removed",
            Done::PasskeyAdded => "passkey-added",
            Done::PasskeyRenamed => "passkey-renamed",
            Done::PasskeyRemoved => "passkey-removed",
            Done::KeptLast => "kept-last",
            Done::NameChanged => "name-changed",
            Done::BadName => "bad-name",
            Done::PasswordChanged => "password-changed",
            Done::SessionEnded => "session-ended",
            Done::OthersEnded => "others-ended",
            Done::AppRevoked => "app-revoked",
            Done::Unlinked => "unlinked",
            Done::LastWayIn => "last-way-in",
            Done::EmailPending => "email-pending",
            Done::BadEmail => "bad-email",
        }
    }

    fn notice(self) -> &'static str {
        match self {
            Done::AuthenticatorAdded => {
                "Your authenticator app is on: signing in now asks for its code. Other sessions were signed out."
            }
            Done::AuthenticatorRemoved => "Your authenticator app was removed. Other sessions were signed out.",
            Done::PasskeyAdded => "Your passkey was added. Other sessions were signed out.",
            Done::PasskeyRenamed => "Your passkey was renamed.",
            Done::PasskeyRemoved => "Your passkey was removed. Other sessions were signed out.",
            Done::KeptLast => {
                "Your account must use a second factor: add another one before removing this one."
            }
            Done::NameChanged => "Your name was saved.",
            Done::BadName => "That name cannot be used: at most 128 characters, no control characters.",
            Done::PasswordChanged => {
                "Your password was changed. Other sessions were signed out and apps must sign you in again."
            }
            Done::SessionEnded => "That session was signed out.",
            Done::OthersEnded => "Every other session was signed out.",
            Done::AppRevoked => "The app's access was revoked.",
            Done::Unlinked => "The linked sign-in was removed. Other sessions were signed out.",
            Done::LastWayIn => {
                "That is your only way to sign in: set a password or add a passkey before unlinking it."
            }
            Done::EmailPending => {
                "We sent a link to the new address. Your account keeps its current address until you open it."
            }
            Done::BadEmail => "That is not an email address.",
        }
    }
}

/// Sends the browser to sign in for the account page, then to `then`
/// (`fresh`: unless its sign-in is at most five minutes old), giving it a
/// binding cookie if it has none.
fn sign_in_first(state: &AppState, binding: Option<&str>, then: Then, fresh: bool) -> Response {
    let need = if fresh { Need::Fresh } else { Need::SignedIn };
    own_client::sign_in_first(state, &sign_in::ACCOUNT, binding, then.name(), need)
}

/// A page for an error no request should meet (storage, randomness).
fn failed(e: &AccountError) -> Response {
    tracing::error!("account page failed: {e}");
    page(
        StatusCode::INTERNAL_SERVER_ERROR,
        ui::error("The server could not show your account. Try again."),
        &[],
    )
}

/// The signed-in session, or the answer that signs the browser in first.
async fn session_or_sign_in(
    state: &AppState,
    session_cookie: Option<&str>,
    binding: Option<&str>,
    then: Then,
) -> Result<Session, Response> {
    let now = UnixTime::now().as_secs();
    match sign_in::signed_in(&state.store, session_cookie, now).await {
        Ok(Some(session)) => Ok(session),
        Ok(None) => Err(sign_in_first(state, binding, then, false)),
        Err(e) => Err(failed(&e)),
    }
}

/// `GET /account`.
pub(super) async fn show(State(state): State<Arc<AppState>>, sent: BrowserQuery) -> Response {
    let browser = sent.browser();
    let session = match session_or_sign_in(&state, browser.session, browser.binding, Then::Account).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let Some(binding) = browser.binding else {
        // The session outlived the binding cookie: sign in again, which
        // sets one.
        return sign_in_first(&state, None, Then::Account, true);
    };
    let done = sent
        .query
        .get("done")
        .and_then(|d| Done::ALL.into_iter().find(|x| x.name() == d));
    render_account(&state, &session, binding, done.map(Done::notice)).await
}

async fn render_account(
    state: &AppState,
    session: &Session,
    binding: &str,
    notice: Option<&str>,
) -> Response {
    let overview = match account_factors::overview(&state.store, &session.user_id).await {
        Ok(o) => o,
        Err(e) => return failed(&e),
    };
    let now = UnixTime::now().as_secs();
    let profile = match account_profile::profile(&state.store, session, now).await {
        Ok(p) => p,
        Err(AccountError::NotThisBrowser) => return sign_in_first(state, Some(binding), Then::Account, true),
        Err(e) => return failed(&e),
    };
    let sessions: Vec<pages::SessionLine<'_>> = profile
        .sessions
        .iter()
        .map(|s| pages::SessionLine {
            sid: &s.sid,
            signed_in_at: s.auth_time,
            from: s.client_ip.as_deref(),
            this_one: s.sid == session.sid,
        })
        .collect();
    let scopes: Vec<String> = profile.apps.iter().map(|a| a.scope.as_str().to_owned()).collect();
    let apps: Vec<pages::AppLine<'_>> = profile
        .apps
        .iter()
        .zip(&scopes)
        .map(|(a, scope)| pages::AppLine {
            client_id: &a.client_id,
            name: &a.name,
            scope,
            granted_at: a.granted_at,
        })
        .collect();
    let identities: Vec<pages::IdentityLine<'_>> = profile
        .identities
        .iter()
        .map(|i| pages::IdentityLine {
            provider: &i.provider,
            linked_at: i.linked_at,
        })
        .collect();
    let user = &profile.user;
    let csrf = sign_in::form_token(binding, session);
    let passkeys = match account_passkeys::list(&state.store, session).await {
        Ok(list) => list,
        Err(e) => return failed(&e),
    };
    let lines: Vec<pages::PasskeyLine<'_>> = passkeys
        .iter()
        .map(|p| pages::PasskeyLine {
            id: &p.id,
            name: &p.name,
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        })
        .collect();
    page(
        StatusCode::OK,
        pages::account(&pages::Account {
            username: &user.username,
            profile: pages::ProfilePart {
                name: user.name.as_deref(),
                email: user.email.as_deref().map(|e| (e, user.email_verified)),
                pending_email: profile.pending_email.as_deref(),
                has_password: user.password().is_some(),
                sessions: &sessions,
                apps: &apps,
                identities: &identities,
            },
            csrf: &csrf,
            notice,
            authenticator: overview.authenticator.as_ref().map(|(id, at)| (id.as_str(), *at)),
            recovery_codes_left: overview
                .has_second_factor()
                .then_some(overview.recovery_codes_left.unwrap_or(0)),
            passkeys: relying_party(state).is_ok().then_some(lines.as_slice()),
        }),
        &[],
    )
}

/// `GET /account/callback`: back from `/authorize`.
pub(super) async fn callback(State(state): State<Arc<AppState>>, sent: BrowserQuery) -> Response {
    match own_client::callback(&state, &sign_in::ACCOUNT, &sent, Then::parse).await {
        Ok(then) => see_other(then.path()),
        Err(response) => response,
    }
}

/// `GET /account/totp`: a new authenticator secret to scan and confirm.
pub(super) async fn add_authenticator_page(
    State(state): State<Arc<AppState>>,
    sent: BrowserQuery,
) -> Response {
    let browser = sent.browser();
    let session =
        match session_or_sign_in(&state, browser.session, browser.binding, Then::AddAuthenticator).await {
            Ok(s) => s,
            Err(response) => return response,
        };
    let now = UnixTime::now().as_secs();
    let Some(binding) = browser.binding.filter(|_| sign_in::fresh(&session, now)) else {
        return sign_in_first(&state, browser.binding, Then::AddAuthenticator, true);
    };
    match account_factors::begin_authenticator(&state.store, &state.master, &state.issuer, &session, now)
        .await
    {
        Ok(to_confirm) => enrollment_page(binding, &session, &to_confirm, None),
        Err(AccountError::AlreadyEnrolled) => see_other("/account"),
        Err(AccountError::NotFresh) => sign_in_first(&state, Some(binding), Then::AddAuthenticator, true),
        Err(e) => failed(&e),
    }
}

fn enrollment_page(
    binding: &str,
    session: &Session,
    to_confirm: &account_factors::ToConfirm,
    error: Option<&str>,
) -> Response {
    let secret = to_confirm.enrollment.secret.base32();
    let csrf = sign_in::form_token(binding, session);
    page(
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        pages::add_authenticator(&pages::AddAuthenticator {
            uri: &to_confirm.uri,
            secret: &secret,
            csrf: &csrf,
            error,
        }),
        &[],
    )
}

/// A form to an account page from a signed-in browser, with a good CSRF
/// token: the session and the binding, or the answer that refuses it.
async fn signed_form<'f>(state: &AppState, sent: &'f BrowserForm) -> Result<(Session, &'f str), Response> {
    let browser = sent.browser();
    let session = session_or_sign_in(state, browser.session, browser.binding, Then::Account).await?;
    let csrf = sent.form.get("csrf").unwrap_or("");
    match browser.binding {
        Some(binding) if sign_in::form_ok(Some(binding), &session, csrf) => Ok((session, binding)),
        _ => Err(page(
            StatusCode::FORBIDDEN,
            ui::error("This form did not come from your account page. Open /account and try again."),
            &[],
        )),
    }
}

/// `POST /account/totp`: confirms the new authenticator with one code.
pub(super) async fn confirm_authenticator(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let (session, binding) = match signed_form(&state, &sent).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let now = UnixTime::now().as_secs();
    let code = sent.form.get("code").unwrap_or("");
    match account_factors::confirm_authenticator(&state.store, &state.master, &session, code, now).await {
        Ok(added) => match added.recovery_codes {
            Some(codes) => codes_page("Your authenticator app is on", &codes),
            None => see_other(&format!("/account?done={}", Done::AuthenticatorAdded.name())),
        },
        Err(AccountError::WrongCode) => {
            match account_factors::pending_authenticator(&state.store, &state.master, &state.issuer, &session)
                .await
            {
                Ok(to_confirm) => enrollment_page(
                    binding,
                    &session,
                    &to_confirm,
                    Some("That code is not right. Check the time on your device and type the newest code."),
                ),
                Err(AccountError::NoSuchFactor) => see_other("/account/totp"),
                Err(e) => failed(&e),
            }
        }
        Err(AccountError::NoSuchFactor) => see_other("/account/totp"),
        Err(AccountError::NotFresh) => sign_in_first(&state, Some(binding), Then::AddAuthenticator, true),
        Err(e) => failed(&e),
    }
}

/// `POST /account/totp/remove`.
pub(super) async fn remove_authenticator(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let (session, binding) = match signed_form(&state, &sent).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let now = UnixTime::now().as_secs();
    let id = sent.form.get("id").unwrap_or("");
    let result = account_factors::remove_authenticator(&state.store, &session, id, now).await;
    changed(&state, binding, result.map(|()| Done::AuthenticatorRemoved))
}

/// `POST /account/recovery-codes`: a new set, shown once.
pub(super) async fn new_recovery_codes(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let (session, binding) = match signed_form(&state, &sent).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let now = UnixTime::now().as_secs();
    match account_factors::new_recovery_codes(&state.store, &state.master, &session, now).await {
        Ok(codes) => codes_page("Your new recovery codes", &codes),
        Err(AccountError::NoSuchFactor) => see_other("/account"),
        Err(AccountError::NotFresh) => sign_in_first(&state, Some(binding), Then::Account, true),
        Err(e) => failed(&e),
    }
}

fn codes_page(heading: &str, codes: &[Zeroizing<String>]) -> Response {
    let codes: Vec<&str> = codes.iter().map(|c| c.as_str()).collect();
    page(StatusCode::OK, pages::recovery_codes(heading, &codes), &[])
}

/// This server as a WebAuthn relying party (its issuer's host and origin).
fn relying_party(state: &AppState) -> Result<RelyingParty, AccountError> {
    RelyingParty::from_issuer(&state.issuer, "Tessera").map_err(AccountError::from)
}

/// `GET /account/passkey`: the page that creates a passkey.
pub(super) async fn add_passkey_page(State(state): State<Arc<AppState>>, sent: BrowserQuery) -> Response {
    let browser = sent.browser();
    let session = match session_or_sign_in(&state, browser.session, browser.binding, Then::AddPasskey).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let now = UnixTime::now().as_secs();
    let Some(binding) = browser.binding.filter(|_| sign_in::fresh(&session, now)) else {
        return sign_in_first(&state, browser.binding, Then::AddPasskey, true);
    };
    passkey_page(&state, &session, binding, now, None).await
}

/// The "add a passkey" page with fresh options (a new challenge).
async fn passkey_page(
    state: &AppState,
    session: &Session,
    binding: &str,
    now: i64,
    error: Option<&str>,
) -> Response {
    let rp = match relying_party(state) {
        Ok(rp) => rp,
        Err(_) => return see_other("/account"),
    };
    match account_passkeys::begin(&state.store, &rp, session, binding, now).await {
        Ok(options) => {
            let csrf = sign_in::form_token(binding, session);
            browser::page_with_script(
                if error.is_some() {
                    StatusCode::BAD_REQUEST
                } else {
                    StatusCode::OK
                },
                pages::add_passkey(&pages::AddPasskey {
                    options: &options,
                    csrf: &csrf,
                    script: super::assets::passkey_script_path(),
                    error,
                }),
                &[],
                &[],
            )
        }
        Err(AccountError::NotFresh) => sign_in_first(state, Some(binding), Then::AddPasskey, true),
        Err(e) => failed(&e),
    }
}

/// `POST /account/passkey`: the browser's new credential.
pub(super) async fn add_passkey(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let (session, binding) = match signed_form(&state, &sent).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let now = UnixTime::now().as_secs();
    let rp = match relying_party(&state) {
        Ok(rp) => rp,
        Err(_) => return see_other("/account"),
    };
    let credential = sent.form.get("credential").unwrap_or("");
    let name = sent.form.get("name").unwrap_or("");
    match account_passkeys::finish(
        &state.store,
        &state.master,
        &rp,
        &session,
        binding,
        credential,
        name,
        now,
    )
    .await
    {
        Ok(Some(codes)) => codes_page("Your passkey was added", &codes),
        Ok(None) => see_other(&format!("/account?done={}", Done::PasskeyAdded.name())),
        Err(AccountError::Passkey(e)) => {
            tracing::info!(target: "audit", user_id = %session.user_id, error = %e, "account: passkey refused");
            passkey_page(
                &state,
                &session,
                binding,
                now,
                Some("The passkey was not accepted. Try again."),
            )
            .await
        }
        Err(AccountError::NotFresh) => sign_in_first(&state, Some(binding), Then::AddPasskey, true),
        Err(e) => failed(&e),
    }
}

/// `POST /account/passkey/rename`.
pub(super) async fn rename_passkey(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let (session, binding) = match signed_form(&state, &sent).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let now = UnixTime::now().as_secs();
    let id = sent.form.get("id").unwrap_or("");
    let name = sent.form.get("name").unwrap_or("");
    let result = account_passkeys::rename(&state.store, &session, id, name, now).await;
    changed(&state, binding, result.map(|()| Done::PasskeyRenamed))
}

/// `POST /account/passkey/remove`.
pub(super) async fn remove_passkey(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let (session, binding) = match signed_form(&state, &sent).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let now = UnixTime::now().as_secs();
    let id = sent.form.get("id").unwrap_or("");
    let result = account_passkeys::remove(&state.store, &session, id, now).await;
    changed(&state, binding, result.map(|()| Done::PasskeyRemoved))
}

/// A 303 to `/account` saying what happened.
fn done(what: Done) -> Response {
    see_other(&format!("/account?done={}", what.name()))
}

/// The answer to a change made from `/account`: what happened, or the
/// refusals every change shares (gone already, the last way in or the
/// last required factor kept, a name refused, a sign-in too old).
fn changed(state: &AppState, binding: &str, result: Result<Done, AccountError>) -> Response {
    match result {
        Ok(what) => done(what),
        Err(AccountError::LastRequiredFactor) => done(Done::KeptLast),
        Err(AccountError::LastWayIn) => done(Done::LastWayIn),
        Err(AccountError::BadName) => done(Done::BadName),
        Err(AccountError::NotAnAddress) => done(Done::BadEmail),
        Err(
            AccountError::NoSuchFactor
            | AccountError::NoSuchSession
            | AccountError::NoSuchApp
            | AccountError::NoSuchIdentity,
        ) => see_other("/account"),
        Err(AccountError::NotFresh) => sign_in_first(state, Some(binding), Then::Account, true),
        Err(e) => failed(&e),
    }
}

/// `GET /`: what this server is, and the way to the account page.
pub(super) async fn home(State(state): State<Arc<AppState>>) -> Response {
    page(StatusCode::OK, pages::home(&state.issuer), &[])
}

/// `POST /account/name`.
pub(super) async fn set_name(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let (session, binding) = match signed_form(&state, &sent).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let now = UnixTime::now().as_secs();
    let name = sent.form.get("name").unwrap_or("");
    let result = account_profile::set_name(&state.store, &session, name, now).await;
    changed(&state, binding, result.map(|()| Done::NameChanged))
}

/// The password page, with an error if the last try was refused.
fn password_page(binding: &str, session: &Session, now: i64, error: Option<&str>) -> Response {
    let csrf = sign_in::form_token(binding, session);
    page(
        if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        },
        pages::password(&pages::PasswordPage {
            csrf: &csrf,
            fresh: sign_in::fresh(session, now),
            error,
        }),
        &[],
    )
}

/// `GET /account/password`.
pub(super) async fn change_password_page(State(state): State<Arc<AppState>>, sent: BrowserQuery) -> Response {
    let browser = sent.browser();
    let session = match session_or_sign_in(&state, browser.session, browser.binding, Then::Password).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let Some(binding) = browser.binding else {
        return sign_in_first(&state, None, Then::Password, true);
    };
    password_page(binding, &session, UnixTime::now().as_secs(), None)
}

/// `POST /account/password`.
pub(super) async fn change_password(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let (session, binding) = match signed_form(&state, &sent).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let now = UnixTime::now().as_secs();
    let field = |name: &str| Zeroizing::new(sent.form.get(name).unwrap_or("").to_owned());
    let change = account_profile::NewPassword {
        current: field("current"),
        new: field("new"),
        again: field("again"),
    };
    let refused = |why: &str| password_page(binding, &session, now, Some(why));
    match account_profile::change_password(&state.store, &session, change, sent.browser().peer, now).await {
        Ok(()) => done(Done::PasswordChanged),
        Err(AccountError::NotFresh) => sign_in_first(&state, Some(binding), Then::Password, true),
        Err(AccountError::WrongPassword) => refused("That is not your current password."),
        Err(AccountError::TooManyAttempts) => {
            refused("Too many failed attempts. Wait a while and try again.")
        }
        Err(AccountError::PasswordsDiffer) => refused("The two new passwords differ."),
        Err(AccountError::WeakPassword(why)) => refused(&format!("That new password cannot be used: {why}.")),
        Err(e) => failed(&e),
    }
}

/// `POST /account/sessions/end`: signs one session out.
pub(super) async fn end_session(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let (session, binding) = match signed_form(&state, &sent).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let now = UnixTime::now().as_secs();
    let sid = sent.form.get("sid").unwrap_or("");
    let result = account_profile::end_session(&state.store, &session, sid, now).await;
    changed(&state, binding, result.map(|()| Done::SessionEnded))
}

/// `POST /account/sessions/end-others`: signs every other session out.
pub(super) async fn end_other_sessions(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let (session, binding) = match signed_form(&state, &sent).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let now = UnixTime::now().as_secs();
    let result = account_profile::end_other_sessions(&state.store, &session, now).await;
    changed(&state, binding, result.map(|_| Done::OthersEnded))
}

/// `POST /account/apps/revoke`: withdraws the consent to one app.
pub(super) async fn revoke_app(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let (session, binding) = match signed_form(&state, &sent).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let now = UnixTime::now().as_secs();
    let client_id = sent.form.get("client_id").unwrap_or("");
    let result = account_profile::revoke_app(&state.store, &session, client_id, now).await;
    changed(&state, binding, result.map(|()| Done::AppRevoked))
}

/// `POST /account/identities/unlink`: removes a linked upstream sign-in.
pub(super) async fn unlink(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let (session, binding) = match signed_form(&state, &sent).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let now = UnixTime::now().as_secs();
    let provider = sent.form.get("provider").unwrap_or("");
    let result = account_profile::unlink(&state.store, &session, provider, now).await;
    changed(&state, binding, result.map(|()| Done::Unlinked))
}

/// `POST /account/email`: asks for a new address, pending until its
/// mailed link is used (the same answer whether or not another account
/// has it).
pub(super) async fn change_email(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let (session, binding) = match signed_form(&state, &sent).await {
        Ok(s) => s,
        Err(response) => return response,
    };
    let now = UnixTime::now().as_secs();
    let address = sent.form.get("email").unwrap_or("");
    let result = account_profile::change_email(&state.store, &state.outbox, &session, address, now).await;
    changed(&state, binding, result.map(|()| Done::EmailPending))
}
