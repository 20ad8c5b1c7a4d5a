//! The user lifecycle: the one place a [`User`] is made or changed.
//!
//! Self-registration (`POST /api/v1/users`), a first sign-in through an
//! upstream provider, `tessera user ...` and the demo seed all call this
//! module, so the rules for a user are written once:
//!
//! - a username is prepared (NFKC, lower case) and checked by
//!   [`crate::username`], and no other user may have it or a name that
//!   looks like it (the UTS #39 skeleton, [UTS #39 §4]);
//! - an email looks like an address, and no other user has it in any ASCII
//!   case;
//! - a password is optional (an account made through a provider has
//!   none), and a new one passes [`crate::password::strength`] ([NIST SP
//!   800-63B §5.1.1.2]) before it is hashed;
//! - a user is never left with no way to sign in: clearing the only
//!   credential of a user with no linked upstream identity is refused.
//!
//! **Credential events end grants.** Setting or clearing a password,
//! disabling the account and deleting it end every refresh family (with
//! the access tokens it issued) and SSO session of the user, in the same
//! transaction as the change ([RFC 9700 §4.14.2]: refresh tokens are bound
//! to the credentials that obtained them). The store does both in one
//! transaction; this module is the only caller of those writes
//! (`tests/layers.rs`). Adding or removing a second factor, when one
//! exists, is one more such event here.
//!
//! [UTS #39 §4]: https://www.unicode.org/reports/tr39/#Confusable_Detection
//! [NIST SP 800-63B §5.1.1.2]: https://pages.nist.gov/800-63-3/sp800-63b.html#memsecretver
//! [RFC 9700 §4.14.2]: https://www.rfc-editor.org/rfc/rfc9700#section-4.14.2

use zeroize::Zeroizing;

use crate::domain::{Credential, PasswordHash, User};
use crate::password::{self, PasswordError};
use crate::store::{
    Conditional, Created, Identity, StoreError, UpstreamStore, UserChanges, UserStore, VersionStore,
};
use crate::username::UsernameError;

/// The longest email address (RFC 5321 §4.5.3.1.3 allows a 256-octet
/// path, that is 254 octets between its brackets).
pub const MAX_EMAIL: usize = 254;

/// What a new user is made of, as typed (the username is prepared here).
#[derive(Debug, Default)]
pub struct NewUser {
    /// The login name, as typed.
    pub username: String,
    /// Email address.
    pub email: Option<String>,
    /// Whether the address is known to be the user's ([OpenID Connect Core
    /// §5.1] `email_verified`).
    ///
    /// [OpenID Connect Core §5.1]: https://openid.net/specs/openid-connect-core-1_0.html#StandardClaims
    pub email_verified: bool,
    /// Display name.
    pub name: Option<String>,
    /// Roles carried in the user's tokens.
    pub roles: Vec<String>,
    /// The password, if the user signs in with one.
    pub password: Option<Zeroizing<String>>,
}

