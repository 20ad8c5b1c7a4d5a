//! WebAuthn passkeys and their challenges (issue 19;
//! <https://www.w3.org/TR/webauthn-3/>).
//!
//! The store keeps what cannot sign anything: public keys (the COSE_Key
//! bytes), signature counters, backup flags. Called through
//! `identity::passkeys`, which verifies. The writes that decide something
//! are single statements:
//!
//! - [`PasskeyStore::add_passkey`]: the credential id is unique, so a
//!   credential is registered once ([WebAuthn §7.1] step 26); a duplicate
//!   is [`Added::AlreadyRegistered`], not an error;
//! - [`PasskeyStore::record_passkey_use`] moves the signature counter only
//!   from the value the assertion was checked against ([WebAuthn §7.2]
//!   step 22): of two racing uses of one counter value, one wins;
//! - [`PasskeyStore::take_challenge`] deletes the challenge's row and
//!   returns it (`DELETE ... RETURNING`): a challenge is used once.
//!
//! [WebAuthn §7.1]: https://www.w3.org/TR/webauthn-3/#sctn-registering-a-new-credential
//! [WebAuthn §7.2]: https://www.w3.org/TR/webauthn-3/#sctn-verifying-assertion

use sqlx::Row;

use super::retry::{retried, Repeat};
use super::{Store, StoreError};

/// A registered passkey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    /// Tessera's id for it (random).
    pub id: String,
    /// Whose it is.
    pub user_id: String,
    /// The credential id the authenticator chose.
    pub credential_id: Vec<u8>,
    /// The credential public key, COSE_Key bytes.
    pub public_key: Vec<u8>,
    /// The COSE algorithm identifier.
    pub alg: i64,
    /// The last signature counter seen.
    pub sign_count: i64,
    /// BE: it may be backed up (fixed).
    pub backup_eligible: bool,
    /// BS: it was backed up when last seen.
    pub backup_state: bool,
    /// Whether the registration verified the user.
    pub user_verified: bool,
    /// The name its owner gave it.
    pub name: String,
    /// When it was registered.
    pub created_at: i64,
    /// When it was last used to sign in.
    pub last_used_at: Option<i64>,
}

/// What [`PasskeyStore::add_passkey`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// Stored.
    Added,
    /// A passkey with this credential id exists (for anyone).
    AlreadyRegistered,
}

/// What a challenge is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChallengePurpose {
    /// Registering a passkey.
    Register,
    /// Signing in with one.
    Authenticate,
}

impl ChallengePurpose {
    fn as_str(self) -> &'static str {
        match self {
            ChallengePurpose::Register => "register",
            ChallengePurpose::Authenticate => "authenticate",
        }
    }
}

/// A challenge issued, as stored (its SHA-256, not the challenge).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredChallenge {
    /// SHA-256 of the challenge bytes.
    pub hash: Vec<u8>,
    /// What it is for.
    pub purpose: ChallengePurpose,
    /// What it is bound to (the caller's browser binding).
    pub binding: String,
    /// The user it was issued for, if any.
    pub user_id: Option<String>,
    /// When it stops working.
    pub expires_at: i64,
}

