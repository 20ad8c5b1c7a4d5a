//! How a client authenticates at the token endpoint ([RFC 7591 §2]
//! `token_endpoint_auth_method`, [OpenID Connect Core §9]).
//!
//! [RFC 7591 §2]: https://www.rfc-editor.org/rfc/rfc7591#section-2
//! [OpenID Connect Core §9]: https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication

use std::fmt;

/// A client authentication method, by its registered name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuthMethod {
    /// HTTP Basic with the client id and secret ([RFC 6749 §2.3.1]).
    ///
    /// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
    ClientSecretBasic,
    /// `client_id` and `client_secret` in the form body ([RFC 6749 §2.3.1]).
    ///
    /// [RFC 6749 §2.3.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.3.1
    ClientSecretPost,
    /// A JWT signed with one of the client's registered keys ([RFC 7523 §2.2],
    /// OpenID Connect Core §9), registered inline (a `jwks_uri` is not
    /// fetched yet).
    ///
    /// [RFC 7523 §2.2]: https://www.rfc-editor.org/rfc/rfc7523#section-2.2
    PrivateKeyJwt,
    /// A public client: `client_id` alone ([RFC 6749 §2.1]).
    ///
    /// [RFC 6749 §2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.1
    None,
}

impl AuthMethod {
    /// Every method this module can name.
    pub const ALL: [AuthMethod; 4] = [
        AuthMethod::ClientSecretBasic,
        AuthMethod::ClientSecretPost,
        AuthMethod::PrivateKeyJwt,
        AuthMethod::None,
    ];

    /// The registered name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthMethod::ClientSecretBasic => "client_secret_basic",
            AuthMethod::ClientSecretPost => "client_secret_post",
            AuthMethod::PrivateKeyJwt => "private_key_jwt",
            AuthMethod::None => "none",
        }
    }

    /// The method named `value`, if it is one of [`AuthMethod::ALL`].
    pub fn parse(value: &str) -> Option<AuthMethod> {
        AuthMethod::ALL.into_iter().find(|m| m.as_str() == value)
    }
}

impl fmt::Display for AuthMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::AuthMethod;

    #[test]
    fn auth_methods_round_trip() {
        for m in AuthMethod::ALL {
            assert_eq!(AuthMethod::parse(m.as_str()), Some(m));
            assert_eq!(m.to_string(), m.as_str());
        }
        assert_eq!(AuthMethod::parse("client_secret_jwt"), None);
        assert_eq!(AuthMethod::parse(""), None);
    }

    #[test]
    fn private_key_jwt_is_named() {
        assert_eq!(
            AuthMethod::parse("private_key_jwt"),
            Some(AuthMethod::PrivateKeyJwt)
        );
        assert_eq!(AuthMethod::parse("client_secret_jwt"), None, "not offered");
    }
}
