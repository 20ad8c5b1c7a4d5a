//! What a person holds to prove they are a user: a user's credentials are
//! a list, one entry per thing they can present, never a column of the
//! user.
//!
//! Today the only kind here is a [`CredentialKind::Password`], and it is
//! optional: an account made through an upstream provider has none and
//! signs in there. Second factors have their own tables and type
//! ([`super::factor`]):
//!
//! - a TOTP secret ([RFC 6238]), sealed at rest like the signing keys
//!   (`identity::totp`, `identity::factors`);
//! - recovery codes, stored as keyed hashes, each single use
//!   (`identity::recovery`).
//!
//! WebAuthn public-key credentials ([WebAuthn Level 2 §6]), several per
//! user, each with its credential id and signature counter, are not built
//! yet. A password change is a credential event that ends the user's
//! grants (`identity::users`); so is `tessera user reset-factors`. Factor
//! changes from the account page are to end the user's other sessions
//! too (issue 19, item 6).
//!
//! [RFC 6238]: https://www.rfc-editor.org/rfc/rfc6238
//! [WebAuthn Level 2 §6]: https://www.w3.org/TR/webauthn-2/#sctn-authenticator-model

use std::fmt;

/// One credential of a user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Credential {
    /// Its id, unique among all credentials.
    pub id: String,
    /// What it is, with what checks it.
    pub kind: CredentialKind,
    /// When it was added.
    pub created_at: i64,
}

impl Credential {
    /// The password `hash` of user `user_id`, set at `created_at`. A user
    /// has at most one password, so its id is derived from the user's.
    pub fn password(user_id: &str, hash: PasswordHash, created_at: i64) -> Credential {
        Credential {
            id: format!("password:{user_id}"),
            kind: CredentialKind::Password { hash },
            created_at,
        }
    }
}

/// What a credential is, with the secret (or its hash) that checks it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CredentialKind {
    /// A password, stored as an argon2id PHC string. At most one per user.
    Password {
        /// The hash.
        hash: PasswordHash,
    },
}

impl CredentialKind {
    /// The password hash, if this is a password.
    pub fn password_hash(&self) -> Option<&PasswordHash> {
        match self {
            CredentialKind::Password { hash } => Some(hash),
        }
    }

    /// Its type, without the secret.
    pub fn credential_type(&self) -> CredentialType {
        match self {
            CredentialKind::Password { .. } => CredentialType::Password,
        }
    }
}

/// The closed set of credential kinds, as the store's `kind` column names
/// them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CredentialType {
    /// [`CredentialKind::Password`].
    Password,
}

impl CredentialType {
    /// Every type.
    pub const ALL: [CredentialType; 1] = [CredentialType::Password];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CredentialType::Password => "password",
        }
    }

    /// The type a stored name names, if any.
    pub fn from_stored(name: &str) -> Option<CredentialType> {
        match name {
            "password" => Some(CredentialType::Password),
            _ => None,
        }
    }
}

/// A password hash: an argon2id PHC string (`$argon2id$...`), never empty.
/// "No password" is the absence of a [`CredentialKind::Password`], not an
/// empty hash. Its `Debug` leaves the hash out: a hash is an offline
/// guessing target.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

/// Why a string is not a [`PasswordHash`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum CredentialError {
    /// Not a PHC string (`$<algorithm>$...`).
    #[error("not a PHC password hash")]
    NotPhc,
}

impl PasswordHash {
    /// A PHC string made by the server's password hashing (or read back
    /// from the store). Refuses anything that is not one, the empty string first.
    pub fn new(phc: String) -> Result<PasswordHash, CredentialError> {
        if phc.len() < 2 || !phc.starts_with('$') {
            return Err(CredentialError::NotPhc);
        }
        Ok(PasswordHash(phc))
    }

    /// The PHC string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_hash_is_a_phc_string() {
        for (text, ok) in [
            ("", false),
            ("$", false),
            ("secret", false),
            ("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA", true),
        ] {
            assert_eq!(PasswordHash::new(text.into()).is_ok(), ok, "{text:?}");
        }
    }

    #[test]
    fn debug_leaves_the_hash_out() {
        let hash = PasswordHash::new("$argon2id$v=19$secret-part".into()).unwrap();
        assert!(!format!("{hash:?}").contains("secret-part"));
    }

    #[test]
    fn types_round_trip_through_their_stored_names() {
        for t in CredentialType::ALL {
            assert_eq!(CredentialType::from_stored(t.as_str()), Some(t));
        }
        assert_eq!(CredentialType::from_stored("totp"), None, "not built yet");
    }
}
