//! The audit log (issue 20, item 3): what an operator asks about later,
//! stored and logged by one entry point, [`record`].
//!
//! An [`Event`] is a closed [`AuditKind`], its time, the user and client
//! it concerns, who did it ([`Actor`]), the address of the request where
//! known, and a small JSON `detail`. The detail never holds a secret: a
//! password, code, token or client secret is never passed to it (the
//! kinds' callers pass names, counts and reasons only; `tests/admin_api.rs`
//! checks the stored details of a session that sets passwords and rotates
//! secrets).
//!
//! [`record`] writes the same line the server logged before (target
//! `audit`) and appends the event to the store ([`AuditStore`]).
//!
//! **When the insert fails.** The event is written after the change it
//! records, outside the change's transaction: audited changes are made in
//! some thirty modules, many of them are no transaction at all (a failed
//! sign-in), and the audit row must not turn a change that happened into
//! an error the caller would retry. So a failed insert does not fail the
//! request; it is logged at `error` level with the whole event (target
//! `audit`), so the log still holds it and an alert on audit errors finds
//! it. (A change refused, or failing, records nothing but its own refusal.)
//!
//! Events are kept for `audit_retention` seconds (default
//! [`DEFAULT_RETENTION`], 90 days) and pruned by the prune job
//! ([`crate::store::prune_forever`]).

use std::net::IpAddr;

use serde_json::Value;

use crate::store::{AuditStore, StoredEvent};

pub mod list;

pub use list::{list, AuditQuery, EventPage, EventView, ListError};

/// How long events are kept by default: 90 days, in seconds.
pub const DEFAULT_RETENTION: i64 = 90 * 24 * 3600;

/// What happened. A closed set: the admin API's `kind` filter and
/// `tessera audit list --kind` take these names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A password (or a passkey, or an upstream provider) signed a user in.
    SignIn,
    /// A sign-in was refused: unknown user, wrong password, locked,
    /// disabled, too many attempts from the address.
    SignInFailed,
    /// A second factor was proven.
    SecondFactorProven,
    /// A second factor was refused.
    SecondFactorFailed,
    /// An SSO session began.
    SessionStarted,
    /// An SSO session ended: logout, from the account page, by an admin.
    SessionEnded,
    /// A user allowed a client.
    ConsentGiven,
    /// A user declined a client.
    ConsentDenied,
    /// A consent was withdrawn (its refresh tokens revoked).
    ConsentRevoked,
    /// A password was set or changed (grants and other sessions ended).
    PasswordChanged,
    /// A password change was refused (wrong current password).
    PasswordChangeRefused,
    /// A second factor or passkey was added.
    FactorAdded,
    /// A second factor or passkey was removed.
    FactorRemoved,
    /// A factor was changed otherwise (recovery codes replaced, a
    /// passkey renamed).
    FactorChanged,
    /// All second factors of a user were reset by an operator.
    FactorsReset,
    /// A user was made (operator, admin API, self-registration, upstream).
    UserCreated,
    /// A user was changed (roles, disabled, name, email, second factor
    /// required).
    UserChanged,
    /// A user was deleted.
    UserDeleted,
    /// An upstream identity was linked to a user.
    UpstreamLinked,
    /// An upstream identity was unlinked.
    UpstreamUnlinked,
    /// A client was registered.
    ClientCreated,
    /// A client was changed.
    ClientChanged,
    /// A client's secret was replaced.
    ClientSecretRotated,
    /// A client was deleted.
    ClientDeleted,
    /// A signing key was created.
    KeyCreated,
    /// A signing key was rotated.
    KeyRotated,
    /// A signing key was revoked.
    KeyRevoked,
    /// A token was revoked (RFC 7009), or a refresh family with it.
    TokenRevoked,
    /// A refresh token or authorization code was replayed: what it issued
    /// is revoked.
    TokenReplayed,
    /// A new email address was asked for; it waits for its link.
    EmailChangeRequested,
    /// An email address was verified through its mailed link.
    EmailVerified,
    /// A password reset link was mailed.
    PasswordResetRequested,
    /// A password was reset through a mailed link: every session and
    /// refresh family ended.
    PasswordReset,
}

