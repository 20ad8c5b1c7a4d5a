//! Test fixtures for the library's unit tests: an in-memory store and one
//! function per entity (client, user, authorization code, the signers),
//! so a change in an entity's shape is adapted here, once, not in every
//! table test.
//!
//! Everything runs without a socket: the store is
//! [`crate::store::SQLITE_MEMORY`], a fresh migrated database per call.

use std::sync::OnceLock;

use tessera_jwt::{Algorithm, Signer, SigningKey};

use crate::domain::{ClientCredentials, SecretMethod};
use crate::oauth::client_auth::{self, hash_secret, AuthenticatedClient, CallingClient, PublicClients};
use crate::oauth::grant::GrantType;
use crate::oauth::user_tokens::Issue;
use crate::oauth::{Params, Scope};
use crate::store::{AuthorizationCode, Client, ClientStore, CodeStore, Store, User, UserStore};

/// The issuer of every fixture token.
pub const ISSUER: &str = "https://id.example";
/// "Now" in the fixtures (seconds since the epoch).
pub const NOW: i64 = 1_700_000_000;
/// How long a refresh family lives in the fixtures.
pub const FAMILY_LIFETIME: i64 = 90 * 24 * 3600;

/// Whom client assertions are for in the fixtures: [`ISSUER`], at [`NOW`].
pub fn audience() -> client_auth::Audience<'static> {
    client_auth::Audience {
        issuer: ISSUER,
        now: NOW,
        clients: &crate::clients::directory::STORE_ONLY,
    }
}

/// A fresh, migrated, in-memory store of its own.
pub async fn store() -> Store {
    Store::open(crate::store::SQLITE_MEMORY).await.unwrap()
}

/// A client registered for `grants` and `scopes` (space-separated), with
/// `secret` (confidential) or without (public), audiences `api`.
pub fn client(id: &str, secret: Option<&str>, grants: &[GrantType], scopes: &str) -> Client {
    Client {
        id: id.into(),
        name: format!("{id} app"),
        credentials: match secret {
            Some(secret) => ClientCredentials::Secret {
                hash: hash_secret(secret),
                method: SecretMethod::Either,
            },
            None => ClientCredentials::None,
        },
        grant_types: grants.to_vec(),
        scopes: Scope::from_tokens(scopes.split_ascii_whitespace()),
        audiences: vec!["api".into()],
        redirect_uris: vec!["https://app.example/cb".into()],
        access_token_ttl: 600,
        created_at: 1,
        refresh_cookie: false,
        first_party: false,
        post_logout_redirect_uris: vec![],
        resource_server_for: vec![],
        require_par: false,
        dpop_bound: false,
        require_mfa: false,
        admin: false,
        provenance: crate::domain::Provenance::Operator,
    }
}

/// Stores `client` and returns it as client authentication sees it, with
/// `secret` (`None` for a public client).
pub async fn registered(store: &Store, client: &Client, secret: Option<&str>) -> CallingClient {
    store.create_client(client).await.unwrap();
    authenticated(store, &client.id, secret).await
}

/// Stores the confidential `client` and returns the proof that it
/// authenticated with `secret`.
pub async fn proved(store: &Store, client: &Client, secret: &str) -> AuthenticatedClient {
    store.create_client(client).await.unwrap();
    let mut params = Params::from_pairs([
        ("client_id", Some(client.id.as_str())),
        ("client_secret", Some(secret)),
    ]);
    client_auth::authenticate(store, None, &mut params, audience())
        .await
        .unwrap()
}

/// `client_id` authenticated with `secret` (or identified, when public).
pub async fn authenticated(store: &Store, client_id: &str, secret: Option<&str>) -> CallingClient {
    let mut params = Params::from_pairs([("client_id", Some(client_id)), ("client_secret", secret)]);
    client_auth::identify(store, None, &mut params, PublicClients::Allowed, audience())
        .await
        .unwrap()
}

