//! `/admin`: the admin console's thin handlers over [`crate::console`]
//! (who may read and write) and [`crate::admin`] (what is read and
//! written, and audited). Each reads the browser's cookies, finds the
//! signed-in administrator, calls one function and renders a page
//! ([`crate::ui::admin`]) or a 303.
//!
//! A browser without a session is sent through `/authorize` as the
//! console's client and comes back at `/admin/callback`; a write on a
//! sign-in older than five minutes or with one factor is sent there again
//! with `max_age` and `acr_values=urn:tessera:acr:2fa`, then back to the
//! page it was made from.

use std::sync::Arc;

use askama::Template;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use tessera_jwt::{Algorithm, UnixTime};

use super::browser::{page, see_other, BrowserForm, BrowserQuery};
use super::own_client::{self, failed};
use super::AppState;
use crate::admin::{self, AdminError, Page};
use crate::console::{self, forms, Administrator, ConsoleError, WriteRequest, Writer, CONSOLE};
use crate::domain::GrantType;
use crate::own_client::Need;
use crate::store::Session;
use crate::ui::admin::{self as pages, Frame, Section};

/// The console's routes.
pub(super) fn router() -> Router<Arc<AppState>> {
    Router::new()
        .route("/admin", get(home))
        .route(CONSOLE.callback, get(callback))
        .route("/admin/clients", get(clients).post(create_client))
        .route("/admin/clients/new", get(new_client))
        .route("/admin/clients/{client_id}", get(client).post(save_client))
        .route("/admin/clients/{client_id}/secret", post(rotate_secret))
        .route("/admin/clients/{client_id}/delete", post(delete_client))
        .route("/admin/users", get(users).post(create_user))
        .route("/admin/users/new", get(new_user))
        .route("/admin/users/{user_id}", get(user).post(save_user))
        .route("/admin/users/{user_id}/disable", post(disable_user))
        .route("/admin/users/{user_id}/enable", post(enable_user))
        .route("/admin/users/{user_id}/delete", post(delete_user))
        .route("/admin/users/{user_id}/password", post(set_password))
        .route("/admin/users/{user_id}/sessions/end", post(end_session))
        .route("/admin/users/{user_id}/consents/revoke", post(revoke_consent))
        .route("/admin/keys", get(keys))
        .route("/admin/keys/rotate", post(rotate_key))
        .route("/admin/keys/revoke", post(revoke_key))
        .route("/admin/audit", get(audit))
}

/// What just happened, said at the top of a page after a 303: a fixed
/// set, so the query cannot put words on the page.
#[derive(Clone, Copy)]
enum Done {
    ClientDeleted,
    ClientSaved,
    UserCreated,
    UserSaved,
    UserDisabled,
    UserEnabled,
    UserDeleted,
    PasswordSet,
    SessionEnded,
    ConsentRevoked,
    KeyRotated,
    KeyRevoked,
    Stale,
    Gone,
    Yourself,
    NotConfirmed,
}

impl Done {
    const ALL: [Done; 16] = [
        Done::ClientDeleted,
        Done::ClientSaved,
        Done::UserCreated,
        Done::UserSaved,
        Done::UserDisabled,
        Done::UserEnabled,
        Done::UserDeleted,
        Done::PasswordSet,
        Done::SessionEnded,
        Done::ConsentRevoked,
        Done::KeyRotated,
        Done::KeyRevoked,
        Done::Stale,
        Done::Gone,
        Done::Yourself,
        Done::NotConfirmed,
    ];

    fn name(self) -> &'static str {
        match self {
            Done::ClientDeleted => "client-deleted",
            Done::ClientSaved => "client-saved",
            Done::UserCreated => "user-created",
            Done::UserSaved => "user-saved",
            Done::UserDisabled => "user-disabled",
            Done::UserEnabled => "user-enabled",
            Done::UserDeleted => "user-deleted",
            Done::PasswordSet => "password-set",
            Done::SessionEnded => "session-ended",
            Done::ConsentRevoked => "consent-revoked",
            Done::KeyRotated => "key-rotated",
            Done::KeyRevoked => "key-revoked",
            Done::Stale => "stale",
            Done::Gone => "gone",
            Done::Yourself => "yourself",
            Done::NotConfirmed => "not-confirmed",
        }
    }

    fn notice(self) -> &'static str {
        match self {
            Done::ClientDeleted => "The client was deleted.",
            Done::ClientSaved => "The client was saved.",
            Done::UserCreated => "The user was created.",
            Done::UserSaved => "The user was saved.",
            Done::UserDisabled => "The user was disabled: their sessions and refresh tokens ended.",
            Done::UserEnabled => "The user was enabled.",
            Done::UserDeleted => "The user was deleted.",
            Done::PasswordSet => "The password was set: their sessions and refresh tokens ended.",
            Done::SessionEnded => "The session was ended and its refresh tokens revoked.",
            Done::ConsentRevoked => "The consent was revoked, and with it the app's refresh tokens.",
            Done::KeyRotated => "A new signing key was published; it signs from its activation.",
            Done::KeyRevoked => "The key was revoked.",
            Done::Stale => "It changed since this page was shown (another administrator?): here it is as it is now. Try again.",
            Done::Gone => "That is gone already.",
            Done::Yourself => "You cannot disable or delete your own account, or drop your own admin role.",
            Done::NotConfirmed => "Check the box to confirm, then try again.",
        }
    }
}