/// Why a lifecycle operation was refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum UserError {
    /// The username breaks a rule of [`crate::username`].
    #[error("username: {0}")]
    Username(UsernameError),
    /// The email does not look like an address.
    #[error("email is not an address")]
    Email,
    /// The display name is too long or holds control characters.
    #[error("the name must be at most {MAX_NAME} characters, without control characters")]
    Name,
    /// The new password is refused ([`crate::password::strength`]).
    #[error("the password is too weak: {0}")]
    WeakPassword(&'static str),
    /// Another user has this username, or one that looks like it.
    #[error("that username is taken")]
    UsernameTaken,
    /// Another user has this email (in any ASCII case); the username, as
    /// prepared, was free.
    #[error("that email is another account's")]
    EmailTaken {
        /// The prepared username.
        username: String,
    },
    /// No user has this id or username.
    #[error("no such user")]
    NotFound,
    /// The change would leave the user with no way to sign in.
    #[error("that is the user's only way to sign in")]
    LastCredential,
    /// Hashing the password failed, or its queue is full.
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The system's random source failed.
    #[error("no randomness available")]
    NoRandomness,
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Whether `email` looks like an address: one `@`-bearing word of at most
/// [`MAX_EMAIL`] bytes. Tessera sends no mail yet; `email_verified` says
/// whether anyone checked it.
pub fn is_address(email: &str) -> bool {
    email.len() <= MAX_EMAIL && email.contains('@') && !email.chars().any(char::is_whitespace)
}

/// A new password checked against the user's name and hashed on the
/// bounded queue ([`crate::password::hash`]).
pub(crate) async fn hash_new(password: Zeroizing<String>, username: &str) -> Result<PasswordHash, UserError> {
    password::strength(&password, username).map_err(UserError::WeakPassword)?;
    let phc = password::hash(password).await?;
    PasswordHash::new(phc).map_err(|e| PasswordError::Hash(e.to_string()).into())
}

/// The user `new` describes, checked, with a fresh id and its password
/// hashed; not stored yet.
async fn prepare(new: NewUser, now: i64) -> Result<User, UserError> {
    let username = crate::username::new_username(&new.username).map_err(UserError::Username)?;
    if new.email.as_deref().is_some_and(|e| !is_address(e)) {
        return Err(UserError::Email);
    }
    let id = crate::random::hex(16).ok_or(UserError::NoRandomness)?;
    let credentials = match new.password {
        Some(password) => vec![Credential::password(
            &id,
            hash_new(password, &username).await?,
            now,
        )],
        None => vec![],
    };
    Ok(User {
        id,
        username,
        email: new.email,
        email_verified: new.email_verified,
        name: new.name,
        roles: new.roles,
        credentials,
        created_at: now,
        failed_logins: 0,
        locked_until: None,
        disabled_at: None,
        require_mfa: false,
    })
}

/// Whether another user has `email` in any ASCII case (the column's own
/// constraint is case-sensitive).
async fn email_taken<S: UserStore>(store: &S, email: Option<&str>) -> Result<bool, StoreError> {
    Ok(match email {
        Some(email) => store.user_by_email(email).await?.is_some(),
        None => false,
    })
}

/// Makes a user. The password, if any, is hashed before the email is
/// looked up, so a taken email costs the same work as a free one.
/// A taken username is [`UserError::UsernameTaken`] even when the email is
/// taken too.
pub async fn create<S: UserStore>(store: &S, new: NewUser, now: i64) -> Result<User, UserError> {
    let user = prepare(new, now).await?;
    let made = if email_taken(store, user.email.as_deref()).await? {
        Err(StoreError::Conflict("email".into()))
    } else {
        store.create_user(&user).await
    };
    match made {
        Ok(()) => Ok(user),
        Err(StoreError::Conflict(_)) if store.username_taken(&user.username).await? => {
            Err(UserError::UsernameTaken)
        }
        // The username is free, so what conflicts is the email (or the
        // username's owner was deleted meanwhile: taken, a moment ago).
        Err(StoreError::Conflict(_)) => match user.email {
            Some(_) => Err(UserError::EmailTaken {
                username: user.username,
            }),
            None => Err(UserError::UsernameTaken),
        },
        Err(e) => Err(e.into()),
    }
}

/// What [`create_linked`] did.
#[derive(Debug)]
pub enum Linked {
    /// The user was made, linked to the identity.
    Created(User),
    /// The username (or a lookalike, or the email) is taken: nothing was
    /// made; try another.
    Taken,
    /// A concurrent first sign-in linked the identity meanwhile, to this
    /// user: nothing was made.
    AlreadyLinked(String),
}

/// Makes a user from an upstream identity, linked to (`provider`,
/// `subject`) in the same transaction, so there is never a user without
/// its link. An email that is not an address is left out, as a taken one
/// is (the provider's word, not the person's typing).
pub async fn create_linked<S: UserStore + UpstreamStore>(
    store: &S,
    mut new: NewUser,
    provider: &str,
    subject: &str,
    now: i64,
) -> Result<Linked, UserError> {
    if new.email.as_deref().is_some_and(|e| !is_address(e)) {
        new.email = None;
        new.email_verified = false;
    }
    let user = match prepare(new, now).await {
        Ok(user) => user,
        Err(UserError::Username(_)) => return Ok(Linked::Taken),
        Err(e) => return Err(e),
    };
    Ok(
        match store.create_linked_user(&user, provider, subject, now).await? {
            Created::Created => Linked::Created(user),
            Created::Taken => Linked::Taken,
            Created::AlreadyLinked(user_id) => Linked::AlreadyLinked(user_id),
        },
    )
}

/// The user with this id.
pub async fn get<S: UserStore>(store: &S, id: &str) -> Result<User, UserError> {
    store.user(id).await?.ok_or(UserError::NotFound)
}

/// The user with this username, as typed (prepared before the lookup, as
/// a login does).
pub async fn find<S: UserStore>(store: &S, username: &str) -> Result<User, UserError> {
    store
        .user_by_username(&crate::username::normalize(username))
        .await?
        .ok_or(UserError::NotFound)
}

/// Every user, by username.
pub async fn list<S: UserStore>(store: &S) -> Result<Vec<User>, UserError> {
    Ok(store.users().await?)
}

/// Sets a new password (checked and hashed) in place of the user's, and
/// unlocks them. A credential event: every grant and SSO session of the
/// user ends.
pub async fn set_password<S: UserStore>(
    store: &S,
    id: &str,
    password: Zeroizing<String>,
    now: i64,
) -> Result<(), UserError> {
    change_password(store, id, password, None, now).await
}

/// [`set_password`] by the user themselves from their SSO session `keep`
/// (the account page): every other session and every grant ends, that
/// session stays.
pub async fn change_password<S: UserStore>(
    store: &S,
    id: &str,
    password: Zeroizing<String>,
    keep: Option<&str>,
    now: i64,
) -> Result<(), UserError> {
    let user = get(store, id).await?;
    let hash = hash_new(password, &user.username).await?;
    if !store.set_password(id, &hash, keep, now).await? {
        return Err(UserError::NotFound);
    }
    Ok(())
}

/// Removes the user's password; refused when it is their only way to sign
/// in (no other credential, no linked upstream identity). A credential
/// event: every grant and SSO session of the user ends. Whether they had
/// one.
pub async fn clear_password<S: UserStore + UpstreamStore>(
    store: &S,
    id: &str,
    now: i64,
) -> Result<bool, UserError> {
    let user = get(store, id).await?;
    if user.password().is_none() {
        return Ok(false);
    }
    let others = user.credentials.len() > 1;
    if !others && store.identities_of(id).await?.is_empty() {
        return Err(UserError::LastCredential);
    }
    Ok(store.clear_password(id, now).await?)
}

/// Disables (`true`) or enables the user. A disabled user cannot sign in
/// (the login guard and the upstream sign-in refuse them); disabling is a
/// credential event: every grant and SSO session of the user ends.
pub async fn set_disabled<S: UserStore>(
    store: &S,
    id: &str,
    disabled: bool,
    now: i64,
) -> Result<(), UserError> {
    if !store.set_disabled(id, disabled, now).await? {
        return Err(UserError::NotFound);
    }
    Ok(())
}

/// Requires (`true`) the user to sign in with a second factor, or lifts
/// the requirement. While it holds, every sign-in of theirs asks for two
/// factors as an essential level (one without a factor ends in
/// `unmet_authentication_requirements`), and the password grant and
/// `/api/v1/login` refuse them while they have no factor.
pub async fn set_require_mfa<S: UserStore>(store: &S, id: &str, required: bool) -> Result<(), UserError> {
    if !store.set_require_mfa(id, required).await? {
        return Err(UserError::NotFound);
    }
    Ok(())
}

/// The longest display name (characters).
pub const MAX_NAME: usize = 128;

/// Sets the user's display name (the ID token's `name`), trimmed; an
/// empty one clears it. At most [`MAX_NAME`] characters, none of them
/// control characters.
pub async fn set_name<S: UserStore>(store: &S, id: &str, name: &str) -> Result<(), UserError> {
    let name = name.trim();
    if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
        return Err(UserError::Name);
    }
    if !store.set_name(id, (!name.is_empty()).then_some(name)).await? {
        return Err(UserError::NotFound);
    }
    Ok(())
}

