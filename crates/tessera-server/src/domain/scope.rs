//! Scope ([RFC 6749 §3.3]) as one value type with one parser: a scope is a
//! list of tokens separated by single spaces, each token `1*NQCHAR`
//! ([RFC 6749 Appendix A.4]: `%x21 / %x23-5B / %x5D-7E`, printable ASCII but
//! space, `"` and `\`), case-sensitive, and order does not matter. A
//! [`Scope`] is that set: it holds each token once, in the order first given,
//! so its wire form is stable. A requested scope must be within what the
//! client (or the original grant) allows; an omitted one means all of it.
//!
//! [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
//! [RFC 6749 Appendix A.4]: https://www.rfc-editor.org/rfc/rfc6749#appendix-A.4

use std::fmt;

/// Why a scope string is not one ([RFC 6749 §3.3]).
///
/// [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum ScopeError {
    /// Two spaces in a row, or a leading or trailing space.
    #[error("scope tokens are separated by single spaces")]
    EmptyToken,
    /// A token holds a character outside NQCHAR.
    #[error("a scope token may hold printable ASCII but space, '\"' and '\\'")]
    BadCharacter,
}

/// A set of scope tokens ([RFC 6749 §3.3]), each well-formed, each once.
///
/// [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scope {
    /// The tokens joined by single spaces: the wire and storage form.
    text: String,
}

/// Whether `token` is a well-formed scope token (`1*NQCHAR`).
fn is_token(token: &str) -> bool {
    !token.is_empty()
        && token
            .bytes()
            .all(|b| b == 0x21 || (0x23..=0x5b).contains(&b) || (0x5d..=0x7e).contains(&b))
}

impl Scope {
    /// Parses a scope as a client sends it: tokens separated by single
    /// spaces, each `1*NQCHAR`. A repeated token counts once. The empty
    /// string is the empty scope.
    pub fn parse(text: &str) -> Result<Scope, ScopeError> {
        if text.is_empty() {
            return Ok(Scope::default());
        }
        let mut scope = Scope::default();
        for token in text.split(' ') {
            if token.is_empty() {
                return Err(ScopeError::EmptyToken);
            }
            if !is_token(token) {
                return Err(ScopeError::BadCharacter);
            }
            scope.insert(token);
        }
        Ok(scope)
    }

    /// A scope this server wrote itself (a stored grant or consent): it was
    /// parsed on the way in, so nothing is refused on the way out; empty
    /// tokens are skipped.
    pub fn from_stored(text: &str) -> Scope {
        Scope::from_tokens(text.split(' '))
    }

    /// A scope of these tokens (a client's registered list); empty ones are
    /// skipped.
    pub fn from_tokens<'a>(tokens: impl IntoIterator<Item = &'a str>) -> Scope {
        let mut scope = Scope::default();
        for token in tokens {
            if !token.is_empty() {
                scope.insert(token);
            }
        }
        scope
    }

    fn insert(&mut self, token: &str) {
        if !self.has(token) {
            if !self.text.is_empty() {
                self.text.push(' ');
            }
            self.text.push_str(token);
        }
    }

    /// The tokens, in order.
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        self.text.split(' ').filter(|t| !t.is_empty())
    }

    /// The wire form: tokens joined by single spaces.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Whether there is no token.
    pub fn is_empty(&self) -> bool {
        self.text.is_empty()
    }

    /// Whether the scope includes `name`.
    pub fn has(&self, name: &str) -> bool {
        self.tokens().any(|t| t == name)
    }

    /// Whether every token of `other` is here (a remembered consent covers
    /// the same or fewer scopes, OpenID Connect Core §3.1.2.4).
    pub fn covers(&self, other: &Scope) -> bool {
        other.tokens().all(|t| self.has(t))
    }

    /// This scope with the tokens of `other` it lacks added, in order.
    pub fn union(&self, other: &Scope) -> Scope {
        let mut all = self.clone();
        for t in other.tokens() {
            all.insert(t);
        }
        all
    }

    /// This scope without the tokens `drop` names.
    pub fn without(&self, drop: impl Fn(&str) -> bool) -> Scope {
        Scope::from_tokens(self.tokens().filter(|t| !drop(t)))
    }

    /// The scope to grant when a client asks for `requested` and may have
    /// `self` ([RFC 6749 §3.3]): all of it when nothing is asked for, what
    /// was asked for when every token is allowed, else `None`
    /// (`invalid_scope`).
    ///
    /// [RFC 6749 §3.3]: https://www.rfc-editor.org/rfc/rfc6749#section-3.3
    pub fn narrow(&self, requested: Option<&Scope>) -> Option<Scope> {
        match requested {
            None => Some(self.clone()),
            Some(requested) => self.covers(requested).then(|| requested.clone()),
        }
    }
}

/// The wire form (a JSON string), as in introspection and token responses.
impl serde::Serialize for Scope {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(text: &str) -> Scope {
        Scope::parse(text).unwrap()
    }

    /// RFC 6749 §3.3: `scope-token *( SP scope-token )`.
    #[test]
    fn single_spaces_separate_tokens() {
        assert_eq!(scope("openid profile").as_str(), "openid profile");
        assert_eq!(scope("").as_str(), "");
        for bad in ["a  b", " a", "a ", " "] {
            assert_eq!(Scope::parse(bad), Err(ScopeError::EmptyToken), "{bad:?}");
        }
        assert_eq!(
            Scope::parse("a\tb"),
            Err(ScopeError::BadCharacter),
            "only SP separates"
        );
    }

    /// RFC 6749 Appendix A.4: `NQCHAR = %x21 / %x23-5B / %x5D-7E`.
    #[test]
    fn tokens_are_nqchar() {
        for good in ["openid", "tasks:read", "https://api.example/x", "a!#[]^~"] {
            assert!(Scope::parse(good).is_ok(), "{good}");
        }
        for bad in ["a\"b", "a\\b", "é", "a\u{7f}", "a\u{0}"] {
            assert_eq!(Scope::parse(bad), Err(ScopeError::BadCharacter), "{bad:?}");
        }
    }

    /// RFC 6749 §3.3: the order does not matter, so a scope is a set.
    #[test]
    fn a_scope_is_a_set() {
        assert_eq!(scope("a b a").as_str(), "a b");
        assert!(scope("openid profile email").covers(&scope("email openid")));
        assert!(!scope("openid").covers(&scope("openid email")));
        assert!(scope("openid").covers(&Scope::default()));
        assert_eq!(
            scope("openid profile").union(&scope("profile email")).as_str(),
            "openid profile email"
        );
        assert_eq!(
            scope("openid address phone").without(|t| t == "address").as_str(),
            "openid phone"
        );
        assert!(
            scope("a b").has("b") && !scope("ab").has("b"),
            "whole tokens only"
        );
        assert_eq!(Scope::from_stored(" a  b ").as_str(), "a b");
        assert_eq!(Scope::from_tokens(["a", "", "b", "a"]).as_str(), "a b");
    }

    /// RFC 6749 §3.3: an omitted scope is the default (here all the client
    /// may have); a requested one must be within it.
    #[test]
    fn narrowing_stays_within_what_is_allowed() {
        let allowed = scope("a b");
        assert_eq!(allowed.narrow(None), Some(scope("a b")));
        assert_eq!(allowed.narrow(Some(&scope("b"))), Some(scope("b")));
        assert_eq!(allowed.narrow(Some(&scope("b c"))), None);
        assert_eq!(allowed.narrow(Some(&Scope::default())), Some(Scope::default()));
    }
}