/// A 303 to `path` saying what happened.
fn done(path: &str, what: Done) -> Response {
    see_other(&format!("{path}?done={}", what.name()))
}

/// A page rendered, or the fault that kept it from rendering.
fn render(status: StatusCode, template: &impl Template) -> Response {
    match template.render() {
        Ok(html) => page(status, html, &[]),
        Err(e) => failed(&CONSOLE, &e),
    }
}

/// A refusal page: `heading`, `message`, and a link on.
fn refused(
    status: StatusCode,
    heading: &'static str,
    message: &str,
    way_on: Option<(&'static str, &'static str)>,
) -> Response {
    render(
        status,
        &pages::Refused {
            heading,
            message: message.to_owned(),
            way_on,
        },
    )
}

/// The 403 page of a signed-in person who is not an administrator.
fn not_an_admin() -> Response {
    refused(
        StatusCode::FORBIDDEN,
        "Not an administrator",
        "The admin console is for administrators, and your account does not have the admin role.",
        Some(("/account", "Your account")),
    )
}

/// The answer to an admin function's refusal, for the page at `back`.
fn admin_failed(e: &AdminError, back: &str) -> Response {
    match e {
        AdminError::NotFound(_) => done(back, Done::Gone),
        AdminError::PreconditionFailed | AdminError::PreconditionRequired => done(back, Done::Stale),
        AdminError::InvalidRequest(m) | AdminError::Conflict(m) => refused(
            StatusCode::BAD_REQUEST,
            "Not done",
            m,
            Some(("/admin", "The console")),
        ),
        AdminError::InvalidToken(_) | AdminError::NotAnAdmin => not_an_admin(),
        AdminError::Internal(_) => failed(&CONSOLE, e),
    }
}

/// Who reads a console page: the signed-in administrator, their session
/// and the browser's binding.
struct Reader {
    administrator: Administrator,
    session: Session,
    binding: String,
}

impl Reader {
    /// The frame of a page in `section`, with the notice the query's
    /// `done` names.
    fn frame(&self, section: Section, sent: &BrowserQuery) -> Frame {
        let mut frame = Frame::new(
            section,
            &self.administrator.username,
            CONSOLE.form_token(&self.binding, &self.session),
        );
        frame.notice = sent
            .query
            .get("done")
            .and_then(|d| Done::ALL.into_iter().find(|x| x.name() == d))
            .map(Done::notice);
        frame
    }
}

/// The administrator reading the page at `here`, or the answer that
/// signs the browser in first, or refuses a non-administrator.
async fn reader(state: &AppState, sent: &BrowserQuery, here: &str) -> Result<Reader, Response> {
    let browser = sent.browser();
    let now = UnixTime::now().as_secs();
    let session = match crate::own_client::signed_in(&state.store, browser.session, now).await {
        Ok(Some(session)) => session,
        Ok(None) => {
            return Err(own_client::sign_in_first(
                state,
                &CONSOLE,
                browser.binding,
                here,
                Need::SignedIn,
            ))
        }
        Err(e) => return Err(failed(&CONSOLE, &e)),
    };
    let Some(binding) = browser.binding else {
        // The session outlived the binding cookie: sign in again, which
        // sets one.
        return Err(own_client::sign_in_first(
            state,
            &CONSOLE,
            None,
            here,
            Need::SignedIn,
        ));
    };
    match console::administrator(&state.store, &session).await {
        Ok(administrator) => Ok(Reader {
            administrator,
            session,
            binding: binding.to_owned(),
        }),
        Err(ConsoleError::NotAnAdmin) => Err(not_an_admin()),
        Err(e) => Err(failed(&CONSOLE, &e)),
    }
}