impl AuditKind {
    /// Every kind, in declaration order.
    pub const ALL: [AuditKind; 33] = [
        AuditKind::SignIn,
        AuditKind::SignInFailed,
        AuditKind::SecondFactorProven,
        AuditKind::SecondFactorFailed,
        AuditKind::SessionStarted,
        AuditKind::SessionEnded,
        AuditKind::ConsentGiven,
        AuditKind::ConsentDenied,
        AuditKind::ConsentRevoked,
        AuditKind::PasswordChanged,
        AuditKind::PasswordChangeRefused,
        AuditKind::FactorAdded,
        AuditKind::FactorRemoved,
        AuditKind::FactorChanged,
        AuditKind::FactorsReset,
        AuditKind::UserCreated,
        AuditKind::UserChanged,
        AuditKind::UserDeleted,
        AuditKind::UpstreamLinked,
        AuditKind::UpstreamUnlinked,
        AuditKind::ClientCreated,
        AuditKind::ClientChanged,
        AuditKind::ClientSecretRotated,
        AuditKind::ClientDeleted,
        AuditKind::KeyCreated,
        AuditKind::KeyRotated,
        AuditKind::KeyRevoked,
        AuditKind::TokenRevoked,
        AuditKind::TokenReplayed,
        AuditKind::EmailChangeRequested,
        AuditKind::EmailVerified,
        AuditKind::PasswordResetRequested,
        AuditKind::PasswordReset,
    ];

    /// The stored and wire name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::SignIn => "sign_in",
            AuditKind::SignInFailed => "sign_in_failed",
            AuditKind::SecondFactorProven => "second_factor_proven",
            AuditKind::SecondFactorFailed => "second_factor_failed",
            AuditKind::SessionStarted => "session_started",
            AuditKind::SessionEnded => "session_ended",
            AuditKind::ConsentGiven => "consent_given",
            AuditKind::ConsentDenied => "consent_denied",
            AuditKind::ConsentRevoked => "consent_revoked",
            AuditKind::PasswordChanged => "password_changed",
            AuditKind::PasswordChangeRefused => "password_change_refused",
            AuditKind::FactorAdded => "factor_added",
            AuditKind::FactorRemoved => "factor_removed",
            AuditKind::FactorChanged => "factor_changed",
            AuditKind::FactorsReset => "factors_reset",
            AuditKind::UserCreated => "user_created",
            AuditKind::UserChanged => "user_changed",
            AuditKind::UserDeleted => "user_deleted",
            AuditKind::UpstreamLinked => "upstream_linked",
            AuditKind::UpstreamUnlinked => "upstream_unlinked",
            AuditKind::ClientCreated => "client_created",
            AuditKind::ClientChanged => "client_changed",
            AuditKind::ClientSecretRotated => "client_secret_rotated",
            AuditKind::ClientDeleted => "client_deleted",
            AuditKind::KeyCreated => "key_created",
            AuditKind::KeyRotated => "key_rotated",
            AuditKind::KeyRevoked => "key_revoked",
            AuditKind::TokenRevoked => "token_revoked",
            AuditKind::TokenReplayed => "token_replayed",
            AuditKind::EmailChangeRequested => "email_change_requested",
            AuditKind::EmailVerified => "email_verified",
            AuditKind::PasswordResetRequested => "password_reset_requested",
            AuditKind::PasswordReset => "password_reset",
        }
    }

    /// The kind of a stored or wire name.
    pub fn parse(name: &str) -> Option<AuditKind> {
        AuditKind::ALL.into_iter().find(|k| k.as_str() == name)
    }

    /// Whether the log line is a warning (an attack's sign, or a loss of
    /// keys) rather than information.
    fn warns(self) -> bool {
        matches!(self, AuditKind::TokenReplayed | AuditKind::KeyRevoked)
    }
}

/// Who made the change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Actor {
    /// The user the event concerns, themselves (a sign-in, the account
    /// page, a consent).
    User,
    /// An administrator through the admin API: the token's `sub`.
    Admin(String),
    /// The operator through the `tessera` command line.
    Cli,
    /// A client, authenticated (revocation, self-registration).
    Client,
    /// Someone not (yet) known: a failed sign-in, a registration.
    Anonymous,
    /// The server itself (a key created at start, a replay's revocation).
    Server,
}

impl Actor {
    /// As stored: `user`, `admin:<sub>`, `cli`, `client`, `anonymous`,
    /// `server`.
    pub fn to_stored(&self) -> String {
        match self {
            Actor::User => "user".to_owned(),
            Actor::Admin(sub) => format!("admin:{sub}"),
            Actor::Cli => "cli".to_owned(),
            Actor::Client => "client".to_owned(),
            Actor::Anonymous => "anonymous".to_owned(),
            Actor::Server => "server".to_owned(),
        }
    }
}

/// One event, built by its site and given to [`record`].
#[derive(Clone, Debug)]
pub struct Event {
    /// What happened.
    pub kind: AuditKind,
    /// When (seconds since the epoch).
    pub at: i64,
    /// The user it concerns.
    pub user_id: Option<String>,
    /// The client it concerns.
    pub client_id: Option<String>,
    /// Who did it.
    pub actor: Actor,
    /// The address of the request, when known.
    pub ip: Option<IpAddr>,
    /// A small JSON object: names, counts, reasons; never a secret.
    pub detail: Value,
    /// The log line's message.
    pub message: &'static str,
}

