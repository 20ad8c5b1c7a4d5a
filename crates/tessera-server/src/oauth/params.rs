//! Parameters of a request, parsed once, by one parser for every endpoint:
//! a token request's form ([RFC 6749 §3.2]) and a browser's query
//! (authorization, end session). Each at most once ([RFC 6749 §3.1]:
//! "Request and response parameters MUST NOT be included more than once"),
//! and an empty value counts as absent ("Parameters sent without a value
//! MUST be treated as if they were omitted").
//!
//! One parameter may be repeated: `resource` ([RFC 8707 §2]: "may be used
//! multiple times"); [`Params::all`] gives every value.
//!
//! A token request refuses a repeat at once ([`Params::parse`]). A browser
//! request is parsed whole first ([`Params::parse_browser`]), because where
//! its error may go depends on *which* parameter was repeated: the
//! authorization endpoint cannot redirect on a repeated `client_id`.
//!
//! [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1
//! [RFC 6749 §3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.2
//! [RFC 8707 §2]: https://www.rfc-editor.org/rfc/rfc8707#section-2

use std::borrow::Cow;
use std::collections::HashMap;

use super::OAuthError;

/// The parameters that may be sent more than once.
const REPEATABLE: [&str; 1] = ["resource"];

/// The name/value pairs of an `application/x-www-form-urlencoded` body
/// that is UTF-8, exactly as [`form_urlencoded::parse`] gives them (URL
/// Standard §5.1: split on `&`, skip empty sequences, split each at its
/// first `=`, decode `+` and percent escapes). A pair with neither `+`
/// nor `%` decodes to itself, so it is taken as it stands, found with
/// vectorised searches and not checked as UTF-8 again; only the others go
/// through `form_urlencoded`. Tokens sent for introspection or revocation
/// are a few hundred such bytes, decoded on every call.
fn form_pairs(body: &str) -> impl Iterator<Item = (Cow<'_, str>, Cow<'_, str>)> {
    body.split('&').filter(|pair| !pair.is_empty()).map(|pair| {
        if memchr::memchr2(b'+', b'%', pair.as_bytes()).is_none() {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            (Cow::Borrowed(name), Cow::Borrowed(value))
        } else {
            // One pair, no `&`: the parser yields exactly it.
            form_urlencoded::parse(pair.as_bytes())
                .next()
                .unwrap_or((Cow::Borrowed(""), Cow::Borrowed("")))
        }
    })
}

/// Parsed form parameters.
#[derive(Debug, Default)]
pub struct Params {
    /// Each parameter's (first) value.
    first: HashMap<String, String>,
    /// The later values of the [`REPEATABLE`] ones.
    more: Vec<(String, String)>,
}

impl Params {
    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Result<Params, OAuthError> {
        let Ok(body) = std::str::from_utf8(body) else {
            return Err(OAuthError::MalformedBody);
        };
        let mut params = Params::default();
        for (name, value) in form_pairs(body) {
            if value.is_empty() {
                continue;
            }
            if params.first.contains_key(name.as_ref()) {
                if !REPEATABLE.contains(&name.as_ref()) {
                    return Err(OAuthError::RepeatedParameter(parameter_name(&name)));
                }
                params.more.push((name.into_owned(), value.into_owned()));
            } else {
                params.first.insert(name.into_owned(), value.into_owned());
            }
        }
        Ok(params)
    }

    /// Parses a browser request's query or form: the parameters (the first
    /// value of a repeated one) and the first repeated name, as
    /// [`parameter_name`] gives it. Bytes that are not UTF-8 are replaced,
    /// as browsers' own decoders do.
    pub fn parse_browser(query: &[u8]) -> (Params, Option<&'static str>) {
        let mut params = Params::default();
        let mut repeated = None;
        for (name, value) in form_urlencoded::parse(query) {
            if value.is_empty() {
                continue;
            }
            if params.first.contains_key(name.as_ref()) {
                if REPEATABLE.contains(&name.as_ref()) {
                    params.more.push((name.into_owned(), value.into_owned()));
                } else {
                    repeated.get_or_insert_with(|| parameter_name(&name));
                }
            } else {
                params.first.insert(name.into_owned(), value.into_owned());
            }
        }
        (params, repeated)
    }

    /// Parameters from name/value pairs (the JSON API and `/par` build
    /// them this way); empty values count as absent, as in a form; a
    /// repeatable parameter keeps every value, any other its last.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Params {
        let mut params = Params::default();
        for (name, value) in pairs {
            let Some(value) = value.filter(|v| !v.is_empty()) else {
                continue;
            };
            if params.first.contains_key(name) && REPEATABLE.contains(&name) {
                params.more.push((name.to_owned(), value.to_owned()));
            } else {
                params.first.insert(name.to_owned(), value.to_owned());
            }
        }
        params
    }

    /// A parameter's value, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.first.get(name).map(String::as_str)
    }

    /// Every value of a parameter that may be repeated, in the order sent.
    pub fn all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.get(name).into_iter().chain(
            self.more
                .iter()
                .filter(move |(n, _)| n == name)
                .map(|(_, v)| v.as_str()),
        )
    }

    /// A required parameter.
    pub fn require(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.get(name).ok_or(OAuthError::MissingParameter(name))
    }

    /// Every parameter (each value of a repeated one), in no particular
    /// order.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.first
            .iter()
            .chain(self.more.iter().map(|(k, v)| (k, v)))
            .map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// Removes a parameter (client credentials are taken out once read).
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.first.remove(name)
    }
}

