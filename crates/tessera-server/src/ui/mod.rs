//! The pages a person sees: sign in, consent, and errors. Server-rendered,
//! no JavaScript but the passkey script, one small stylesheet inline. Each
//! page is an askama template under `templates/` (issue 20, item 4),
//! compiled in and checked at build time, every value HTML-escaped by
//! askama: this module chooses the template and fills its struct, and no
//! page is assembled from strings here (`tests/no_html_in_rust.rs` keeps it
//! so). The HTTP layer adds the security headers ([`SECURITY_HEADERS`],
//! [`content_security_policy`]).

pub mod account;
pub mod admin;
pub mod email;
pub mod enroll;

use askama::Template;

use crate::domain::Provenance;
use crate::oauth::Scope;

/// Headers on every page besides its [`content_security_policy`]: no
/// framing (clickjacking), no referrer leaking the authorization request,
/// never cached.
pub const SECURITY_HEADERS: [(&str, &str); 4] = [
    ("x-frame-options", "DENY"),
    ("referrer-policy", "no-referrer"),
    ("x-content-type-options", "nosniff"),
    ("cache-control", "no-store"),
];

/// The Content Security Policy of a page whose forms may end, after
/// Tessera's 303, at `form_targets` (origins, or schemes of native apps'
/// redirect URIs, from [`form_target`]): no scripts, no framing, no
/// `<base>`, and forms only to Tessera and those targets.
///
/// `form-action` ([CSP Level 3 §6.4.1]) keeps an injected form from sending
/// a password anywhere else. Chromium and WebKit check it on every hop of
/// the navigation a form starts, redirects included (w3c/webappsec-csp
/// issue 8), so a page whose form Tessera answers with a 303 to the
/// client's `redirect_uri`, or to an upstream provider, must name that
/// origin too; `'self'` alone would strand the browser on Tessera.
///
/// [CSP Level 3 §6.4.1]: https://www.w3.org/TR/CSP3/#directive-form-action
pub fn content_security_policy(form_targets: &[String]) -> String {
    let mut policy = String::from(
        "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
    );
    for target in form_targets {
        policy.push(' ');
        policy.push_str(target);
    }
    policy
}

/// [`content_security_policy`] for a page that offers passkeys: the same,
/// and scripts from Tessera itself (`script-src 'self'`: the one hashed
/// passkey script, never inline code), which may fetch from Tessera
/// (`connect-src 'self'`: the sign-in page's passkey options).
pub fn content_security_policy_with_script(form_targets: &[String]) -> String {
    format!(
        "script-src 'self'; connect-src 'self'; {}",
        content_security_policy(form_targets)
    )
}

/// The CSP source expression that lets a form end at `url`: its origin
/// (`https://app.example:8443`) for http(s), its scheme (`com.example.app:`)
/// for a native app's private-use scheme (RFC 8252 §7.1). `None` when `url`
/// has no such part made only of the characters a source expression allows
/// (so nothing from a stored URI can add a directive).
pub fn form_target(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once(':')?;
    let scheme_ok = scheme.starts_with(|c: char| c.is_ascii_alphabetic())
        && scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
    if !scheme_ok {
        return None;
    }
    let scheme = scheme.to_ascii_lowercase();
    if scheme != "http" && scheme != "https" {
        return Some(format!("{scheme}:"));
    }
    let authority = rest.strip_prefix("//")?.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_ok = !host_port.is_empty()
        && host_port
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || ".-:[]".contains(c));
    host_ok.then(|| format!("{scheme}://{}", host_port.to_ascii_lowercase()))
}

/// Renders `page`. Askama fails only when a value's `Display` does, and
/// none of the values on our pages can; were one to, the person sees one
/// line of text rather than half a page, and the log says why.
pub(crate) fn render(page: &impl Template) -> String {
    page.render().unwrap_or_else(|error| {
        tracing::error!(%error, "a page could not be rendered");
        String::from("This page could not be shown. Try again.")
    })
}