/// Passkeys and WebAuthn challenges.
///
/// A supertrait of [`AuditStore`](super::AuditStore): its changes are audited
/// ([`crate::audit::record`]).
pub trait PasskeyStore: super::AuditStore {
    /// Stores a new passkey; [`Added::AlreadyRegistered`] if its credential
    /// id is taken.
    fn add_passkey(
        &self,
        passkey: &Passkey,
    ) -> impl std::future::Future<Output = Result<Added, StoreError>> + Send;
    /// The user's passkeys, oldest first.
    fn passkeys(
        &self,
        user_id: &str,
    ) -> impl std::future::Future<Output = Result<Vec<Passkey>, StoreError>> + Send;
    /// The passkey with this credential id.
    fn passkey_by_credential_id(
        &self,
        credential_id: &[u8],
    ) -> impl std::future::Future<Output = Result<Option<Passkey>, StoreError>> + Send;
    /// Records a sign-in with passkey `id`: the counter moves from `old`
    /// to `new` (and BS and the time are recorded) only if it is still
    /// `old`. One statement: whether this call won.
    fn record_passkey_use(
        &self,
        id: &str,
        old: i64,
        new: i64,
        backup_state: bool,
        now: i64,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Renames the user's passkey `id`; whether it was theirs.
    fn rename_passkey(
        &self,
        user_id: &str,
        id: &str,
        name: &str,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Deletes the user's passkey `id`; whether it was theirs.
    fn delete_passkey(
        &self,
        user_id: &str,
        id: &str,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// How many passkeys the user has.
    fn passkey_count(
        &self,
        user_id: &str,
    ) -> impl std::future::Future<Output = Result<i64, StoreError>> + Send;
    /// Stores an issued challenge.
    fn put_challenge(
        &self,
        challenge: &StoredChallenge,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// Spends the challenge with this hash, if it is for `purpose`, bound
    /// to `binding` and live at `now`: one `DELETE ... RETURNING`; the
    /// challenge (of racing takes, one gets it).
    fn take_challenge(
        &self,
        hash: &[u8],
        purpose: ChallengePurpose,
        binding: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<Option<StoredChallenge>, StoreError>> + Send;
}

const COLUMNS: &str =
    "id, user_id, credential_id, public_key, alg, sign_count, backup_eligible, backup_state, \
                       user_verified, name, created_at, last_used_at";

fn passkey_row(row: &sqlx::any::AnyRow) -> Result<Passkey, StoreError> {
    Ok(Passkey {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        credential_id: row.try_get("credential_id")?,
        public_key: row.try_get("public_key")?,
        alg: row.try_get("alg")?,
        sign_count: row.try_get("sign_count")?,
        backup_eligible: row.try_get::<i64, _>("backup_eligible")? != 0,
        backup_state: row.try_get::<i64, _>("backup_state")? != 0,
        user_verified: row.try_get::<i64, _>("user_verified")? != 0,
        name: row.try_get("name")?,
        created_at: row.try_get("created_at")?,
        last_used_at: row.try_get("last_used_at")?,
    })
}

impl PasskeyStore for Store {
    async fn add_passkey(&self, passkey: &Passkey) -> Result<Added, StoreError> {
        // `Repeat::Once`: a retry after a lost commit would find its own
        // row and say "already registered"; one failed registration is
        // the safe side.
        retried!("passkey registration", Repeat::Once, async {
            let done = sqlx::query(
                "INSERT INTO passkeys (id, user_id, credential_id, public_key, alg, sign_count, backup_eligible, \
                 backup_state, user_verified, name, created_at, last_used_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL) \
                 ON CONFLICT (credential_id) DO NOTHING",
            )
            .bind(&passkey.id)
            .bind(&passkey.user_id)
            .bind(passkey.credential_id.clone())
            .bind(passkey.public_key.clone())
            .bind(passkey.alg)
            .bind(passkey.sign_count)
            .bind(i64::from(passkey.backup_eligible))
            .bind(i64::from(passkey.backup_state))
            .bind(i64::from(passkey.user_verified))
            .bind(&passkey.name)
            .bind(passkey.created_at)
            .execute(self.pool())
            .await?;
            Ok(if done.rows_affected() == 1 {
                Added::Added
            } else {
                Added::AlreadyRegistered
            })
        })
    }

    async fn passkeys(&self, user_id: &str) -> Result<Vec<Passkey>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM passkeys WHERE user_id = $1 ORDER BY created_at, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(user_id)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(passkey_row).collect()
    }

    async fn passkey_by_credential_id(&self, credential_id: &[u8]) -> Result<Option<Passkey>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM passkeys WHERE credential_id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(credential_id.to_vec())
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(passkey_row).transpose()
    }

    async fn record_passkey_use(
        &self,
        id: &str,
        old: i64,
        new: i64,
        backup_state: bool,
        now: i64,
    ) -> Result<bool, StoreError> {
        // `Repeat::Once`: a retry after a lost commit finds the counter
        // moved and says no; refusing one good sign-in is the safe side.
        retried!("passkey use", Repeat::Once, async {
            let done = sqlx::query(
                "UPDATE passkeys SET sign_count = $1, backup_state = $2, last_used_at = $3 \
                 WHERE id = $4 AND sign_count = $5",
            )
            .bind(new)
            .bind(i64::from(backup_state))
            .bind(now)
            .bind(id)
            .bind(old)
            .execute(self.pool())
            .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn rename_passkey(&self, user_id: &str, id: &str, name: &str) -> Result<bool, StoreError> {
        retried!("passkey rename", Repeat::Safe, async {
            let done = sqlx::query("UPDATE passkeys SET name = $1 WHERE user_id = $2 AND id = $3")
                .bind(name)
                .bind(user_id)
                .bind(id)
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn delete_passkey(&self, user_id: &str, id: &str) -> Result<bool, StoreError> {
        retried!("passkey deletion", Repeat::Safe, async {
            let done = sqlx::query("DELETE FROM passkeys WHERE user_id = $1 AND id = $2")
                .bind(user_id)
                .bind(id)
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected() == 1)
        })
    }

    async fn passkey_count(&self, user_id: &str) -> Result<i64, StoreError> {
        let (n,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM passkeys WHERE user_id = $1")
            .bind(user_id)
            .fetch_one(self.pool())
            .await?;
        Ok(n)
    }

    async fn put_challenge(&self, challenge: &StoredChallenge) -> Result<(), StoreError> {
        retried!("WebAuthn challenge", Repeat::Once, async {
            sqlx::query(
                "INSERT INTO webauthn_challenges (challenge_hash, purpose, binding, user_id, expires_at) \
                 VALUES ($1, $2, $3, $4, $5)",
            )
            .bind(challenge.hash.clone())
            .bind(challenge.purpose.as_str())
            .bind(&challenge.binding)
            .bind(challenge.user_id.clone())
            .bind(challenge.expires_at)
            .execute(self.pool())
            .await?;
            Ok(())
        })
    }

    async fn take_challenge(
        &self,
        hash: &[u8],
        purpose: ChallengePurpose,
        binding: &str,
        now: i64,
    ) -> Result<Option<StoredChallenge>, StoreError> {
        // `Repeat::Once`: a retry after a lost commit finds the row gone.
        retried!("WebAuthn challenge use", Repeat::Once, async {
            let row = sqlx::query(
                "DELETE FROM webauthn_challenges \
                 WHERE challenge_hash = $1 AND purpose = $2 AND binding = $3 AND expires_at > $4 \
                 RETURNING user_id, expires_at",
            )
            .bind(hash.to_vec())
            .bind(purpose.as_str())
            .bind(binding)
            .bind(now)
            .fetch_optional(self.pool())
            .await?;
            row.map(|row| {
                Ok(StoredChallenge {
                    hash: hash.to_vec(),
                    purpose,
                    binding: binding.to_owned(),
                    user_id: row.try_get("user_id")?,
                    expires_at: row.try_get("expires_at")?,
                })
            })
            .transpose()
        })
    }
}
