//! The pages of second-factor enrollment inside a sign-in (issue 19,
//! item 4): a person who must use a second factor and has none sets up an
//! authenticator app before the application gets a code, then sees their
//! recovery codes. The setup and the codes look as they do on the account
//! page (the templates `account/setup.html` and
//! `account/recovery_code_list.html`); the forms carry the interaction and
//! its CSRF token like every sign-in form.

use askama::Template;

use super::account::Setup;
use super::render;

/// What the enrollment page shows.
pub struct Enroll<'a> {
    /// The client's display name.
    pub client_name: &'a str,
    /// The interaction the form continues.
    pub interaction: &'a str,
    /// The form's CSRF token.
    pub csrf: &'a str,
    /// The `otpauth://` URI (for the QR code, and as text).
    pub uri: &'a str,
    /// The secret in base32, for typing in by hand.
    pub secret: &'a str,
    /// Why the last code was refused, if it was.
    pub error: Option<&'a str>,
}

/// `templates/sign_in/enroll.html`.
#[derive(Template)]
#[template(path = "sign_in/enroll.html")]
struct EnrollPage<'a> {
    client_name: &'a str,
    setup: Setup<'a>,
}

/// The enrollment page: the authenticator setup, posting to
/// `/authorize/enroll`.
pub fn enroll(e: &Enroll<'_>) -> String {
    render(&EnrollPage {
        client_name: e.client_name,
        setup: Setup {
            uri: e.uri,
            secret: e.secret,
            action: "/authorize/enroll",
            hidden: &[("interaction", e.interaction), ("csrf", e.csrf)],
            error: e.error,
        },
    })
}

/// What the page after enrollment shows
/// (`templates/sign_in/enrolled.html`).
#[derive(Template)]
#[template(path = "sign_in/enrolled.html")]
pub struct Enrolled<'a> {
    /// The client's display name.
    pub client_name: &'a str,
    /// The interaction the form continues.
    pub interaction: &'a str,
    /// The form's CSRF token.
    pub csrf: &'a str,
    /// The new recovery codes; `None` when the person had some already.
    pub recovery_codes: Option<&'a [&'a str]>,
}

/// After enrollment: the recovery codes (shown once) and a "Continue"
/// form posting to `/authorize/continue`.
pub fn enrolled(e: &Enrolled<'_>) -> String {
    render(e)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_enrollment_page_is_the_account_setup_inside_the_sign_in() {
        let uri = "otpauth://totp/id.example:ann?secret=JBSWY3DPEHPK3PXP&issuer=id.example";
        let html = enroll(&Enroll {
            client_name: "<App>",
            interaction: "i\"d",
            csrf: "c<s>rf",
            uri,
            secret: "JBSWY3DPEHPK3PXP",
            error: Some("<wrong>"),
        });
        assert!(html.contains("<svg role=\"img\""), "an inline QR code");
        assert!(html.contains(&uri.replace('&', "&#38;")));
        assert!(html.contains(">JBSWY3DPEHPK3PXP</code>"));
        assert!(html.contains("autocomplete=\"one-time-code\" inputmode=\"numeric\""));
        assert!(html.contains("action=\"/authorize/enroll\""));
        assert!(html.contains("name=\"interaction\" value=\"i&#34;d\""));
        assert!(html.contains("name=\"csrf\" value=\"c&#60;s&#62;rf\""));
        assert!(!html.contains("<App>") && !html.contains("<wrong>"));
        assert!(
            !html.contains("/account"),
            "no way out of the sign-in to the account page"
        );
    }

    #[test]
    fn the_recovery_codes_come_before_the_continue_form() {
        let html = enrolled(&Enrolled {
            client_name: "App",
            interaction: "i",
            csrf: "c",
            recovery_codes: Some(&["aaaaa-bbbbb", "ccccc-ddddd"]),
        });
        assert!(html.contains("<pre id=\"recovery-codes\">aaaaa-bbbbb\nccccc-ddddd</pre>"));
        assert!(html.contains("action=\"/authorize/continue\""));
        assert!(
            html.contains("name=\"interaction\" value=\"i\"") && html.contains("name=\"csrf\" value=\"c\"")
        );
        let without = enrolled(&Enrolled {
            client_name: "App",
            interaction: "i",
            csrf: "c",
            recovery_codes: None,
        });
        assert!(!without.contains("recovery-codes"));
    }
}
