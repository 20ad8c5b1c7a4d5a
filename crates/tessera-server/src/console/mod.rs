//! The admin console, `/admin` (issue 20, item 4): server-rendered pages
//! over the admin API's domain modules ([`crate::admin`]), called
//! directly, not through HTTP. The HTTP handlers (`http::console`) are
//! thin shells over these functions and the admin ones.
//!
//! Who may do what, in order:
//!
//! 1. **Signed in**: the console is [`CONSOLE`], one of Tessera's own
//!    first-party clients ([`crate::own_client`]), signed in through the
//!    normal authorization code flow with PKCE; a browser without a
//!    session is sent to `/authorize` and comes back at
//!    [`CONSOLE`]`.callback`.
//! 2. **An administrator** ([`administrator`]): the signed-in user, still
//!    there and not disabled, has the [`ADMIN_ROLE`] in the store now (as
//!    the admin API checks step 5), else a 403 page: a person who signs in
//!    without the role sees nothing of the console.
//! 3. **A write** ([`writer`]) also needs, in order: the form's CSRF token
//!    (derived from the binding cookie and the session's `sid`, as the
//!    account page's forms; else 403); a sign-in at most
//!    [`FRESH_FOR`] seconds old; two factors (a second factor younger
//!    than `second_factor_max_age`, as the interaction policy counts one).
//!    Lacking either of the last two, the browser is sent to sign in again
//!    with `max_age` and `acr_values=urn:tessera:acr:2fa` (step-up).
//!    Only [`writer`] makes a [`Writer`], and the admin functions' `Admin`
//!    comes from it, so every write is audited as the admin API's are, by
//!    the same functions, naming the administrator.

pub mod forms;

use crate::admin::clients::{self as admin_clients, ClientView};
use crate::admin::users::{self as admin_users, UserView};
use crate::admin::{self, Admin, AdminError, Page, PageRequest};
use crate::domain::ADMIN_ROLE;
use crate::own_client::{self, OwnClient};
use crate::store::{ClientStore, KeyStore, Session, Store, StoreError, UserStore};

pub use crate::own_client::FRESH_FOR;

/// The console as a client of Tessera's own.
pub const CONSOLE: OwnClient = OwnClient {
    client_id: "tessera-admin-console",
    name: "Tessera admin console",
    home: "/admin",
    callback: "/admin/callback",
    purpose: "admin",
};

/// How many rows a list page shows.
pub const PAGE_SIZE: usize = 25;

/// Why the console refused.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// The signed-in user is not an administrator (step 2): 403.
    #[error("the console is for administrators")]
    NotAnAdmin,
    /// The form's CSRF token is missing or not this browser's for this
    /// sign-in (step 3): 403.
    #[error("this form did not come from the console")]
    NotTheConsolesForm,
    /// The sign-in is older than [`FRESH_FOR`] (step 3): sign in again.
    #[error("this change needs a recent sign-in")]
    NotFresh,
    /// The session does not hold two factors (step 3): step up.
    #[error("this change needs two factors")]
    OneFactor,
    /// An administrator may not lock themselves out (disable or delete
    /// their own account, or drop their own admin role).
    #[error("you cannot do that to your own account")]
    Yourself,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The signed-in administrator.
#[derive(Debug, Clone)]
pub struct Administrator {
    /// Who they are to the admin functions (and their audit): the user,
    /// through the console's client.
    pub admin: Admin,
    /// Their username, for the pages.
    pub username: String,
}

/// The administrator the signed-in `session` is (step 2).
pub async fn administrator<S: UserStore>(
    store: &S,
    session: &Session,
) -> Result<Administrator, ConsoleError> {
    match store.user(&session.user_id).await? {
        Some(user) if !user.is_disabled() && user.roles.iter().any(|r| r == ADMIN_ROLE) => {
            Ok(Administrator {
                admin: Admin {
                    subject: user.id,
                    client_id: CONSOLE.client_id.to_owned(),
                },
                username: user.username,
            })
        }
        _ => Err(ConsoleError::NotAnAdmin),
    }
}

/// An administrator allowed to write now: made only by [`writer`].
#[derive(Debug)]
pub struct Writer {
    administrator: Administrator,
}

impl Writer {
    /// Who writes, for the admin functions (and their audit).
    pub fn admin(&self) -> &Admin {
        &self.administrator.admin
    }

    /// Who writes, for the pages.
    pub fn administrator(&self) -> &Administrator {
        &self.administrator
    }

    /// Refuses a change that would lock this administrator out: disabling
    /// or deleting their own account, or dropping their own admin role.
    pub fn not_yourself(&self, user_id: &str) -> Result<(), ConsoleError> {
        if self.administrator.admin.subject == user_id {
            Err(ConsoleError::Yourself)
        } else {
            Ok(())
        }
    }
}