/// Applies an administrator's `changes` to the user, if their row version
/// is still `version` (the admin API's `If-Match`): one transaction that
/// starts with one conditional `UPDATE`, so of two administrators writing
/// the same version exactly one changes the user ([`Conditional::Stale`]
/// for the other). The name follows [`set_name`]'s rules, the email
/// [`is_address`] and must be no other account's (in any ASCII case);
/// disabling ends every grant and SSO session, as [`set_disabled`].
pub async fn change_if<S: UserStore + VersionStore>(
    store: &S,
    id: &str,
    version: i64,
    mut changes: UserChanges,
    now: i64,
) -> Result<Conditional, UserError> {
    if let Some(Some(name)) = &changes.name {
        let name = name.trim();
        if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) {
            return Err(UserError::Name);
        }
        changes.name = Some((!name.is_empty()).then(|| name.to_owned()));
    }
    if let Some((Some(email), _)) = &changes.email {
        if !is_address(email) {
            return Err(UserError::Email);
        }
        if store
            .user_by_email(email)
            .await?
            .is_some_and(|other| other.id != id)
        {
            return Err(UserError::EmailTaken {
                username: String::new(),
            });
        }
    }
    match store.change_user_if(id, version, &changes, now).await {
        Ok(done) => Ok(done),
        Err(StoreError::Conflict(_)) => Err(UserError::EmailTaken {
            username: String::new(),
        }),
        Err(e) => Err(e.into()),
    }
}

