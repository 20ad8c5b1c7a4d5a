//! Finding the access token in a request.
//!
//! - The `Authorization: Bearer <token>` header ([RFC 6750 §2.1]), the one
//!   method on by default. The scheme is case-insensitive ([RFC 9110
//!   §11.1]); the token must match `b64token`; two `Authorization` headers
//!   are `invalid_request`. A header with another scheme (`Basic ..`) is
//!   not a bearer token: the request is treated as carrying none.
//! - Optionally an HttpOnly cookie, for browser apps that should keep no
//!   token where scripts can read it. A cookie is sent by the browser on
//!   cross-site requests too, so requests with unsafe methods must also pass
//!   a CSRF rule ([`Csrf`]). The header wins when both are present.
//! - The URI query (`?access_token=`, RFC 6750 §2.3) is never read: it
//!   leaks into logs and `Referer` headers (RFC 9700 §4.3.2).
//!
//! [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
//! [RFC 9110 §11.1]: https://www.rfc-editor.org/rfc/rfc9110#section-11.1

use http::{header, request::Parts, Method};

use crate::Rejection;

/// How a request sent with a cookie token proves it comes from the app's
/// own pages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Csrf {
    /// The request must carry this header (any value). Browsers send custom
    /// headers cross-origin only after a CORS preflight the API controls,
    /// which a plain form or `<img>` cannot trigger.
    CustomHeader(String),
    /// Double submit: the header's value must equal the cookie's (compared
    /// in constant time). The app's script reads the (non-HttpOnly) CSRF
    /// cookie and echoes it; another site can do neither.
    DoubleSubmit {
        /// The CSRF cookie's name.
        cookie: String,
        /// The header that echoes it.
        header: String,
    },
}

/// Where to look for a token besides the `Authorization` header.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CookieToken {
    /// The cookie that holds the access token.
    pub name: String,
    /// The rule for unsafe methods.
    pub csrf: Csrf,
}

/// The token of a request, borrowed from its headers.
pub fn token<'r>(parts: &'r Parts, cookie: Option<&CookieToken>) -> Result<&'r str, Rejection> {
    match presented(parts, cookie)? {
        (Scheme::Bearer, token) => Ok(token),
        (Scheme::DPoP, _) => Err(Rejection::MissingToken),
    }
}

/// The token of a request and how it was presented: `Authorization:
/// Bearer`, `Authorization: DPoP` ([RFC 9449 §7.1]), or the cookie (a
/// bearer token).
///
/// [RFC 9449 §7.1]: https://www.rfc-editor.org/rfc/rfc9449#section-7.1
pub fn presented<'r>(parts: &'r Parts, cookie: Option<&CookieToken>) -> Result<(Scheme, &'r str), Rejection> {
    let mut values = parts.headers.get_all(header::AUTHORIZATION).iter();
    if let Some(value) = values.next() {
        if values.next().is_some() {
            return Err(Rejection::InvalidRequest("more than one Authorization header"));
        }
        if let Some(found) = parse_scheme(value.as_bytes())? {
            return Ok(found);
        }
    }
    let Some(config) = cookie else {
        return Err(Rejection::MissingToken);
    };
    let Some(token) = cookie_value(parts, &config.name)? else {
        return Err(Rejection::MissingToken);
    };
    if !is_safe(&parts.method) {
        check_csrf(parts, &config.csrf)?;
    }
    if !is_b64token(token.as_bytes()) {
        return Err(Rejection::InvalidRequest(
            "the token cookie is not a bearer token",
        ));
    }
    Ok((Scheme::Bearer, token))
}

/// The token of one `Authorization` header value, `Bearer <b64token>`
/// ([RFC 6750 §2.1]; the scheme case-insensitive): `None` for another
/// scheme (`Basic ..`: not a bearer token), [`Rejection::InvalidRequest`]
/// for the Bearer scheme without a token or with characters `b64token`
/// does not allow. Works on the header's bytes: one pass over the token
/// checks every character.
///
/// The one RFC 6750 reader: [`token`] uses it, and so does the Tessera
/// server for its own resources (`/userinfo`, `/api/v1/me`). Refusing a
/// repeated header is the caller's (it sees all of them).
///
/// [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
pub fn parse_authorization(value: &[u8]) -> Result<Option<&str>, Rejection> {
    match parse_scheme(value)? {
        Some((Scheme::Bearer, token)) => Ok(Some(token)),
        Some((Scheme::DPoP, _)) | None => Ok(None),
    }
}