/// What the login page shows (`templates/sign_in/login.html`).
#[derive(Template)]
#[template(path = "sign_in/login.html")]
pub struct Login<'a> {
    /// The client's display name.
    pub client_name: &'a str,
    /// The interaction the form continues.
    pub interaction: &'a str,
    /// The form's CSRF token.
    pub csrf: &'a str,
    /// Pre-filled username (`login_hint`, or the last attempt).
    pub username: Option<&'a str>,
    /// Why the last attempt failed.
    pub error: Option<&'a str>,
    /// The sign-up page, when self-registration is on.
    pub register_url: Option<&'a str>,
    /// Whether the password form is offered.
    pub password: bool,
    /// The passkey form, when passkeys are offered.
    pub passkey: Option<PasskeyOffer<'a>>,
    /// Whether the one-time code form (a second factor) is offered.
    pub code: bool,
    /// Upstream providers: (id, label), one "Continue with" button each.
    pub providers: &'a [(String, String)],
}

impl Login<'_> {
    /// The username field's `autocomplete`: with WebAuthn conditional
    /// mediation, the browser offers passkeys in its autofill.
    fn username_autocomplete(&self) -> &'static str {
        if self.passkey.is_some_and(|p| p.conditional) {
            "username webauthn"
        } else {
            "username"
        }
    }

    /// Where the passkey script fetches this interaction's options.
    fn passkey_options_url(&self) -> String {
        format!(
            "/authorize/passkey?{}",
            form_urlencoded::Serializer::new(String::new())
                .append_pair("interaction", self.interaction)
                .finish()
        )
    }
}

/// What the link page shows (`templates/sign_in/link.html`): an account
/// here has the email the provider gave, so the person proves it (or
/// takes a new account).
#[derive(Template)]
#[template(path = "sign_in/link.html")]
pub struct Link<'a> {
    /// The client's display name.
    pub client_name: &'a str,
    /// The provider's label.
    pub provider: &'a str,
    /// The upstream account's username.
    pub upstream_username: Option<&'a str>,
    /// The upstream account's email.
    pub upstream_email: Option<&'a str>,
    /// The interaction the form continues.
    pub interaction: &'a str,
    /// The form's CSRF token.
    pub csrf: &'a str,
    /// Whether a new account may be made instead.
    pub may_create: bool,
    /// Why the last attempt failed.
    pub error: Option<&'a str>,
}

/// The link page.
pub fn link(l: &Link<'_>) -> String {
    render(l)
}

/// How the sign-in page offers passkeys.
#[derive(Clone, Copy)]
pub struct PasskeyOffer<'a> {
    /// The passkey script's path (`/static/passkey-<hash>.js`).
    pub script: &'a str,
    /// Passkeys in the username field's autofill (WebAuthn conditional
    /// mediation) as well as behind a button.
    pub conditional: bool,
    /// A second factor for the user who proved a first one: the button
    /// shows only when they have a passkey.
    pub second_factor: bool,
}

/// The sign-in page: the offered methods (password, one-time code,
/// passkey, upstream providers) and the way to sign up.
pub fn login(l: &Login<'_>) -> String {
    render(l)
}

/// What the sign-up page shows (`templates/sign_in/register.html`).
#[derive(Template)]
#[template(path = "sign_in/register.html")]
pub struct Register<'a> {
    /// The client's display name.
    pub client_name: &'a str,
    /// The interaction the form continues.
    pub interaction: &'a str,
    /// The form's CSRF token.
    pub csrf: &'a str,
    /// What was entered before (not the password).
    pub username: Option<&'a str>,
    /// The email entered before.
    pub email: Option<&'a str>,
    /// Why the last attempt failed.
    pub error: Option<&'a str>,
}

/// The sign-up page (self-registration, when enabled).
pub fn register(r: &Register<'_>) -> String {
    render(r)
}