/// Records whether the user's email address is verified.
pub async fn set_email_verified<S: UserStore>(store: &S, id: &str, verified: bool) -> Result<(), UserError> {
    if !store.set_email_verified(id, verified).await? {
        return Err(UserError::NotFound);
    }
    Ok(())
}

/// Replaces the user's roles (an upstream provider's mapped groups).
pub async fn set_roles<S: UserStore>(store: &S, id: &str, roles: &[String]) -> Result<(), UserError> {
    Ok(store.set_roles(id, roles).await?)
}

/// Deletes the user with their credentials, grants, SSO sessions and
/// linked identities.
pub async fn delete<S: UserStore>(store: &S, id: &str, now: i64) -> Result<(), UserError> {
    if !store.delete_user(id, now).await? {
        return Err(UserError::NotFound);
    }
    Ok(())
}

/// Links (`provider`, `subject`) to the user `id`: signing in there signs
/// in as them. If a concurrent sign-in linked it first, the user it was
/// linked to (never a second link).
pub async fn link<S: UpstreamStore>(
    store: &S,
    id: &str,
    provider: &str,
    subject: &str,
    now: i64,
) -> Result<String, UserError> {
    match store.link(provider, subject, id, now).await {
        Ok(()) => Ok(id.to_owned()),
        Err(StoreError::Conflict(_)) => store
            .linked_user(provider, subject, now)
            .await?
            .ok_or_else(|| StoreError::Corrupt("upstream identity vanished".into()).into()),
        Err(e) => Err(e.into()),
    }
}

/// The user's linked upstream identities.
pub async fn links<S: UpstreamStore>(store: &S, id: &str) -> Result<Vec<Identity>, UserError> {
    Ok(store.identities_of(id).await?)
}

