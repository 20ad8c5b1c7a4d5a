//! The pages a person sees: sign in, consent, and errors. Server-rendered,
//! no JavaScript, one small stylesheet inline, every dynamic value HTML-
//! escaped. The HTTP layer adds the security headers ([`SECURITY_HEADERS`],
//! [`content_security_policy`]).

pub mod account;
pub mod email;
pub mod enroll;

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

const STYLE: &str = "\
*{box-sizing:border-box}\
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;\
font:16px/1.5 system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;background:#f3f4f8;color:#1d2130}\
main{width:100%;max-width:24rem;margin:1rem;padding:2rem;background:#fff;border-radius:12px;\
box-shadow:0 1px 3px rgba(0,0,0,.08),0 8px 24px rgba(0,0,0,.06)}\
.brand{font-weight:700;letter-spacing:.02em;color:#4338ca;margin:0 0 1.25rem}\
h1{font-size:1.35rem;margin:0 0 .25rem}p{margin:.25rem 0 1rem;color:#4a5063}\
label{display:block;font-weight:600;margin:.75rem 0 .25rem}\
input[type=text],input[type=password]{width:100%;padding:.6rem .7rem;border:1px solid #c9ccd6;border-radius:8px;font:inherit}\
input:focus,button:focus{outline:3px solid #a5b4fc;outline-offset:1px}\
button{width:100%;margin-top:1.25rem;padding:.65rem;border:0;border-radius:8px;background:#4338ca;color:#fff;font:inherit;font-weight:600;cursor:pointer}\
button.secondary{background:#eef0f6;color:#1d2130;margin-top:.5rem}\
.error{background:#fdecec;color:#8a1c1c;border-radius:8px;padding:.6rem .75rem;margin:0 0 1rem}\
.notice{background:#fff6e0;color:#6b4a00;border-radius:8px;padding:.6rem .75rem;margin:0 0 1rem}\
ul{padding-left:1.2rem;margin:.5rem 0 0}li{margin:.2rem 0}code{font-size:.9em;word-break:break-all}\
h2{font-size:1.05rem;margin:1.25rem 0 .25rem}pre{background:#f3f4f8;padding:.75rem;border-radius:8px;font-size:1.05rem}\
.qr svg{display:block;margin:0 auto;max-width:100%;height:auto}";

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn page(title: &str, body: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>{} · Tessera</title><style>{STYLE}</style></head>\
         <body><main><p class=\"brand\">Tessera</p>{body}</main></body></html>",
        escape(title)
    )
}

/// What the login page shows.
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

/// One form per upstream provider, posting the interaction to
/// `/authorize/upstream`.
fn provider_buttons(providers: &[(String, String)], interaction: &str, csrf: &str) -> String {
    if providers.is_empty() {
        return String::new();
    }
    let forms: String = providers
        .iter()
        .map(|(id, label)| {
            format!(
                "<form method=\"post\" action=\"/authorize/upstream\">\
                 <input type=\"hidden\" name=\"interaction\" value=\"{interaction}\">\
                 <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
                 <button type=\"submit\" name=\"provider\" value=\"{id}\" class=\"secondary\">Continue with {label}</button></form>",
                interaction = escape(interaction),
                csrf = escape(csrf),
                id = escape(id),
                label = escape(label),
            )
        })
        .collect();
    format!("<div class=\"upstream\" style=\"margin-top:1.25rem\"><p>or</p>{forms}</div>")
}