/// The parameters of this server's endpoints, by name: an error names one
/// of these, or says "a parameter", never a name the client made up.
const KNOWN: [&str; 38] = [
    "grant_type",
    "code",
    "redirect_uri",
    "client_id",
    "client_secret",
    "scope",
    "refresh_token",
    "username",
    "password",
    "code_verifier",
    "token",
    "token_type_hint",
    "audience",
    "resource",
    "state",
    "nonce",
    "response_type",
    "response_mode",
    "prompt",
    "max_age",
    "login_hint",
    "id_token_hint",
    "code_challenge",
    "code_challenge_method",
    "ui_locales",
    "claims_locales",
    "acr_values",
    "display",
    "request",
    "request_uri",
    "post_logout_redirect_uri",
    "client_assertion",
    "client_assertion_type",
    "csrf",
    "authorization",
    "decision",
    "email",
    "registration",
];

/// `name` if it is one of this server's parameters, else "a parameter".
pub fn parameter_name(name: &str) -> &'static str {
    KNOWN
        .iter()
        .find(|k| **k == name)
        .copied()
        .unwrap_or("a parameter")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path decodes every body as `form_urlencoded::parse` does:
    /// hand-picked edge cases, then 20,000 bodies drawn from the bytes that
    /// matter (separators, `+`, `%` with good and bad escapes, multi-byte
    /// UTF-8).
    #[test]
    fn form_pairs_are_form_urlencodeds_pairs() {
        let same = |body: &str| {
            let ours: Vec<_> = form_pairs(body).collect();
            let theirs: Vec<_> = form_urlencoded::parse(body.as_bytes()).collect();
            assert_eq!(ours, theirs, "body {body:?}");
        };
        for body in [
            "",
            "&",
            "&&",
            "=",
            "==",
            "a",
            "a=",
            "=b",
            "a=b=c",
            "a=b&",
            "&a=b",
            "a&b",
            "a+b=c+d",
            "a=%41",
            "a=%4",
            "a=%",
            "a=%zz",
            "a=%C3%A9",
            "a=%FF",
            "é=è",
            "token=eyJ.eyJ.sig-_~",
            "a=1&a=2",
            "x=a%20b&scope=",
            "%3D=%26",
        ] {
            same(body);
        }
        let alphabet = ["a", "b", "=", "&", "+", "%", "4", "1", "F", "z", "é", "%2", "%C3"];
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        for _ in 0..20_000 {
            let mut body = String::new();
            // xorshift64: a reproducible spread of bodies, not randomness.
            for _ in 0..(seed % 12) {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                body.push_str(alphabet[(seed % alphabet.len() as u64) as usize]);
            }
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            same(&body);
        }
    }

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_ignored() {
        let p = Params::parse(b"grant_type=client_credentials&scope=&x=a%20b").unwrap();
        assert_eq!(p.get("grant_type"), Some("client_credentials"));
        assert_eq!(p.get("scope"), None);
        assert_eq!(p.get("x"), Some("a b"));
        assert!(matches!(
            Params::parse(b"scope=a&scope=b"),
            Err(OAuthError::RepeatedParameter("scope"))
        ));
        assert!(matches!(Params::parse(b"a=\xff"), Err(OAuthError::MalformedBody)));
        assert!(matches!(
            Params::parse(b"%3Cscript%3E=a&%3Cscript%3E=b"),
            Err(OAuthError::RepeatedParameter("a parameter"))
        ));
    }

    /// RFC 8707 §2: `resource` may be repeated, in a form and in a query;
    /// every value is kept, in order.
    #[test]
    fn resource_may_be_repeated() {
        let p = Params::parse(b"resource=https%3A%2F%2Fa&scope=x&resource=https%3A%2F%2Fb").unwrap();
        assert_eq!(p.all("resource").collect::<Vec<_>>(), ["https://a", "https://b"]);
        assert_eq!(p.all("scope").collect::<Vec<_>>(), ["x"]);
        assert_eq!(p.all("state").count(), 0);
        let (p, repeated) = Params::parse_browser(b"resource=a&resource=b&resource=c");
        assert_eq!(repeated, None);
        assert_eq!(p.all("resource").collect::<Vec<_>>(), ["a", "b", "c"]);
        // Rebuilt from its pairs (as /par does), every value is kept.
        let rebuilt = Params::from_pairs(p.pairs().map(|(k, v)| (k, Some(v))));
        let mut all: Vec<&str> = rebuilt.all("resource").collect();
        all.sort_unstable();
        assert_eq!(all, ["a", "b", "c"]);
    }

    #[test]
    fn a_browser_request_keeps_the_first_value_and_names_the_first_repeat() {
        let table: [(&[u8], Option<&str>, Option<&str>); 5] = [
            (b"client_id=a&state=s", Some("a"), None),
            (b"client_id=a&client_id=b", Some("a"), Some("client_id")),
            (
                b"state=1&state=2&client_id=a&client_id=b",
                Some("a"),
                Some("state"),
            ),
            (b"client_id=&client_id=a", Some("a"), None),
            (b"x%3Cy=1&x%3Cy=2", None, Some("a parameter")),
        ];
        for (query, client_id, repeated) in table {
            let (params, got) = Params::parse_browser(query);
            assert_eq!(params.get("client_id"), client_id, "{query:?}");
            assert_eq!(got, repeated, "{query:?}");
        }
        let (params, _) = Params::parse_browser(b"state=a\xffb");
        assert_eq!(params.get("state"), Some("a\u{fffd}b"));
    }
}