/// What the consent page shows (`templates/sign_in/consent.html`).
#[derive(Template)]
#[template(path = "sign_in/consent.html")]
pub struct Consent<'a> {
    /// The client's display name.
    pub client_name: &'a str,
    /// Who vouches for the client ([`Provenance::is_vetted`]): the page
    /// says when nobody here vetted it (its name is only its own claim).
    pub provenance: Provenance,
    /// The host of a client known by its metadata document.
    pub client_host: Option<&'a str>,
    /// The signed-in user's name.
    pub username: &'a str,
    /// The requested scopes.
    pub scope: &'a Scope,
    /// The APIs (RFC 8707 resources) the access is for: name and
    /// identifier. None: the client's own registered APIs.
    pub apis: &'a [(String, String)],
    /// The interaction the form continues.
    pub interaction: &'a str,
    /// The form's CSRF token.
    pub csrf: &'a str,
}

/// What a scope lets the client do, in words; `None` for a scope this
/// server does not describe (the page shows its name).
fn scope_text(scope: &str) -> Option<&'static str> {
    match scope {
        "openid" => Some("Know who you are"),
        "profile" => Some("See your name and username"),
        "email" => Some("See your email address"),
        "roles" => Some("See your roles (what you may do in its APIs)"),
        "offline_access" => Some("Stay signed in when you are away"),
        _ => None,
    }
}

/// The consent page.
pub fn consent(c: &Consent<'_>) -> String {
    render(c)
}

/// `templates/logout/confirm.html`.
#[derive(Template)]
#[template(path = "logout/confirm.html")]
struct LogoutConfirm<'a> {
    request: &'a str,
    csrf: &'a str,
    client_name: Option<&'a str>,
}

/// Asks before signing out (RP-Initiated Logout §2: the OP "SHOULD ask
/// the End-User whether to log out"), unless the request proved who asked.
pub fn logout_confirm(request: &str, csrf: &str, client_name: Option<&str>) -> String {
    render(&LogoutConfirm {
        request,
        csrf,
        client_name,
    })
}

/// `templates/logout/signed_out.html`.
#[derive(Template)]
#[template(path = "logout/signed_out.html")]
struct SignedOut;

/// After signing out, when there is nowhere to go back to.
pub fn signed_out() -> String {
    render(&SignedOut)
}

/// `templates/sign_in/error.html`.
#[derive(Template)]
#[template(path = "sign_in/error.html")]
struct ErrorPage<'a> {
    message: &'a str,
}

