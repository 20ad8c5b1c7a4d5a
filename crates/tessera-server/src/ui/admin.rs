//! The admin console's pages (issue 20, item 4): askama templates under
//! `templates/admin/`, compiled with the crate and auto-escaped (no value
//! is marked safe), no scripts. Each page is a struct holding what it
//! shows, already in words: the handlers (`http::console`) fill them from
//! the admin API's views.

use askama::Template;

use crate::admin::clients::ClientView;
use crate::admin::keys::{KeyState, KeyView};
use crate::admin::users::{ConsentView, SessionView, UserView};

/// The console's sections, in the navigation's order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Section {
    /// `/admin`.
    Home,
    /// `/admin/clients`.
    Clients,
    /// `/admin/users`.
    Users,
    /// `/admin/keys`.
    Keys,
    /// `/admin/audit`.
    Audit,
}

impl Section {
    const ALL: [Section; 5] = [
        Section::Home,
        Section::Clients,
        Section::Users,
        Section::Keys,
        Section::Audit,
    ];

    fn href(self) -> &'static str {
        match self {
            Section::Home => "/admin",
            Section::Clients => "/admin/clients",
            Section::Users => "/admin/users",
            Section::Keys => "/admin/keys",
            Section::Audit => "/admin/audit",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Section::Home => "Overview",
            Section::Clients => "Clients",
            Section::Users => "Users",
            Section::Keys => "Signing keys",
            Section::Audit => "Audit log",
        }
    }
}

/// One link of the navigation.
pub struct NavLink {
    /// Where it goes.
    pub href: &'static str,
    /// What it says.
    pub label: &'static str,
    /// Whether it is the page's section (`aria-current="page"`).
    pub current: bool,
}

/// What every console page shows around its content.
pub struct Frame {
    /// The navigation.
    pub nav: Vec<NavLink>,
    /// Who is signed in.
    pub username: String,
    /// The CSRF token of the page's forms.
    pub csrf: String,
    /// What just happened.
    pub notice: Option<&'static str>,
    /// Why the last change was refused.
    pub error: Option<String>,
}

impl Frame {
    /// The frame of a page in `section` for `username`.
    pub fn new(section: Section, username: &str, csrf: String) -> Frame {
        Frame {
            nav: Section::ALL
                .into_iter()
                .map(|s| NavLink {
                    href: s.href(),
                    label: s.label(),
                    current: s == section,
                })
                .collect(),
            username: username.to_owned(),
            csrf,
            notice: None,
            error: None,
        }
    }
}

/// A Unix time as `2026-12-07 19:04 UTC` (proleptic Gregorian, from
/// days since the epoch: H. Hinnant's `civil_from_days`).
pub fn moment(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let seconds = unix.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02} {:02}:{:02} UTC",
        seconds / 3600,
        seconds % 3600 / 60
    )
}

/// `text` as one path segment: unreserved characters as they are, every
/// other byte percent-encoded (RFC 3986 §2.1, §3.3).
pub fn segment(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A client's page.
pub fn client_href(client_id: &str) -> String {
    format!("/admin/clients/{}", segment(client_id))
}

/// A user's page.
pub fn user_href(user_id: &str) -> String {
    format!("/admin/users/{}", segment(user_id))
}

/// A list page's link to `cursor` (the next page) with `query`.
pub fn list_href(base: &str, query: &str, cursor: Option<&str>) -> String {
    let mut q = form_urlencoded::Serializer::new(String::new());
    if !query.is_empty() {
        q.append_pair("q", query);
    }
    if let Some(cursor) = cursor {
        q.append_pair("cursor", cursor);
    }
    let q = q.finish();
    if q.is_empty() {
        base.to_owned()
    } else {
        format!("{base}?{q}")
    }
}

/// One fact of a detail page.
pub struct Fact {
    /// What it is.
    pub label: &'static str,
    /// Its value, in words.
    pub value: String,
}

fn fact(label: &'static str, value: impl Into<String>) -> Fact {
    Fact {
        label,
        value: value.into(),
    }
}

fn yes_no(b: bool) -> &'static str {
    if b {
        "yes"
    } else {
        "no"
    }
}

fn or_none(list: &[String], sep: &str) -> String {
    if list.is_empty() {
        "none".to_owned()
    } else {
        list.join(sep)
    }
}

