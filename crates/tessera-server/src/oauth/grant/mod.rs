//! One module per grant type, each read top to bottom in the order its
//! RFC section lists the checks.

pub mod authorization_code;
pub mod client_credentials;
pub mod password;
pub mod refresh_token;

/// The grant types this server implements ([RFC 6749 §4], the `grant_type`
/// values of §4.1.3, §4.3.2, §4.4.2 and §6): one list, so a new grant is
/// one variant the compiler makes every match handle.
///
/// [RFC 6749 §4]: https://www.rfc-editor.org/rfc/rfc6749#section-4
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
}

impl crate::store::Client {
    /// Whether the client is registered for `grant` (RFC 6749 §5.2
    /// `unauthorized_client` otherwise).
    pub fn may_use(&self, grant: GrantType) -> bool {
        self.grant_types.iter().any(|g| g == grant.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::GrantType;

    #[test]
    fn wire_values_round_trip() {
        for g in GrantType::ALL {
            assert_eq!(GrantType::parse(g.as_str()), Some(g));
        }
        assert_eq!(GrantType::parse("implicit"), None);
        assert_eq!(GrantType::parse("Password"), None, "case matters");
    }
}