/// A user with `password` (argon2id of the server's costs).
pub fn user(id: &str, username: &str, password: &str) -> User {
    User {
        id: id.into(),
        username: username.into(),
        email: Some(format!("{username}@example.com")),
        email_verified: true,
        name: Some(format!("{username} example")),
        roles: vec![],
        credentials: vec![crate::domain::credential::Credential::password(
            id,
            crate::domain::credential::PasswordHash::new(password_hash(password)).unwrap(),
            1,
        )],
        created_at: 1,
        failed_logins: 0,
        locked_until: None,
        disabled_at: None,
        require_mfa: false,
    }
}

/// The argon2id hash of `password`, made once per password (hashing at
/// the server's costs takes a while in a debug build).
fn password_hash(password: &str) -> String {
    static HASHES: OnceLock<std::sync::Mutex<std::collections::HashMap<String, String>>> = OnceLock::new();
    let mut hashes = HASHES.get_or_init(Default::default).lock().unwrap();
    hashes
        .entry(password.to_owned())
        .or_insert_with(|| crate::password::hash_blocking(password).unwrap())
        .clone()
}

/// Stores `user`.
pub async fn add_user(store: &Store, user: &User) {
    store.create_user(user).await.unwrap();
}

/// Disables the user `id` (an administrator's act).
pub async fn disable(store: &Store, id: &str) {
    assert!(store.set_disabled(id, true, NOW).await.unwrap());
}

/// An authorization code `code` issued to `client_id` for `user_id`, for
/// `https://app.example/cb`, with `scope`, expiring 60 s after [`NOW`],
/// without PKCE.
pub fn code(code: &str, client_id: &str, user_id: &str, scope: &str) -> AuthorizationCode {
    AuthorizationCode {
        code_hash: hash_secret(code),
        client_id: client_id.into(),
        user_id: user_id.into(),
        redirect_uri: "https://app.example/cb".into(),
        scope: Scope::from_tokens(scope.split_ascii_whitespace()),
        nonce: Some("n-0S6_WzA2Mj".into()),
        code_challenge: None,
        auth_time: NOW - 5,
        sid: "sid-1".into(),
        expires_at: NOW + 60,
        amr: crate::domain::Amr::of([crate::domain::Method::Password]),
        resources: crate::domain::Resources::default(),
        dpop_jkt: None,
    }
}

/// Stores `code`.
pub async fn add_code(store: &Store, code: &AuthorizationCode) {
    store.insert_code(code).await.unwrap();
}

/// The access-token signer (ES256, made once: cheap to sign with).
pub fn signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| Signer::new(SigningKey::generate(Algorithm::ES256).unwrap(), Some("at+jwt")))
}

/// The ID-token signer (RS256, made once).
pub fn id_signer() -> &'static Signer {
    static SIGNER: OnceLock<Signer> = OnceLock::new();
    SIGNER.get_or_init(|| Signer::new(SigningKey::generate(Algorithm::RS256).unwrap(), Some("JWT")))
}

/// What issuing needs, at `now`, from no known address.
pub fn issue(now: i64) -> Issue<'static> {
    Issue {
        issuer: ISSUER,
        signer: signer(),
        now,
        peer: None,
        family_lifetime: FAMILY_LIFETIME,
        clients: &crate::clients::directory::STORE_ONLY,
        dpop: None,
    }
}

/// A token request's form fields.
pub fn params(form: &str) -> Params {
    Params::parse(form.as_bytes()).unwrap()
}

/// A master key (made once).
pub fn master_key() -> &'static crate::keys::MasterKey {
    static MASTER: OnceLock<crate::keys::MasterKey> = OnceLock::new();
    MASTER.get_or_init(|| crate::keys::MasterKey::generate().unwrap().0)
}

/// The server's keys in `store` for access tokens signed with `token_alg`,
/// created on first use, as at a first start.
pub async fn key_ring(store: &Store, token_alg: Algorithm) -> crate::keys::KeyRing {
    crate::keys::load_or_create(store, master_key(), token_alg, NOW)
        .await
        .unwrap()
}
