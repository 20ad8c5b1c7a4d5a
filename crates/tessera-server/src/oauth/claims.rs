//! Which of a user's claims a grant releases, for access tokens,
//! `/api/v1/me`, ID tokens and UserInfo alike ([OpenID Connect Core
//! §5.4]): a client learns only what the user consented to.
//!
//! - `profile` releases `name` and `preferred_username`;
//! - `email` releases `email` and `email_verified` (§5.1: a released email
//!   says whether it was verified);
//! - `roles` (a Tessera scope, named on the consent page) releases `roles`.
//!
//! A first-party client (registered `--first-party`, or allowed the password
//! grant, which hands it the user's password anyway) also gets
//! `preferred_username` and `roles` without asking: it is the
//! application the user signs in to, not a third party.
//!
//! Empty values are left out rather than sent as `""` or `[]`: RFC 9068
//! resource-server validators refuse a token with an empty `roles` array
//! (RFC 9068 §2.2.3.1 builds `roles` on SCIM's multi-valued attributes,
//! which are omitted when empty), and "no claim" is what an empty one
//! means.
//!
//! [OpenID Connect Core §5.4]: https://openid.net/specs/openid-connect-core-1_0.html#ScopeClaims

use super::Scope;
use crate::store::{Client, User};

/// The claims a grant releases, borrowed from the user.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Released<'a> {
    /// `preferred_username`.
    pub preferred_username: Option<&'a str>,
    /// `name`.
    pub name: Option<&'a str>,
    /// `email`.
    pub email: Option<&'a str>,
    /// `email_verified`, sent whenever `email` is.
    pub email_verified: Option<bool>,
    /// `roles`.
    pub roles: Option<&'a [String]>,
}

/// Whether a client is the application itself rather than a third party.
pub fn is_first_party(client: &Client) -> bool {
    client.first_party || client.may_use(super::grant::GrantType::Password)
}

impl<'a> Released<'a> {
    /// What `granted` releases of `user` to `client`.
    pub fn for_grant(user: &'a User, client: &Client, granted: &Scope) -> Released<'a> {
        let first_party = is_first_party(client);
        let profile = granted.has("profile");
        let email = user
            .email
            .as_deref()
            .filter(|e| !e.is_empty() && granted.has("email"));
        Released {
            preferred_username: Some(user.username.as_str())
                .filter(|u| !u.is_empty() && (profile || first_party)),
            name: user.name.as_deref().filter(|n| !n.is_empty() && profile),
            email,
            email_verified: email.map(|_| user.email_verified),
            roles: Some(user.roles.as_slice())
                .filter(|r| !r.is_empty() && (first_party || granted.has("roles"))),
        }
    }

    /// The claims as a JSON object's members.
    pub fn to_json(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut out = serde_json::Map::new();
        if let Some(v) = self.preferred_username {
            out.insert("preferred_username".into(), v.into());
        }
        if let Some(v) = self.name {
            out.insert("name".into(), v.into());
        }
        if let Some(v) = self.email {
            out.insert("email".into(), v.into());
        }
        if let Some(v) = self.email_verified {
            out.insert("email_verified".into(), v.into());
        }
        if let Some(v) = self.roles {
            out.insert("roles".into(), v.into());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(roles: &[&str], email: Option<&str>) -> User {
        User {
            id: "u".into(),
            username: "ann".into(),
            email: email.map(str::to_owned),
            email_verified: true,
            name: Some("Ann".into()),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            credentials: vec![],
            created_at: 0,
            failed_logins: 0,
            locked_until: None,
            disabled_at: None,
            require_mfa: false,
        }
    }

    fn client(first_party: bool, grants: &[&str]) -> Client {
        Client {
            id: "c".into(),
            name: "c".into(),
            credentials: crate::domain::ClientCredentials::None,
            grant_types: grants
                .iter()
                .filter_map(|g| crate::domain::GrantType::parse(g))
                .collect(),
            scopes: Scope::default(),
            audiences: vec![],
            redirect_uris: vec![],
            access_token_ttl: 60,
            created_at: 0,
            refresh_cookie: false,
            first_party,
            post_logout_redirect_uris: vec![],
            resource_server_for: vec![],
            require_par: false,
            dpop_bound: false,
            require_mfa: false,
            admin: false,
            provenance: crate::domain::Provenance::Operator,
        }
    }

    /// OpenID Connect Core §5.4, table by table.
    #[test]
    fn scopes_release_their_claims_only() {
        let u = user(&["admin"], Some("ann@example.com"));
        let third = client(false, &["authorization_code"]);
        assert_eq!(
            Released::for_grant(&u, &third, &Scope::from_stored("openid")),
            Released::default()
        );
        let profile = Released::for_grant(&u, &third, &Scope::from_stored("openid profile"));
        assert_eq!(
            (
                profile.preferred_username,
                profile.name,
                profile.email,
                profile.roles
            ),
            (Some("ann"), Some("Ann"), None, None)
        );
        let email = Released::for_grant(&u, &third, &Scope::from_stored("openid email"));
        assert_eq!(
            (email.email, email.email_verified),
            (Some("ann@example.com"), Some(true))
        );
        assert_eq!(email.preferred_username, None);
        let roles = Released::for_grant(&u, &third, &Scope::from_stored("openid roles"));
        assert_eq!(roles.roles, Some(&["admin".to_owned()][..]));
    }

    #[test]
    fn first_party_clients_get_username_and_roles() {
        let u = user(&["admin"], None);
        for c in [
            client(true, &["authorization_code"]),
            client(false, &["password"]),
        ] {
            let r = Released::for_grant(&u, &c, &Scope::from_stored("tasks:read"));
            assert_eq!(
                (r.preferred_username, r.roles.map(<[String]>::len)),
                (Some("ann"), Some(1))
            );
            assert_eq!((r.name, r.email), (None, None));
        }
    }

    #[test]
    fn empty_claims_are_left_out() {
        let mut u = user(&[], Some(""));
        u.name = Some(String::new());
        let r = Released::for_grant(
            &u,
            &client(true, &[]),
            &Scope::from_stored("openid profile email roles"),
        );
        assert_eq!(
            (r.roles, r.name, r.email, r.email_verified),
            (None, None, None, None)
        );
        assert!(!r.to_json().contains_key("roles"));
    }
}