/// What the link page shows: an account here has the email the provider
/// gave, so the person proves it (or takes a new account).
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
    let error = l
        .error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    let hidden = format!(
        "<input type=\"hidden\" name=\"interaction\" value=\"{}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{}\">",
        escape(l.interaction),
        escape(l.csrf)
    );
    let create = if l.may_create {
        format!(
            "<form method=\"post\" action=\"/authorize/link\">{hidden}\
             <button type=\"submit\" name=\"decision\" value=\"new\" class=\"secondary\">I am new here: create an account</button></form>"
        )
    } else {
        String::new()
    };
    // Whose upstream account this is, so a person whose browser was signed
    // in to the provider as someone else (a login CSRF there) sees it is
    // not theirs before linking it.
    let account = match (l.upstream_username, l.upstream_email) {
        (Some(name), Some(email)) => format!("<strong>{}</strong> ({})", escape(name), escape(email)),
        (Some(one), None) | (None, Some(one)) => format!("<strong>{}</strong>", escape(one)),
        (None, None) => "an account".to_owned(),
    };
    page(
        "Link your account",
        &format!(
            "<h1>Continue with {provider}</h1>\
             <p>You signed in to {provider} as {account}. If that is not you, stop here and sign out of {provider}.</p>\
             <p>If you already have an account here, sign in to it once with its password to use {provider} with it from now on.</p>{error}\
             <form method=\"post\" action=\"/authorize/link\">{hidden}\
             <label for=\"username\">Username</label>\
             <input type=\"text\" id=\"username\" name=\"username\" autocomplete=\"username\" required autofocus>\
             <label for=\"password\">Password</label>\
             <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
             <button type=\"submit\" name=\"decision\" value=\"link\">Link and continue to {client}</button></form>{create}",
            provider = escape(l.provider),
            client = escape(l.client_name),
        ),
    )
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

/// The sign-in page's passkey form: hidden until the script runs (it
/// fetches the options, asks the browser, and posts the credential), so
/// the page works as before without JavaScript.
fn passkey_form(l: &Login<'_>, offer: PasskeyOffer<'_>) -> String {
    let options_url = format!(
        "/authorize/passkey?{}",
        form_urlencoded::Serializer::new(String::new())
            .append_pair("interaction", l.interaction)
            .finish()
    );
    format!(
        "<form method=\"post\" action=\"/authorize/passkey\" data-passkey=\"get\" \
         data-options-url=\"{options_url}\" data-conditional=\"{conditional}\" \
         data-second-factor=\"{second_factor}\" hidden>\
         <input type=\"hidden\" name=\"interaction\" value=\"{interaction}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <input type=\"hidden\" name=\"credential\" value=\"\">\
         <p class=\"error\" data-passkey-status hidden></p>\
         <button type=\"submit\" class=\"secondary\" id=\"use-passkey\">{label}</button></form>\
         <script src=\"{script}\"></script>",
        options_url = escape(&options_url),
        conditional = offer.conditional,
        second_factor = offer.second_factor,
        interaction = escape(l.interaction),
        csrf = escape(l.csrf),
        label = if offer.second_factor {
            "Use your passkey"
        } else {
            "Sign in with a passkey"
        },
        script = escape(offer.script),
    )
}

/// The sign-in page.
pub fn login(l: &Login<'_>) -> String {
    let error = l
        .error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    page(
        "Sign in",
        &format!(
            "<h1>Sign in</h1><p>to continue to <strong>{client}</strong></p>{error}{password}{code}{passkey}{providers}{register}",
            password = if l.password { password_form(l) } else { String::new() },
            passkey = l.passkey.map(|offer| passkey_form(l, offer)).unwrap_or_default(),
            code = if l.code { code_form(l) } else { String::new() },
            providers = provider_buttons(l.providers, l.interaction, l.csrf),
            register = l
                .register_url
                .map(|u| format!("<p style=\"margin-top:1.25rem\">New here? <a href=\"{}\">Create an account</a></p>", escape(u)))
                .unwrap_or_default(),
            client = escape(l.client_name),
        ),
    )
}

