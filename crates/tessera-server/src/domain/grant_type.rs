//! The grant types this server implements ([RFC 6749 §4], the `grant_type`
//! values of §4.1.3, §4.3.2, §4.4.2 and §6).
//!
//! [RFC 6749 §4]: https://www.rfc-editor.org/rfc/rfc6749#section-4

use std::fmt;

/// A grant type: one list, so a new grant is one variant the compiler
/// makes every match handle. A client registers the ones it may use
/// ([RFC 7591 §2] `grant_types`), and the store keeps their wire names.
///
/// [RFC 7591 §2]: https://www.rfc-editor.org/rfc/rfc7591#section-2
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GrantType {
    /// `authorization_code` (§4.1).
    AuthorizationCode,
    /// `client_credentials` (§4.4).
    ClientCredentials,
    /// `password` (§4.3), for first-party clients registered for it.
    Password,
    /// `refresh_token` (§6).
    RefreshToken,
}

impl GrantType {
    /// Every grant type, in discovery's order.
    pub const ALL: [GrantType; 4] = [
        GrantType::AuthorizationCode,
        GrantType::ClientCredentials,
        GrantType::Password,
        GrantType::RefreshToken,
    ];

    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            GrantType::AuthorizationCode => "authorization_code",
            GrantType::ClientCredentials => "client_credentials",
            GrantType::Password => "password",
            GrantType::RefreshToken => "refresh_token",
        }
    }

    /// The grant type named `value`, if this server implements it.
    pub fn parse(value: &str) -> Option<GrantType> {
        GrantType::ALL.into_iter().find(|g| g.as_str() == value)
    }

    /// Whether the grant acts for a signed-in person (and so can be
    /// refreshed, [RFC 6749 §1.5]): the code and password grants.
    ///
    /// [RFC 6749 §1.5]: https://www.rfc-editor.org/rfc/rfc6749#section-1.5
    pub fn is_user_grant(self) -> bool {
        match self {
            GrantType::AuthorizationCode | GrantType::Password => true,
            GrantType::ClientCredentials | GrantType::RefreshToken => false,
        }
    }
}

impl fmt::Display for GrantType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::GrantType;

    #[test]
    fn wire_values_round_trip() {
        for g in GrantType::ALL {
            assert_eq!(GrantType::parse(g.as_str()), Some(g));
            assert_eq!(g.to_string(), g.as_str());
        }
        assert_eq!(GrantType::parse("implicit"), None);
        assert_eq!(GrantType::parse("Password"), None, "case matters");
        assert_eq!(GrantType::parse(""), None);
    }

    #[test]
    fn user_grants_are_the_code_and_password_grants() {
        let users: Vec<_> = GrantType::ALL.into_iter().filter(|g| g.is_user_grant()).collect();
        assert_eq!(users, [GrantType::AuthorizationCode, GrantType::Password]);
    }
}
