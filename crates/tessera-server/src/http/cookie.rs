//! The server's cookies: the one reader of the `Cookie` header and the one
//! writer of `Set-Cookie` ([RFC 6265]), so every cookie follows the same
//! rules:
//!
//! - **Read once.** A name sent twice in one request is refused: the second
//!   was planted (a sibling domain's cookie with `Domain=` rides along with
//!   ours, "cookie tossing"), and which one the server reads is not for the
//!   attacker to choose.
//! - **Written from a fixed description** ([`Cookie`]): its name, `Path`,
//!   `SameSite`; always `HttpOnly` (no script reads any of them), never
//!   `Domain` (host-only); `Secure` exactly when the issuer is https, the
//!   refresh cookie aside (below).
//! - **`__Host-` names on https issuers** ([RFC 6265bis §4.1.3.2]), so no
//!   other host, a sibling subdomain included, can set them: the builder
//!   refuses such a name without `Secure` and `Path=/`. On a plain-http
//!   development issuer browsers would drop them, so the names are plain.
//! - **The refresh cookie is `Secure` on every issuer.** It carries a
//!   long-lived refresh token; browsers accept a `Secure` cookie from
//!   `http://localhost` and `127.0.0.1` (secure contexts), where a plain-http
//!   issuer runs, so development works and the token never rides a real
//!   plain-http connection. It is scoped to `/api/v1` there (the only
//!   paths that read it), and to `/` on https as `__Host-` requires.
//!
//! [RFC 6265]: https://www.rfc-editor.org/rfc/rfc6265
//! [RFC 6265bis §4.1.3.2]: https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-4.1.3.2

use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue};
use axum::response::Response;

use crate::oauth::device::DEVICE_TTL;
use crate::oauth::interaction::binding_cookie_name;

/// A cookie name sent twice in one request.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the cookie {0} was sent twice")]
pub(super) struct RepeatedCookie(pub String);

/// The one cookie reader: a cookie's value from the `Cookie` headers
/// ([RFC 6265 §5.4]), refusing a name sent twice (see the module docs).
///
/// [RFC 6265 §5.4]: https://www.rfc-editor.org/rfc/rfc6265#section-5.4
pub(super) fn read_once<'h>(headers: &'h HeaderMap, name: &str) -> Result<Option<&'h str>, RepeatedCookie> {
    let mut found = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v);
    let first = found.next();
    if found.next().is_some() {
        tracing::warn!(target: "audit", cookie = name, "request refused: the cookie was sent twice");
        return Err(RepeatedCookie(name.to_owned()));
    }
    Ok(first)
}

/// The cookies this server sets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Cookie {
    /// Ties an interaction, and every form's CSRF token, to one browser
    /// (see [`crate::oauth::interaction`]); lives as long as the browser
    /// session.
    Binding,
    /// The SSO session: `SameSite=Lax`, so a second app's redirect to
    /// `/authorize` carries it.
    Session,
    /// This browser signed in to an account with its password before (see
    /// [`crate::oauth::device`]): `SameSite=Strict`, only our own pages'
    /// forms and first-party calls carry it.
    Device,
    /// A first-party app's refresh token (`/api/v1`): `SameSite=Strict`.
    Refresh,
}

/// The `SameSite` attribute ([RFC 6265bis §4.1.2.7]).
///
/// [RFC 6265bis §4.1.2.7]: https://datatracker.ietf.org/doc/html/draft-ietf-httpbis-rfc6265bis#section-4.1.2.7
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum SameSite {
    /// Sent on top-level navigations from other sites.
    Lax,
    /// Never sent from other sites.
    Strict,
}

impl SameSite {
    fn as_str(self) -> &'static str {
        match self {
            SameSite::Lax => "Lax",
            SameSite::Strict => "Strict",
        }
    }
}

/// How long a cookie lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Lifetime {
    /// Until the browser session ends (no `Max-Age`).
    BrowserSession,
    /// This many seconds (`Max-Age`).
    Seconds(i64),
    /// Deletes it (`Max-Age=0`, with an empty value).
    Delete,
}

/// What a `Set-Cookie` says, besides its value and lifetime.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Attributes {
    /// The cookie's name.
    pub name: &'static str,
    /// `Path`.
    pub path: &'static str,
    /// `SameSite`.
    pub same_site: SameSite,
    /// `Secure`.
    pub secure: bool,
}

