//! The login guard: every secret a person types (a password today;
//! one-time and recovery codes next) is checked here, the same way, for
//! the password grant, the login page, `POST /api/v1/login` and the
//! upstream link page alike ([RFC 6749 §4.3.2]: "the authorization server
//! MUST protect the endpoint against brute force attacks (e.g., using
//! rate-limitation or generating alerts)"; [RFC 9700 §4.15]).
//!
//! It knows nothing of tokens or clients beyond a client id for the audit
//! log: an [`Attempt`] says when, from which address and with which
//! device cookie; the answer is the [`User`] or a [`GuardError`]. The
//! protocol maps that to its own errors (`oauth::sign_in`).
//!
//! 1. The attempt is counted against the client address before anything
//!    else ([`reserve_login`]): slowed after a few failures, refused after
//!    many. The delay is served *before* the attempt takes a place in the
//!    bounded hashing queue ([`password::login_ticket`]), so slowed
//!    guesses hold no place while they wait and cannot shed other
//!    people's logins as busy (503). A login shed as busy hands its
//!    address attempt back: it was never evaluated.
//! 2. The attempt is reserved against the account in one conditional
//!    statement ([`UserStore::reserve_login`]) *before* the hash runs, so a
//!    burst of guesses sent at once gets at most [`LOCK_THRESHOLD`]
//!    evaluations; the last of them locks the account for
//!    [`LOCK_SECONDS`]. A lock that has run out starts the count again.
//!    A browser that presents a valid device cookie for the account
//!    ([`super::device`]) is counted on its own budget instead
//!    ([`DEVICE_FAILURES`] per window), so strangers' failures cannot lock
//!    its owner out; past that budget it is a stranger again.
//! 3. The hash always runs: against the user's hash when the attempt was
//!    reserved, against a dummy hash for an unknown, disabled or locked
//!    account. So an unknown user, a locked account and a wrong password get the same
//!    answer ([`GuardError::BadCredentials`]) after about the same time: no
//!    account can be found, or its lock seen, by probing.
//! 4. Success hands the address's attempt back, and clears the account's
//!    count (a stranger's success) or hands the device's attempt back (a
//!    known device's: the strangers' count stays, so an owner signing in
//!    does not give a guesser five fresh tries).
//!    The password of a user with a second factor clears nothing: the
//!    count stays until the code is right ([`check_code`], which puts
//!    one-time and recovery codes through steps 1, 2 and 4 like a
//!    password).
//!
//! # Per address
//!
//! Per user, repeated failures lock the account (step 2). Per address,
//! counted in the database ([`AttemptStore`]) so every node shares the
//! count, and *reserved before the hash runs* so a burst sent at once is
//! counted as it arrives: once failures and attempts in flight together
//! pass [`BLOCK_AFTER`] within [`WINDOW_SECS`], further attempts are
//! refused until the window ends. Slowing follows failures alone: after
//! [`FREE_FAILURES`] of them every further attempt waits longer (doubling
//! up to [`MAX_DELAY`]), so many good logins at once from one address (a
//! company's NAT) are not slowed. A successful login hands its attempt
//! back. Registrations count every attempt, at most
//! [`REGISTRATIONS_PER_WINDOW`]; client registrations (open dynamic
//! registration) too, at most [`CLIENT_REGISTRATIONS_PER_WINDOW`] an hour.
//!
//! IPv6 clients are counted per /64, the block one subscriber usually
//! holds, so rotating addresses within it does not reset the count.
//!
//! # Second factors
//!
//! A one-time or recovery code ([`check_code`]) is a secret typed for an
//! account already named by its first factor, and is counted the same
//! way: against the address first (slowed, then refused), then reserved
//! against the account's lock before it is checked (a locked account's
//! code is not checked at all), a failure counted and delayed like a
//! wrong password. Five wrong codes lock the account like five wrong
//! passwords. The codes are also counted in the account's own bucket
//! ([`AttemptStore`], [`WINDOW_SECS`]), which a correct password does not
//! clear: more than [`LOCK_THRESHOLD`] code attempts in a window are
//! refused unchecked, so someone who knows the password cannot guess
//! codes five at a time between password sign-ins.
//!
//! [RFC 6749 §4.3.2]: https://www.rfc-editor.org/rfc/rfc6749#section-4.3.2
//! [RFC 9700 §4.15]: https://www.rfc-editor.org/rfc/rfc9700#section-4.15