/// The sign-in page's password form.
fn password_form(l: &Login<'_>) -> String {
    format!(
        "<form method=\"post\" action=\"/authorize/login\">\
         <input type=\"hidden\" name=\"interaction\" value=\"{interaction}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"username\">Username</label>\
         <input type=\"text\" id=\"username\" name=\"username\" value=\"{username}\" autocomplete=\"{autocomplete}\" required autofocus>\
         <label for=\"password\">Password</label>\
         <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"current-password\" required>\
         <button type=\"submit\">Sign in</button></form>\
         <p style=\"margin-top:.75rem\"><a href=\"/password/forgot\">Forgot password?</a></p>",
        interaction = escape(l.interaction),
        csrf = escape(l.csrf),
        username = escape(l.username.unwrap_or("")),
        // WebAuthn conditional mediation: the browser offers passkeys in
        // this field's autofill.
        autocomplete = if l.passkey.is_some_and(|p| p.conditional) {
            "username webauthn"
        } else {
            "username"
        },
    )
}

/// The sign-in page's second step: the one-time code form (a code from an
/// authenticator app, or a recovery code).
fn code_form(l: &Login<'_>) -> String {
    format!(
        "<form method=\"post\" action=\"/authorize/otp\">\
         <input type=\"hidden\" name=\"interaction\" value=\"{interaction}\">\
         <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
         <label for=\"code\">Code from your authenticator app</label>\
         <input type=\"text\" id=\"code\" name=\"code\" autocomplete=\"one-time-code\" inputmode=\"numeric\" required autofocus>\
         <p>Lost your device? Enter one of your recovery codes instead.</p>\
         <button type=\"submit\">Continue</button></form>",
        interaction = escape(l.interaction),
        csrf = escape(l.csrf),
    )
}

/// What the sign-up page shows.
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
    let error = r
        .error
        .map(|e| format!("<p class=\"error\" role=\"alert\">{}</p>", escape(e)))
        .unwrap_or_default();
    page(
        "Create an account",
        &format!(
            "<h1>Create an account</h1><p>to continue to <strong>{client}</strong></p>{error}\
             <form method=\"post\" action=\"/authorize/register\">\
             <input type=\"hidden\" name=\"interaction\" value=\"{interaction}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <label for=\"username\">Username</label>\
             <input type=\"text\" id=\"username\" name=\"username\" value=\"{username}\" autocomplete=\"username\" required autofocus>\
             <label for=\"email\">Email (optional)</label>\
             <input type=\"text\" id=\"email\" name=\"email\" value=\"{email}\" autocomplete=\"email\">\
             <label for=\"password\">Password</label>\
             <input type=\"password\" id=\"password\" name=\"password\" autocomplete=\"new-password\" required>\
             <button type=\"submit\">Create account</button></form>",
            client = escape(r.client_name),
            interaction = escape(r.interaction),
            csrf = escape(r.csrf),
            username = escape(r.username.unwrap_or("")),
            email = escape(r.email.unwrap_or("")),
        ),
    )
}

/// What the consent page shows.
pub struct Consent<'a> {
    /// The client's display name.
    pub client_name: &'a str,
    /// Who vouches for the client ([`Provenance::is_vetted`]).
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

/// What a scope lets the client do, in words.
fn scope_text(scope: &str) -> String {
    match scope {
        "openid" => "Know who you are".into(),
        "profile" => "See your name and username".into(),
        "email" => "See your email address".into(),
        "roles" => "See your roles (what you may do in its APIs)".into(),
        "offline_access" => "Stay signed in when you are away".into(),
        other => format!("Use <code>{}</code>", escape(other)),
    }
}

/// What the consent page says of a client nobody here vetted
/// ([`Provenance::is_vetted`]); nothing for an operator's. Its name is
/// only its own claim.
fn unvetted_notice(provenance: Provenance) -> &'static str {
    if provenance.is_vetted() {
        return "";
    }
    "<p class=\"notice\"><strong>This app registered itself; Tessera has not vetted it.</strong> \
     Its name is what it calls itself. Allow it only if you trust it.</p>"
}

