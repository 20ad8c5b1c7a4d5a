//! The account page and its factor pages (issue 19, item 6). Like every
//! page: server-rendered, no JavaScript, every dynamic value escaped, each
//! form carrying the browser's CSRF token for the account.

use super::{escape, page};

/// A day, as `07 Dec 2026` (UTC).
fn day(unix: i64) -> String {
    let at = std::time::UNIX_EPOCH + std::time::Duration::from_secs(u64::try_from(unix).unwrap_or(0));
    let text = httpdate::fmt_http_date(at);
    text.get(5..16).map_or(text.clone(), str::to_owned)
}

/// What the account page shows.
pub struct Account<'a> {
    /// The signed-in user's name.
    pub username: &'a str,
    /// The form's CSRF token.
    pub csrf: &'a str,
    /// What just happened, if anything.
    pub notice: Option<&'a str>,
    /// The authenticator app: its id and when it was added.
    pub authenticator: Option<(&'a str, i64)>,
    /// How many recovery codes are left, if the user has a second factor.
    pub recovery_codes_left: Option<i64>,
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
             <h2>Two-step sign-in</h2>{authenticator}{recovery}\
             <p><a href=\"/logout\">Sign out</a></p>",
            username = escape(a.username),
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

/// `/account/totp`: the QR code, the `otpauth://` URI and the secret as
/// text, and the form that confirms it with one code.
pub fn add_authenticator(a: &AddAuthenticator<'_>) -> String {
    let error = a
        .error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    page(
        "Add an authenticator app",
        &format!(
            "<h1>Add an authenticator app</h1>{error}\
             <p>Scan this code with your authenticator app:</p>\
             <div class=\"qr\">{qr}</div>\
             <p>Or enter this key by hand: <code id=\"secret\">{secret}</code></p>\
             <p>Setup link: <code id=\"otpauth-uri\">{uri}</code></p>\
             <form method=\"post\" action=\"/account/totp\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <label for=\"code\">Then type the code it shows</label>\
             <input type=\"text\" id=\"code\" name=\"code\" autocomplete=\"one-time-code\" inputmode=\"numeric\" \
             pattern=\"[0-9 ]*\" required autofocus>\
             <button type=\"submit\">Turn on</button></form>\
             <p><a href=\"/account\">Cancel</a></p>",
            qr = qr_svg(a.uri),
            secret = escape(a.secret),
            uri = escape(a.uri),
            csrf = escape(a.csrf),
        ),
    )
}

/// The recovery codes, shown once: as text, one per line.
pub fn recovery_codes(heading: &str, codes: &[&str]) -> String {
    let lines: Vec<String> = codes.iter().map(|c| escape(c)).collect();
    page(
        heading,
        &format!(
            "<h1>{heading}</h1>\
             <p>Save these recovery codes somewhere safe. Each one signs you in once if you lose your \
             authenticator. They are shown only now.</p>\
             <pre id=\"recovery-codes\">{codes}</pre>\
             <p><a href=\"/account\">Done</a></p>",
            heading = escape(heading),
            codes = lines.join("\n"),
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
            csrf: "t",
            notice: None,
            authenticator: None,
            recovery_codes_left: None,
        });
        assert!(html.contains("href=\"/account/totp\""));
        assert_eq!(day(1_796_601_600), "07 Dec 2026");
    }
}
