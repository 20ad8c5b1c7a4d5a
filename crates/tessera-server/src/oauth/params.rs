//! Form parameters of a token request ([RFC 6749 §3.2]): each at most once
//! ([RFC 6749 §3.1]: "Request and response parameters MUST NOT be included
//! more than once"), and an empty value counts as absent ("Parameters sent
//! without a value MUST be treated as if they were omitted").
//!
//! [RFC 6749 §3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1
//! [RFC 6749 §3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.2

use std::collections::HashMap;

use super::OAuthError;

/// Parsed form parameters.
#[derive(Debug, Default)]
pub struct Params(HashMap<String, String>);

impl Params {
    /// Parses an `application/x-www-form-urlencoded` body.
    pub fn parse(body: &[u8]) -> Result<Params, OAuthError> {
        if std::str::from_utf8(body).is_err() {
            return Err(OAuthError::MalformedBody);
        }
        let mut map = HashMap::new();
        for (name, value) in form_urlencoded::parse(body) {
            if value.is_empty() {
                continue;
            }
            if map
                .insert(name.clone().into_owned(), value.into_owned())
                .is_some()
            {
                return Err(OAuthError::RepeatedParameter(name.into_owned()));
            }
        }
        Ok(Params(map))
    }

    /// Parameters from name/value pairs (the JSON API builds them this
    /// way); empty values count as absent, as in a form.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, Option<&'a str>)>) -> Params {
        Params(
            pairs
                .into_iter()
                .filter_map(|(k, v)| v.filter(|v| !v.is_empty()).map(|v| (k.to_owned(), v.to_owned())))
                .collect(),
        )
    }

    /// A parameter's value, if present.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    /// A required parameter.
    pub fn require(&self, name: &'static str) -> Result<&str, OAuthError> {
        self.get(name).ok_or(OAuthError::MissingParameter(name))
    }

    /// Removes a parameter (client credentials are taken out once read).
    pub fn take(&mut self, name: &str) -> Option<String> {
        self.0.remove(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_parameters_are_refused_and_empty_ones_ignored() {
        let p = Params::parse(b"grant_type=client_credentials&scope=&x=a%20b").unwrap();
        assert_eq!(p.get("grant_type"), Some("client_credentials"));
        assert_eq!(p.get("scope"), None);
        assert_eq!(p.get("x"), Some("a b"));
        assert!(
            matches!(Params::parse(b"scope=a&scope=b"), Err(OAuthError::RepeatedParameter(n)) if n == "scope")
        );
        assert!(matches!(Params::parse(b"a=\xff"), Err(OAuthError::MalformedBody)));
    }
}