/// The administrator allowed to make the change a form asks for from the
/// page at `back`, or the answer that refuses it or signs in again.
async fn writer(state: &AppState, sent: &BrowserForm, back: &str) -> Result<(Writer, Frame), Response> {
    let browser = sent.browser();
    let now = UnixTime::now().as_secs();
    let session = match crate::own_client::signed_in(&state.store, browser.session, now).await {
        Ok(Some(session)) => session,
        Ok(None) => {
            return Err(own_client::sign_in_first(
                state,
                &CONSOLE,
                browser.binding,
                back,
                Need::FreshTwoFactors,
            ))
        }
        Err(e) => return Err(failed(&CONSOLE, &e)),
    };
    let request = WriteRequest {
        session: &session,
        binding: browser.binding,
        csrf: sent.form.get("csrf").unwrap_or(""),
        now,
        second_factor_max_age: state.second_factor_max_age,
    };
    match console::writer(&state.store, request).await {
        Ok(writer) => {
            let csrf = browser
                .binding
                .map(|b| CONSOLE.form_token(b, &session))
                .unwrap_or_default();
            let frame = Frame::new(Section::Home, &writer.administrator().username, csrf);
            Ok((writer, frame))
        }
        Err(ConsoleError::NotAnAdmin) => Err(not_an_admin()),
        Err(ConsoleError::NotTheConsolesForm) => Err(refused(
            StatusCode::FORBIDDEN,
            "Not done",
            "This form did not come from the admin console in this browser. Open the console and try again.",
            Some(("/admin", "The console")),
        )),
        Err(ConsoleError::NotFresh | ConsoleError::OneFactor) => Err(own_client::sign_in_first(
            state,
            &CONSOLE,
            browser.binding,
            back,
            Need::FreshTwoFactors,
        )),
        Err(e @ (ConsoleError::Yourself | ConsoleError::Store(_))) => Err(failed(&CONSOLE, &e)),
    }
}

/// `GET /admin/callback`: back from `/authorize`, on to the console page
/// the sign-in was for.
async fn callback(State(state): State<Arc<AppState>>, sent: BrowserQuery) -> Response {
    match own_client::callback(&state, &CONSOLE, &sent, console::place).await {
        Ok(place) => see_other(&place),
        Err(response) => response,
    }
}

/// `GET /admin`: the overview.
async fn home(State(state): State<Arc<AppState>>, sent: BrowserQuery) -> Response {
    let reader = match reader(&state, &sent, "/admin").await {
        Ok(r) => r,
        Err(response) => return response,
    };
    match console::counts(&state.store).await {
        Ok(counts) => render(
            StatusCode::OK,
            &pages::Home {
                frame: reader.frame(Section::Home, &sent),
                clients: counts.clients,
                users: counts.users,
                keys: counts.keys,
            },
        ),
        Err(e) => admin_failed(&e, "/admin"),
    }
}

/// The links of a list page: to its first page (when on a later one) and
/// to the next.
fn pager<T>(
    base: &str,
    query: &str,
    cursor: Option<&str>,
    found: &Page<T>,
) -> (Option<String>, Option<String>) {
    let first = cursor
        .filter(|c| !c.is_empty())
        .map(|_| pages::list_href(base, query, None));
    let next = found
        .next_cursor
        .as_deref()
        .map(|c| pages::list_href(base, query, Some(c)));
    (first, next)
}

/// `GET /admin/clients?q=&cursor=`.
async fn clients(State(state): State<Arc<AppState>>, sent: BrowserQuery) -> Response {
    let reader = match reader(&state, &sent, "/admin/clients").await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let query = sent.query.get("q").unwrap_or("").trim().to_owned();
    let cursor = sent.query.get("cursor");
    match console::clients(&state.store, &query, cursor).await {
        Ok(found) => {
            let (first, next) = pager("/admin/clients", &query, cursor, &found);
            render(
                StatusCode::OK,
                &pages::Clients {
                    frame: reader.frame(Section::Clients, &sent),
                    query,
                    rows: found.items.iter().map(pages::ClientRow::of).collect(),
                    first,
                    next,
                },
            )
        }
        Err(e) => admin_failed(&e, "/admin/clients"),
    }
}

/// The new-client form, holding `values` and checking `checked`.
fn client_form(
    frame: Frame,
    values: pages::ClientValues,
    checked: &dyn Fn(&str) -> bool,
) -> pages::NewClient {
    pages::NewClient {
        frame,
        values,
        grants: GrantType::ALL
            .into_iter()
            .map(|g| pages::Check {
                field: forms::grant_field(g),
                label: g.as_str(),
                checked: checked(&forms::grant_field(g)),
            })
            .collect(),
        options: pages::CLIENT_OPTIONS
            .into_iter()
            .map(|(field, label)| pages::Check {
                field: field.to_owned(),
                label,
                checked: checked(field),
            })
            .collect(),
    }
}

