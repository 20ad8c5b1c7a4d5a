//! The pages of the mailed links (issue 20, item 2): "Forgot password?",
//! the new-password form a reset link opens, the button a verification
//! link opens, and their outcomes. Askama templates under
//! `templates/email/`, auto-escaped.

use askama::Template;

/// `GET /password/forgot`.
#[derive(Template)]
#[template(path = "email/forgot.html")]
pub struct Forgot;

/// The one answer to `POST /password/forgot`.
#[derive(Template)]
#[template(path = "email/forgot_sent.html")]
pub struct ForgotSent;

/// `GET /password/reset?token=...`: the new-password form.
#[derive(Template)]
#[template(path = "email/reset.html")]
pub struct Reset<'a> {
    /// The link's token, posted back.
    pub token: &'a str,
    /// Why the last try was refused.
    pub error: Option<&'a str>,
}

/// `GET /email/verify?token=...`: the confirm button.
#[derive(Template)]
#[template(path = "email/verify.html")]
pub struct Verify<'a> {
    /// The link's token, posted back.
    pub token: &'a str,
    /// The address it confirms.
    pub address: &'a str,
}

/// What a link did, or why it did nothing.
#[derive(Template)]
#[template(path = "email/result.html")]
pub struct Outcome<'a> {
    /// The heading (and title).
    pub heading: &'a str,
    /// One sentence.
    pub message: &'a str,
    /// Whether it is a refusal (shown as an error).
    pub failed: bool,
    /// Where to go next: (href, label).
    pub link: Option<(&'a str, &'a str)>,
}

/// The pages render as every page does (a failing template yields a
/// sentence, never a panic).
pub(crate) use super::render;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_and_carry_the_standard_autocomplete_tokens() {
        let forgot = render(&Forgot);
        assert!(forgot.contains("name=\"username\" autocomplete=\"username\""));
        assert!(forgot.contains("<title>Forgot password · Tessera</title>"));
        let reset = render(&Reset {
            token: "t\"><b>",
            error: Some("<weak>"),
        });
        assert_eq!(reset.matches("autocomplete=\"new-password\"").count(), 2);
        assert!(
            reset.contains("value=\"t&#34;&#62;&#60;b&#62;\"")
                || reset.contains("value=\"t&quot;&gt;&lt;b&gt;\""),
            "{reset}"
        );
        assert!(
            reset.contains("&lt;weak&gt;") || reset.contains("&#60;weak&#62;"),
            "{reset}"
        );
        let verify = render(&Verify {
            token: "t",
            address: "<a@b>",
        });
        assert!(!verify.contains("<a@b>"), "{verify}");
        assert!(verify.contains("method=\"post\" action=\"/email/verify\""));
    }
}
