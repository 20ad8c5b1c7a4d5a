//! Single sign-on sessions: the browser holds a random cookie value; the
//! store holds its SHA-256, the user, when they authenticated and what
//! they proved when (the methods and their times, so a step-up can weigh
//! the age of a second factor).

use sqlx::Row;

use super::grants::revoke_session_families;
use super::retry::{retried, Repeat};
use super::{Store, StoreError};
use crate::domain::{Amr, Proofs};

/// A session as stored.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the cookie's value.
    pub id_hash: Vec<u8>,
    /// The session id put in ID tokens (`sid`, OpenID Connect Front- and
    /// Back-Channel Logout); not the cookie's value.
    pub sid: String,
    /// The signed-in user.
    pub user_id: String,
    /// When the sign-in that made it was complete (`auth_time`,
    /// `max_age`).
    pub auth_time: i64,
    /// When the session ends.
    pub expires_at: i64,
    /// The client address it was signed in from, when known.
    pub client_ip: Option<String>,
    /// What the user proved, and when: the ID token's `amr` (RFC 8176)
    /// and `acr` come from it. A session stored before proofs were is
    /// read with every method of its `amr` at its `auth_time`.
    pub proofs: Proofs,
}

impl Session {
    /// How the user signed in (the ID token's `amr`, RFC 8176).
    pub fn amr(&self) -> Amr {
        self.proofs.amr()
    }
}