/// The consent page.
pub fn consent(c: &Consent<'_>) -> String {
    let items: String = c
        .scope
        .tokens()
        .map(|s| format!("<li>{}</li>", scope_text(s)))
        .collect();
    let apis = if c.apis.is_empty() {
        String::new()
    } else {
        let list: String = c
            .apis
            .iter()
            .map(|(name, id)| {
                format!(
                    "<li><strong>{}</strong> <code>{}</code></li>",
                    escape(name),
                    escape(id)
                )
            })
            .collect();
        format!("<p>It asks for access to these APIs on your behalf:</p><ul class=\"apis\">{list}</ul>")
    };
    // The name is whatever the client says it is; its host is proven (the
    // document was fetched from it over https). An unvetted client is
    // said to be one.
    let host = c
        .client_host
        .map(|h| format!("<p class=\"client-host\">From <strong>{}</strong></p>", escape(h)))
        .unwrap_or_default();
    let unvetted = match c.client_host {
        Some(h) if !c.provenance.is_vetted() => format!(
            "<p class=\"warning\" role=\"note\">{client} is not an app registered with this server: \
             nobody here has checked it. Allow only if you trust <strong>{host}</strong>.</p>",
            client = escape(c.client_name),
            host = escape(h),
        ),
        _ => unvetted_notice(c.provenance).to_owned(),
    };
    page(
        "Allow access",
        &format!(
            "<h1>Allow {client}?</h1>{host}{unvetted}<p>Signed in as <strong>{user}</strong>. {client} asks to:</p>\
             <ul>{items}</ul>{apis}\
             <form method=\"post\" action=\"/authorize/consent\">\
             <input type=\"hidden\" name=\"interaction\" value=\"{interaction}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button>\
             <button type=\"submit\" name=\"decision\" value=\"deny\" class=\"secondary\">Deny</button></form>",
            client = escape(c.client_name),
            user = escape(c.username),
            interaction = escape(c.interaction),
            csrf = escape(c.csrf),
        ),
    )
}

/// Asks before signing out (RP-Initiated Logout §2: the OP "SHOULD ask
/// the End-User whether to log out"), unless the request proved who asked.
pub fn logout_confirm(request: &str, csrf: &str, client_name: Option<&str>) -> String {
    let from = client_name
        .map(|n| format!(" <strong>{}</strong> asks you to sign out.", escape(n)))
        .unwrap_or_default();
    page(
        "Sign out",
        &format!(
            "<h1>Sign out?</h1><p>You are signed in to Tessera.{from}</p>\
             <form method=\"post\" action=\"/logout/confirm\">\
             <input type=\"hidden\" name=\"request\" value=\"{request}\">\
             <input type=\"hidden\" name=\"csrf\" value=\"{csrf}\">\
             <button type=\"submit\">Sign out</button></form>",
            request = escape(request),
            csrf = escape(csrf),
        ),
    )
}

/// After signing out, when there is nowhere to go back to.
pub fn signed_out() -> String {
    page(
        "Signed out",
        "<h1>You are signed out</h1><p>You can close this window.</p>",
    )
}

/// An error the user sees instead of being redirected.
pub fn error(message: &str) -> String {
    page(
        "Cannot sign in",
        &format!(
            "<h1>This sign-in link is not valid</h1><p class=\"error\" role=\"alert\">{}</p>\
             <p>Go back to the application and try again. If it keeps happening, tell its developers.</p>",
            escape(message)
        ),
    )
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
        assert!(!hostile.contains("<b>x") && hostile.contains("&lt;b&gt;x"));
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
        assert!(!html.contains("<i>Hub") && html.contains("Continue with &lt;i&gt;Hub"));
        assert!(html.contains("value=\"g&quot;h\""));
        assert!(html.contains("&lt;script&gt;x&lt;/script&gt;"));
        assert!(html.contains("value=\"a=&quot;b&quot;&amp;c=&#39;d&#39;\""));
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
