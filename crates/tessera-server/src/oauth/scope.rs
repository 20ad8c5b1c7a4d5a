//! Scope ([RFC 6749 §3.3]), with one tokenizer for every place that reads
//! one: a scope is a list of tokens separated by single spaces, each token
//! `1*NQCHAR` ([RFC 6749 Appendix A.4]: `%x21 / %x23-5B / %x5D-7E`, printable
//! ASCII but space, `"` and `\`). A requested scope must be within what the
//! client (or the original grant) allows; an omitted one means all of it.
//!
//! [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
//! [RFC 6749 Appendix A.4]: https://www.rfc-editor.org/rfc/rfc6749#appendix-A.4

use super::OAuthError;

/// The tokens of a scope string (empty tokens skipped, for stored values;
/// [`grant`] refuses them in requests).
pub fn tokens(scope: &str) -> impl Iterator<Item = &str> {
    scope.split(' ').filter(|t| !t.is_empty())
}

/// Whether `token` is a well-formed scope token (`1*NQCHAR`).
pub fn is_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

/// The scope to grant for `requested`, within `allowed`.
pub fn grant(requested: Option<&str>, allowed: &[String]) -> Result<String, OAuthError> {
    match requested {
        Some(requested) => {
            for t in requested.split(' ') {
                if !is_token(t) || !allowed.iter().any(|a| a == t) {
                    return Err(OAuthError::ScopeNotAllowed);
                }
            }
            Ok(requested.to_owned())
        }
        None => Ok(allowed.join(" ")),
    }
}

/// Whether a scope includes `name`.
pub fn has(scope: &str, name: &str) -> bool {
    tokens(scope).any(|t| t == name)
}

/// Whether `given` includes every token of `requested` (a remembered
/// consent covers the same or fewer scopes, OpenID Connect Core §3.1.2.4).
pub fn covers(given: &str, requested: &str) -> bool {
    tokens(requested).all(|t| has(given, t))
}

/// `a` with the tokens of `b` it lacks added, in order.
pub fn union(a: &str, b: &str) -> String {
    let mut all: Vec<&str> = tokens(a).collect();
    for t in tokens(b) {
        if !all.contains(&t) {
            all.push(t);
        }
    }
    all.join(" ")
}

/// A requested `scope` without the tokens `drop` names; empty tokens are
/// kept, so [`grant`] still refuses a malformed request.
pub fn without(scope: &str, drop: impl Fn(&str) -> bool) -> String {
    scope
        .split(' ')
        .filter(|t| !drop(t))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_allowed() {
        let allowed = vec!["a".to_owned(), "b".to_owned()];
        assert_eq!(grant(None, &allowed).unwrap(), "a b");
        assert_eq!(grant(Some("b"), &allowed).unwrap(), "b");
        assert!(grant(Some("c"), &allowed).is_err());
        assert!(grant(Some("a  b"), &allowed).is_err(), "empty scope token");
        assert!(has("a b", "b") && !has("ab", "b"));
    }

    /// RFC 6749 Appendix A.4: `NQCHAR = %x21 / %x23-5B / %x5D-7E`.
    #[test]
    fn tokens_are_nqchar() {
        for good in ["openid", "tasks:read", "https://api.example/x", "a!#[]^~"] {
            assert!(is_token(good), "{good}");
        }
        for bad in ["", "a\"b", "a\\b", "é", "a\tb", "a\u{7f}"] {
            assert!(!is_token(bad), "{bad:?}");
        }
        let allowed = vec!["a\"b".to_owned()];
        assert!(grant(Some("a\"b"), &allowed).is_err(), "even if registered");
    }

    #[test]
    fn sets() {
        assert!(covers("openid profile email", "email openid"));
        assert!(!covers("openid", "openid email"));
        assert!(covers("openid", ""));
        assert_eq!(union("openid profile", "profile email"), "openid profile email");
        assert_eq!(
            without("openid address phone", |t| t == "address"),
            "openid phone"
        );
        assert_eq!(without("a  b", |t| t == "x"), "a  b", "still malformed");
    }
}