use crate::audit::{self, Actor, AuditKind, Event};
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use zeroize::Zeroizing;

use super::device::{DeviceKey, DEVICE_FAILURES};
use crate::domain::User;
use crate::password::{self, PasswordError};
use crate::store::{AttemptStore, Counts, StoreError, UserStore};

/// Password attempts without a success that lock an account.
pub const LOCK_THRESHOLD: i64 = 5;
/// How long a lock lasts, in seconds.
pub const LOCK_SECONDS: i64 = 300;
/// Added to every failed attempt, so guessing is slow even before a lock.
pub const FAILURE_DELAY: Duration = Duration::from_millis(300);

/// Failures per address allowed before slowing down.
pub const FREE_FAILURES: i64 = 5;
/// Failures per address after which attempts are refused.
pub const BLOCK_AFTER: i64 = 50;
/// The counting window, in seconds.
pub const WINDOW_SECS: i64 = 600;
/// The longest added delay.
pub const MAX_DELAY: Duration = Duration::from_secs(4);
/// Registrations per address per window.
pub const REGISTRATIONS_PER_WINDOW: i64 = 10;
/// Client registrations (open dynamic registration, RFC 7591 §3) per
/// address per [`CLIENT_REGISTRATION_WINDOW`].
pub const CLIENT_REGISTRATIONS_PER_WINDOW: i64 = 10;
/// The client-registration window, in seconds: an hour.
pub const CLIENT_REGISTRATION_WINDOW: i64 = 3600;
/// The longest window of any count here: counters older than it are
/// pruned (`store::prune`).
pub const LONGEST_WINDOW: i64 = if CLIENT_REGISTRATION_WINDOW > WINDOW_SECS {
    CLIENT_REGISTRATION_WINDOW
} else {
    WINDOW_SECS
};

/// Why the guard said no.
#[derive(Debug, thiserror::Error)]
pub enum GuardError {
    /// Unknown user, disabled or locked account, no password, or a wrong
    /// one: one answer for all, so none can be told by probing.
    #[error("wrong username or password")]
    BadCredentials,
    /// Too many failures from this address: refused without checking.
    #[error("too many failed attempts from this address")]
    TooManyAttempts,
    /// Hashing failed, or the queue is full ([`PasswordError::Busy`]).
    #[error(transparent)]
    Password(#[from] PasswordError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A second factor could not be checked (its secret would not open).
    #[error(transparent)]
    Factor(#[from] super::factors::FactorError),
}

/// A device cookie a browser presented with its secret, and the key that
/// checks it.
#[derive(Clone, Copy, Debug)]
pub struct Presented<'a> {
    /// The server's device-cookie key.
    pub key: &'a DeviceKey,
    /// The cookie's value.
    pub cookie: &'a str,
}

/// One attempt: when, from where, for whom (the audit log's client id),
/// and the device cookie the browser presented, if any (the password
/// grant has none).
#[derive(Clone, Copy, Debug)]
pub struct Attempt<'a> {
    /// Now.
    pub now: i64,
    /// The client's network address, when known (no address, no
    /// per-address count).
    pub peer: Option<IpAddr>,
    /// The client the person signs in to, for the audit log.
    pub client_id: &'a str,
    /// A device cookie, from a browser.
    pub device: Option<Presented<'a>>,
}

