//! The account page and its factor pages (issue 19, item 6). Like every
//! page: server-rendered, no JavaScript but the passkey script, an askama
//! template under `templates/account/` with every value escaped, each form
//! carrying the browser's CSRF token for the account.

use askama::Template;

use super::render;

/// A Unix time as an HTTP date (`Mon, 07 Dec 2026 17:21:00 GMT`).
fn http_date(unix: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(unix).unwrap_or(0));
    httpdate::fmt_http_date(at)
}

/// A day, as `07 Dec 2026` (UTC). By reference: templates pass their
/// values so.
fn day(unix: &i64) -> String {
    let text = http_date(*unix);
    text.get(5..16).map_or(text.clone(), str::to_owned)
}

/// A moment, as `07 Dec 2026 17:21 UTC`.
fn moment(unix: &i64) -> String {
    let text = http_date(*unix);
    text.get(5..22).map_or(text.clone(), |t| format!("{t} UTC"))
}

/// `templates/home.html`.
#[derive(Template)]
#[template(path = "home.html")]
struct Home<'a> {
    issuer: &'a str,
}

/// `/`: what this server is, where its discovery document is, and the
/// way to the account page.
pub fn home(issuer: &str) -> String {
    render(&Home { issuer })
}

/// One SSO session, as the account page lists it.
pub struct SessionLine<'a> {
    /// Its `sid`.
    pub sid: &'a str,
    /// When the person signed in.
    pub signed_in_at: i64,
    /// The address it was signed in from, when known.
    pub from: Option<&'a str>,
    /// Whether it is the browser showing the page.
    pub this_one: bool,
}

/// One app the person allowed.
pub struct AppLine<'a> {
    /// Its client id.
    pub client_id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// The scopes allowed, space-separated.
    pub scope: &'a str,
    /// When consent was given.
    pub granted_at: i64,
}

/// One linked upstream identity.
pub struct IdentityLine<'a> {
    /// The provider's identity key.
    pub provider: &'a str,
    /// When it was linked.
    pub linked_at: i64,
}

/// The profile part of the account page: who, sessions, apps, links.
pub struct ProfilePart<'a> {
    /// The display name, if any.
    pub name: Option<&'a str>,
    /// The email address, if any, and whether it is verified.
    pub email: Option<(&'a str, bool)>,
    /// A new address asked for, waiting for its link to be used.
    pub pending_email: Option<&'a str>,
    /// Whether the user has a password.
    pub has_password: bool,
    /// The SSO sessions.
    pub sessions: &'a [SessionLine<'a>],
    /// The apps allowed.
    pub apps: &'a [AppLine<'a>],
    /// The linked upstream identities.
    pub identities: &'a [IdentityLine<'a>],
}

/// What the password page shows (`templates/account/password.html`).
#[derive(Template)]
#[template(path = "account/password.html")]
pub struct PasswordPage<'a> {
    /// The form's CSRF token.
    pub csrf: &'a str,
    /// Whether the sign-in is recent enough to skip the current password.
    pub fresh: bool,
    /// Why the last try was refused, if it was.
    pub error: Option<&'a str>,
}

/// `/account/password`: the current password (unless the sign-in is
/// fresh) and the new one twice, with the standard `autocomplete` tokens.
pub fn password(p: &PasswordPage<'_>) -> String {
    render(p)
}

/// What the account page shows (`templates/account/account.html` and the
/// sections it includes).
#[derive(Template)]
#[template(path = "account/account.html")]
pub struct Account<'a> {
    /// The signed-in user's name.
    pub username: &'a str,
    /// The profile, sessions, apps and linked identities.
    pub profile: ProfilePart<'a>,
    /// The form's CSRF token.
    pub csrf: &'a str,
    /// What just happened, if anything.
    pub notice: Option<&'a str>,
    /// The authenticator app: its id and when it was added.
    pub authenticator: Option<(&'a str, i64)>,
    /// How many recovery codes are left, if the user has a second factor.
    pub recovery_codes_left: Option<i64>,
    /// The user's passkeys; `None` when this server cannot offer passkeys
    /// (its issuer is an IP address, which WebAuthn refuses).
    pub passkeys: Option<&'a [PasskeyLine<'a>]>,
}

impl Account<'_> {
    /// Whether another browser is signed in (the "Sign out everywhere
    /// else" form shows only then).
    fn others_signed_in(&self) -> bool {
        self.profile.sessions.iter().any(|s| !s.this_one)
    }
}

/// One passkey, as the account page lists it.
pub struct PasskeyLine<'a> {
    /// Its id.
    pub id: &'a str,
    /// Its name.
    pub name: &'a str,
    /// When it was added.
    pub created_at: i64,
    /// When it was last used to sign in.
    pub last_used_at: Option<i64>,
}

/// `/account`.
pub fn account(a: &Account<'_>) -> String {
    render(a)
}

/// What the "add an authenticator app" page shows.
pub struct AddAuthenticator<'a> {
    /// The `otpauth://` URI (for the QR code, and as text).
    pub uri: &'a str,
    /// The secret in base32, for typing in by hand.
    pub secret: &'a str,
    /// The form's CSRF token.
    pub csrf: &'a str,
    /// Why the last code was refused, if it was.
    pub error: Option<&'a str>,
}