/// `GET /admin/clients/new`.
async fn new_client(State(state): State<Arc<AppState>>, sent: BrowserQuery) -> Response {
    let reader = match reader(&state, &sent, "/admin/clients/new").await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let form = client_form(
        reader.frame(Section::Clients, &sent),
        pages::ClientValues::default(),
        &|field| field == forms::grant_field(GrantType::AuthorizationCode),
    );
    render(StatusCode::OK, &form)
}

/// `POST /admin/clients`: registers a client; its secret is shown once.
async fn create_client(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let (writer, mut frame) = match writer(&state, &sent, "/admin/clients/new").await {
        Ok(w) => w,
        Err(response) => return response,
    };
    frame = Frame::new(Section::Clients, &frame.username, frame.csrf);
    let refuse = |frame: Frame, message: String| {
        use forms::Fields as _;
        let values = pages::ClientValues {
            name: sent.form.text("name").to_owned(),
            redirect_uris: sent.form.text("redirect_uris").to_owned(),
            scope: sent.form.text("scope").to_owned(),
            audiences: sent.form.text("audiences").to_owned(),
            post_logout_redirect_uris: sent.form.text("post_logout_redirect_uris").to_owned(),
            access_token_ttl: sent.form.text("access_token_ttl").to_owned(),
        };
        let mut frame = frame;
        frame.error = Some(message);
        render(
            StatusCode::BAD_REQUEST,
            &client_form(frame, values, &|field| sent.form.checked(field)),
        )
    };
    let request = match forms::new_client(&sent.form) {
        Ok(r) => r,
        Err(e) => return refuse(frame, e.to_string()),
    };
    let now = UnixTime::now().as_secs();
    match admin::clients::create(&state.store, writer.admin(), request, state.access_token_ttl, now).await {
        Ok(created) => render(
            StatusCode::OK,
            &pages::ClientCreated {
                heading: "Client created",
                href: pages::client_href(&created.client.client_id),
                client_id: created.client.client_id,
                secret: created.client_secret,
                frame,
            },
        ),
        Err(AdminError::InvalidRequest(m) | AdminError::Conflict(m)) => refuse(frame, m),
        Err(e) => admin_failed(&e, "/admin/clients"),
    }
}

/// `GET /admin/clients/{client_id}`.
async fn client(
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    sent: BrowserQuery,
) -> Response {
    let href = pages::client_href(&client_id);
    let reader = match reader(&state, &sent, &href).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let frame = reader.frame(Section::Clients, &sent);
    client_page(&state, &client_id, frame, StatusCode::OK).await
}

/// The page of the client `client_id` in `frame`.
async fn client_page(state: &AppState, client_id: &str, frame: Frame, status: StatusCode) -> Response {
    match admin::clients::get(&state.store, client_id).await {
        Ok(tagged) => {
            let c = &tagged.view;
            render(
                status,
                &pages::ClientPage {
                    frame,
                    facts: pages::ClientPage::facts(c),
                    values: pages::ClientValues::of(c),
                    grants: GrantType::ALL
                        .into_iter()
                        .map(|g| pages::Check {
                            field: forms::grant_field(g),
                            label: g.as_str(),
                            checked: c.grant_types.iter().any(|n| n == g.as_str()),
                        })
                        .collect(),
                    options: pages::EDIT_OPTIONS
                        .into_iter()
                        .map(|(field, label)| pages::Check {
                            field: field.to_owned(),
                            label,
                            checked: pages::client_option(c, field),
                        })
                        .collect(),
                    public: c.public,
                    href: pages::client_href(&c.client_id),
                    client_id: c.client_id.clone(),
                    etag: tagged.etag,
                },
            )
        }
        Err(AdminError::NotFound(_)) => refused(
            StatusCode::NOT_FOUND,
            "No such client",
            "There is no client with that ID.",
            Some(("/admin/clients", "Clients")),
        ),
        Err(e) => admin_failed(&e, "/admin/clients"),
    }
}

/// `POST /admin/clients/{client_id}`: the edit form.
async fn save_client(
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    sent: BrowserForm,
) -> Response {
    let href = pages::client_href(&client_id);
    let (writer, frame) = match writer(&state, &sent, &href).await {
        Ok(w) => w,
        Err(response) => return response,
    };
    let refuse = |message: String| {
        let mut frame = Frame::new(Section::Clients, &frame.username, frame.csrf.clone());
        frame.error = Some(message);
        frame
    };
    let patch = match forms::edit_client(&sent.form) {
        Ok(p) => p,
        Err(e) => {
            return client_page(&state, &client_id, refuse(e.to_string()), StatusCode::BAD_REQUEST).await
        }
    };
    let now = UnixTime::now().as_secs();
    match admin::clients::patch(
        &state.store,
        writer.admin(),
        &client_id,
        sent.form.get("etag"),
        patch,
        now,
    )
    .await
    {
        Ok(_) => done(&href, Done::ClientSaved),
        Err(AdminError::InvalidRequest(m) | AdminError::Conflict(m)) => {
            client_page(&state, &client_id, refuse(m), StatusCode::BAD_REQUEST).await
        }
        Err(e) => admin_failed(&e, &href),
    }
}