/// `/admin`.
#[derive(Template)]
#[template(path = "admin/home.html")]
pub struct Home {
    /// The frame.
    pub frame: Frame,
    /// How many clients there are.
    pub clients: usize,
    /// How many users.
    pub users: usize,
    /// How many signing keys.
    pub keys: usize,
}

/// One row of the clients list.
pub struct ClientRow {
    /// Its page.
    pub href: String,
    /// `client_id`.
    pub client_id: String,
    /// Its name.
    pub name: String,
    /// `public` or `confidential`.
    pub kind: &'static str,
    /// Its grant types.
    pub grants: String,
    /// Who registered it.
    pub provenance: String,
    /// When.
    pub created: String,
}

impl ClientRow {
    /// The row of `c`.
    pub fn of(c: &ClientView) -> ClientRow {
        ClientRow {
            href: client_href(&c.client_id),
            client_id: c.client_id.clone(),
            name: c.name.clone(),
            kind: if c.public { "public" } else { "confidential" },
            grants: c.grant_types.join(", "),
            provenance: c.provenance.clone(),
            created: moment(c.created_at),
        }
    }
}

/// `/admin/clients`.
#[derive(Template)]
#[template(path = "admin/clients.html")]
pub struct Clients {
    /// The frame.
    pub frame: Frame,
    /// The search.
    pub query: String,
    /// The page's rows.
    pub rows: Vec<ClientRow>,
    /// The first page, when this is a later one.
    pub first: Option<String>,
    /// The next page.
    pub next: Option<String>,
}

/// A checkbox of a form.
pub struct Check {
    /// The field's name.
    pub field: String,
    /// What it says.
    pub label: &'static str,
    /// Whether it is checked.
    pub checked: bool,
}

/// What the new-client form holds (again, after a refusal).
#[derive(Default)]
pub struct ClientValues {
    /// Name.
    pub name: String,
    /// Redirect URIs, one a line.
    pub redirect_uris: String,
    /// Scopes.
    pub scope: String,
    /// Audiences.
    pub audiences: String,
    /// Post-logout redirect URIs, one a line.
    pub post_logout_redirect_uris: String,
    /// Access-token lifetime.
    pub access_token_ttl: String,
}

/// `/admin/clients/new`.
#[derive(Template)]
#[template(path = "admin/client_new.html")]
pub struct NewClient {
    /// The frame.
    pub frame: Frame,
    /// What the text fields hold.
    pub values: ClientValues,
    /// The grant types.
    pub grants: Vec<Check>,
    /// The options.
    pub options: Vec<Check>,
}

/// The client form's options (what a `PATCH` may change): field and
/// label.
pub const EDIT_OPTIONS: [(&str, &str); 4] = [
    (
        "first_party",
        "First party: the operator's own app (no consent screen)",
    ),
    ("require_mfa", "Its users must sign in with a second factor"),
    ("require_par", "Its authorization requests must be pushed (PAR)"),
    ("dpop_bound", "Its tokens must be DPoP-bound"),
];

/// The new-client form's options: field and label.
pub const CLIENT_OPTIONS: [(&str, &str); 6] = [
    ("public", "Public client (no secret; PKCE)"),
    (
        "first_party",
        "First party: the operator's own app (no consent screen)",
    ),
    ("require_mfa", "Its users must sign in with a second factor"),
    ("require_par", "Its authorization requests must be pushed (PAR)"),
    ("dpop_bound", "Its tokens must be DPoP-bound"),
    (
        "admin",
        "An administrator's client (tokens for tessera-admin carry the admin role)",
    ),
];

/// The page shown once after a client is made or given a new secret.
#[derive(Template)]
#[template(path = "admin/client_created.html")]
pub struct ClientCreated {
    /// The frame.
    pub frame: Frame,
    /// What happened: made, or a new secret.
    pub heading: &'static str,
    /// `client_id`.
    pub client_id: String,
    /// Its secret, shown this once.
    pub secret: Option<String>,
    /// Its page.
    pub href: String,
}

/// `/admin/clients/{client_id}`.
#[derive(Template)]
#[template(path = "admin/client.html")]
pub struct ClientPage {
    /// The frame.
    pub frame: Frame,
    /// `client_id`.
    pub client_id: String,
    /// Its page (forms post under it).
    pub href: String,
    /// What it is.
    pub facts: Vec<Fact>,
    /// The `ETag` of its admin API view, for the forms' `If-Match`.
    pub etag: String,
    /// Whether it is public (no secret to rotate).
    pub public: bool,
    /// What the edit form's text fields hold.
    pub values: ClientValues,
    /// The edit form's grant types.
    pub grants: Vec<Check>,
    /// The edit form's options.
    pub options: Vec<Check>,
}