/// SSO sessions.
///
/// A supertrait of [`AuditStore`](super::AuditStore): its changes are audited
/// ([`crate::audit::record`]).
pub trait SessionStore: super::AuditStore {
    /// Stores a new session.
    fn create_session(
        &self,
        session: &Session,
    ) -> impl std::future::Future<Output = Result<(), StoreError>> + Send;
    /// The unexpired session with this cookie hash.
    fn session(
        &self,
        id_hash: &[u8],
        now: i64,
    ) -> impl std::future::Future<Output = Result<Option<Session>, StoreError>> + Send;
    /// Ends a session (logout); whether there was one.
    fn delete_session(
        &self,
        id_hash: &[u8],
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
    /// Ends every session of `user_id` but the one whose `sid` is `keep`
    /// (after a change to how the user signs in); how many ended.
    fn end_other_sessions(
        &self,
        user_id: &str,
        keep: &str,
    ) -> impl std::future::Future<Output = Result<u64, StoreError>> + Send;
    /// The unexpired sessions of `user_id`, newest sign-in first.
    fn sessions_of(
        &self,
        user_id: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<Vec<Session>, StoreError>> + Send;
    /// Ends the session `sid` of `user_id` and revokes the refresh
    /// families it started (offline ones included) with their access
    /// tokens, in one transaction; whether there was such a session.
    fn end_session_by_sid(
        &self,
        user_id: &str,
        sid: &str,
        now: i64,
    ) -> impl std::future::Future<Output = Result<bool, StoreError>> + Send;
}

/// A session from a row of `sessions` (its `id_hash` included).
fn from_row(row: &sqlx::any::AnyRow) -> Result<Session, StoreError> {
    let get = |e: sqlx::Error| StoreError::Corrupt(format!("sessions: {e}"));
    let corrupt = |e: crate::domain::proof::UnknownMethod| StoreError::Corrupt(format!("sessions: {e}"));
    let auth_time: i64 = row.try_get("auth_time").map_err(get)?;
    let proofs = match row.try_get::<Option<String>, _>("proofs").map_err(get)? {
        Some(stored) => Proofs::from_stored(&stored).map_err(corrupt)?,
        None => {
            let amr = Amr::from_stored(&row.try_get::<String, _>("amr").map_err(get)?).map_err(corrupt)?;
            Proofs::of_amr(&amr, auth_time)
        }
    };
    Ok(Session {
        id_hash: row.try_get("id_hash").map_err(get)?,
        sid: row.try_get("sid").map_err(get)?,
        user_id: row.try_get("user_id").map_err(get)?,
        auth_time,
        expires_at: row.try_get("expires_at").map_err(get)?,
        client_ip: row.try_get("client_ip").map_err(get)?,
        proofs,
    })
}

impl SessionStore for Store {
    async fn create_session(&self, s: &Session) -> Result<(), StoreError> {
        retried!("session", Repeat::Once, async {
            sqlx::query(
                "INSERT INTO sessions (id_hash, sid, user_id, auth_time, expires_at, client_ip, amr, proofs) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            )
            .bind(s.id_hash.clone())
            .bind(&s.sid)
            .bind(&s.user_id)
            .bind(s.auth_time)
            .bind(s.expires_at)
            .bind(s.client_ip.clone())
            .bind(s.amr().to_stored())
            .bind(s.proofs.to_stored())
            .execute(self.pool())
            .await?;
            Ok(())
        })
    }

    async fn session(&self, id_hash: &[u8], now: i64) -> Result<Option<Session>, StoreError> {
        let row = sqlx::query(
            "SELECT id_hash, sid, user_id, auth_time, expires_at, client_ip, amr, proofs FROM sessions \
             WHERE id_hash = $1 AND expires_at > $2",
        )
        .bind(id_hash.to_vec())
        .bind(now)
        .fetch_optional(self.pool())
        .await?;
        row.as_ref().map(from_row).transpose()
    }

    async fn delete_session(&self, id_hash: &[u8]) -> Result<bool, StoreError> {
        retried!("session end", Repeat::Safe, async {
            let done = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
                .bind(id_hash.to_vec())
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected() > 0)
        })
    }

    async fn end_other_sessions(&self, user_id: &str, keep: &str) -> Result<u64, StoreError> {
        retried!("sessions end", Repeat::Safe, async {
            let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND sid <> $2")
                .bind(user_id)
                .bind(keep)
                .execute(self.pool())
                .await?;
            Ok(done.rows_affected())
        })
    }

    async fn sessions_of(&self, user_id: &str, now: i64) -> Result<Vec<Session>, StoreError> {
        let rows = sqlx::query(
            "SELECT id_hash, sid, user_id, auth_time, expires_at, client_ip, amr, proofs FROM sessions \
             WHERE user_id = $1 AND expires_at > $2 ORDER BY auth_time DESC, sid",
        )
        .bind(user_id)
        .bind(now)
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(from_row).collect()
    }

    async fn end_session_by_sid(&self, user_id: &str, sid: &str, now: i64) -> Result<bool, StoreError> {
        retried!("session end", Repeat::Safe, async {
            let mut tx = self.pool().begin().await?;
            let done = sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND sid = $2")
                .bind(user_id)
                .bind(sid)
                .execute(&mut *tx)
                .await?;
            revoke_session_families(&mut tx, user_id, sid, now).await?;
            tx.commit().await?;
            Ok(done.rows_affected() > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Method;

    /// Proofs are kept per method with their times; a row stored before
    /// migration 0032 (no proofs) is read from its `amr` at its
    /// `auth_time`.
    #[tokio::test]
    async fn proofs_round_trip_and_old_rows_read_from_amr() {
        let store = Store::open(crate::store::SQLITE_MEMORY).await.unwrap();
        let session = Session {
            id_hash: vec![1; 32],
            sid: "sid-1".into(),
            user_id: "u".into(),
            auth_time: 200,
            expires_at: 10_000,
            client_ip: None,
            proofs: Proofs::none().with(Method::Password, 100).with(Method::Otp, 200),
        };
        store.create_session(&session).await.unwrap();
        assert_eq!(store.session(&[1; 32], 150).await.unwrap(), Some(session));
        sqlx::query(
            "INSERT INTO sessions (id_hash, sid, user_id, auth_time, expires_at, amr) \
             VALUES ($1, 'old', 'u', 300, 10000, 'pwd otp')",
        )
        .bind(vec![2u8; 32])
        .execute(store.pool())
        .await
        .unwrap();
        let old = store.session(&[2; 32], 150).await.unwrap().unwrap();
        assert_eq!(
            old.proofs,
            Proofs::none().with(Method::Password, 300).with(Method::Otp, 300)
        );
        assert_eq!(old.amr().values(), ["pwd", "otp"]);
    }
}