/// `POST /admin/clients/{client_id}/secret`: a new secret, shown once;
/// the old one stops working.
async fn rotate_secret(
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    sent: BrowserForm,
) -> Response {
    let href = pages::client_href(&client_id);
    let (writer, frame) = match writer(&state, &sent, &href).await {
        Ok(w) => w,
        Err(response) => return response,
    };
    if sent.form.get("confirm").is_none() {
        return done(&href, Done::NotConfirmed);
    }
    let now = UnixTime::now().as_secs();
    match admin::clients::rotate_secret(
        &state.store,
        writer.admin(),
        &client_id,
        sent.form.get("etag"),
        now,
    )
    .await
    {
        Ok(rotated) => render(
            StatusCode::OK,
            &pages::ClientCreated {
                frame: Frame::new(Section::Clients, &frame.username, frame.csrf),
                heading: "New client secret",
                client_id: rotated.client_id,
                secret: Some(rotated.client_secret),
                href,
            },
        ),
        Err(e) => admin_failed(&e, &href),
    }
}

/// `POST /admin/clients/{client_id}/delete`.
async fn delete_client(
    State(state): State<Arc<AppState>>,
    Path(client_id): Path<String>,
    sent: BrowserForm,
) -> Response {
    let href = pages::client_href(&client_id);
    let (writer, _) = match writer(&state, &sent, &href).await {
        Ok(w) => w,
        Err(response) => return response,
    };
    if sent.form.get("confirm").is_none() {
        return done(&href, Done::NotConfirmed);
    }
    let now = UnixTime::now().as_secs();
    match admin::clients::delete(
        &state.store,
        writer.admin(),
        &client_id,
        sent.form.get("etag"),
        now,
    )
    .await
    {
        Ok(()) => done("/admin/clients", Done::ClientDeleted),
        Err(AdminError::NotFound(_)) => done("/admin/clients", Done::Gone),
        Err(e) => admin_failed(&e, &href),
    }
}

/// `GET /admin/users?q=&cursor=`.
async fn users(State(state): State<Arc<AppState>>, sent: BrowserQuery) -> Response {
    let reader = match reader(&state, &sent, "/admin/users").await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let query = sent.query.get("q").unwrap_or("").trim().to_owned();
    let cursor = sent.query.get("cursor");
    match console::users(&state.store, &query, cursor).await {
        Ok(found) => {
            let (first, next) = pager("/admin/users", &query, cursor, &found);
            render(
                StatusCode::OK,
                &pages::Users {
                    frame: reader.frame(Section::Users, &sent),
                    query,
                    rows: found.items.iter().map(pages::UserRow::of).collect(),
                    first,
                    next,
                },
            )
        }
        Err(e) => admin_failed(&e, "/admin/users"),
    }
}

/// `GET /admin/users/new`.
async fn new_user(State(state): State<Arc<AppState>>, sent: BrowserQuery) -> Response {
    let reader = match reader(&state, &sent, "/admin/users/new").await {
        Ok(r) => r,
        Err(response) => return response,
    };
    render(
        StatusCode::OK,
        &pages::NewUser {
            frame: reader.frame(Section::Users, &sent),
            values: pages::UserValues::default(),
        },
    )
}

/// `POST /admin/users`: makes a user.
async fn create_user(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let (writer, frame) = match writer(&state, &sent, "/admin/users/new").await {
        Ok(w) => w,
        Err(response) => return response,
    };
    let request = forms::new_user(&sent.form);
    let values = pages::UserValues {
        username: request.username.clone(),
        email: request.email.clone().unwrap_or_default(),
        email_verified: request.email_verified,
        name: request.name.clone().unwrap_or_default(),
        roles: request.roles.join(" "),
    };
    let now = UnixTime::now().as_secs();
    match admin::users::create(&state.store, writer.admin(), request, now).await {
        Ok(user) => done(&pages::user_href(&user.user_id), Done::UserCreated),
        Err(AdminError::InvalidRequest(m) | AdminError::Conflict(m)) => {
            let mut frame = Frame::new(Section::Users, &frame.username, frame.csrf);
            frame.error = Some(m);
            render(StatusCode::BAD_REQUEST, &pages::NewUser { frame, values })
        }
        Err(e) => admin_failed(&e, "/admin/users"),
    }
}