/// How an access token is presented in the `Authorization` header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    /// `Bearer` ([RFC 6750 §2.1]).
    ///
    /// [RFC 6750 §2.1]: https://www.rfc-editor.org/rfc/rfc6750#section-2.1
    Bearer,
    /// `DPoP` ([RFC 9449 §7.1]): the token is bound to a key, and a `DPoP`
    /// proof header comes with it.
    ///
    /// [RFC 9449 §7.1]: https://www.rfc-editor.org/rfc/rfc9449#section-7.1
    DPoP,
}

/// [`parse_authorization`] for both schemes a token may come with:
/// `Bearer <token>` or `DPoP <token>` (the same `b64token` syntax, RFC
/// 9449 §7.1); `None` for any other scheme.
pub fn parse_scheme(value: &[u8]) -> Result<Option<(Scheme, &str)>, Rejection> {
    let scheme_end = value.iter().position(|&b| b == b' ').unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    let scheme = if scheme.eq_ignore_ascii_case(b"bearer") {
        Scheme::Bearer
    } else if scheme.eq_ignore_ascii_case(b"dpop") {
        Scheme::DPoP
    } else {
        return Ok(None);
    };
    let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    let token = rest.get(start..).unwrap_or_default();
    if token.is_empty() {
        return Err(Rejection::InvalidRequest(
            "the Authorization scheme needs a token",
        ));
    }
    if !is_b64token(token) {
        return Err(Rejection::InvalidRequest(
            "the bearer token has characters RFC 6750 §2.1 does not allow",
        ));
    }
    // b64token characters are ASCII.
    std::str::from_utf8(token)
        .map(|t| Some((scheme, t)))
        .map_err(|_| Rejection::InvalidRequest("the bearer token is not ASCII"))
}

/// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
fn is_b64token(token: &[u8]) -> bool {
    let padding = token.iter().rev().take_while(|&&b| b == b'=').count();
    let body = token.get(..token.len() - padding).unwrap_or_default();
    // Branch-free within each block, so the compiler can check many bytes
    // at once: a JWT is often 600-1000 bytes, and every request's is checked.
    !body.is_empty()
        && body
            .chunks(64)
            .all(|block| block.iter().fold(true, |ok, &b| ok & is_b64token_char(b)))
}

fn is_b64token_char(b: u8) -> bool {
    let letter = (b | 0x20).wrapping_sub(b'a') < 26;
    let digit = b.wrapping_sub(b'0') < 10;
    letter | digit | (b == b'-') | (b == b'.') | (b == b'_') | (b == b'~') | (b == b'+') | (b == b'/')
}