/// A secret a person typed.
pub enum Secret {
    /// A password, checked against the user's password credential.
    Password(Zeroizing<String>),
    /// The password of a user with a second factor, whose code comes
    /// next: checked the same way, but a success does not clear the
    /// account's count (nor hand back its own attempt). Only a completed
    /// sign-in does ([`check_code`]), so wrong codes cannot be spread over
    /// fresh password logins to escape the lock.
    PasswordBeforeCode(Zeroizing<String>),
}

/// What to do before checking a secret from an address.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Go ahead after this delay (zero when the address has few failures).
    Wait(Duration),
    /// Too many failures: refuse without checking.
    Refuse,
}

/// The bucket an address counts in: IPv4 (and IPv4-mapped IPv6) by
/// address, IPv6 by /64.
pub fn bucket(kind: &str, addr: IpAddr) -> String {
    match addr {
        IpAddr::V4(v4) => format!("{kind}:{v4}"),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("{kind}:{v4}"),
            None => {
                let s = v6.segments();
                let [a, b, c, d, ..] = s;
                format!("{kind}:{a:x}:{b:x}:{c:x}:{d:x}::/64")
            }
        },
    }
}

/// The verdict for an attempt, from its bucket's counts.
pub fn verdict(counts: Counts) -> Verdict {
    if counts.attempts.saturating_sub(1) >= BLOCK_AFTER {
        return Verdict::Refuse;
    }
    if counts.failures < FREE_FAILURES {
        return Verdict::Wait(Duration::ZERO);
    }
    let doublings = u32::try_from((counts.failures - FREE_FAILURES).min(5)).unwrap_or(5);
    Verdict::Wait((Duration::from_millis(250) * 2u32.pow(doublings)).min(MAX_DELAY))
}

/// Logins serving their address's delay right now.
static DELAYED: AtomicUsize = AtomicUsize::new(0);

/// How many logins are serving their address's delay right now (they hold
/// no place in the hashing queue meanwhile).
pub fn logins_delayed() -> usize {
    DELAYED.load(Ordering::Relaxed)
}

/// Counted while a login waits (also when the request is cancelled).
struct Delayed;