/// `GET /admin/users/{user_id}?sessions=&consents=`: the user, their
/// sessions and their consents.
async fn user(
    State(state): State<Arc<AppState>>,
    Path(user_id): Path<String>,
    sent: BrowserQuery,
) -> Response {
    let href = pages::user_href(&user_id);
    let reader = match reader(&state, &sent, &href).await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let frame = reader.frame(Section::Users, &sent);
    user_page(&state, &reader.administrator, &user_id, frame, StatusCode::OK).await
}

/// The user page of `user_id` in `frame`.
async fn user_page(
    state: &AppState,
    administrator: &Administrator,
    user_id: &str,
    frame: Frame,
    status: StatusCode,
) -> Response {
    let now = UnixTime::now().as_secs();
    let all = admin::PageRequest {
        limit: Some(admin::MAX_LIMIT),
        cursor: None,
    };
    let found = async {
        let view = admin::users::get(&state.store, user_id).await?;
        let sessions = admin::users::sessions(&state.store, user_id, &all, now).await?;
        let consents = admin::users::consents(&state.store, user_id, &all).await?;
        Ok::<_, AdminError>((view, sessions, consents))
    };
    match found.await {
        Ok((tagged, sessions, consents)) => render(
            status,
            &pages::UserPage {
                frame,
                href: pages::user_href(&tagged.view.user_id),
                facts: pages::UserPage::facts(&tagged.view),
                name: tagged.view.name.clone().unwrap_or_default(),
                roles: tagged.view.roles.join(" "),
                etag: tagged.etag,
                yourself: tagged.view.user_id == administrator.admin.subject,
                sessions: sessions.items.iter().map(pages::SessionRow::of).collect(),
                consents: consents.items.iter().map(pages::ConsentRow::of).collect(),
                user: tagged.view,
            },
        ),
        Err(AdminError::NotFound(_)) => refused(
            StatusCode::NOT_FOUND,
            "No such user",
            "There is no user with that ID.",
            Some(("/admin/users", "Users")),
        ),
        Err(e) => admin_failed(&e, "/admin/users"),
    }
}