impl ClientValues {
    /// What the edit form of `c` holds.
    pub fn of(c: &ClientView) -> ClientValues {
        ClientValues {
            name: c.name.clone(),
            redirect_uris: c.redirect_uris.join("\n"),
            scope: c.scope.clone(),
            audiences: c.audiences.join(" "),
            post_logout_redirect_uris: c.post_logout_redirect_uris.join("\n"),
            access_token_ttl: c.access_token_ttl.to_string(),
        }
    }
}

/// Whether `c` has the option `field` of [`EDIT_OPTIONS`] on.
pub fn client_option(c: &ClientView, field: &str) -> bool {
    match field {
        "first_party" => c.first_party,
        "require_mfa" => c.require_mfa,
        "require_par" => c.require_par,
        "dpop_bound" => c.dpop_bound,
        _ => false,
    }
}

impl ClientPage {
    /// The facts of `c`.
    pub fn facts(c: &ClientView) -> Vec<Fact> {
        vec![
            fact("Name", c.name.clone()),
            fact("Type", if c.public { "public" } else { "confidential" }),
            fact("Grant types", or_none(&c.grant_types, ", ")),
            fact(
                "Scopes",
                if c.scope.is_empty() {
                    "none".to_owned()
                } else {
                    c.scope.clone()
                },
            ),
            fact("Redirect URIs", or_none(&c.redirect_uris, " ")),
            fact(
                "Post-logout redirect URIs",
                or_none(&c.post_logout_redirect_uris, " "),
            ),
            fact("Audiences", or_none(&c.audiences, " ")),
            fact("Authentication", or_none(&c.auth_methods, ", ")),
            fact("Access-token lifetime", format!("{} s", c.access_token_ttl)),
            fact("First party", yes_no(c.first_party)),
            fact("Second factor required", yes_no(c.require_mfa)),
            fact("PAR required", yes_no(c.require_par)),
            fact("DPoP-bound", yes_no(c.dpop_bound)),
            fact("Administrator's client", yes_no(c.admin)),
            fact("Registered by", c.provenance.clone()),
            fact("Created", moment(c.created_at)),
        ]
    }
}

/// One row of the users list.
pub struct UserRow {
    /// Their page.
    pub href: String,
    /// Username.
    pub username: String,
    /// Email, or empty.
    pub email: String,
    /// Name, or empty.
    pub name: String,
    /// Roles.
    pub roles: String,
    /// Whether disabled.
    pub disabled: bool,
    /// When made.
    pub created: String,
}

impl UserRow {
    /// The row of `u`.
    pub fn of(u: &UserView) -> UserRow {
        UserRow {
            href: user_href(&u.user_id),
            username: u.username.clone(),
            email: u.email.clone().unwrap_or_default(),
            name: u.name.clone().unwrap_or_default(),
            roles: u.roles.join(" "),
            disabled: u.disabled,
            created: moment(u.created_at),
        }
    }
}

/// `/admin/users`.
#[derive(Template)]
#[template(path = "admin/users.html")]
pub struct Users {
    /// The frame.
    pub frame: Frame,
    /// The search.
    pub query: String,
    /// The page's rows.
    pub rows: Vec<UserRow>,
    /// The first page, when this is a later one.
    pub first: Option<String>,
    /// The next page.
    pub next: Option<String>,
}

/// What the new-user form holds (again, after a refusal; never the
/// password).
#[derive(Default)]
pub struct UserValues {
    /// Username.
    pub username: String,
    /// Email.
    pub email: String,
    /// Whether the email is verified.
    pub email_verified: bool,
    /// Name.
    pub name: String,
    /// Roles.
    pub roles: String,
}

/// `/admin/users/new`.
#[derive(Template)]
#[template(path = "admin/user_new.html")]
pub struct NewUser {
    /// The frame.
    pub frame: Frame,
    /// What the fields hold.
    pub values: UserValues,
}

/// One session of a user.
pub struct SessionRow {
    /// Its `sid`.
    pub sid: String,
    /// When signed in.
    pub signed_in: String,
    /// From where.
    pub from: String,
    /// The `amr` values.
    pub methods: String,
    /// When it ends.
    pub ends: String,
}

