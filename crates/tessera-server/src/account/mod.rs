//! The signed-in person's own page, `/account`: what they may see and
//! change about themselves, and the rules around it. The HTTP handlers
//! (`http::account`) are thin shells over these functions.
//!
//! - **Signing in** ([`sign_in`]): the page is a first-party client of
//!   Tessera's own (`tessera-account`). A browser without a session, or
//!   whose sign-in is too old for a change, goes through the normal
//!   `/authorize` interaction, so the same policy, second factors and
//!   step-up apply as for any app.
//! - **Second factors** ([`factors`], [`passkeys`]): adding an
//!   authenticator app (TOTP, RFC 6238) or a passkey (WebAuthn), removing
//!   them, and new recovery codes. Every change needs a
//!   sign-in at most [`sign_in::FRESH_FOR`] seconds old, is audited, and
//!   ends the user's other sessions (whoever else holds one may be who the
//!   change locks out).
//! - **The rest** ([`profile`]): the name, the email address (pending
//!   until its mailed link is used), the password, the SSO
//!   sessions, the apps the person allowed and the linked upstream
//!   identities, with the same freshness rule (the password change may
//!   take the current password instead).

pub mod factors;
pub mod passkeys;
pub mod profile;
pub mod sign_in;

use crate::identity::factors::FactorError;
use crate::identity::guard::GuardError;
use crate::identity::passkeys::PasskeyError;
use crate::identity::users::UserError;
use crate::oauth::OAuthError;
use crate::store::StoreError;

/// Why an account step failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// The callback's `state` is not one this browser started.
    #[error("this sign-in was not started by this browser")]
    NotThisBrowser,
    /// The code could not be redeemed (expired, used, or not this
    /// client's).
    #[error("the sign-in could not be completed: {0}")]
    Code(OAuthError),
    /// The change needs a recent sign-in.
    #[error("this change needs a recent sign-in")]
    NotFresh,
    /// A one-time code that does not match.
    #[error("that code is not right")]
    WrongCode,
    /// Nothing to do: no such factor, or no enrollment waiting.
    #[error("there is no such sign-in method")]
    NoSuchFactor,
    /// The user already has an authenticator app.
    #[error("an authenticator app is already set up")]
    AlreadyEnrolled,
    /// The user must use a second factor, and this is their last one.
    #[error("the last second factor of a user who must use one cannot be removed")]
    LastRequiredFactor,
    /// The current password is wrong.
    #[error("that is not your current password")]
    WrongPassword,
    /// Too many failed attempts from this address or on this account.
    #[error("too many failed attempts")]
    TooManyAttempts,
    /// The new password and its repetition differ.
    #[error("the new passwords differ")]
    PasswordsDiffer,
    /// The new password is refused ([`crate::password::strength`]).
    #[error("the new password is too weak: {0}")]
    WeakPassword(&'static str),
    /// The display name is refused.
    #[error("that name cannot be used")]
    BadName,
    /// The new email address does not look like one.
    #[error("that is not an email address")]
    NotAnAddress,
    /// An email link step failed.
    #[error(transparent)]
    Email(crate::identity::email::EmailError),
    /// Unlinking would leave the user no way to sign in.
    #[error("that is your only way to sign in")]
    LastWayIn,
    /// No such session of this user.
    #[error("there is no such session")]
    NoSuchSession,
    /// No consent of this user to that app.
    #[error("there is no such app")]
    NoSuchApp,
    /// No such linked identity.
    #[error("there is no such linked identity")]
    NoSuchIdentity,
    /// The login guard failed (hashing, a factor's secret).
    #[error(transparent)]
    Guard(GuardError),
    /// A user change failed.
    #[error(transparent)]
    User(UserError),
    /// The system RNG failed.
    #[error("no randomness")]
    Random,
    /// A factor's secret could not be handled.
    #[error(transparent)]
    Factor(FactorError),
    /// A passkey could not be registered: the browser's response failed
    /// a WebAuthn check, or its challenge is spent or not this browser's.
    #[error("the passkey was not accepted: {0}")]
    Passkey(PasskeyError),
    /// The issuer cannot be a WebAuthn relying party (an IP address).
    #[error("passkeys need the issuer to be a host name")]
    NoPasskeys,
    /// Storage failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<PasskeyError> for AccountError {
    fn from(e: PasskeyError) -> AccountError {
        match e {
            PasskeyError::Store(e) => AccountError::Store(e),
            PasskeyError::Random => AccountError::Random,
            PasskeyError::RelyingParty(_) => AccountError::NoPasskeys,
            e => AccountError::Passkey(e),
        }
    }
}

impl From<FactorError> for AccountError {
    fn from(e: FactorError) -> AccountError {
        match e {
            FactorError::AlreadyEnrolled => AccountError::AlreadyEnrolled,
            FactorError::NothingToConfirm => AccountError::NoSuchFactor,
            FactorError::Random => AccountError::Random,
            FactorError::Store(e) => AccountError::Store(e),
            e => AccountError::Factor(e),
        }
    }
}
