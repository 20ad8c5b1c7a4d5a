//! The account page and its factor pages (issue 19, item 6). Like every
//! page: server-rendered, no JavaScript, every dynamic value escaped, each
//! form carrying the browser's CSRF token for the account.

use super::{escape, page};

/// A Unix time as an HTTP date (`Mon, 07 Dec 2026 17:21:00 GMT`).
fn http_date(unix: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(unix).unwrap_or(0));
    httpdate::fmt_http_date(at)
}

/// A day, as `07 Dec 2026` (UTC).
fn day(unix: i64) -> String {
    let text = http_date(unix);
    text.get(5..16).map_or(text.clone(), str::to_owned)
}

/// `/`: what this server is, where its discovery document is, and the
/// way to the account page.
pub fn home(issuer: &str) -> String {
    page(
        "Tessera",
        &format!(
            "<h1>Tessera</h1>\
             <p>This is the OpenID Connect provider and OAuth 2.0 authorization server \
             <code id=\"issuer\">{issuer}</code>.</p>\
             <p>Apps find its endpoints and keys in its \
             <a href=\"/.well-known/openid-configuration\">discovery document</a>.</p>\
             <p><a href=\"/account\">Your account</a></p>",
            issuer = escape(issuer),
        ),
    )
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

/// A form posting `fields` (after the CSRF token) to `action` with one
/// button.
fn button_form(action: &str, csrf: &str, fields: &[(&str, &str)], label: &str) -> String {
    let mut hidden = vec![("csrf", csrf)];
    hidden.extend_from_slice(fields);
    format!(
        "<form method=\"post\" action=\"{action}\">{hidden}\
         <button type=\"submit\" class=\"secondary\">{label}</button></form>",
        action = escape(action),
        hidden = hidden_fields(&hidden),
        label = escape(label),
    )
}

fn profile_section(p: &ProfilePart<'_>, csrf: &str) -> String {
    let email = match p.email {
        Some((address, verified)) => format!(
            "<p>Email: <span id=\"email\">{}</span> ({})</p>",
            escape(address),
            if verified { "verified" } else { "not verified" }
        ),
        None => "<p>Email: none</p>".to_owned(),
    };
    let pending = p
        .pending_email
        .map(|a| {
            format!(
                "<p class=\"notice\">Waiting for confirmation: <span id=\"pending-email\">{}</span>. \
                 Open the link we sent there; until then your account keeps the address above.</p>",
                escape(a)
            )
        })
        .unwrap_or_default();
    format!(
        "<h2>Profile</h2>{email}{pending}\
         <form method=\"post\" action=\"/account/email\">{hidden}\
         <label for=\"new-email\">New email address</label>\
         <input type=\"text\" inputmode=\"email\" id=\"new-email\" name=\"email\" autocomplete=\"email\" maxlength=\"254\" required>\
         <button type=\"submit\" class=\"secondary\">Change the email</button></form>\
         <form method=\"post\" action=\"/account/name\">{hidden}\
         <label for=\"display-name\">Name</label>\
         <input type=\"text\" id=\"display-name\" name=\"name\" autocomplete=\"name\" maxlength=\"128\" value=\"{name}\">\
         <button type=\"submit\" class=\"secondary\">Save the name</button></form>\
         <h2>Password</h2><p><a href=\"/account/password\">{password}</a></p>",
        hidden = hidden_fields(&[("csrf", csrf)]),
        name = escape(p.name.unwrap_or("")),
        password = if p.has_password { "Change your password" } else { "Set a password" },
    )
}

fn sessions_section(sessions: &[SessionLine<'_>], csrf: &str) -> String {
    let mut out = String::from("<h2>Sessions</h2><ul class=\"sessions\">");
    for s in sessions {
        let from = s
            .from
            .map(|ip| format!(" from {}", escape(ip)))
            .unwrap_or_default();
        let what = if s.this_one {
            " <strong>(this browser)</strong>".to_owned()
        } else {
            button_form(
                "/account/sessions/end",
                csrf,
                &[("sid", s.sid)],
                "Sign this session out",
            )
        };
        out.push_str(&format!(
            "<li>Signed in {at}{from}{what}</li>",
            at = escape(&moment(s.signed_in_at)),
        ));
    }
    out.push_str("</ul>");
    if sessions.iter().any(|s| !s.this_one) {
        out.push_str(&button_form(
            "/account/sessions/end-others",
            csrf,
            &[],
            "Sign out everywhere else",
        ));
    }
    out
}

fn apps_section(apps: &[AppLine<'_>], csrf: &str) -> String {
    let mut out = String::from("<h2>Apps</h2>");
    if apps.is_empty() {
        out.push_str("<p>You have not allowed any app yet.</p>");
        return out;
    }
    out.push_str("<ul class=\"apps\">");
    for a in apps {
        out.push_str(&format!(
            "<li><strong>{name}</strong>: {scope}, allowed {at}{form}</li>",
            name = escape(a.name),
            scope = escape(a.scope),
            at = escape(&day(a.granted_at)),
            form = button_form(
                "/account/apps/revoke",
                csrf,
                &[("client_id", a.client_id)],
                &format!("Revoke {}", a.name)
            ),
        ));
    }
    out.push_str("</ul>");
    out
}

fn identities_section(identities: &[IdentityLine<'_>], csrf: &str) -> String {
    if identities.is_empty() {
        return String::new();
    }
    let mut out = String::from("<h2>Linked sign-ins</h2><ul class=\"identities\">");
    for i in identities {
        out.push_str(&format!(
            "<li>{provider}, linked {at}{form}</li>",
            provider = escape(i.provider),
            at = escape(&day(i.linked_at)),
            form = button_form(
                "/account/identities/unlink",
                csrf,
                &[("provider", i.provider)],
                "Unlink"
            ),
        ));
    }
    out.push_str("</ul>");
    out
}

/// What the password page shows.
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
    let error = p
        .error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let current = if p.fresh {
        "<label for=\"current\">Current password (not needed: you signed in a moment ago)</label>\
         <input type=\"password\" id=\"current\" name=\"current\" autocomplete=\"current-password\">"
    } else {
        "<label for=\"current\">Current password</label>\
         <input type=\"password\" id=\"current\" name=\"current\" autocomplete=\"current-password\" required>"
    };
    page(
        "Change your password",
        &format!(
            "<h1>Change your password</h1>{error}\
             <p>Changing it signs you out everywhere else and ends every app's sign-in that \
             would renew itself.</p>\
             <form method=\"post\" action=\"/account/password\">{hidden}{current}\
             <label for=\"new\">New password</label>\
             <input type=\"password\" id=\"new\" name=\"new\" autocomplete=\"new-password\" required>\
             <label for=\"again\">New password again</label>\
             <input type=\"password\" id=\"again\" name=\"again\" autocomplete=\"new-password\" required>\
             <button type=\"submit\">Change the password</button></form>\
             <p><a href=\"/account\">Cancel</a></p>",
            hidden = hidden_fields(&[("csrf", p.csrf)]),
        ),
    )
}

/// A moment, as `07 Dec 2026 17:21 UTC`.
fn moment(unix: i64) -> String {
    let text = http_date(unix);
    text.get(5..22).map_or(text.clone(), |t| format!("{t} UTC"))
}

/// What the account page shows.
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

fn passkey_section(passkeys: Option<&[PasskeyLine<'_>]>, csrf: &str) -> String {
    let Some(passkeys) = passkeys else {
        return "<h2>Passkeys</h2><p>Passkeys need this server to be reached by a host name.</p>".to_owned();
    };
    let mut out = String::from("<h2>Passkeys</h2>");
    if passkeys.is_empty() {
        out.push_str("<p>No passkeys yet.</p>");
    } else {
        out.push_str("<ul class=\"passkeys\">");
        for p in passkeys {
            let used = p
                .last_used_at
                .map_or_else(|| "never used".to_owned(), |at| format!("last used {}", day(at)));
            out.push_str(&format!(
                "<li><strong>{name}</strong>, added {added}, {used}\
                 <form method=\"post\" action=\"/account/passkey/rename\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <input type=\"hidden\" name=\"id\" value=\"{id}\">\
                 <label for=\"name-{id}\">New name</label>\
                 <input type=\"text\" id=\"name-{id}\" name=\"name\" maxlength=\"64\" required>\
                 <button type=\"submit\" class=\"secondary\">Rename</button></form>\
                 <form method=\"post\" action=\"/account/passkey/remove\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <input type=\"hidden\" name=\"id\" value=\"{id}\">\
                 <button type=\"submit\" class=\"secondary\">Remove {name}</button></form></li>",
                name = escape(p.name),
                added = escape(&day(p.created_at)),
                used = escape(&used),
                csrf = escape(csrf),
                id = escape(p.id),
            ));
        }
        out.push_str("</ul>");
    }
    out.push_str("<p><a href=\"/account/passkey\">Add a passkey</a></p>");
    out
}

/// `/account`.
pub fn account(a: &Account<'_>) -> String {
    let notice = a
        .notice
        .map(|n| format!("<p class=\"notice\" role=\"status\">{}</p>", escape(n)))
        .unwrap_or_default();
    let authenticator = match a.authenticator {
        Some((id, added)) => format!(
            "<p>Authenticator app, added {added}.</p>\
             <form method=\"post\" action=\"/account/totp/remove\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <input type=\"hidden\" name=\"id\" value=\"{id}\">\
             <button type=\"submit\" class=\"secondary\">Remove the authenticator app</button></form>",
            added = escape(&day(added)),
            csrf = escape(a.csrf),
            id = escape(id),
        ),
        None => "<p>No authenticator app yet: signing in needs only your password.</p>\
                 <p><a href=\"/account/totp\">Add an authenticator app</a></p>"
            .to_owned(),
    };
    let recovery = match a.recovery_codes_left {
        Some(left) => format!(
            "<h2>Recovery codes</h2><p>{left} recovery code{s} left. Each works once, in place of a code \
             from your app.</p>\
             <form method=\"post\" action=\"/account/recovery-codes\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <button type=\"submit\" class=\"secondary\">Get new recovery codes</button></form>",
            s = if left == 1 { "" } else { "s" },
            csrf = escape(a.csrf),
        ),
        None => String::new(),
    };
    page(
        "Your account",
        &format!(
            "<h1>Your account</h1><p>Signed in as <strong>{username}</strong>.</p>{notice}\
             {profile}\
             <h2>Two-step sign-in</h2>{authenticator}{passkeys}{recovery}\
             {sessions}{apps}{identities}\
             <p><a href=\"/logout\">Sign out</a></p>",
            username = escape(a.username),
            profile = profile_section(&a.profile, a.csrf),
            sessions = sessions_section(a.profile.sessions, a.csrf),
            apps = apps_section(a.profile.apps, a.csrf),
            identities = identities_section(a.profile.identities, a.csrf),
            passkeys = passkey_section(a.passkeys, a.csrf),
        ),
    )
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
/// SVG renderer, without its XML declaration), or nothing if it does not
/// fit a QR code.
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
/// (`/authorize/enroll`) show the same setup.
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

/// Hidden form fields, escaped.
pub(crate) fn hidden_fields(fields: &[(&str, &str)]) -> String {
    fields
        .iter()
        .map(|(name, value)| {
            format!(
                "<input type=\"hidden\" name=\"{}\" value=\"{}\">",
                escape(name),
                escape(value)
            )
        })
        .collect()
}

/// The authenticator setup: the error, the QR code, the key and the
/// `otpauth://` URI as text, and the form that confirms it with one code.
pub(crate) fn setup(s: &Setup<'_>) -> String {
    let error = s
        .error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    format!(
        "{error}\
         <p>Scan this code with your authenticator app:</p>\
         <div class=\"qr\">{qr}</div>\
         <p>Or enter this key by hand: <code id=\"secret\">{secret}</code></p>\
         <p>Setup link: <code id=\"otpauth-uri\">{uri}</code></p>\
         <form method=\"post\" action=\"{action}\">{hidden}\
         <label for=\"code\">Then type the code it shows</label>\
         <input type=\"text\" id=\"code\" name=\"code\" autocomplete=\"one-time-code\" inputmode=\"numeric\" \
         pattern=\"[0-9 ]*\" required autofocus>\
         <button type=\"submit\">Turn on</button></form>",
        qr = qr_svg(s.uri),
        secret = escape(s.secret),
        uri = escape(s.uri),
        action = escape(s.action),
        hidden = hidden_fields(s.hidden),
    )
}

/// `/account/totp`: the QR code, the `otpauth://` URI and the secret as
/// text, and the form that confirms it with one code.
pub fn add_authenticator(a: &AddAuthenticator<'_>) -> String {
    page(
        "Add an authenticator app",
        &format!(
            "<h1>Add an authenticator app</h1>{setup}<p><a href=\"/account\">Cancel</a></p>",
            setup = setup(&Setup {
                uri: a.uri,
                secret: a.secret,
                action: "/account/totp",
                hidden: &[("csrf", a.csrf)],
                error: a.error,
            }),
        ),
    )
}

/// What the "add a passkey" page shows.
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
    let error = a
        .error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    page(
        "Add a passkey",
        &format!(
            "<h1>Add a passkey</h1>{error}\
             <p>A passkey signs you in with your device's screen lock or a security key, without a password.</p>\
             <noscript><p class=\"notice\">Adding a passkey needs JavaScript.</p></noscript>\
             <form method=\"post\" action=\"/account/passkey\" data-passkey=\"create\" data-options=\"{options}\" hidden>\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <input type=\"hidden\" name=\"credential\" value=\"\">\
             <label for=\"name\">Name it (to tell your passkeys apart)</label>\
             <input type=\"text\" id=\"name\" name=\"name\" maxlength=\"64\" value=\"Passkey\" required>\
             <p class=\"error\" data-passkey-status hidden></p>\
             <button type=\"submit\" id=\"create-passkey\">Create a passkey</button></form>\
             <p><a href=\"/account\">Cancel</a></p>\
             <script src=\"{script}\"></script>",
            options = escape(a.options),
            csrf = escape(a.csrf),
            script = escape(a.script),
        ),
    )
}

/// The recovery codes as text, one per line, with what they are for.
pub(crate) fn recovery_code_lines(codes: &[&str]) -> String {
    let lines: Vec<String> = codes.iter().map(|c| escape(c)).collect();
    format!(
        "<p>Save these recovery codes somewhere safe. Each one signs you in once if you lose your \
         authenticator. They are shown only now.</p>\
         <pre id=\"recovery-codes\">{}</pre>",
        lines.join("\n")
    )
}

/// The recovery codes, shown once: as text, one per line.
pub fn recovery_codes(heading: &str, codes: &[&str]) -> String {
    page(
        heading,
        &format!(
            "<h1>{heading}</h1>{codes}<p><a href=\"/account\">Done</a></p>",
            heading = escape(heading),
            codes = recovery_code_lines(codes),
        ),
    )
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
        assert!(html.contains(&escape(uri)));
        assert!(html.contains(">JBSWY3DPEHPK3PXP</code>"));
        assert!(html.contains("autocomplete=\"one-time-code\" inputmode=\"numeric\""));
        assert!(html.contains("value=\"c&lt;s&gt;rf\""));
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
        assert!(html.contains("value=\"Ann &lt;A&gt;\""));
        assert!(html.contains("ann@example.com</span> (not verified)"));
        assert!(html.contains("<span id=\"pending-email\">new@&lt;example&gt;</span>"));
        assert!(html.contains("name=\"email\" autocomplete=\"email\""));
        assert!(home("https://id.example").contains("href=\"/.well-known/openid-configuration\""));
        assert_eq!(day(1_796_601_600), "07 Dec 2026");
        assert_eq!(moment(1_796_601_600 + 3600 + 120), "07 Dec 2026 01:02 UTC");
    }
}
