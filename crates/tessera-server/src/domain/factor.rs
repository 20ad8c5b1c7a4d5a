//! Second factors (issue 19): what a user holds besides a password, as
//! listed to them and to an administrator, never with a secret.
//!
//! The kinds are a closed set: a TOTP authenticator app ([RFC 6238]) and a
//! set of single-use recovery codes. Their secrets live in their own
//! tables (`store::FactorStore`): a TOTP secret sealed with the master
//! key, recovery codes as keyed hashes.
//!
//! [RFC 6238]: https://www.rfc-editor.org/rfc/rfc6238

/// One second factor of a user, without its secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Factor {
    /// Its id.
    pub id: String,
    /// What it is.
    pub kind: FactorKind,
    /// When it was added (for recovery codes, when the set was made).
    pub created_at: i64,
}

/// The closed set of second-factor kinds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FactorKind {
    /// A TOTP authenticator app; it counts once a code confirmed it.
    Totp {
        /// Whether a valid code confirmed the enrollment.
        confirmed: bool,
    },
    /// Single-use recovery codes.
    RecoveryCodes {
        /// How many are left.
        left: i64,
    },
    /// A passkey (a WebAuthn credential).
    Passkey {
        /// The name its owner gave it.
        name: String,
        /// When it last signed in.
        last_used_at: Option<i64>,
    },
}

impl FactorKind {
    /// Its name in listings (`tessera user factors`).
    pub fn as_str(&self) -> &'static str {
        match self {
            FactorKind::Totp { .. } => "totp",
            FactorKind::RecoveryCodes { .. } => "recovery_codes",
            FactorKind::Passkey { .. } => "passkey",
        }
    }
}
