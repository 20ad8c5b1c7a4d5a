//! A user: the resource owner of [RFC 6749 §1.1], the `sub` of their
//! tokens, and the person a sign-in proves.
//!
//! A `User` is built in two places only: `identity::users` (the user
//! lifecycle: creation and every change) and the store's row reader. Both
//! are checked by `tests/layers.rs`.
//!
//! [RFC 6749 §1.1]: https://www.rfc-editor.org/rfc/rfc6749#section-1.1

use super::credential::{Credential, PasswordHash};

/// A user as stored, with their credentials.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Stable id, the `sub` of the user's tokens.
    pub id: String,
    /// Login name, unique (and no other looks like it: the UTS #39
    /// skeleton, see the server's `username` module).
    pub username: String,
    /// Email, unique when set.
    pub email: Option<String>,
    /// Whether the email address was verified ([OpenID Connect Core §5.1]).
    ///
    /// [OpenID Connect Core §5.1]: https://openid.net/specs/openid-connect-core-1_0.html#StandardClaims
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Roles, carried in the user's access tokens.
    pub roles: Vec<String>,
    /// What the user can sign in with (none for an account that signs in
    /// only through an upstream provider).
    pub credentials: Vec<Credential>,
    /// Creation time.
    pub created_at: i64,
    /// Consecutive failed logins.
    pub failed_logins: i64,
    /// Locked until this time after repeated failures.
    pub locked_until: Option<i64>,
    /// When an administrator disabled the account: it cannot sign in.
    pub disabled_at: Option<i64>,
    /// Whether the user must sign in with a second factor (`tessera user
    /// require-mfa`): two factors are an essential level of every
    /// sign-in for them, and the password grant and `/api/v1/login` refuse
    /// them while they have none.
    pub require_mfa: bool,
}

impl User {
    /// The user's password hash, if they have a password.
    pub fn password(&self) -> Option<&PasswordHash> {
        self.credentials.iter().find_map(|c| c.kind.password_hash())
    }

    /// The password credential, if any.
    pub fn password_credential(&self) -> Option<&Credential> {
        self.credentials.iter().find(|c| c.kind.password_hash().is_some())
    }

    /// Whether an administrator disabled the account.
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}