impl Cookie {
    /// The cookie's attributes for an issuer that is https or not (see the
    /// module docs).
    pub(super) fn attributes(self, https: bool) -> Attributes {
        let (name, same_site) = match (self, https) {
            (Cookie::Binding, https) => (binding_cookie_name(https), SameSite::Lax),
            (Cookie::Session, true) => ("__Host-tessera_session", SameSite::Lax),
            (Cookie::Session, false) => ("tessera_session", SameSite::Lax),
            (Cookie::Device, true) => ("__Host-tessera_device", SameSite::Strict),
            (Cookie::Device, false) => ("tessera_device", SameSite::Strict),
            (Cookie::Refresh, true) => ("__Host-tessera_refresh", SameSite::Strict),
            (Cookie::Refresh, false) => ("tessera_refresh", SameSite::Strict),
        };
        let (path, secure) = match self {
            Cookie::Binding | Cookie::Session | Cookie::Device => ("/", https),
            Cookie::Refresh if https => ("/", true),
            Cookie::Refresh => ("/api/v1", true),
        };
        Attributes {
            name,
            path,
            same_site,
            secure,
        }
    }

    /// The cookie's name.
    pub(super) fn name(self, https: bool) -> &'static str {
        self.attributes(https).name
    }

    /// How long the cookie lives when it is set.
    pub(super) fn lifetime(self) -> Lifetime {
        match self {
            Cookie::Binding => Lifetime::BrowserSession,
            Cookie::Session => Lifetime::Seconds(crate::oauth::interaction::flow::SESSION_TTL),
            Cookie::Device => Lifetime::Seconds(DEVICE_TTL),
            Cookie::Refresh => Lifetime::Seconds(crate::oauth::user_tokens::REFRESH_TTL),
        }
    }

    /// `Set-Cookie` giving the browser `value` for the cookie's
    /// [`Cookie::lifetime`].
    pub(super) fn set(self, https: bool, value: &str) -> Result<SetCookie, CookieError> {
        build(&self.attributes(https), value, self.lifetime())
    }

    /// `Set-Cookie` deleting the cookie.
    pub(super) fn delete(self, https: bool) -> Result<SetCookie, CookieError> {
        build(&self.attributes(https), "", Lifetime::Delete)
    }
}