/// What a write presents: the signed-in session, the browser's binding
/// secret, the form's CSRF token, and now.
#[derive(Clone, Copy, Debug)]
pub struct WriteRequest<'a> {
    /// The signed-in session.
    pub session: &'a Session,
    /// The browser's binding secret, if it has one.
    pub binding: Option<&'a str>,
    /// The form's `csrf` field.
    pub csrf: &'a str,
    /// Now.
    pub now: i64,
    /// How long a second factor counts (the `second_factor_max_age`
    /// setting).
    pub second_factor_max_age: i64,
}

/// Checks a write (the module's steps 2 and 3, in order).
pub async fn writer<S: UserStore>(store: &S, request: WriteRequest<'_>) -> Result<Writer, ConsoleError> {
    let administrator = administrator(store, request.session).await?;
    if !CONSOLE.form_ok(request.binding, request.session, request.csrf) {
        return Err(ConsoleError::NotTheConsolesForm);
    }
    if !own_client::fresh(request.session, request.now) {
        return Err(ConsoleError::NotFresh);
    }
    if !own_client::two_factors(request.session, request.now, request.second_factor_max_age) {
        return Err(ConsoleError::OneFactor);
    }
    Ok(Writer { administrator })
}

/// The console page a sign-in goes back to, from the `then` of its
/// `state`: a path under `/admin` of unreserved and percent-encoded
/// characters (so it stays on this host), or none.
pub fn place(then: &str) -> Option<String> {
    let under = then == "/admin" || then.starts_with("/admin/");
    let plain = then
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_~%/".contains(c));
    (under && plain && !then.contains("//")).then(|| then.to_owned())
}

/// Whether `text` contains `query`, ignoring case.
fn matches(query: &str, text: &str) -> bool {
    text.to_lowercase().contains(query)
}

/// A page of the console's list: [`PAGE_SIZE`] rows after `cursor`.
fn request(cursor: Option<&str>) -> PageRequest {
    PageRequest {
        limit: Some(PAGE_SIZE),
        cursor: cursor.filter(|c| !c.is_empty()).map(str::to_owned),
    }
}

/// The clients whose id or name contains `query` (all for an empty one),
/// a page at a time, by client id, as the admin API shows them.
pub async fn clients(
    store: &Store,
    query: &str,
    cursor: Option<&str>,
) -> Result<Page<ClientView>, AdminError> {
    let query = query.trim().to_lowercase();
    let found: Vec<_> = store
        .clients()
        .await?
        .into_iter()
        .filter(|c| matches(&query, &c.id) || matches(&query, &c.name))
        .collect();
    admin::page(found, |c| c.id.as_str(), &request(cursor), admin_clients::view)
}

/// The users whose id, username, email or name contains `query` (all for
/// an empty one), a page at a time, by user id.
pub async fn users(store: &Store, query: &str, cursor: Option<&str>) -> Result<Page<UserView>, AdminError> {
    let query = query.trim().to_lowercase();
    let found: Vec<_> = crate::identity::users::list(store)
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?
        .into_iter()
        .filter(|u| {
            matches(&query, &u.id)
                || matches(&query, &u.username)
                || u.email.as_deref().is_some_and(|e| matches(&query, e))
                || u.name.as_deref().is_some_and(|n| matches(&query, n))
        })
        .collect();
    admin::page(found, |u| u.id.as_str(), &request(cursor), admin_users::view)
}

/// The signing keys, a page at a time.
pub async fn keys(
    store: &Store,
    cursor: Option<&str>,
    now: i64,
) -> Result<Page<admin::keys::KeyView>, AdminError> {
    admin::keys::list(store, &request(cursor), now).await
}

/// The audit log's query from the console's filters (times typed in UTC,
/// [`forms::moment`]), a page of [`PAGE_SIZE`] events after `cursor`.
pub fn audit_query(
    user: &str,
    client: &str,
    kind: &str,
    since: &str,
    until: &str,
    cursor: Option<&str>,
) -> Result<crate::audit::AuditQuery, AdminError> {
    let given = |text: &str| Some(text.trim()).filter(|t| !t.is_empty()).map(str::to_owned);
    let time = |name: &str, text: &str| match given(text) {
        None => Ok(None),
        Some(t) => forms::moment(&t).map(Some).ok_or_else(|| {
            AdminError::InvalidRequest(format!("{name}: a UTC time as YYYY-MM-DD or YYYY-MM-DD HH:MM"))
        }),
    };
    Ok(crate::audit::AuditQuery {
        user_id: given(user),
        client_id: given(client),
        kind: given(kind),
        since: time("From", since)?,
        until: time("Until", until)?,
        limit: Some(PAGE_SIZE),
        cursor: cursor.map(str::to_owned),
    })
}

/// How many there are of each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    /// Clients.
    pub clients: usize,
    /// Users.
    pub users: usize,
    /// Signing keys, revoked ones included.
    pub keys: usize,
}