impl SessionRow {
    /// The row of `s`.
    pub fn of(s: &SessionView) -> SessionRow {
        SessionRow {
            sid: s.sid.clone(),
            signed_in: moment(s.auth_time),
            from: s.client_ip.clone().unwrap_or_else(|| "unknown".to_owned()),
            methods: s.amr.join(" "),
            ends: moment(s.expires_at),
        }
    }
}

/// One consent of a user.
pub struct ConsentRow {
    /// The client's page.
    pub href: String,
    /// The client.
    pub client_id: String,
    /// The scopes allowed.
    pub scope: String,
    /// When.
    pub granted: String,
}

impl ConsentRow {
    /// The row of `c`.
    pub fn of(c: &ConsentView) -> ConsentRow {
        ConsentRow {
            href: client_href(&c.client_id),
            client_id: c.client_id.clone(),
            scope: c.scope.clone(),
            granted: moment(c.granted_at),
        }
    }
}

/// `/admin/users/{user_id}`.
#[derive(Template)]
#[template(path = "admin/user.html")]
pub struct UserPage {
    /// The frame.
    pub frame: Frame,
    /// The user.
    pub user: UserView,
    /// Their page (forms post under it).
    pub href: String,
    /// What they are.
    pub facts: Vec<Fact>,
    /// Their name, for the form.
    pub name: String,
    /// Their roles, for the form.
    pub roles: String,
    /// The `ETag` of their admin API view, for the forms' `If-Match`.
    pub etag: String,
    /// Whether they are the signed-in administrator (no disabling or
    /// deleting yourself).
    pub yourself: bool,
    /// Their sessions.
    pub sessions: Vec<SessionRow>,
    /// Their consents.
    pub consents: Vec<ConsentRow>,
}

impl UserPage {
    /// The facts of `u`.
    pub fn facts(u: &UserView) -> Vec<Fact> {
        let email = match &u.email {
            Some(e) => format!(
                "{e} ({})",
                if u.email_verified {
                    "verified"
                } else {
                    "not verified"
                }
            ),
            None => "none".to_owned(),
        };
        vec![
            fact("User ID", u.user_id.clone()),
            fact("Email", email),
            fact("Name", u.name.clone().unwrap_or_else(|| "none".to_owned())),
            fact("Roles", or_none(&u.roles, " ")),
            fact("Second factor required", yes_no(u.require_mfa)),
            fact("Password", if u.has_password { "set" } else { "none" }),
            fact(
                "Locked after failed sign-ins",
                u.locked_until
                    .map_or_else(|| "no".to_owned(), |t| format!("until {}", moment(t))),
            ),
            fact("Created", moment(u.created_at)),
        ]
    }
}

/// One key of the keys list.
pub struct KeyRow {
    /// `kid`.
    pub kid: String,
    /// `alg`.
    pub alg: String,
    /// Where it is in its life.
    pub state: &'static str,
    /// Whether the JWKS lists it.
    pub published: bool,
    /// When it signs from.
    pub activates: String,
    /// When it stopped signing, or was revoked.
    pub retired: String,
    /// Whether it may be revoked (not revoked yet).
    pub revocable: bool,
}

impl KeyRow {
    /// The row of `k`.
    pub fn of(k: &KeyView) -> KeyRow {
        let state = match k.state {
            KeyState::Active => "active",
            KeyState::Next => "next",
            KeyState::Retired => "retired",
            KeyState::Revoked => "revoked",
        };
        let retired = match (k.revoked_at, k.retired_at) {
            (Some(at), _) => format!("revoked {}", moment(at)),
            (None, Some(at)) => moment(at),
            (None, None) => String::new(),
        };
        KeyRow {
            kid: k.kid.clone(),
            alg: k.alg.clone(),
            state,
            published: k.published,
            activates: moment(k.activates_at),
            retired,
            revocable: k.state != KeyState::Revoked,
        }
    }
}

/// An algorithm to rotate.
pub struct AlgChoice {
    /// Its name.
    pub name: &'static str,
    /// Whether it is the one that signs now.
    pub current: bool,
}

/// `/admin/keys`.
#[derive(Template)]
#[template(path = "admin/keys.html")]
pub struct Keys {
    /// The frame.
    pub frame: Frame,
    /// The page's keys.
    pub rows: Vec<KeyRow>,
    /// The algorithms a key may be rotated for.
    pub algs: Vec<AlgChoice>,
    /// The first page, when this is a later one.
    pub first: Option<String>,
    /// The next page.
    pub next: Option<String>,
}

