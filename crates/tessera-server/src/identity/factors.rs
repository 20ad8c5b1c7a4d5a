//! Second factors of a user: enrolling and checking a TOTP authenticator
//! ([`super::totp`]) and recovery codes ([`super::recovery`]), over
//! [`FactorStore`].
//!
//! - Enrollment stores a fresh secret sealed with the master key (the
//!   credential id as associated data, so a sealed secret cannot be moved
//!   to another row), unconfirmed: it counts only once
//!   [`confirm_totp`] has seen one valid code.
//! - [`verify_totp`] finds which step a code matches (refusing the last
//!   accepted step and earlier ones) and then advances the stored step in
//!   one conditional statement: of two racing uses of one code, one wins.
//! - Recovery codes are generated as a set of ten, replacing the old set;
//!   only their keyed hashes are stored, and a use deletes its row.
//!
//! These functions check codes; they do not throttle. The caller puts
//! every typed code through the login guard (`identity::guard`) like a
//! password.

use zeroize::Zeroizing;

use super::{recovery, totp};
use crate::domain::{Factor, FactorKind};
use crate::keys::{MasterKey, SealError};
use crate::store::{FactorStore, StoreError, StoredTotp};

/// Why a factor operation failed.
#[derive(Debug, thiserror::Error)]
pub enum FactorError {
    /// The user already has a confirmed authenticator (remove it first).
    #[error("the user already has an authenticator app")]
    AlreadyEnrolled,
    /// There is no enrollment waiting for confirmation.
    #[error("no authenticator enrollment to confirm")]
    NothingToConfirm,
    /// The system RNG failed.
    #[error("no randomness")]
    Random,
    /// A sealed secret could not be opened or sealed.
    #[error(transparent)]
    Seal(#[from] SealError),
    /// The stored secret is not a TOTP secret.
    #[error("corrupt TOTP secret")]
    Corrupt,
    /// Storage failed.
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for FactorError {
    fn from(e: StoreError) -> FactorError {
        match e {
            StoreError::Conflict(_) => FactorError::AlreadyEnrolled,
            e => FactorError::Store(e),
        }
    }
}

/// A TOTP enrollment started: what the person's app needs, shown once.
#[derive(Debug)]
pub struct Enrollment {
    /// The credential's id.
    pub id: String,
    /// The secret (its base32 for manual entry, and the URI).
    pub secret: totp::TotpSecret,
}

impl Enrollment {
    /// The `otpauth://totp/{issuer host}:{username}?...` URI for the QR code.
    pub fn uri(&self, issuer_host: &str, username: &str) -> Zeroizing<String> {
        totp::otpauth_uri(issuer_host, username, &self.secret)
    }
}

/// Starts a TOTP enrollment for `user_id` (replacing an unconfirmed one).
pub async fn enroll_totp(
    store: &impl FactorStore,
    master: &MasterKey,
    user_id: &str,
    now: i64,
) -> Result<Enrollment, FactorError> {
    if store.totp(user_id).await?.is_some_and(|t| t.confirmed) {
        return Err(FactorError::AlreadyEnrolled);
    }
    let secret = totp::TotpSecret::generate().ok_or(FactorError::Random)?;
    let id = format!("totp:{}", crate::random::hex(16).ok_or(FactorError::Random)?);
    let stored = StoredTotp {
        secret_sealed: master.seal(&id, secret.as_bytes())?,
        id: id.clone(),
        user_id: user_id.to_owned(),
        last_step: None,
        confirmed: false,
        created_at: now,
    };
    store.enroll_totp(&stored).await?;
    Ok(Enrollment { id, secret })
}

/// `user_id`'s enrollment waiting for confirmation, opened again (to show
/// it once more after a mistyped code), if there is one.
pub async fn pending_totp(
    store: &impl FactorStore,
    master: &MasterKey,
    user_id: &str,
) -> Result<Option<Enrollment>, FactorError> {
    match store.totp(user_id).await? {
        Some(t) if !t.confirmed => Ok(Some(Enrollment {
            secret: open(master, &t)?,
            id: t.id,
        })),
        _ => Ok(None),
    }
}

/// The opened secret of a stored credential.
fn open(master: &MasterKey, stored: &StoredTotp) -> Result<totp::TotpSecret, FactorError> {
    let bytes = master.open(&stored.id, &stored.secret_sealed)?;
    totp::TotpSecret::from_bytes(&bytes).ok_or(FactorError::Corrupt)
}

/// Confirms `user_id`'s pending enrollment with one valid `code`; whether
/// the code was valid (and the enrollment now counts).
pub async fn confirm_totp(
    store: &impl FactorStore,
    master: &MasterKey,
    user_id: &str,
    code: &str,
    now: i64,
) -> Result<bool, FactorError> {
    let stored = match store.totp(user_id).await? {
        Some(t) if !t.confirmed => t,
        _ => return Err(FactorError::NothingToConfirm),
    };
    let Some(step) = totp::verify(&open(master, &stored)?, code, now, stored.last_step) else {
        return Ok(false);
    };
    Ok(store.advance_totp_step(&stored.id, step, true).await?)
}

/// Checks `code` against `user_id`'s confirmed authenticator: the time
/// step it matched, recorded as the last accepted one, or `None` (no
/// confirmed authenticator, a wrong code, a replayed one, or a racing use
/// of the same code that won first).
pub async fn verify_totp(
    store: &impl FactorStore,
    master: &MasterKey,
    user_id: &str,
    code: &str,
    now: i64,
) -> Result<Option<i64>, FactorError> {
    let Some(stored) = store.totp(user_id).await?.filter(|t| t.confirmed) else {
        return Ok(None);
    };
    let Some(step) = totp::verify(&open(master, &stored)?, code, now, stored.last_step) else {
        return Ok(None);
    };
    Ok(store
        .advance_totp_step(&stored.id, step, false)
        .await?
        .then_some(step))
}

/// A new set of recovery codes for `user_id`, replacing the old set; the
/// codes are returned once, to be shown, and only their hashes kept.
pub async fn new_recovery_codes(
    store: &impl FactorStore,
    master: &MasterKey,
    user_id: &str,
    now: i64,
) -> Result<Vec<Zeroizing<String>>, FactorError> {
    let codes = recovery::generate_set().ok_or(FactorError::Random)?;
    let key = master.recovery_code_key();
    let hashes = codes
        .iter()
        .map(|code| {
            let normalized = recovery::normalize(code).ok_or(FactorError::Random)?;
            Ok(recovery::hash(&key, user_id, &normalized))
        })
        .collect::<Result<Vec<_>, FactorError>>()?;
    store.replace_recovery_codes(user_id, &hashes, now).await?;
    Ok(codes)
}

/// Uses one of `user_id`'s recovery codes; whether it was good (and is
/// now spent). Malformed input is simply not a code.
pub async fn use_recovery_code(
    store: &impl FactorStore,
    master: &MasterKey,
    user_id: &str,
    code: &str,
) -> Result<bool, FactorError> {
    let Some(normalized) = recovery::normalize(code) else {
        return Ok(false);
    };
    let hash = recovery::hash(&master.recovery_code_key(), user_id, &normalized);
    Ok(store.consume_recovery_code(user_id, &hash).await?)
}

/// The user's second factors, without secrets: the authenticator (if
/// any), the passkeys, and the recovery codes (if any are left, with how
/// many).
pub async fn list(store: &impl FactorStore, user_id: &str) -> Result<Vec<Factor>, FactorError> {
    let mut factors = Vec::new();
    if let Some(t) = store.totp(user_id).await? {
        factors.push(Factor {
            id: t.id,
            kind: FactorKind::Totp {
                confirmed: t.confirmed,
            },
            created_at: t.created_at,
        });
    }
    for p in store.passkeys(user_id).await? {
        factors.push(Factor {
            id: p.id,
            kind: FactorKind::Passkey {
                name: p.name,
                last_used_at: p.last_used_at,
            },
            created_at: p.created_at,
        });
    }
    if let Some((left, made)) = store.recovery_code_set(user_id).await? {
        factors.push(Factor {
            id: format!("recovery:{user_id}"),
            kind: FactorKind::RecoveryCodes { left },
            created_at: made,
        });
    }
    Ok(factors)
}

/// Which second factors a user has.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SecondFactors {
    /// A confirmed authenticator app.
    pub authenticator: bool,
    /// At least one passkey.
    pub passkey: bool,
}

impl SecondFactors {
    /// Whether there is any (recovery codes alone are not one: they stand
    /// in for one).
    pub fn any(self) -> bool {
        self.authenticator || self.passkey
    }
}

/// The user's second factors.
pub async fn second_factors(store: &impl FactorStore, user_id: &str) -> Result<SecondFactors, FactorError> {
    Ok(SecondFactors {
        authenticator: store.totp(user_id).await?.is_some_and(|t| t.confirmed),
        passkey: store.passkey_count(user_id).await? > 0,
    })
}

/// How many recovery codes the user has left.
pub async fn recovery_codes_left(store: &impl FactorStore, user_id: &str) -> Result<i64, FactorError> {
    Ok(store.recovery_codes_left(user_id).await?)
}

/// Removes the user's authenticator `id`; whether it existed.
pub async fn remove_totp(store: &impl FactorStore, user_id: &str, id: &str) -> Result<bool, FactorError> {
    Ok(store.delete_totp(user_id, id).await?)
}

/// Removes every second factor of the user and ends their grants and
/// sessions (for a person who lost everything); how many rows went.
pub async fn reset(store: &impl FactorStore, user_id: &str, now: i64) -> Result<u64, FactorError> {
    Ok(store.reset_factors(user_id, now).await?)
}