/// How many clients, users and signing keys there are, for the overview.
pub async fn counts(store: &Store) -> Result<Counts, AdminError> {
    Ok(Counts {
        clients: store.clients().await?.len(),
        users: crate::identity::users::list(store)
            .await
            .map_err(|e| AdminError::Internal(e.to_string()))?
            .len(),
        keys: store.keys().await?.len() + store.revoked_keys().await?.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Method, Proofs};
    use crate::fixtures;

    #[test]
    fn a_sign_in_goes_back_only_to_the_console() {
        assert_eq!(place("/admin").as_deref(), Some("/admin"));
        assert_eq!(place("/admin/users/u-1").as_deref(), Some("/admin/users/u-1"));
        assert_eq!(
            place("/admin/clients/a%2Fb").as_deref(),
            Some("/admin/clients/a%2Fb")
        );
        for bad in [
            "",
            "/",
            "/account",
            "/administer",
            "//evil.example/admin",
            "/admin//evil",
            "/admin/x?y",
            "/admin\\x",
            "https://e/admin",
        ] {
            assert_eq!(place(bad), None, "{bad}");
        }
    }

    fn session(user_id: &str, proofs: Proofs, auth_time: i64) -> Session {
        Session {
            id_hash: vec![],
            sid: "sid-1".into(),
            user_id: user_id.into(),
            auth_time,
            expires_at: fixtures::NOW + 3600,
            client_ip: None,
            proofs,
        }
    }

    /// The module's steps 2 and 3, each on its own.
    #[tokio::test]
    async fn a_write_needs_the_role_the_form_a_fresh_sign_in_and_two_factors() {
        let store = fixtures::store().await;
        fixtures::add_user(&store, &fixtures::user("u-root", "root", "pw")).await;
        fixtures::add_user(&store, &fixtures::user("u-dev", "dev", "pw")).await;
        crate::identity::users::set_roles(&store, "u-root", &[ADMIN_ROLE.to_owned()])
            .await
            .unwrap();
        let now = fixtures::NOW;
        let both = Proofs::none()
            .with(Method::Password, now - 10)
            .with(Method::Otp, now - 5);
        let root = session("u-root", both.clone(), now - 5);
        let csrf = CONSOLE.form_token("b", &root);
        fn ask<'a>(session: &'a Session, binding: Option<&'a str>, csrf: &'a str) -> WriteRequest<'a> {
            WriteRequest {
                session,
                binding,
                csrf,
                now: fixtures::NOW,
                second_factor_max_age: 3600,
            }
        }
        let ok = writer(&store, ask(&root, Some("b"), &csrf)).await.unwrap();
        assert_eq!(ok.admin().subject, "u-root");
        assert_eq!(ok.admin().client_id, "tessera-admin-console");
        assert!(matches!(ok.not_yourself("u-root"), Err(ConsoleError::Yourself)));
        assert!(ok.not_yourself("u-dev").is_ok());

        let dev = session("u-dev", both.clone(), now - 5);
        let dev_csrf = CONSOLE.form_token("b", &dev);
        let r = writer(&store, ask(&dev, Some("b"), &dev_csrf)).await;
        assert!(matches!(r, Err(ConsoleError::NotAnAdmin)), "{r:?}");

        let r = writer(&store, ask(&root, Some("b"), "forged")).await;
        assert!(matches!(r, Err(ConsoleError::NotTheConsolesForm)), "{r:?}");
        let r = writer(&store, ask(&root, None, &csrf)).await;
        assert!(matches!(r, Err(ConsoleError::NotTheConsolesForm)), "{r:?}");
        let account_csrf = crate::account::sign_in::form_token("b", &root);
        let r = writer(&store, ask(&root, Some("b"), &account_csrf)).await;
        assert!(matches!(r, Err(ConsoleError::NotTheConsolesForm)), "{r:?}");

        let old = session("u-root", both, now - FRESH_FOR - 1);
        let old_csrf = CONSOLE.form_token("b", &old);
        let r = writer(&store, ask(&old, Some("b"), &old_csrf)).await;
        assert!(matches!(r, Err(ConsoleError::NotFresh)), "{r:?}");

        let one = session("u-root", Proofs::none().with(Method::Password, now - 5), now - 5);
        let one_csrf = CONSOLE.form_token("b", &one);
        let r = writer(&store, ask(&one, Some("b"), &one_csrf)).await;
        assert!(matches!(r, Err(ConsoleError::OneFactor)), "{r:?}");

        crate::identity::users::set_disabled(&store, "u-root", true, now)
            .await
            .unwrap();
        let r = writer(&store, ask(&root, Some("b"), &csrf)).await;
        assert!(matches!(r, Err(ConsoleError::NotAnAdmin)), "{r:?}");
    }
}