/// One event of the audit log.
pub struct AuditRow {
    /// When.
    pub at: String,
    /// What happened.
    pub kind: &'static str,
    /// The user it concerns: their page and id.
    pub user: Option<(String, String)>,
    /// The client it concerns: its page and id.
    pub client: Option<(String, String)>,
    /// Who did it.
    pub actor: String,
    /// From which address.
    pub ip: String,
    /// Names, counts and reasons, as compact JSON.
    pub detail: String,
}

impl AuditRow {
    /// The row of `e`.
    pub fn of(e: &crate::audit::EventView) -> AuditRow {
        AuditRow {
            at: moment(e.at),
            kind: e.kind.as_str(),
            user: e.user_id.as_ref().map(|id| (user_href(id), id.clone())),
            client: e.client_id.as_ref().map(|id| (client_href(id), id.clone())),
            actor: e.actor.clone(),
            ip: e.ip.clone().unwrap_or_default(),
            detail: match &e.detail {
                serde_json::Value::Object(m) if m.is_empty() => String::new(),
                other => other.to_string(),
            },
        }
    }
}

/// The audit log's filters, as typed.
#[derive(Default)]
pub struct AuditFilter {
    /// User id.
    pub user: String,
    /// Client id.
    pub client: String,
    /// Kind (empty: any).
    pub kind: String,
    /// From (UTC).
    pub since: String,
    /// Until (UTC).
    pub until: String,
}

/// A kind to filter by.
pub struct KindChoice {
    /// Its name.
    pub name: &'static str,
    /// Whether it is the one filtered by.
    pub current: bool,
}

/// `/admin/audit`.
#[derive(Template)]
#[template(path = "admin/audit.html")]
pub struct Audit {
    /// The frame.
    pub frame: Frame,
    /// The filters.
    pub filter: AuditFilter,
    /// Whether any filter is set.
    pub filtered: bool,
    /// Every kind.
    pub kinds: Vec<KindChoice>,
    /// The page's events.
    pub rows: Vec<AuditRow>,
    /// The first page, when this is a later one.
    pub first: Option<String>,
    /// The next (older) page.
    pub next: Option<String>,
}

/// A refusal: not an administrator, a form from elsewhere, a fault.
#[derive(Template)]
#[template(path = "admin/refused.html")]
pub struct Refused {
    /// The heading.
    pub heading: &'static str,
    /// What happened and what to do.
    pub message: String,
    /// A link on: (href, label).
    pub way_on: Option<(&'static str, &'static str)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn moments_are_utc_dates() {
        assert_eq!(moment(0), "1970-01-01 00:00 UTC");
        assert_eq!(moment(951_782_400), "2000-02-29 00:00 UTC");
        assert_eq!(moment(1_796_670_276), "2026-12-07 19:04 UTC");
    }

    #[test]
    fn segments_and_links_are_encoded() {
        assert_eq!(segment("a b/c?d%"), "a%20b%2Fc%3Fd%25");
        assert_eq!(
            client_href("https://app.example/x"),
            "/admin/clients/https%3A%2F%2Fapp.example%2Fx"
        );
        assert_eq!(list_href("/admin/users", "", None), "/admin/users");
        assert_eq!(
            list_href("/admin/users", "a&b", Some("Yw")),
            "/admin/users?q=a%26b&cursor=Yw"
        );
    }

    /// Nothing a user or client supplies reaches a page unescaped.
    #[test]
    fn pages_escape_what_they_show() {
        let evil = "<script>alert(1)</script>\"'";
        let mut frame = Frame::new(Section::Users, evil, "t\"k".into());
        frame.error = Some(evil.to_owned());
        let html = Users {
            frame,
            query: evil.to_owned(),
            rows: vec![UserRow {
                href: user_href(evil),
                username: evil.to_owned(),
                email: evil.to_owned(),
                name: evil.to_owned(),
                roles: evil.to_owned(),
                disabled: false,
                created: moment(0),
            }],
            first: None,
            next: Some(list_href("/admin/users", evil, Some("c"))),
        }
        .render()
        .unwrap();
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("t\"k"), "{html}");
        assert!(
            html.contains("&#60;script&#62;") || html.contains("&lt;script&gt;"),
            "{html}"
        );
        assert!(html.contains("aria-current=\"page\">Users</a>"), "{html}");
    }
}