/// `POST /admin/users/{user_id}`: their name, roles and second factor.
async fn save_user(
    State(state): State<Arc<AppState>>,
    Path(user_id): Path<String>,
    sent: BrowserForm,
) -> Response {
    let href = pages::user_href(&user_id);
    let (writer, frame) = match writer(&state, &sent, &href).await {
        Ok(w) => w,
        Err(response) => return response,
    };
    let patch = forms::edit_user(&sent.form);
    let drops_own_admin = patch
        .roles
        .as_ref()
        .is_some_and(|roles| !roles.iter().any(|r| r == crate::domain::ADMIN_ROLE));
    if drops_own_admin && writer.not_yourself(&user_id).is_err() {
        return done(&href, Done::Yourself);
    }
    let now = UnixTime::now().as_secs();
    match admin::users::patch(
        &state.store,
        writer.admin(),
        &user_id,
        sent.form.get("etag"),
        patch,
        now,
    )
    .await
    {
        Ok(_) => done(&href, Done::UserSaved),
        Err(AdminError::InvalidRequest(m) | AdminError::Conflict(m)) => {
            let mut frame = Frame::new(Section::Users, &frame.username, frame.csrf);
            frame.error = Some(m);
            user_page(
                &state,
                writer.administrator(),
                &user_id,
                frame,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => admin_failed(&e, &href),
    }
}

/// Disables or enables a user.
async fn set_disabled(state: &AppState, user_id: &str, sent: &BrowserForm, disabled: bool) -> Response {
    let href = pages::user_href(user_id);
    let (writer, _) = match writer(state, sent, &href).await {
        Ok(w) => w,
        Err(response) => return response,
    };
    if disabled && writer.not_yourself(user_id).is_err() {
        return done(&href, Done::Yourself);
    }
    let patch = admin::users::PatchUser {
        disabled: Some(disabled),
        ..Default::default()
    };
    let now = UnixTime::now().as_secs();
    match admin::users::patch(
        &state.store,
        writer.admin(),
        user_id,
        sent.form.get("etag"),
        patch,
        now,
    )
    .await
    {
        Ok(_) => done(
            &href,
            if disabled {
                Done::UserDisabled
            } else {
                Done::UserEnabled
            },
        ),
        Err(e) => admin_failed(&e, &href),
    }
}

/// `POST /admin/users/{user_id}/disable`: ends their sessions and
/// refresh tokens, refuses their sign-ins.
async fn disable_user(
    State(state): State<Arc<AppState>>,
    Path(user_id): Path<String>,
    sent: BrowserForm,
) -> Response {
    set_disabled(&state, &user_id, &sent, true).await
}

/// `POST /admin/users/{user_id}/enable`.
async fn enable_user(
    State(state): State<Arc<AppState>>,
    Path(user_id): Path<String>,
    sent: BrowserForm,
) -> Response {
    set_disabled(&state, &user_id, &sent, false).await
}

/// `POST /admin/users/{user_id}/delete`.
async fn delete_user(
    State(state): State<Arc<AppState>>,
    Path(user_id): Path<String>,
    sent: BrowserForm,
) -> Response {
    let href = pages::user_href(&user_id);
    let (writer, _) = match writer(&state, &sent, &href).await {
        Ok(w) => w,
        Err(response) => return response,
    };
    if writer.not_yourself(&user_id).is_err() {
        return done(&href, Done::Yourself);
    }
    if sent.form.get("confirm").is_none() {
        return done(&href, Done::NotConfirmed);
    }
    let now = UnixTime::now().as_secs();
    match admin::users::delete(&state.store, writer.admin(), &user_id, sent.form.get("etag"), now).await {
        Ok(()) => done("/admin/users", Done::UserDeleted),
        Err(AdminError::NotFound(_)) => done("/admin/users", Done::Gone),
        Err(e) => admin_failed(&e, &href),
    }
}

/// `POST /admin/users/{user_id}/password`: sets their password; every
/// session and refresh family of theirs ends.
async fn set_password(
    State(state): State<Arc<AppState>>,
    Path(user_id): Path<String>,
    sent: BrowserForm,
) -> Response {
    let href = pages::user_href(&user_id);
    let (writer, frame) = match writer(&state, &sent, &href).await {
        Ok(w) => w,
        Err(response) => return response,
    };
    let request = admin::users::SetPassword {
        password: zeroize::Zeroizing::new(sent.form.get("password").unwrap_or("").to_owned()),
    };
    let now = UnixTime::now().as_secs();
    match admin::users::set_password(&state.store, writer.admin(), &user_id, request, now).await {
        Ok(()) => done(&href, Done::PasswordSet),
        Err(AdminError::InvalidRequest(m)) => {
            let mut frame = Frame::new(Section::Users, &frame.username, frame.csrf);
            frame.error = Some(m);
            user_page(
                &state,
                writer.administrator(),
                &user_id,
                frame,
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(e) => admin_failed(&e, &href),
    }
}

/// `POST /admin/users/{user_id}/sessions/end`: ends the session `sid`
/// and revokes its refresh tokens.
async fn end_session(
    State(state): State<Arc<AppState>>,
    Path(user_id): Path<String>,
    sent: BrowserForm,
) -> Response {
    let href = pages::user_href(&user_id);
    let (writer, _) = match writer(&state, &sent, &href).await {
        Ok(w) => w,
        Err(response) => return response,
    };
    let sid = sent.form.get("sid").unwrap_or("");
    let now = UnixTime::now().as_secs();
    match admin::users::end_session(&state.store, writer.admin(), &user_id, sid, now).await {
        Ok(()) => done(&href, Done::SessionEnded),
        Err(e) => admin_failed(&e, &href),
    }
}

/// `POST /admin/users/{user_id}/consents/revoke`: withdraws their consent
/// to `client_id` and revokes its refresh tokens.
async fn revoke_consent(
    State(state): State<Arc<AppState>>,
    Path(user_id): Path<String>,
    sent: BrowserForm,
) -> Response {
    let href = pages::user_href(&user_id);
    let (writer, _) = match writer(&state, &sent, &href).await {
        Ok(w) => w,
        Err(response) => return response,
    };
    let client_id = sent.form.get("client_id").unwrap_or("");
    let now = UnixTime::now().as_secs();
    match admin::users::revoke_consent(&state.store, writer.admin(), &user_id, client_id, now).await {
        Ok(()) => done(&href, Done::ConsentRevoked),
        Err(e) => admin_failed(&e, &href),
    }
}

/// The algorithms a signing key may be rotated for (the asymmetric ones
/// the key ring makes keys of).
const ROTATABLE: [Algorithm; 5] = [
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::RS256,
    Algorithm::PS256,
];

/// `GET /admin/keys?cursor=`.
async fn keys(State(state): State<Arc<AppState>>, sent: BrowserQuery) -> Response {
    let reader = match reader(&state, &sent, "/admin/keys").await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let cursor = sent.query.get("cursor");
    let now = UnixTime::now().as_secs();
    let signing = state.keys().access_tokens.key().algorithm();
    match console::keys(&state.store, cursor, now).await {
        Ok(found) => {
            let (first, next) = pager("/admin/keys", "", cursor, &found);
            render(
                StatusCode::OK,
                &pages::Keys {
                    frame: reader.frame(Section::Keys, &sent),
                    rows: found.items.iter().map(pages::KeyRow::of).collect(),
                    algs: ROTATABLE
                        .into_iter()
                        .map(|a| pages::AlgChoice {
                            name: a.name(),
                            current: a == signing,
                        })
                        .collect(),
                    first,
                    next,
                },
            )
        }
        Err(e) => admin_failed(&e, "/admin/keys"),
    }
}

/// `POST /admin/keys/rotate`: a new key of the chosen algorithm,
/// published now, signing from its activation.
async fn rotate_key(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let (writer, _) = match writer(&state, &sent, "/admin/keys").await {
        Ok(w) => w,
        Err(response) => return response,
    };
    let request = admin::keys::RotateKey {
        alg: sent.form.get("alg").map(str::to_owned),
    };
    let default_alg = state.keys().access_tokens.key().algorithm();
    let now = UnixTime::now().as_secs();
    match admin::keys::rotate(
        &state.store,
        &state.master,
        writer.admin(),
        request,
        default_alg,
        now,
    )
    .await
    {
        Ok(_) => done("/admin/keys", Done::KeyRotated),
        Err(e) => admin_failed(&e, "/admin/keys"),
    }
}

/// `POST /admin/keys/revoke`: revokes the key `kid` (it leaked).
async fn revoke_key(State(state): State<Arc<AppState>>, sent: BrowserForm) -> Response {
    let (writer, _) = match writer(&state, &sent, "/admin/keys").await {
        Ok(w) => w,
        Err(response) => return response,
    };
    if sent.form.get("confirm").is_none() {
        return done("/admin/keys", Done::NotConfirmed);
    }
    let kid = sent.form.get("kid").unwrap_or("");
    let now = UnixTime::now().as_secs();
    match admin::keys::revoke(&state.store, &state.master, writer.admin(), kid, now).await {
        Ok(_) => done("/admin/keys", Done::KeyRevoked),
        Err(AdminError::Conflict(_)) => done("/admin/keys", Done::Gone),
        Err(e) => admin_failed(&e, "/admin/keys"),
    }
}

/// `GET /admin/audit?user=&client=&kind=&since=&until=&cursor=`: the
/// audit log, newest first.
async fn audit(State(state): State<Arc<AppState>>, sent: BrowserQuery) -> Response {
    let reader = match reader(&state, &sent, "/admin/audit").await {
        Ok(r) => r,
        Err(response) => return response,
    };
    let typed = |name: &str| sent.query.get(name).unwrap_or("").trim().to_owned();
    let filter = pages::AuditFilter {
        user: typed("user"),
        client: typed("client"),
        kind: typed("kind"),
        since: typed("since"),
        until: typed("until"),
    };
    let mut frame = reader.frame(Section::Audit, &sent);
    let cursor = sent.query.get("cursor").filter(|c| !c.is_empty());
    let query = console::audit_query(
        &filter.user,
        &filter.client,
        &filter.kind,
        &filter.since,
        &filter.until,
        cursor,
    );
    let found = match query {
        Ok(query) => admin::audit::list(&state.store, &query).await,
        Err(e) => Err(e),
    };
    let (rows, next_cursor) = match found {
        Ok(page) => (
            page.items.iter().map(pages::AuditRow::of).collect(),
            page.next_cursor,
        ),
        Err(AdminError::InvalidRequest(m)) => {
            frame.error = Some(m);
            (Vec::new(), None)
        }
        Err(e) => return admin_failed(&e, "/admin"),
    };
    let link = |cursor: Option<&str>| {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (name, value) in [
            ("user", &filter.user),
            ("client", &filter.client),
            ("kind", &filter.kind),
            ("since", &filter.since),
            ("until", &filter.until),
        ] {
            if !value.is_empty() {
                q.append_pair(name, value);
            }
        }
        if let Some(cursor) = cursor {
            q.append_pair("cursor", cursor);
        }
        format!("/admin/audit?{}", q.finish())
    };
    let filtered = [
        &filter.user,
        &filter.client,
        &filter.kind,
        &filter.since,
        &filter.until,
    ]
    .iter()
    .any(|v| !v.is_empty());
    render(
        StatusCode::OK,
        &pages::Audit {
            frame,
            kinds: crate::audit::AuditKind::ALL
                .into_iter()
                .map(|k| pages::KindChoice {
                    name: k.as_str(),
                    current: k.as_str() == filter.kind,
                })
                .collect(),
            first: cursor.map(|_| link(None)),
            next: next_cursor.as_deref().map(|c| link(Some(c))),
            rows,
            filtered,
            filter,
        },
    )
}