/// RFC 9110 §9.2.1: methods that are not meant to change anything.
fn is_safe(method: &Method) -> bool {
    matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

fn check_csrf(parts: &Parts, rule: &Csrf) -> Result<(), Rejection> {
    match rule {
        Csrf::CustomHeader(name) => match parts.headers.contains_key(name.as_str()) {
            true => Ok(()),
            false => Err(Rejection::InvalidRequest(
                "a request authenticated by cookie must carry the CSRF header",
            )),
        },
        Csrf::DoubleSubmit { cookie, header } => {
            let sent = parts.headers.get(header.as_str()).map(|v| v.as_bytes());
            let expected = cookie_value(parts, cookie)?.map(str::as_bytes);
            match (sent, expected) {
                (Some(sent), Some(expected))
                    if !expected.is_empty()
                        && aws_lc_rs::constant_time::verify_slices_are_equal(sent, expected).is_ok() =>
                {
                    Ok(())
                }
                _ => Err(Rejection::InvalidRequest(
                    "the CSRF header does not match the CSRF cookie",
                )),
            }
        }
    }
}

/// A cookie's value from the `Cookie` headers (RFC 6265 §5.4). A name
/// sent twice is `invalid_request`: the second was planted (a sibling
/// domain's cookie with `Domain=` rides along with the API's own, "cookie
/// tossing"), and which one is read is not for an attacker to choose.
fn cookie_value<'r>(parts: &'r Parts, name: &str) -> Result<Option<&'r str>, Rejection> {
    let mut found = parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(n, _)| *n == name)
        .map(|(_, v)| v.trim_matches('"'));
    let first = found.next();
    if found.next().is_some() {
        return Err(Rejection::InvalidRequest("a cookie was sent twice"));
    }
    Ok(first)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn parts(method: &str, headers: &[(&str, &str)]) -> Parts {
        let mut req = http::Request::builder().method(method).uri("/x");
        for (n, v) in headers {
            req = req.header(*n, *v);
        }
        req.body(()).unwrap().into_parts().0
    }

    #[test]
    fn authorization_header_per_rfc_6750_section_2_1() {
        let ok = |h: &str| token(&parts("GET", &[("authorization", h)]), None).map(str::to_owned);
        assert_eq!(ok("Bearer abc.def-_~+/=="), Ok("abc.def-_~+/==".into()));
        assert_eq!(ok("bearer abc"), Ok("abc".into()));
        assert_eq!(ok("BEARER  abc"), Ok("abc".into()));
        assert_eq!(ok("Basic dXNlcjpwdw=="), Err(Rejection::MissingToken));
        assert!(matches!(ok("Bearer"), Err(Rejection::InvalidRequest(_))));
        assert!(matches!(ok("Bearer "), Err(Rejection::InvalidRequest(_))));
        assert!(matches!(ok("Bearer a b"), Err(Rejection::InvalidRequest(_))));
        assert!(matches!(ok("Bearer a\"b"), Err(Rejection::InvalidRequest(_))));
        assert!(matches!(ok("Bearer ==="), Err(Rejection::InvalidRequest(_))));
        assert_eq!(token(&parts("GET", &[]), None), Err(Rejection::MissingToken));
        let two = parts(
            "GET",
            &[("authorization", "Bearer a"), ("authorization", "Bearer b")],
        );
        assert!(matches!(token(&two, None), Err(Rejection::InvalidRequest(_))));
    }

    #[test]
    fn b64token_characters_exactly() {
        let allowed: Vec<u8> = (0..=255u8)
            .filter(|&b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
            .collect();
        for b in 0..=255u8 {
            assert_eq!(is_b64token_char(b), allowed.contains(&b), "byte {b}");
        }
        assert!(is_b64token(b"a=="));
        assert!(!is_b64token(b"=a"));
        let long = vec![b'a'; 1000];
        assert!(is_b64token(&long));
        let mut bad = long.clone();
        bad[700] = b' ';
        assert!(!is_b64token(&bad));
    }

    #[test]
    fn cookie_tokens_need_the_csrf_rule_on_unsafe_methods() {
        let header_rule = CookieToken {
            name: "at".into(),
            csrf: Csrf::CustomHeader("x-csrf".into()),
        };
        let cookie = ("cookie", "theme=dark; at=tok.en.sig");
        // Off unless configured.
        assert_eq!(
            token(&parts("GET", &[cookie]), None),
            Err(Rejection::MissingToken)
        );
        assert_eq!(
            token(&parts("GET", &[cookie]), Some(&header_rule)),
            Ok("tok.en.sig")
        );
        assert!(matches!(
            token(&parts("POST", &[cookie]), Some(&header_rule)),
            Err(Rejection::InvalidRequest(_))
        ));
        assert_eq!(
            token(&parts("DELETE", &[cookie, ("x-csrf", "1")]), Some(&header_rule)),
            Ok("tok.en.sig")
        );
        // The header wins over the cookie, and needs no CSRF rule.
        assert_eq!(
            token(
                &parts("POST", &[cookie, ("authorization", "Bearer h")]),
                Some(&header_rule)
            ),
            Ok("h")
        );

        let double = CookieToken {
            name: "at".into(),
            csrf: Csrf::DoubleSubmit {
                cookie: "csrf".into(),
                header: "x-csrf-token".into(),
            },
        };
        let cookies = ("cookie", "at=t; csrf=s3cret");
        assert_eq!(
            token(
                &parts("PUT", &[cookies, ("x-csrf-token", "s3cret")]),
                Some(&double)
            ),
            Ok("t")
        );
        for bad in [
            vec![cookies],
            vec![cookies, ("x-csrf-token", "other")],
            vec![("cookie", "at=t; csrf="), ("x-csrf-token", "")],
            // A planted second CSRF cookie, or token cookie, is refused.
            vec![
                ("cookie", "at=t; csrf=mine; csrf=s3cret"),
                ("x-csrf-token", "mine"),
            ],
            vec![
                ("cookie", "at=t; csrf=s3cret"),
                ("cookie", "at=u"),
                ("x-csrf-token", "s3cret"),
            ],
        ] {
            assert!(matches!(
                token(&parts("PUT", &bad), Some(&double)),
                Err(Rejection::InvalidRequest(_))
            ));
        }
    }
}
