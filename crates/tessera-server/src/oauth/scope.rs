//! Scope ([RFC 6749 §3.3]): a requested scope must be within what the
//! client (or the original grant) allows; an omitted one means all of it.
//!
//! [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3

use super::OAuthError;

/// The scope to grant for `requested`, within `allowed`.
pub fn grant(requested: Option<&str>, allowed: &[String]) -> Result<String, OAuthError> {
    match requested {
        Some(requested) => {
            for s in requested.split(' ') {
                if s.is_empty() || !allowed.iter().any(|a| a == s) {
                    return Err(OAuthError::ScopeNotAllowed);
                }
            }
            Ok(requested.to_owned())
        }
        None => Ok(allowed.join(" ")),
    }
}

/// Whether a granted scope string includes `name`.
pub fn has(scope: &str, name: &str) -> bool {
    scope.split(' ').any(|s| s == name)
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
}