/// The QR code of `text` as an inline SVG element (the `qrcode` crate's
/// SVG renderer, without its XML declaration, labelled for screen
/// readers), or nothing if it does not fit a QR code. The one value a
/// template emits unescaped (`templates/account/setup.html`): markup the
/// renderer draws (rectangles, no text from `text`), never user input.
fn qr_svg(text: &str) -> String {
    let Ok(code) = qrcode::QrCode::new(text.as_bytes()) else {
        return String::new();
    };
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(200, 200)
        .quiet_zone(true)
        .build();
    match svg.find("<svg") {
        Some(at) => svg[at..].replacen(
            "<svg",
            "<svg role=\"img\" aria-label=\"QR code of the setup link\"",
            1,
        ),
        None => String::new(),
    }
}

/// What an authenticator setup form shows and where it posts: the page
/// of the account (`/account/totp`) and the one inside a sign-in
/// (`/authorize/enroll`) show the same setup
/// (`templates/account/setup.html`).
pub(crate) struct Setup<'a> {
    /// The `otpauth://` URI (for the QR code, and as text).
    pub uri: &'a str,
    /// The secret in base32, for typing in by hand.
    pub secret: &'a str,
    /// Where the form posts.
    pub action: &'a str,
    /// The form's hidden fields (name, value): its CSRF token, and the
    /// interaction inside a sign-in.
    pub hidden: &'a [(&'a str, &'a str)],
    /// Why the last code was refused, if it was.
    pub error: Option<&'a str>,
}

impl Setup<'_> {
    /// The QR code of the setup link ([`qr_svg`]).
    pub(crate) fn qr_svg(&self) -> String {
        qr_svg(self.uri)
    }
}

/// `templates/account/totp.html`.
#[derive(Template)]
#[template(path = "account/totp.html")]
struct AddAuthenticatorPage<'a> {
    setup: Setup<'a>,
}

/// `/account/totp`: the QR code, the `otpauth://` URI and the secret as
/// text, and the form that confirms it with one code.
pub fn add_authenticator(a: &AddAuthenticator<'_>) -> String {
    render(&AddAuthenticatorPage {
        setup: Setup {
            uri: a.uri,
            secret: a.secret,
            action: "/account/totp",
            hidden: &[("csrf", a.csrf)],
            error: a.error,
        },
    })
}

/// What the "add a passkey" page shows (`templates/account/passkey.html`).
#[derive(Template)]
#[template(path = "account/passkey.html")]
pub struct AddPasskey<'a> {
    /// The `navigator.credentials.create()` options, as JSON.
    pub options: &'a str,
    /// The form's CSRF token.
    pub csrf: &'a str,
    /// The passkey script's path (`/static/passkey-<hash>.js`).
    pub script: &'a str,
    /// Why the last attempt was refused, if it was.
    pub error: Option<&'a str>,
}

/// `/account/passkey`: a name and a button; the script asks the browser
/// for a new passkey and posts it. Without JavaScript the page says
/// passkeys need it.
pub fn add_passkey(a: &AddPasskey<'_>) -> String {
    render(a)
}

/// `templates/account/recovery_codes.html`.
#[derive(Template)]
#[template(path = "account/recovery_codes.html")]
struct RecoveryCodes<'a> {
    heading: &'a str,
    codes: &'a [&'a str],
}

/// The recovery codes, shown once: as text, one per line.
pub fn recovery_codes(heading: &str, codes: &[&str]) -> String {
    render(&RecoveryCodes { heading, codes })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_enrollment_page_shows_the_uri_the_key_and_a_one_time_code_input() {
        let uri = "otpauth://totp/id.example:ann?secret=JBSWY3DPEHPK3PXP&issuer=id.example";
        let html = add_authenticator(&AddAuthenticator {
            uri,
            secret: "JBSWY3DPEHPK3PXP",
            csrf: "c<s>rf",
            error: None,
        });
        assert!(html.contains("<svg role=\"img\""), "an inline QR code");
        assert!(!html.contains("<?xml"));
        assert!(html.contains(&uri.replace('&', "&#38;")));
        assert!(html.contains(">JBSWY3DPEHPK3PXP</code>"));
        assert!(html.contains("autocomplete=\"one-time-code\" inputmode=\"numeric\""));
        assert!(html.contains("value=\"c&#60;s&#62;rf\""));
    }

    #[test]
    fn recovery_codes_are_text_one_per_line() {
        let html = recovery_codes("Your recovery codes", &["aaaaa-bbbbb", "ccccc-ddddd"]);
        assert!(html.contains(">aaaaa-bbbbb\nccccc-ddddd</pre>"));
    }

    #[test]
    fn the_account_page_links_to_adding_an_authenticator() {
        let html = account(&Account {
            username: "ann",
            profile: ProfilePart {
                name: Some("Ann <A>"),
                email: Some(("ann@example.com", false)),
                pending_email: Some("new@<example>"),
                has_password: true,
                sessions: &[],
                apps: &[],
                identities: &[],
            },
            csrf: "t",
            notice: None,
            authenticator: None,
            recovery_codes_left: None,
            passkeys: Some(&[]),
        });
        assert!(html.contains("href=\"/account/totp\""));
        assert!(html.contains("href=\"/account/passkey\""));
        assert!(html.contains("value=\"Ann &#60;A&#62;\""));
        assert!(html.contains("ann@example.com</span> (not verified)"));
        assert!(html.contains("<span id=\"pending-email\">new@&#60;example&#62;</span>"));
        assert!(html.contains("name=\"email\" autocomplete=\"email\""));
        assert!(home("https://id.example").contains("href=\"/.well-known/openid-configuration\""));
        assert_eq!(day(&1_796_601_600), "07 Dec 2026");
        assert_eq!(moment(&(1_796_601_600 + 3600 + 120)), "07 Dec 2026 01:02 UTC");
    }
}