/// Why a `Set-Cookie` could not be built (a fault in the server, never in
/// the request: the values are the server's own random tokens).
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(super) enum CookieError {
    /// The name or value has a character outside RFC 6265 §4.1.1's
    /// `token` / `cookie-octet`.
    #[error("the cookie {0} has a character RFC 6265 §4.1.1 does not allow")]
    InvalidCharacter(&'static str),
    /// A `__Host-` cookie without `Secure` or with a `Path` other than `/`:
    /// browsers would drop it (RFC 6265bis §4.1.3.2).
    #[error("the __Host- cookie {0} needs Secure and Path=/")]
    HostPrefix(&'static str),
}

/// A `Set-Cookie` header value, built by [`build`] only.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct SetCookie(HeaderValue);

impl SetCookie {
    /// Adds it to `response`.
    pub(super) fn append_to(&self, response: &mut Response) {
        response.headers_mut().append(SET_COOKIE, self.0.clone());
    }

    /// The header value.
    #[cfg(test)]
    pub(super) fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }
}

/// RFC 6265 §4.1.1 `cookie-octet`: visible ASCII but `"`, `,`, `;`, `\`.
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// RFC 9110 §5.6.2 `tchar`, the characters of a cookie name.
fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// The one `Set-Cookie` writer ([RFC 6265 §4.1]): `name=value; Path=..;
/// Max-Age=..; HttpOnly; SameSite=..` and `; Secure` when `secure`; never
/// `Domain`.
///
/// [RFC 6265 §4.1]: https://www.rfc-editor.org/rfc/rfc6265#section-4.1
pub(super) fn build(cookie: &Attributes, value: &str, lifetime: Lifetime) -> Result<SetCookie, CookieError> {
    let Attributes {
        name,
        path,
        same_site,
        secure,
    } = *cookie;
    if name.is_empty() || !name.bytes().all(is_token_char) || !value.bytes().all(is_cookie_octet) {
        return Err(CookieError::InvalidCharacter(name));
    }
    if name.starts_with("__Host-") && (!secure || path != "/") {
        return Err(CookieError::HostPrefix(name));
    }
    let max_age = match lifetime {
        Lifetime::BrowserSession => String::new(),
        Lifetime::Seconds(seconds) => format!("; Max-Age={seconds}"),
        Lifetime::Delete => "; Max-Age=0".to_owned(),
    };
    let value = match lifetime {
        Lifetime::Delete => "",
        Lifetime::BrowserSession | Lifetime::Seconds(_) => value,
    };
    let secure = if secure { "; Secure" } else { "" };
    let text = format!(
        "{name}={value}; Path={path}{max_age}; HttpOnly; SameSite={}{secure}",
        same_site.as_str()
    );
    HeaderValue::from_str(&text)
        .map(SetCookie)
        .map_err(|_| CookieError::InvalidCharacter(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(cookies: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for c in cookies {
            h.append(COOKIE, HeaderValue::from_str(c).unwrap());
        }
        h
    }

    /// RFC 6265 §5.4: pairs split on `;`, across `Cookie` headers; a name
    /// sent twice, in one header or two, is refused.
    #[test]
    fn the_reader_refuses_a_name_sent_twice() {
        type Read = Result<Option<&'static str>, ()>;
        let rows: &[(&[&str], Read)] = &[
            (&[], Ok(None)),
            (&["other=1"], Ok(None)),
            (&["a=1"], Ok(Some("1"))),
            (&["x=0; a=1; y=2"], Ok(Some("1"))),
            (&["x=0", "a=1"], Ok(Some("1"))),
            (&["aa=1; a_=2"], Ok(None)),
            (&["a=1; a=2"], Err(())),
            (&["a=1", "a=2"], Err(())),
            (&["a=1", "a=1"], Err(())),
        ];
        for (sent, expected) in rows {
            let sent_headers = headers(sent);
            let read = read_once(&sent_headers, "a").map_err(|_| ());
            assert_eq!(read, *expected, "{sent:?}");
        }
    }

    /// Every cookie, on both kinds of issuer: HttpOnly, never `Domain`,
    /// `Secure` exactly on https (the refresh cookie: always), and a
    /// `__Host-` name exactly on https, with `Path=/`.
    #[test]
    fn every_cookie_follows_the_rules() {
        let all = [Cookie::Binding, Cookie::Session, Cookie::Device, Cookie::Refresh];
        for cookie in all {
            for https in [true, false] {
                let set = cookie.set(https, "v4lue-_").unwrap();
                let text = set.as_str();
                let a = cookie.attributes(https);
                assert!(text.starts_with(&format!("{}=v4lue-_; ", a.name)), "{text}");
                assert!(text.contains("; HttpOnly"), "{text}");
                assert!(!text.contains("Domain"), "{text}");
                let secure = https || cookie == Cookie::Refresh;
                assert_eq!(text.ends_with("; Secure"), secure, "{text}");
                assert_eq!(a.name.starts_with("__Host-"), https, "{text}");
                if https {
                    assert!(text.contains("; Path=/;"), "{text}");
                }
                let deleted = cookie.delete(https).unwrap();
                assert!(
                    deleted.as_str().starts_with(&format!("{}=; ", a.name))
                        && deleted.as_str().contains("; Max-Age=0;"),
                    "{}",
                    deleted.as_str()
                );
            }
        }
    }

    /// The exact headers, as the browser tests and the suites read them.
    #[test]
    fn the_headers_are_exact() {
        let rows = [
            (
                Cookie::Session.set(true, "s"),
                "__Host-tessera_session=s; Path=/; Max-Age=36000; HttpOnly; SameSite=Lax; Secure",
            ),
            (
                Cookie::Binding.set(false, "b"),
                "tessera_browser=b; Path=/; HttpOnly; SameSite=Lax",
            ),
            (
                Cookie::Refresh.set(false, "r"),
                "tessera_refresh=r; Path=/api/v1; Max-Age=2592000; HttpOnly; SameSite=Strict; Secure",
            ),
            (
                Cookie::Session.delete(false),
                "tessera_session=; Path=/; Max-Age=0; HttpOnly; SameSite=Lax",
            ),
        ];
        for (set, expected) in rows {
            assert_eq!(set.unwrap().as_str(), expected);
        }
    }

    /// The builder refuses what a browser would drop or misread: a
    /// `__Host-` name without `Secure` or `Path=/` (RFC 6265bis
    /// §4.1.3.2), characters outside `cookie-octet` (RFC 6265 §4.1.1).
    #[test]
    fn the_builder_refuses_broken_cookies() {
        let host = Attributes {
            name: "__Host-x",
            path: "/",
            same_site: SameSite::Lax,
            secure: true,
        };
        assert!(build(&host, "v", Lifetime::BrowserSession).is_ok());
        let rows = [
            (
                Attributes {
                    secure: false,
                    ..host
                },
                "v",
                CookieError::HostPrefix("__Host-x"),
            ),
            (
                Attributes { path: "/api", ..host },
                "v",
                CookieError::HostPrefix("__Host-x"),
            ),
            (host, "a;b", CookieError::InvalidCharacter("__Host-x")),
            (host, "a b", CookieError::InvalidCharacter("__Host-x")),
            (host, "\"a\"", CookieError::InvalidCharacter("__Host-x")),
            (
                Attributes { name: "a=b", ..host },
                "v",
                CookieError::InvalidCharacter("a=b"),
            ),
        ];
        for (attributes, value, expected) in rows {
            assert_eq!(
                build(&attributes, value, Lifetime::Seconds(1)),
                Err(expected),
                "{attributes:?} {value:?}"
            );
        }
    }
}