impl Event {
    /// An event of `kind` at `at` by `actor`, logged as `message`.
    pub fn new(kind: AuditKind, at: i64, actor: Actor, message: &'static str) -> Event {
        Event {
            kind,
            at,
            user_id: None,
            client_id: None,
            actor,
            ip: None,
            detail: Value::Object(serde_json::Map::new()),
            message,
        }
    }

    /// It concerns this user.
    pub fn user(mut self, id: impl Into<String>) -> Event {
        self.user_id = Some(id.into());
        self
    }

    /// It concerns this client.
    pub fn client(mut self, id: impl Into<String>) -> Event {
        self.client_id = Some(id.into());
        self
    }

    /// It concerns this client, if any.
    pub fn client_opt(mut self, id: Option<&str>) -> Event {
        self.client_id = id.map(str::to_owned);
        self
    }

    /// The request came from `ip`.
    pub fn ip(mut self, ip: Option<IpAddr>) -> Event {
        self.ip = ip;
        self
    }

    /// Adds `name: value` to the detail (never a secret).
    pub fn with(mut self, name: &str, value: impl Into<Value>) -> Event {
        if let Value::Object(map) = &mut self.detail {
            map.insert(name.to_owned(), value.into());
        }
        self
    }

    fn stored(&self) -> StoredEvent {
        StoredEvent {
            id: 0,
            at: self.at,
            kind: self.kind.as_str().to_owned(),
            user_id: self.user_id.clone(),
            client_id: self.client_id.clone(),
            actor: self.actor.to_stored(),
            ip: self.ip.map(|ip| ip.to_string()),
            detail: self.detail.to_string(),
        }
    }
}

/// Logs `event` (target `audit`, the line the server always wrote) and
/// stores it. A failed insert is logged as an error with the whole event
/// and does not fail the caller (see the module docs for why).
pub async fn record<S: AuditStore + ?Sized>(store: &S, event: Event) {
    let kind = event.kind.as_str();
    let user_id = event.user_id.as_deref();
    let client_id = event.client_id.as_deref();
    let actor = event.actor.to_stored();
    let ip = event.ip;
    let detail = &event.detail;
    if event.kind.warns() {
        tracing::warn!(target: "audit", kind, user_id, client_id, actor, ip = ?ip, %detail, "{}", event.message);
    } else {
        tracing::info!(target: "audit", kind, user_id, client_id, actor, ip = ?ip, %detail, "{}", event.message);
    }
    if let Err(e) = store.insert_event(&event.stored()).await {
        tracing::error!(target: "audit", kind, user_id, client_id, actor, ip = ?ip, %detail, error = %e, "audit event not stored: {}", event.message);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_round_trips_by_its_name() {
        for kind in AuditKind::ALL {
            assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
            let json = serde_json::to_value(kind).unwrap();
            assert_eq!(json, kind.as_str());
        }
        assert_eq!(AuditKind::parse("SignIn"), None);
    }

    #[tokio::test]
    async fn record_stores_what_it_logs() {
        let store = crate::fixtures::store().await;
        let event = Event::new(AuditKind::SignInFailed, 100, Actor::Anonymous, "login failed")
            .client("app")
            .ip("192.0.2.1".parse().ok())
            .with("why", "wrong password");
        record(&store, event).await;
        let stored = store
            .events(&crate::store::EventFilter::default(), 10)
            .await
            .unwrap();
        assert_eq!(stored.len(), 1);
        let e = &stored[0];
        assert_eq!(
            (
                e.kind.as_str(),
                e.client_id.as_deref(),
                e.ip.as_deref(),
                e.actor.as_str()
            ),
            ("sign_in_failed", Some("app"), Some("192.0.2.1"), "anonymous")
        );
        assert_eq!(e.detail, r#"{"why":"wrong password"}"#);
    }

    /// `audit_retention`: the prune job deletes the events older than the
    /// cut, in batches, and keeps the rest.
    #[tokio::test]
    async fn pruning_forgets_events_past_the_retention() {
        let store = crate::fixtures::store().await;
        for at in [10, 20, 30, 40, 50] {
            record(
                &store,
                Event::new(AuditKind::SignIn, at, Actor::User, "login").user("u"),
            )
            .await;
        }
        let pruned = crate::store::prune_audit(&store, 35, 2).await.unwrap();
        assert_eq!(pruned, 3);
        let left: Vec<i64> = store
            .events(&crate::store::EventFilter::default(), 10)
            .await
            .unwrap()
            .iter()
            .map(|e| e.at)
            .collect();
        assert_eq!(left, [50, 40]);
    }
}