/// Removes the user's links to `provider` (its identity key); how many.
pub async fn unlink<S: UpstreamStore>(store: &S, id: &str, provider: &str) -> Result<u64, UserError> {
    Ok(store.unlink(id, provider).await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RefreshTokenStore, SessionStore, Store};

    /// A fresh SQLite store in a temporary folder.
    async fn store() -> Store {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("tessera-identity-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Store::open(&format!("sqlite://{}/t.db", dir.display()))
            .await
            .unwrap()
    }

    const PASSWORD: &str = "a long enough passphrase";

    fn new(username: &str, email: Option<&str>, password: Option<&str>) -> NewUser {
        NewUser {
            username: username.into(),
            email: email.map(str::to_owned),
            password: password.map(|p| Zeroizing::new(p.to_owned())),
            ..NewUser::default()
        }
    }

    #[tokio::test]
    async fn create_prepares_and_stores_the_user_with_their_password() {
        let store = store().await;
        let made = create(&store, new("  Ａnn ", Some("ann@example.com"), Some(PASSWORD)), 7)
            .await
            .unwrap();
        assert_eq!(made.username, "ann", "NFKC, lower case, trimmed");
        let found = find(&store, "ANN").await.unwrap();
        assert_eq!(found, made, "read back as made, credentials included");
        let hash = found.password().expect("a password credential");
        assert!(
            password::verify(Zeroizing::new(PASSWORD.into()), Some(hash.as_str().into()))
                .await
                .unwrap()
        );
        assert_eq!(found.credentials.len(), 1);
        assert_eq!(found.credentials[0].created_at, 7);
    }

    #[tokio::test]
    async fn a_user_without_a_password_has_no_password_credential() {
        let store = store().await;
        let made = create(&store, new("fed", None, None), 1).await.unwrap();
        let found = get(&store, &made.id).await.unwrap();
        assert!(found.credentials.is_empty());
        assert_eq!(found.password(), None);
    }

    #[tokio::test]
    async fn create_refuses_what_breaks_a_rule() {
        let store = store().await;
        create(&store, new("taken", Some("taken@example.com"), Some(PASSWORD)), 1)
            .await
            .unwrap();
        create(&store, new("paypa", None, None), 1).await.unwrap();
        type Expected = fn(&UserError) -> bool;
        let cases: [(&str, NewUser, Expected); 8] = [
            ("empty username", new("", None, None), |e| {
                matches!(e, UserError::Username(UsernameError::Length))
            }),
            ("space in the username", new("a b", None, None), |e| {
                matches!(e, UserError::Username(UsernameError::Characters))
            }),
            ("not an address", new("bea", Some("bea.example.com"), None), |e| {
                matches!(e, UserError::Email)
            }),
            ("weak password", new("cid", None, Some("password")), |e| {
                matches!(e, UserError::WeakPassword(_))
            }),
            (
                "password is the username",
                new("dorothea", None, Some("Dorothea")),
                |e| matches!(e, UserError::WeakPassword(_)),
            ),
            ("taken username", new("TAKEN", None, None), |e| {
                matches!(e, UserError::UsernameTaken)
            }),
            // Whole-script lookalike: Cyrillic "раура" next to Latin
            // "paypa" (the same UTS #39 skeleton).
            (
                "lookalike username",
                new("\u{440}\u{430}\u{443}\u{440}\u{430}", None, None),
                |e| matches!(e, UserError::UsernameTaken),
            ),
            (
                "taken email, any case",
                new("eve", Some("TAKEN@example.com"), None),
                |e| matches!(e, UserError::EmailTaken { username } if username == "eve"),
            ),
        ];
        for (what, user, expected) in cases {
            let got = create(&store, user, 2).await;
            match got {
                Err(e) => assert!(expected(&e), "{what}: {e:?}"),
                Ok(u) => panic!("{what}: made {u:?}"),
            }
        }
        assert_eq!(list(&store).await.unwrap().len(), 2, "nothing else was made");
    }

    #[tokio::test]
    async fn a_taken_username_is_told_before_a_taken_email() {
        let store = store().await;
        create(&store, new("gil", Some("gil@example.com"), None), 1)
            .await
            .unwrap();
        let got = create(&store, new("gil", Some("gil@example.com"), None), 2).await;
        assert!(matches!(got, Err(UserError::UsernameTaken)), "{got:?}");
    }

    /// A user with a refresh family and an SSO session.
    async fn signed_in(store: &Store, username: &str) -> User {
        let user = create(store, new(username, None, Some(PASSWORD)), 1)
            .await
            .unwrap();
        store
            .record_grant(&crate::store::IssuedGrant {
                access_jti: format!("jti-{username}"),
                access_expires_at: i64::MAX,
                refresh: None,
                new_family: Some(crate::store::Family {
                    family_id: format!("f-{username}"),
                    client_id: "c".into(),
                    user_id: user.id.clone(),
                    sid: None,
                    offline: false,
                    created_at: 1,
                    expires_at: i64::MAX,
                    dpop_jkt: None,
                }),
            })
            .await
            .unwrap();
        store
            .create_session(&crate::store::Session {
                id_hash: format!("s-{username}").into_bytes(),
                sid: format!("s-{username}"),
                user_id: user.id.clone(),
                auth_time: 1,
                expires_at: i64::MAX,
                client_ip: None,
                proofs: crate::domain::Proofs::none().with(crate::domain::Method::Password, 1),
            })
            .await
            .unwrap();
        user
    }

    /// Whether the user's family and session are still there.
    async fn grants_alive(store: &Store, user: &User) -> (bool, bool) {
        let family: Option<i64> =
            sqlx::query_scalar("SELECT 1 FROM refresh_families WHERE user_id = $1 AND revoked_at IS NULL")
                .bind(&user.id)
                .fetch_optional(store.pool())
                .await
                .unwrap();
        let session: Option<i64> = sqlx::query_scalar("SELECT 1 FROM sessions WHERE user_id = $1")
            .bind(&user.id)
            .fetch_optional(store.pool())
            .await
            .unwrap();
        (family.is_some(), session.is_some())
    }

    #[tokio::test]
    async fn credential_events_end_grants_and_sessions_and_others_do_not() {
        let store = store().await;
        type Op = for<'a> fn(&'a Store, &'a str) -> futures_like::Boxed<'a>;
        let events: [(&str, Op, bool); 6] = [
            (
                "set password",
                |s, id| {
                    Box::pin(async move {
                        set_password(s, id, Zeroizing::new("another passphrase!".into()), 3).await
                    })
                },
                true,
            ),
            ("disable", |s, id| Box::pin(set_disabled(s, id, true, 3)), true),
            ("delete", |s, id| Box::pin(delete(s, id, 3)), true),
            ("enable", |s, id| Box::pin(set_disabled(s, id, false, 3)), false),
            (
                "verify email",
                |s, id| Box::pin(set_email_verified(s, id, true)),
                false,
            ),
            (
                "set roles",
                |s, id| Box::pin(async move { set_roles(s, id, &["admin".to_owned()]).await }),
                false,
            ),
        ];
        for (n, (what, op, ends)) in events.into_iter().enumerate() {
            let user = signed_in(&store, &format!("user{n}")).await;
            assert_eq!(grants_alive(&store, &user).await, (true, true), "{what}: before");
            op(&store, &user.id).await.unwrap();
            let alive = !ends;
            assert_eq!(grants_alive(&store, &user).await, (alive, alive), "{what}");
        }
    }

    #[tokio::test]
    async fn a_name_is_trimmed_bounded_and_cleared_when_empty() {
        let store = store().await;
        let user = create(&store, new("nia", None, Some(PASSWORD)), 1).await.unwrap();
        set_name(&store, &user.id, "  Nia Example ").await.unwrap();
        assert_eq!(
            get(&store, &user.id).await.unwrap().name.as_deref(),
            Some("Nia Example")
        );
        for bad in ["a\u{0}b", "line\nbreak", &"x".repeat(MAX_NAME + 1)] {
            let refused = set_name(&store, &user.id, bad).await;
            assert!(matches!(refused, Err(UserError::Name)), "{bad:?}: {refused:?}");
        }
        set_name(&store, &user.id, &"é".repeat(MAX_NAME)).await.unwrap();
        set_name(&store, &user.id, " ").await.unwrap();
        assert_eq!(get(&store, &user.id).await.unwrap().name, None);
        let missing = set_name(&store, "nobody", "N").await;
        assert!(matches!(missing, Err(UserError::NotFound)), "{missing:?}");
    }

    #[tokio::test]
    async fn set_password_replaces_the_password_and_unlocks() {
        let store = store().await;
        let user = create(&store, new("hal", None, Some(PASSWORD)), 1).await.unwrap();
        for _ in 0..5 {
            store.reserve_login(&user.id, 2, 5, 100).await.unwrap();
        }
        assert!(get(&store, &user.id).await.unwrap().locked_until.is_some());
        let refused = set_password(&store, &user.id, Zeroizing::new("hal".into()), 3).await;
        assert!(matches!(refused, Err(UserError::WeakPassword(_))), "{refused:?}");
        set_password(
            &store,
            &user.id,
            Zeroizing::new("a different passphrase".into()),
            3,
        )
        .await
        .unwrap();
        let after = get(&store, &user.id).await.unwrap();
        assert_eq!(after.locked_until, None, "unlocked");
        assert_eq!(after.credentials.len(), 1, "replaced, not added");
        let hash = after.password().unwrap().as_str().to_owned();
        assert!(
            !password::verify(Zeroizing::new(PASSWORD.into()), Some(hash.clone()))
                .await
                .unwrap()
        );
        assert!(
            password::verify(Zeroizing::new("a different passphrase".into()), Some(hash))
                .await
                .unwrap()
        );
        let missing = set_password(
            &store,
            "nobody",
            Zeroizing::new("a different passphrase".into()),
            3,
        )
        .await;
        assert!(matches!(missing, Err(UserError::NotFound)), "{missing:?}");
    }

    #[tokio::test]
    async fn clearing_the_only_credential_is_refused_unless_a_provider_is_linked() {
        let store = store().await;
        let user = create(&store, new("ida", None, Some(PASSWORD)), 1).await.unwrap();
        let refused = clear_password(&store, &user.id, 2).await;
        assert!(matches!(refused, Err(UserError::LastCredential)), "{refused:?}");
        assert!(get(&store, &user.id).await.unwrap().password().is_some(), "kept");
        link(&store, &user.id, "https://idp.example", "ida-sub", 2)
            .await
            .unwrap();
        assert!(clear_password(&store, &user.id, 3).await.unwrap());
        assert!(
            get(&store, &user.id).await.unwrap().password().is_none(),
            "cleared"
        );
        assert!(
            !clear_password(&store, &user.id, 4).await.unwrap(),
            "nothing left to clear"
        );
    }

    #[tokio::test]
    async fn link_unlink_and_a_link_taken_meanwhile() {
        let store = store().await;
        let jo = create(&store, new("jo", None, Some(PASSWORD)), 1).await.unwrap();
        let kim = create(&store, new("kim", None, Some(PASSWORD)), 1).await.unwrap();
        assert_eq!(link(&store, &jo.id, "p", "s", 2).await.unwrap(), jo.id);
        assert_eq!(
            link(&store, &kim.id, "p", "s", 3).await.unwrap(),
            jo.id,
            "linked already: to jo, never twice"
        );
        assert_eq!(links(&store, &jo.id).await.unwrap().len(), 1);
        assert_eq!(unlink(&store, &jo.id, "p").await.unwrap(), 1);
        assert!(links(&store, &jo.id).await.unwrap().is_empty());
    }

    #[tokio::test]
    async fn create_linked_makes_the_user_and_the_link_together() {
        let store = store().await;
        create(&store, new("lee", Some("lee@example.com"), None), 1)
            .await
            .unwrap();
        let taken = create_linked(&store, new("lee", None, None), "p", "lee-sub", 2)
            .await
            .unwrap();
        assert!(matches!(taken, Linked::Taken), "{taken:?}");
        assert_eq!(
            store.linked_user("p", "lee-sub", 2).await.unwrap(),
            None,
            "no link alone"
        );
        let made = create_linked(
            &store,
            new("lee-2", Some("not an address"), None),
            "p",
            "lee-sub",
            2,
        )
        .await
        .unwrap();
        let Linked::Created(user) = made else {
            panic!("{made:?}")
        };
        assert_eq!(user.email, None, "a provider's non-address is left out");
        assert!(user.credentials.is_empty(), "no password");
        assert_eq!(
            store.linked_user("p", "lee-sub", 2).await.unwrap().as_deref(),
            Some(user.id.as_str())
        );
        let again = create_linked(&store, new("lee-3", None, None), "p", "lee-sub", 3)
            .await
            .unwrap();
        assert!(matches!(again, Linked::AlreadyLinked(id) if id == user.id));
    }

    #[tokio::test]
    async fn a_missing_user_is_not_found() {
        let store = store().await;
        assert!(matches!(get(&store, "x").await, Err(UserError::NotFound)));
        assert!(matches!(find(&store, "x").await, Err(UserError::NotFound)));
        assert!(matches!(
            set_disabled(&store, "x", true, 1).await,
            Err(UserError::NotFound)
        ));
        assert!(matches!(
            set_email_verified(&store, "x", true).await,
            Err(UserError::NotFound)
        ));
        assert!(matches!(delete(&store, "x", 1).await, Err(UserError::NotFound)));
    }

    /// Boxed futures for the table of credential events.
    mod futures_like {
        pub type Boxed<'a> =
            std::pin::Pin<Box<dyn std::future::Future<Output = Result<(), super::UserError>> + Send + 'a>>;
    }
}