impl Drop for Delayed {
    fn drop(&mut self) {
        DELAYED.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Serves a [`Verdict::Wait`] delay. Call it before taking a place in the
/// hashing queue, never while holding one: a place held by a sleeping
/// guess is a place taken from everyone else's logins.
pub async fn wait(delay: Duration) {
    if delay.is_zero() {
        return;
    }
    DELAYED.fetch_add(1, Ordering::AcqRel);
    let _counted = Delayed;
    tokio::time::sleep(delay).await;
}

/// Reserves a login attempt from `peer` (no address, no limit).
pub async fn reserve_login<S: AttemptStore>(
    store: &S,
    peer: Option<IpAddr>,
    now: i64,
) -> Result<Verdict, StoreError> {
    let Some(addr) = peer else {
        return Ok(Verdict::Wait(Duration::ZERO));
    };
    let counts = store
        .reserve_attempt(&bucket("login", addr), now, WINDOW_SECS)
        .await?;
    Ok(verdict(counts))
}

/// Counts the failure of a login from `peer`.
pub async fn failed_login<S: AttemptStore>(
    store: &S,
    peer: Option<IpAddr>,
    now: i64,
) -> Result<(), StoreError> {
    let Some(addr) = peer else { return Ok(()) };
    store
        .record_failure(&bucket("login", addr), now, WINDOW_SECS)
        .await
}

/// Hands back the attempt of a login that succeeded.
pub async fn refund_login<S: AttemptStore>(
    store: &S,
    peer: Option<IpAddr>,
    now: i64,
) -> Result<(), StoreError> {
    let Some(addr) = peer else { return Ok(()) };
    store
        .refund_attempt(&bucket("login", addr), now, WINDOW_SECS)
        .await
}

/// Whether `peer` may register another account now (counted).
pub async fn reserve_registration<S: AttemptStore>(
    store: &S,
    peer: Option<IpAddr>,
    now: i64,
) -> Result<bool, StoreError> {
    let Some(addr) = peer else { return Ok(true) };
    let counts = store
        .reserve_attempt(&bucket("register", addr), now, WINDOW_SECS)
        .await?;
    Ok(counts.attempts <= REGISTRATIONS_PER_WINDOW)
}

/// Whether `peer` may register another client now (counted, every
/// attempt: [`CLIENT_REGISTRATIONS_PER_WINDOW`] per
/// [`CLIENT_REGISTRATION_WINDOW`]).
pub async fn reserve_client_registration<S: AttemptStore>(
    store: &S,
    peer: Option<IpAddr>,
    now: i64,
) -> Result<bool, StoreError> {
    let Some(addr) = peer else { return Ok(true) };
    let counts = store
        .reserve_attempt(&bucket("client-register", addr), now, CLIENT_REGISTRATION_WINDOW)
        .await?;
    Ok(counts.attempts <= CLIENT_REGISTRATIONS_PER_WINDOW)
}

/// Against which count an attempt was reserved.
enum Reserved {
    /// None: the account is unknown, disabled or locked (to strangers).
    No,
    /// The account's lock, which strangers share.
    Account,
    /// A known device's own budget, in this bucket.
    Device(String),
}

/// Reserves the attempt: on the device's own budget when the browser
/// proved a device of this account and the budget is not spent, else on
/// the account's lock.
async fn reserve<S: UserStore + AttemptStore>(
    store: &S,
    user: &User,
    device: Option<Presented<'_>>,
    now: i64,
) -> Result<Reserved, StoreError> {
    if let Some(known) = device.and_then(|d| d.key.recognise(d.cookie, &user.id, now)) {
        let bucket = known.bucket(&user.id);
        let counts = store.reserve_attempt(&bucket, now, WINDOW_SECS).await?;
        if counts.attempts <= DEVICE_FAILURES {
            return Ok(Reserved::Device(bucket));
        }
    }
    let reserved = store
        .reserve_login(&user.id, now, LOCK_THRESHOLD, now + LOCK_SECONDS)
        .await?;
    Ok(if reserved { Reserved::Account } else { Reserved::No })
}

/// The user, if `password` is theirs and nothing refuses the attempt.
pub async fn check_password<S: UserStore + AttemptStore>(
    store: &S,
    attempt: &Attempt<'_>,
    username: &str,
    password: Zeroizing<String>,
) -> Result<User, GuardError> {
    check(store, attempt, username, Secret::Password(password)).await
}

/// The user named `username`, if `secret` is theirs and nothing refuses
/// the attempt: the four steps of the module docs, in order.
pub async fn check<S: UserStore + AttemptStore>(
    store: &S,
    attempt: &Attempt<'_>,
    username: &str,
    secret: Secret,
) -> Result<User, GuardError> {
    let (peer, now, client_id) = (attempt.peer, attempt.now, attempt.client_id);
    // 1.
    match reserve_login(store, peer, now).await? {
        Verdict::Refuse => {
            let event = Event::new(
                AuditKind::SignInFailed,
                now,
                Actor::Anonymous,
                "login refused: too many failures from this address",
            )
            .client(client_id)
            .ip(peer)
            .with("why", "too many failures from this address");
            audit::record(store, event).await;
            return Err(GuardError::TooManyAttempts);
        }
        Verdict::Wait(delay) => wait(delay).await,
    }
    // Only now a place in the hashing queue. A login shed as busy (503)
    // was never evaluated: it counts against neither the address (its
    // attempt is handed back) nor the account (not reserved yet).
    let ticket = match password::login_ticket() {
        Ok(ticket) => ticket,
        Err(busy) => {
            refund_login(store, peer, now).await?;
            return Err(busy.into());
        }
    };
    // 2. (One spelling per name: `Alice` and `ＡＬＩＣＥ` are `alice`.)
    let username = &crate::username::normalize(username);
    let user = store.user_by_username(username).await?;
    let reserved = match &user {
        Some(user) if !user.is_disabled() => reserve(store, user, attempt.device, now).await?,
        _ => Reserved::No,
    };
    // 3.
    // (An account made through an upstream provider has no password: it
    // is refused as an unknown one is, against the dummy hash.)
    let completes = matches!(secret, Secret::Password(_));
    let ok = match secret {
        Secret::Password(password) | Secret::PasswordBeforeCode(password) => {
            let stored = user
                .as_ref()
                .filter(|_| !matches!(reserved, Reserved::No))
                .and_then(|u| u.password())
                .map(|hash| hash.as_str().to_owned());
            ticket.verify(password, stored).await?
        }
    };
    let user = match user {
        Some(user) if ok => user,
        found => {
            let why = match (&found, &reserved) {
                (None, _) => "unknown user",
                (Some(u), Reserved::No) if u.is_disabled() => "account disabled",
                (Some(_), Reserved::No) => "account locked",
                (Some(_), Reserved::Account) => "wrong password",
                (Some(_), Reserved::Device(_)) => "wrong password from a known device",
            };
            let mut event = Event::new(AuditKind::SignInFailed, now, Actor::Anonymous, "login failed")
                .client(client_id)
                .ip(peer)
                .with("why", why)
                .with("username", username.as_str());
            if let Some(user) = &found {
                event = event.user(&user.id);
            }
            audit::record(store, event).await;
            failed_login(store, peer, now).await?;
            tokio::time::sleep(FAILURE_DELAY).await;
            return Err(GuardError::BadCredentials);
        }
    };
    // 4.
    match &reserved {
        Reserved::Device(bucket) => store.refund_attempt(bucket, now, WINDOW_SECS).await?,
        Reserved::Account | Reserved::No if completes => store.record_login(&user.id).await?,
        Reserved::Account | Reserved::No => {}
    }
    refund_login(store, peer, now).await?;
    let device = matches!(reserved, Reserved::Device(_));
    let event = Event::new(AuditKind::SignIn, now, Actor::User, "login")
        .user(&user.id)
        .client(client_id)
        .ip(peer)
        .with("device", device);
    audit::record(store, event).await;
    Ok(user)
}

/// The bucket of an account's second-factor codes.
fn code_bucket(user_id: &str) -> String {
    format!("code:{user_id}")
}

/// Checks a one-time or recovery code `user` typed (the second step of a
/// sign-in, named by a first factor already proven) through the same counts
/// as a password: the address is reserved and slowed first (step 1); the
/// attempt is reserved against the account's own count of codes, which a
/// correct password does not clear, and against the account's lock (step
/// 2; a locked account is refused without spending the code); a wrong code
/// counts as a wrong password does, with the same delay and the same answer
/// ([`GuardError::BadCredentials`]). `verify` checks (and spends) the code;
/// it runs only once everything is reserved (step 3). Success clears the
/// counts: the sign-in is complete (step 4). `verify`'s own failures (a
/// store or sealing fault) come back as they are.
pub async fn check_code<S, F, E>(store: &S, attempt: &Attempt<'_>, user: &User, verify: F) -> Result<(), E>
where
    S: UserStore + AttemptStore,
    F: std::future::Future<Output = Result<bool, E>>,
    E: From<GuardError>,
{
    check_code_counted(store, attempt, user, verify).await?
}

/// [`check_code`], with the guard's refusals inside.
async fn check_code_counted<S, F, E>(
    store: &S,
    attempt: &Attempt<'_>,
    user: &User,
    verify: F,
) -> Result<Result<(), E>, GuardError>
where
    S: UserStore + AttemptStore,
    F: std::future::Future<Output = Result<bool, E>>,
    E: From<GuardError>,
{
    let (peer, now, client_id) = (attempt.peer, attempt.now, attempt.client_id);
    // 1.
    match reserve_login(store, peer, now).await? {
        Verdict::Refuse => {
            let event = Event::new(
                AuditKind::SecondFactorFailed,
                now,
                Actor::User,
                "second factor refused: too many failures from this address",
            )
            .user(&user.id)
            .client(client_id)
            .ip(peer)
            .with("why", "too many failures from this address");
            audit::record(store, event).await;
            return Ok(Err(GuardError::TooManyAttempts.into()));
        }
        Verdict::Wait(delay) => wait(delay).await,
    }
    // 2. The account's own count of codes first, so a burst gets at most
    // LOCK_THRESHOLD evaluations however often the password is retyped.
    let codes = code_bucket(&user.id);
    let within_codes = store.reserve_attempt(&codes, now, WINDOW_SECS).await?.attempts <= LOCK_THRESHOLD;
    let reserved = !user.is_disabled()
        && within_codes
        && store
            .reserve_login(&user.id, now, LOCK_THRESHOLD, now + LOCK_SECONDS)
            .await?;
    // 3.
    let ok = if reserved {
        match verify.await {
            Ok(ok) => ok,
            Err(e) => return Ok(Err(e)),
        }
    } else {
        false
    };
    if !ok {
        let why = match (user.is_disabled(), within_codes, reserved) {
            (true, _, _) => "account disabled",
            (false, false, _) => "too many wrong codes",
            (false, true, false) => "account locked",
            (false, true, true) => "wrong code",
        };
        let event = Event::new(
            AuditKind::SecondFactorFailed,
            now,
            Actor::User,
            "second factor failed",
        )
        .user(&user.id)
        .client(client_id)
        .ip(peer)
        .with("why", why);
        audit::record(store, event).await;
        failed_login(store, peer, now).await?;
        store.record_failure(&codes, now, WINDOW_SECS).await?;
        tokio::time::sleep(FAILURE_DELAY).await;
        return Ok(Err(GuardError::BadCredentials.into()));
    }
    // 4.
    store.refund_attempt(&codes, now, WINDOW_SECS).await?;
    store.record_login(&user.id).await?;
    refund_login(store, peer, now).await?;
    let event = Event::new(
        AuditKind::SecondFactorProven,
        now,
        Actor::User,
        "second factor proven",
    )
    .user(&user.id)
    .client(client_id)
    .ip(peer);
    audit::record(store, event).await;
    Ok(Ok(()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::identity::users::{self, NewUser};
    use crate::store::Store;

    fn counts(attempts: i64, failures: i64) -> Counts {
        Counts { attempts, failures }
    }

    #[test]
    fn slows_after_failures_and_refuses_past_the_limit() {
        for n in 0..FREE_FAILURES {
            assert_eq!(verdict(counts(n + 1, n)), Verdict::Wait(Duration::ZERO), "{n}");
        }
        assert!(matches!(verdict(counts(6, FREE_FAILURES)), Verdict::Wait(d) if d > Duration::ZERO));
        assert!(matches!(verdict(counts(BLOCK_AFTER, BLOCK_AFTER - 1)), Verdict::Wait(d) if d == MAX_DELAY));
        assert_eq!(
            verdict(counts(BLOCK_AFTER + 1, 0)),
            Verdict::Refuse,
            "in flight counts too"
        );
        assert_eq!(
            verdict(counts(40, 0)),
            Verdict::Wait(Duration::ZERO),
            "many good logins at once are not slowed"
        );
    }

    #[test]
    fn buckets_group_ipv6_by_64() {
        let a: IpAddr = "2001:db8:1:2:aaaa::1".parse().unwrap();
        let b: IpAddr = "2001:db8:1:2:bbbb::2".parse().unwrap();
        let c: IpAddr = "2001:db8:1:3::1".parse().unwrap();
        assert_eq!(bucket("login", a), bucket("login", b));
        assert_ne!(bucket("login", a), bucket("login", c));
        let mapped: IpAddr = "::ffff:10.0.0.1".parse().unwrap();
        assert_eq!(bucket("login", mapped), "login:10.0.0.1");
        assert_ne!(bucket("login", mapped), bucket("register", mapped));
    }

    async fn store() -> Store {
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::SeqCst);
        let dir = std::env::temp_dir().join(format!("tessera-guard-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Store::open(&format!("sqlite://{}/t.db", dir.display()))
            .await
            .unwrap()
    }

    const PASSWORD: &str = "a long enough passphrase";

    /// Each account state and secret, and what the guard answers: every
    /// refusal is the same [`GuardError::BadCredentials`].
    #[tokio::test]
    async fn one_answer_for_every_refusal_and_the_user_for_the_right_password() {
        let store = store().await;
        let made = |username: &str, password: Option<&str>| NewUser {
            username: username.into(),
            password: password.map(|p| Zeroizing::new(p.to_owned())),
            ..NewUser::default()
        };
        let ann = users::create(&store, made("ann", Some(PASSWORD)), 1)
            .await
            .unwrap();
        let dis = users::create(&store, made("dis", Some(PASSWORD)), 1)
            .await
            .unwrap();
        users::set_disabled(&store, &dis.id, true, 1).await.unwrap();
        let fed = users::create(&store, made("fed", None), 1).await.unwrap();
        users::link(&store, &fed.id, "p", "fed", 1).await.unwrap();
        let lok = users::create(&store, made("lok", Some(PASSWORD)), 1)
            .await
            .unwrap();
        for _ in 0..LOCK_THRESHOLD {
            store
                .reserve_login(&lok.id, 2, LOCK_THRESHOLD, 1_000)
                .await
                .unwrap();
        }
        let attempt = Attempt {
            now: 3,
            peer: None,
            client_id: "c",
            device: None,
        };
        let cases = [
            ("right password", "ANN", PASSWORD, Some(&ann.id)),
            ("wrong password", "ann", "not the passphrase", None),
            ("unknown user", "nobody", PASSWORD, None),
            ("disabled user", "dis", PASSWORD, None),
            ("no password (upstream account)", "fed", PASSWORD, None),
            ("locked account, right password", "lok", PASSWORD, None),
        ];
        for (what, username, password, expected) in cases {
            let got = check_password(&store, &attempt, username, Zeroizing::new(password.into())).await;
            match (got, expected) {
                (Ok(user), Some(id)) => assert_eq!(&user.id, id, "{what}"),
                (Err(GuardError::BadCredentials), None) => {}
                (got, _) => panic!("{what}: {got:?}"),
            }
        }
        // The wrong password counted against ann; a success clears it;
        // enabling lets dis in again.
        assert_eq!(users::get(&store, &ann.id).await.unwrap().failed_logins, 1);
        check_password(&store, &attempt, "ann", Zeroizing::new(PASSWORD.into()))
            .await
            .unwrap();
        assert_eq!(users::get(&store, &ann.id).await.unwrap().failed_logins, 0);
        users::set_disabled(&store, &dis.id, false, 4).await.unwrap();
        let back = check_password(&store, &attempt, "dis", Zeroizing::new(PASSWORD.into())).await;
        assert!(back.is_ok(), "{back:?}");
    }

    /// Past the address's limit the guard refuses without checking.
    #[tokio::test]
    async fn an_address_past_its_limit_is_refused_before_any_check() {
        let store = store().await;
        let peer: IpAddr = "192.0.2.7".parse().unwrap();
        for _ in 0..=BLOCK_AFTER {
            store
                .reserve_attempt(&bucket("login", peer), 1, WINDOW_SECS)
                .await
                .unwrap();
        }
        let attempt = Attempt {
            now: 2,
            peer: Some(peer),
            client_id: "c",
            device: None,
        };
        let got = check_password(&store, &attempt, "ann", Zeroizing::new(PASSWORD.into())).await;
        assert!(matches!(got, Err(GuardError::TooManyAttempts)), "{got:?}");
    }
}