/// An error the user sees instead of being redirected.
pub fn error(message: &str) -> String {
    render(&ErrorPage { message })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn form_targets_are_origins_or_schemes_and_nothing_else() {
        for (url, want) in [
            ("https://app.example/cb?x=1", Some("https://app.example")),
            ("http://127.0.0.1:5000/callback", Some("http://127.0.0.1:5000")),
            ("HTTPS://App.Example:8443", Some("https://app.example:8443")),
            ("http://[::1]:8080/cb", Some("http://[::1]:8080")),
            ("https://user@app.example/cb", Some("https://app.example")),
            ("com.example.app:/oauth", Some("com.example.app:")),
            // Nothing that could end the directive or add another.
            ("https://a.example;script-src *", None),
            ("https://a.example,b/", None),
            ("https://a b/", None),
            ("https:///cb", None),
            ("no scheme", None),
            ("1http://x", None),
        ] {
            assert_eq!(form_target(url).as_deref(), want, "{url}");
        }
        let csp = content_security_policy(&["https://app.example".into()]);
        assert!(csp.ends_with("; form-action 'self' https://app.example"), "{csp}");
        assert!(content_security_policy(&[]).ends_with("form-action 'self'"));
    }

    /// Consent for a client nobody here vetted says so; one known by its
    /// metadata document shows the host it came from (escaped: it comes
    /// from the client). An operator's client gets neither.
    #[test]
    fn consent_says_who_vouches_for_the_client() {
        let scope = Scope::from_tokens(["openid"]);
        let page = |provenance, client_host| {
            consent(&Consent {
                client_name: "Agent",
                provenance,
                client_host,
                apis: &[],
                username: "ann",
                scope: &scope,
                interaction: "i",
                csrf: "c",
            })
        };
        let operator = page(Provenance::Operator, None);
        assert!(!operator.contains("not an app registered"), "{operator}");
        assert!(!operator.contains("not vetted"), "{operator}");
        let dynamic = page(Provenance::Dynamic, None);
        assert!(
            dynamic.contains("This app registered itself; Tessera has not vetted it."),
            "{dynamic}"
        );
        let documented = page(Provenance::MetadataDocument, Some("agent.example"));
        assert!(
            documented.contains("From <strong>agent.example</strong>"),
            "{documented}"
        );
        assert!(documented.contains("Allow only if you trust <strong>agent.example</strong>"));
        assert!(
            documented.contains("Agent is not an app registered with this server"),
            "{documented}"
        );
        let hostile = page(Provenance::MetadataDocument, Some("<b>x"));
        assert!(!hostile.contains("<b>x") && hostile.contains("&#60;b&#62;x"));
    }

    #[test]
    fn everything_dynamic_is_escaped() {
        let html = login(&Login {
            client_name: "<script>x</script>",
            interaction: "a=\"b\"&c='d'",
            csrf: "t",
            username: Some("\"><img>"),
            error: Some("<b>"),
            register_url: None,
            password: true,
            code: true,
            providers: &[("g\"h".to_owned(), "<i>Hub</i>".to_owned())],
            passkey: None,
        });
        assert!(!html.contains("<script>x"));
        assert!(!html.contains("<i>Hub") && html.contains("Continue with &#60;i&#62;Hub"));
        assert!(html.contains("value=\"g&#34;h\""));
        assert!(html.contains("&#60;script&#62;x&#60;/script&#62;"));
        assert!(html.contains("value=\"a=&#34;b&#34;&#38;c=&#39;d&#39;\""));
        assert!(!html.contains("\"><img>"));
        assert!(!html.contains("<b>"));
    }

    #[test]
    fn the_sign_in_page_shows_the_offered_methods_only() {
        let providers = [("gh".to_owned(), "GitHub".to_owned())];
        let page = |password: bool, providers: &[(String, String)]| {
            login(&Login {
                client_name: "App",
                interaction: "i",
                csrf: "t",
                username: None,
                error: None,
                register_url: None,
                password,
                code: false,
                providers,
                passkey: None,
            })
        };
        let both = page(true, &providers);
        assert!(both.contains("action=\"/authorize/login\"") && both.contains("Continue with GitHub"));
        let upstream_only = page(false, &providers);
        assert!(
            !upstream_only.contains("action=\"/authorize/login\"")
                && !upstream_only.contains("current-password")
        );
        assert!(upstream_only.contains("Continue with GitHub"));
        let password_only = page(true, &[]);
        assert!(password_only.contains("current-password") && !password_only.contains("/authorize/upstream"));
        assert!(!password_only.contains("/authorize/otp") && !password_only.contains("one-time-code"));
        // The second step: the code form alone.
        let code_only = login(&Login {
            client_name: "App",
            interaction: "i",
            csrf: "t",
            username: None,
            error: None,
            register_url: None,
            password: false,
            code: true,
            providers: &[],
            passkey: None,
        });
        assert!(code_only.contains("action=\"/authorize/otp\""));
        assert!(code_only.contains("name=\"code\" autocomplete=\"one-time-code\" inputmode=\"numeric\""));
        assert!(!code_only.contains("current-password") && !code_only.contains("/authorize/login"));
        assert!(!code_only.contains("<script") && !code_only.contains("webauthn"));
        // Passkeys offered: a hidden form the script fills, the script,
        // and conditional UI in the username field beside the password.
        let offer = PasskeyOffer {
            script: "/static/passkey-0123456789abcdef.js",
            conditional: true,
            second_factor: false,
        };
        let with_passkey = login(&Login {
            client_name: "App",
            interaction: "i",
            csrf: "t",
            username: None,
            error: None,
            register_url: None,
            password: true,
            code: false,
            providers: &[],
            passkey: Some(offer),
        });
        assert!(with_passkey.contains("autocomplete=\"username webauthn\""));
        assert!(with_passkey
            .contains("data-passkey=\"get\" data-options-url=\"/authorize/passkey?interaction=i\""));
        assert!(with_passkey.contains("<script src=\"/static/passkey-0123456789abcdef.js\"></script>"));
        assert!(with_passkey.contains(" hidden>"), "shown only by the script");
    }
}
