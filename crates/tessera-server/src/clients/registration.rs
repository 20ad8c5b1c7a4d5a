//! Client registration: what a registrant supplies ([`NewClient`], the
//! client metadata of [RFC 7591 §2]), the rules it must meet, and
//! [`register`], the one place a [`Client`] is built. The CLI (`tessera
//! client create`) and the demo seed call it; an admin API or dynamic
//! registration ([RFC 7591 §3], `oauth::dynamic_registration`) does too.
//!
//! The rules, in the order they are checked (each a [`RegistrationError`]):
//!
//! 1. At least one grant type; a public client cannot use
//!    `client_credentials` ([RFC 6749 §4.4]: "The client credentials grant
//!    type MUST only be used by confidential clients").
//! 2. Redirect and post-logout redirect URIs: absolute, no fragment
//!    ([RFC 6749 §3.1.2]), https or loopback http ([RFC 9700 §2.1],
//!    [RFC 8252 §7.3]) or a native app's private-use scheme ([RFC 8252 §7.1]).
//! 3. Audiences and resource-server audiences are single words (as in
//!    `aud`); only a confidential client may be a resource server
//!    (introspection authenticates its caller, [RFC 7662 §2.1]).
//! 4. The code grant needs a redirect URI ([RFC 6749 §3.1.2.2]).
//! 5. The authentication method fits the client type: a secret method for a
//!    confidential client with a secret, `none` for a public one,
//!    `private_key_jwt` for one with keys ([RFC 7591 §2]).
//! 6. The access-token lifetime is between 1 s and a day.
//! 7. `refresh_token` comes with a grant that signs a person in (the code
//!    or password grant): nothing else is ever refreshed ([RFC 6749 §1.5]).
//! 8. First-party (no consent, first-party claims) applies to a client that
//!    signs people in; the refresh cookie is for the password grant's
//!    `/api/v1/login`.
//! 9. Browser origins (CORS) are origins: `scheme://host[:port]`.
//! 10. A client the operator did not register ([`Provenance::is_vetted`]
//!     false: it registered itself, [RFC 7591 §3]) is a third party: never
//!     first-party, never a resource server, no password grant (which
//!     counts as first-party), no refresh cookie, no browser origins and no
//!     audiences of its own. Its users consent to what it asks, and only
//!     with that consent does it get `offline_access`.
//! 11. An administrator's client (`admin`) uses `client_credentials` (so
//!     it is confidential): the admin role is carried by its own tokens
//!     only; [`ADMIN_AUDIENCE`] is added to its audiences.
//!
//! [`register_dynamic`] and [`replace_dynamic`] build and store the
//! clients of dynamic registration ([RFC 7591], [RFC 7592]), with the
//! same rules.
//!
//! [RFC 7591]: https://www.rfc-editor.org/rfc/rfc7591
//! [RFC 7592]: https://www.rfc-editor.org/rfc/rfc7592
//! [RFC 7591 §2]: https://www.rfc-editor.org/rfc/rfc7591#section-2
//! [RFC 7591 §3]: https://www.rfc-editor.org/rfc/rfc7591#section-3
//! [RFC 6749 §1.5]: https://www.rfc-editor.org/rfc/rfc6749#section-1.5
//! [RFC 6749 §3.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2
//! [RFC 6749 §3.1.2.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2.2
//! [RFC 6749 §4.4]: https://www.rfc-editor.org/rfc/rfc6749#section-4.4
//! [RFC 7662 §2.1]: https://www.rfc-editor.org/rfc/rfc7662#section-2.1
//! [RFC 8252 §7.1]: https://www.rfc-editor.org/rfc/rfc8252#section-7.1
//! [RFC 8252 §7.3]: https://www.rfc-editor.org/rfc/rfc8252#section-7.3
//! [RFC 9700 §2.1]: https://www.rfc-editor.org/rfc/rfc9700#section-2.1

use crate::audit::{self, Actor, AuditKind, Event};
use zeroize::Zeroizing;

use super::authentication::hash_secret;
use crate::domain::{
    AuthMethod, Client, ClientCredentials, ClientKeys, GrantType, Provenance, Scope, SecretMethod,
    ADMIN_AUDIENCE,
};
use crate::store::{ClientStore, Conditional, RegistrationStore, StoreError, VersionStore};

/// The two client types of [RFC 6749 §2.1].
///
/// [RFC 6749 §2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.1
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClientType {
    /// Can keep a secret (a server-side app, a service).
    Confidential,
    /// Cannot (a browser or mobile app): identified by its id alone.
    Public,
}

/// What a registrant supplies: no id, secret or creation time (the server
/// assigns those).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewClient {
    /// Display name (shown on consent pages).
    pub name: String,
    /// Confidential or public.
    pub client_type: ClientType,
    /// The token endpoint authentication method, if the registrant names
    /// one: for a confidential client with a secret, `None` allows both
    /// secret methods.
    pub auth_method: Option<AuthMethod>,
    /// The keys of a confidential client that authenticates with
    /// `private_key_jwt` (it gets no secret).
    pub keys: Option<ClientKeys>,
    /// Grant types it may use.
    pub grant_types: Vec<GrantType>,
    /// Scopes it may request.
    pub scopes: Scope,
    /// Audiences its access tokens may name.
    pub audiences: Vec<String>,
    /// Redirect URIs for the code grant.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the user back to.
    pub post_logout_redirect_uris: Vec<String>,
    /// The audiences (APIs) it is the resource server for (may introspect
    /// their tokens).
    pub resource_server_for: Vec<String>,
    /// Browser origins allowed to call the API for it (CORS).
    pub origins: Vec<String>,
    /// Access token lifetime in seconds.
    pub access_token_ttl: i64,
    /// Whether `/api/v1/login` puts its refresh token in a cookie.
    pub refresh_cookie: bool,
    /// The operator's own app.
    pub first_party: bool,
    /// Its authorization requests must be pushed (RFC 9126 §6).
    pub require_par: bool,
    /// Its tokens must be DPoP-bound (RFC 9449).
    pub dpop_bound: bool,
    /// Its users must sign in with a second factor (two factors are an
    /// essential level of its every authorization request; the password
    /// grant refuses a user without one).
    pub require_mfa: bool,
    /// An administrator's client: its client-credentials tokens carry the
    /// admin role, and [`ADMIN_AUDIENCE`] is added to its audiences.
    pub admin: bool,
    /// Who registers it.
    pub provenance: Provenance,
}

impl NewClient {
    /// A confidential `client_credentials` client named `name`, with
    /// nothing else registered: the start of most registrations.
    pub fn new(name: &str, access_token_ttl: i64) -> NewClient {
        NewClient {
            name: name.to_owned(),
            client_type: ClientType::Confidential,
            auth_method: None,
            keys: None,
            grant_types: vec![GrantType::ClientCredentials],
            scopes: Scope::default(),
            audiences: vec![],
            redirect_uris: vec![],
            post_logout_redirect_uris: vec![],
            resource_server_for: vec![],
            origins: vec![],
            access_token_ttl,
            refresh_cookie: false,
            first_party: false,
            require_par: false,
            dpop_bound: false,
            require_mfa: false,
            admin: false,
            provenance: Provenance::Operator,
        }
    }
}

/// A registered client, and its secret: shown once, never stored.
#[derive(Debug)]
pub struct Registered {
    /// The client as stored.
    pub client: Client,
    /// The secret, for a client registered with one.
    pub secret: Option<Zeroizing<String>>,
}

/// A client that registered itself ([`register_dynamic`]), and its
/// registration access token ([RFC 7592 §3]): shown once, stored as its
/// SHA-256.
///
/// [RFC 7592 §3]: https://www.rfc-editor.org/rfc/rfc7592#section-3
#[derive(Debug)]
pub struct SelfRegistered {
    /// The client and its secret.
    pub registered: Registered,
    /// Its registration access token.
    pub registration_access_token: Zeroizing<String>,
}

/// Why a redirect URI cannot be registered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RedirectUriError {
    /// Not an absolute URI (RFC 6749 §3.1.2).
    #[error("must be an absolute URI (RFC 6749 §3.1.2)")]
    NotAbsolute,
    /// It has a fragment (RFC 6749 §3.1.2).
    #[error("must not have a fragment (RFC 6749 §3.1.2)")]
    Fragment,
    /// Plain http to a host other than loopback: the code would cross the
    /// network unencrypted (RFC 9700 §2.1, §4.1).
    #[error(
        "plain http is allowed only to a loopback host (127.0.0.1, [::1] or localhost, RFC 8252 §7.3); use https (RFC 9700 §2.1)"
    )]
    PlainHttp,
    /// Neither https, loopback http, nor a private-use scheme named after
    /// a domain (`javascript:`, `data:`, `file:`, `myapp:` ...).
    #[error(
        "use https, http to a loopback host, or a native app's private-use scheme named after a domain it controls, like com.example.app:/cb (RFC 8252 §7.1)"
    )]
    Scheme,
}

/// Why a client cannot be registered as asked.
#[derive(Debug, thiserror::Error)]
pub enum RegistrationError {
    /// No grant type at all.
    #[error("a client needs at least one grant type")]
    NoGrantTypes,
    /// A public client asked for `client_credentials` (RFC 6749 §4.4).
    #[error("a public client cannot use client_credentials (RFC 6749 §4.4)")]
    PublicClientCredentials,
    /// A redirect URI that may not be registered.
    #[error("redirect URI {uri:?}: {reason}")]
    RedirectUri {
        /// The URI.
        uri: String,
        /// What is wrong with it.
        reason: RedirectUriError,
    },
    /// A post-logout redirect URI that may not be registered.
    #[error("post-logout redirect URI {uri:?}: {reason}")]
    PostLogoutRedirectUri {
        /// The URI.
        uri: String,
        /// What is wrong with it.
        reason: RedirectUriError,
    },
    /// A public client cannot be a resource server: introspection
    /// authenticates its caller (RFC 7662 §2.1).
    #[error("a resource server needs a confidential client: introspection authenticates its caller (RFC 7662 §2.1)")]
    PublicResourceServer,
    /// A resource-server audience that is not one non-empty word.
    #[error("resource server audience {0:?}: an audience is one non-empty word")]
    ResourceServerAudience(String),
    /// An audience that is not one non-empty word.
    #[error("audience {0:?}: an audience is one non-empty word")]
    Audience(String),
    /// The code grant without a redirect URI (RFC 6749 §3.1.2.2).
    #[error("the authorization_code grant needs at least one redirect URI")]
    CodeWithoutRedirectUri,
    /// An authentication method that does not fit the client type.
    #[error("auth method {method:?} does not fit a {client_type:?} client")]
    AuthMethodMismatch {
        /// The method asked for.
        method: AuthMethod,
        /// The client's type.
        client_type: ClientType,
    },
    /// Keys for a public client, which proves nothing.
    #[error("a public client has no keys")]
    KeysForPublicClient,
    /// `private_key_jwt` without keys to check the JWT with.
    #[error("private_key_jwt needs keys (jwks or jwks_uri)")]
    PrivateKeyJwtWithoutKeys,
    /// An inline JWK Set that is not one (RFC 7517 §5).
    #[error("jwks must be a JWK Set: a JSON object with a non-empty \"keys\" array (RFC 7517 §5)")]
    MalformedJwks,
    /// A `jwks_uri` that is not https (or loopback http).
    #[error("jwks_uri {0:?} must be an https URL")]
    JwksUri(String),
    /// An access-token lifetime out of range.
    #[error(
        "the access-token lifetime must be between 1 and {} seconds",
        crate::config::MAX_ACCESS_TOKEN_TTL
    )]
    AccessTokenTtl(i64),
    /// `refresh_token` without a grant that signs a person in.
    #[error("the refresh_token grant needs the authorization_code or password grant (RFC 6749 §1.5)")]
    RefreshWithoutUserGrant,
    /// First-party without a grant that signs a person in.
    #[error("a first-party client needs the authorization_code or password grant")]
    FirstPartyWithoutUserGrant,
    /// The refresh cookie without the password grant.
    #[error("the refresh cookie needs the password grant (/api/v1/login)")]
    RefreshCookieWithoutPassword,
    /// A browser origin that is not one.
    #[error("{0:?} is not an origin like https://app.example")]
    Origin(String),
    /// A client the operator did not register asked for what only the
    /// operator's may have (rule 10).
    #[error("a client that registered itself cannot {0}")]
    Unvetted(&'static str),
    /// An administrator's client without `client_credentials` (rule 11).
    #[error("an administrator's client (--admin) needs the client_credentials grant")]
    AdminWithoutClientCredentials,
    /// The self-registered client to replace is gone.
    #[error("the client is not registered")]
    Gone,
    /// A chosen client id that is empty or not printable ASCII.
    #[error("client id {0:?}: use printable ASCII without spaces")]
    Id(String),
    /// The id is taken.
    #[error("client id {0:?} is taken")]
    IdTaken(String),
    /// A client known by its metadata document asked for a secret.
    #[error("a client described by a metadata document cannot have a secret: use none or private_key_jwt")]
    SecretForDescribedClient,
    /// The system's random number generator failed.
    #[error("no randomness available")]
    NoRandomness,
    /// Storage failed.
    #[error("storage failure: {0}")]
    Store(StoreError),
}

/// Whether `uri` may be registered as a redirect URI (also used for
/// post-logout redirect URIs).
///
/// - An absolute URI without a fragment ([RFC 6749 §3.1.2]).
/// - `https`, always.
/// - `http` only to a loopback host, `127.0.0.1` (any of 127/8), `[::1]`
///   or `localhost`: a native app's loopback redirect ([RFC 8252 §7.3]);
///   anywhere else the code and the browser's request would cross the
///   network in clear ([RFC 9700 §2.1] and §4.1, which ask for TLS on every
///   redirect URI but the loopback one).
/// - A native app's private-use scheme ([RFC 8252 §7.1]), which must be a
///   reverse domain name the app controls, so it has a dot:
///   `com.example.app:/cb`. That also refuses `javascript:`, `data:`,
///   `file:` and other schemes a browser would not hand to an app.
///
/// [RFC 6749 §3.1.2]: https://www.rfc-editor.org/rfc/rfc6749#section-3.1.2
/// [RFC 8252 §7.1]: https://www.rfc-editor.org/rfc/rfc8252#section-7.1
/// [RFC 8252 §7.3]: https://www.rfc-editor.org/rfc/rfc8252#section-7.3
/// [RFC 9700 §2.1]: https://www.rfc-editor.org/rfc/rfc9700#section-2.1
pub fn redirect_uri_allowed(uri: &str) -> Result<(), RedirectUriError> {
    let parsed = url::Url::parse(uri).map_err(|_| RedirectUriError::NotAbsolute)?;
    if uri.contains('#') {
        return Err(RedirectUriError::Fragment);
    }
    match parsed.scheme() {
        "https" | "http" if crate::config::secure_transport(uri) => Ok(()),
        "http" => Err(RedirectUriError::PlainHttp),
        scheme if scheme.contains('.') => Ok(()),
        _ => Err(RedirectUriError::Scheme),
    }
}

/// Whether `word` may be an audience: one non-empty word, as in `aud`
/// (lists of them are stored space-separated).
fn is_word(word: &str) -> bool {
    !word.is_empty() && !word.chars().any(char::is_whitespace)
}

/// Checks an inline JWK Set ([RFC 7517 §5]): it loads, and holds at least
/// one asymmetric signature key (the only kind `private_key_jwt` uses).
/// A `jwks_uri` must be https (or loopback http).
///
/// [RFC 7517 §5]: https://www.rfc-editor.org/rfc/rfc7517#section-5
fn check_keys(keys: &ClientKeys) -> Result<(), RegistrationError> {
    match keys {
        ClientKeys::Jwks(text) => {
            let keys = tessera_jwt::KeySet::from_jwks_json(text.as_bytes())
                .map_err(|_| RegistrationError::MalformedJwks)?;
            if keys.keys().iter().any(|k| !k.algorithm().is_symmetric()) {
                Ok(())
            } else {
                Err(RegistrationError::MalformedJwks)
            }
        }
        ClientKeys::JwksUri(uri) if jwks_uri_allowed(uri) => Ok(()),
        ClientKeys::JwksUri(uri) => Err(RegistrationError::JwksUri(uri.clone())),
    }
}

/// A `jwks_uri`: https (or http to a loopback host) with a host, no
/// credentials and no fragment. Whether a loopback or private host may be
/// fetched is `client_metadata_allow_hosts`' to say, when it is fetched
/// ([`super::outbound`]).
fn jwks_uri_allowed(uri: &str) -> bool {
    let Ok(url) = url::Url::parse(uri) else {
        return false;
    };
    crate::config::secure_transport(uri)
        && url.host_str().is_some_and(|h| !h.is_empty())
        && url.username().is_empty()
        && url.password().is_none()
        && url.fragment().is_none()
}

/// How the client will prove itself, from its type, method and keys
/// (rule 5); `Secret` gets its hash once the secret is drawn.
#[derive(Debug, PartialEq, Eq)]
enum Proof {
    Secret(SecretMethod),
    Keys(ClientKeys),
    None,
}

fn proof(new: &NewClient) -> Result<Proof, RegistrationError> {
    let mismatch = |method| RegistrationError::AuthMethodMismatch {
        method,
        client_type: new.client_type,
    };
    match (new.client_type, new.auth_method, &new.keys) {
        (ClientType::Public, _, Some(_)) => Err(RegistrationError::KeysForPublicClient),
        (ClientType::Public, None | Some(AuthMethod::None), None) => Ok(Proof::None),
        (ClientType::Public, Some(other), None) => Err(mismatch(other)),
        (ClientType::Confidential, None | Some(AuthMethod::PrivateKeyJwt), Some(keys)) => {
            check_keys(keys)?;
            Ok(Proof::Keys(keys.clone()))
        }
        (ClientType::Confidential, Some(other), Some(_)) => Err(mismatch(other)),
        (ClientType::Confidential, Some(AuthMethod::PrivateKeyJwt), None) => {
            Err(RegistrationError::PrivateKeyJwtWithoutKeys)
        }
        (ClientType::Confidential, None, None) => Ok(Proof::Secret(SecretMethod::Either)),
        (ClientType::Confidential, Some(method), None) => SecretMethod::from_auth_method(method)
            .map(Proof::Secret)
            .ok_or_else(|| mismatch(method)),
    }
}

/// Checks every rule but the id's, without storing anything: a caller
/// that must not touch the database on bad input (the CLI) asks first.
pub fn validate(new: &NewClient) -> Result<(), RegistrationError> {
    check(new).map(|_| ())
}

/// Every rule but the id's; how the client will prove itself.
fn check(new: &NewClient) -> Result<Proof, RegistrationError> {
    let public = new.client_type == ClientType::Public;
    let has = |g: GrantType| new.grant_types.contains(&g);
    // 1.
    if new.grant_types.is_empty() {
        return Err(RegistrationError::NoGrantTypes);
    }
    if public && has(GrantType::ClientCredentials) {
        return Err(RegistrationError::PublicClientCredentials);
    }
    // 2. RFC 9700 §2.1: the code flow needs registered redirect URIs,
    // compared exactly; each must be one a browser may be sent to.
    for uri in &new.redirect_uris {
        redirect_uri_allowed(uri).map_err(|reason| RegistrationError::RedirectUri {
            uri: uri.clone(),
            reason,
        })?;
    }
    for uri in &new.post_logout_redirect_uris {
        redirect_uri_allowed(uri).map_err(|reason| RegistrationError::PostLogoutRedirectUri {
            uri: uri.clone(),
            reason,
        })?;
    }
    // 3.
    if public && !new.resource_server_for.is_empty() {
        return Err(RegistrationError::PublicResourceServer);
    }
    if let Some(aud) = new.resource_server_for.iter().find(|a| !is_word(a)) {
        return Err(RegistrationError::ResourceServerAudience(aud.clone()));
    }
    if let Some(aud) = new.audiences.iter().find(|a| !is_word(a)) {
        return Err(RegistrationError::Audience(aud.clone()));
    }
    // 4.
    if has(GrantType::AuthorizationCode) && new.redirect_uris.is_empty() {
        return Err(RegistrationError::CodeWithoutRedirectUri);
    }
    // 5.
    let proof = proof(new)?;
    // 6.
    if new.access_token_ttl <= 0 || new.access_token_ttl > crate::config::MAX_ACCESS_TOKEN_TTL {
        return Err(RegistrationError::AccessTokenTtl(new.access_token_ttl));
    }
    // 7.
    let signs_people_in = new.grant_types.iter().any(|g| g.is_user_grant());
    if has(GrantType::RefreshToken) && !signs_people_in {
        return Err(RegistrationError::RefreshWithoutUserGrant);
    }
    // 8.
    if new.first_party && !signs_people_in {
        return Err(RegistrationError::FirstPartyWithoutUserGrant);
    }
    if new.refresh_cookie && !has(GrantType::Password) {
        return Err(RegistrationError::RefreshCookieWithoutPassword);
    }
    // 9.
    if let Some(origin) = new.origins.iter().find(|o| !crate::config::is_origin(o)) {
        return Err(RegistrationError::Origin(origin.clone()));
    }
    // 10.
    if !new.provenance.is_vetted() {
        let refused = [
            (new.first_party, "be first-party"),
            (!new.resource_server_for.is_empty(), "be a resource server"),
            (has(GrantType::Password), "use the password grant"),
            (new.refresh_cookie, "have a refresh cookie"),
            (!new.origins.is_empty(), "register browser origins"),
            (!new.audiences.is_empty(), "register audiences"),
            (new.admin, "be an administrator's client"),
        ];
        if let Some((_, what)) = refused.into_iter().find(|(broken, _)| *broken) {
            return Err(RegistrationError::Unvetted(what));
        }
    }
    // 11.
    if new.admin && !has(GrantType::ClientCredentials) {
        return Err(RegistrationError::AdminWithoutClientCredentials);
    }
    Ok(proof)
}

fn random(bytes: usize) -> Result<String, RegistrationError> {
    crate::random::base64url(bytes).ok_or(RegistrationError::NoRandomness)
}

/// Registers a client under a new random id: checks `new`, draws a
/// 256-bit secret if it authenticates with one, and stores the client and
/// its origins in one transaction.
pub async fn register<S: ClientStore>(
    store: &S,
    new: NewClient,
    now: i64,
) -> Result<Registered, RegistrationError> {
    let proof = check(&new)?;
    insert(store, new_id()?, new, proof, now).await
}

/// Registers a client under an id the caller chose (the demo seed's
/// well-known ids); [`RegistrationError::IdTaken`] if it exists.
pub async fn register_with_id<S: ClientStore>(
    store: &S,
    id: &str,
    new: NewClient,
    now: i64,
) -> Result<Registered, RegistrationError> {
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(RegistrationError::Id(id.to_owned()));
    }
    let proof = check(&new)?;
    insert(store, id.to_owned(), new, proof, now).await
}

/// Builds the client `id` from `new` and how it proves itself: a new
/// 256-bit secret for a secret client, unless `kept` holds the secret hash
/// it had (an update that keeps the secret, RFC 7592 §2.2).
fn build(
    id: String,
    new: NewClient,
    proof: Proof,
    kept: Option<&ClientCredentials>,
    created_at: i64,
) -> Result<(Registered, Vec<String>), RegistrationError> {
    // 256 bits: high entropy, so a fast hash (SHA-256) is the right store.
    let (credentials, secret) = match (proof, kept) {
        (Proof::Secret(method), Some(ClientCredentials::Secret { hash, .. })) => (
            ClientCredentials::Secret {
                hash: hash.clone(),
                method,
            },
            None,
        ),
        (Proof::Secret(method), _) => {
            let secret = Zeroizing::new(random(32)?);
            let hash = hash_secret(&secret);
            (ClientCredentials::Secret { hash, method }, Some(secret))
        }
        (Proof::Keys(keys), _) => (ClientCredentials::Keys { keys }, None),
        (Proof::None, _) => (ClientCredentials::None, None),
    };
    let mut audiences = new.audiences;
    if new.admin && !audiences.iter().any(|a| a == ADMIN_AUDIENCE) {
        audiences.push(ADMIN_AUDIENCE.to_owned());
    }
    let client = Client {
        id,
        name: new.name,
        credentials,
        grant_types: new.grant_types,
        scopes: new.scopes,
        audiences,
        redirect_uris: new.redirect_uris,
        access_token_ttl: new.access_token_ttl,
        created_at,
        refresh_cookie: new.refresh_cookie,
        first_party: new.first_party,
        require_par: new.require_par,
        dpop_bound: new.dpop_bound,
        require_mfa: new.require_mfa,
        admin: new.admin,
        provenance: new.provenance,
        post_logout_redirect_uris: new.post_logout_redirect_uris,
        resource_server_for: new.resource_server_for,
    };
    Ok((Registered { client, secret }, new.origins))
}

/// A client described rather than registered: one whose `client_id` is
/// the URL of its metadata document ([`super::metadata_document`]). The
/// same rules as [`register`], nothing stored; such a client proves itself
/// with keys or is public, never with a secret (there is nowhere to show
/// one), so [`RegistrationError::SecretForDescribedClient`] otherwise.
pub fn describe(id: &str, new: NewClient, now: i64) -> Result<Client, RegistrationError> {
    let proof = check(&new)?;
    if matches!(proof, Proof::Secret(_)) {
        return Err(RegistrationError::SecretForDescribedClient);
    }
    let (registered, _) = build(id.to_owned(), new, proof, None, now)?;
    Ok(registered.client)
}

async fn insert<S: ClientStore>(
    store: &S,
    id: String,
    new: NewClient,
    proof: Proof,
    now: i64,
) -> Result<Registered, RegistrationError> {
    let (registered, origins) = build(id, new, proof, None, now)?;
    match store
        .create_client_with_origins(&registered.client, &origins)
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(RegistrationError::IdTaken(registered.client.id)),
        Err(e) => return Err(RegistrationError::Store(e)),
    }
    tracing::info!(target: "audit", client_id = %registered.client.id, "client created");
    Ok(registered)
}

/// A new random client id (one that starts with '-' would read as a flag
/// in shell commands).
fn new_id() -> Result<String, RegistrationError> {
    let mut id = random(16)?;
    while !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        id = random(16)?;
    }
    Ok(id)
}

/// Registers a client that registered itself ([RFC 7591 §3]): every rule,
/// rule 10 included (its provenance is made [`Provenance::Dynamic`]
/// whatever `new` says); a new random id, a secret if it authenticates with
/// one, and a 256-bit registration access token ([RFC 7592 §3]), stored as
/// its SHA-256 with the client in one transaction.
///
/// [RFC 7591 §3]: https://www.rfc-editor.org/rfc/rfc7591#section-3
/// [RFC 7592 §3]: https://www.rfc-editor.org/rfc/rfc7592#section-3
pub async fn register_dynamic<S: RegistrationStore>(
    store: &S,
    new: NewClient,
    now: i64,
) -> Result<SelfRegistered, RegistrationError> {
    let new = NewClient {
        provenance: Provenance::Dynamic,
        ..new
    };
    let proof = check(&new)?;
    let (registered, _) = build(new_id()?, new, proof, None, now)?;
    let token = Zeroizing::new(random(32)?);
    match store
        .create_registered_client(&registered.client, &hash_secret(&token))
        .await
    {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => return Err(RegistrationError::IdTaken(registered.client.id)),
        Err(e) => return Err(RegistrationError::Store(e)),
    }
    let event = Event::new(
        AuditKind::ClientCreated,
        now,
        Actor::Client,
        "client registered itself",
    )
    .client(&registered.client.id)
    .with("provenance", "dynamic");
    audit::record(store, event).await;
    Ok(SelfRegistered {
        registered,
        registration_access_token: token,
    })
}

/// Replaces a self-registered client's registration with `new` ([RFC 7592
/// §2.2]): every rule again; same id, creation time and registration
/// access token; the same secret while it stays a secret client (a new one
/// when it becomes one). [`RegistrationError::Gone`] if it was deleted
/// meanwhile.
///
/// [RFC 7592 §2.2]: https://www.rfc-editor.org/rfc/rfc7592#section-2.2
pub async fn replace_dynamic<S: RegistrationStore>(
    store: &S,
    current: &Client,
    new: NewClient,
) -> Result<Registered, RegistrationError> {
    let new = NewClient {
        provenance: Provenance::Dynamic,
        ..new
    };
    let proof = check(&new)?;
    let (registered, _) = build(
        current.id.clone(),
        new,
        proof,
        Some(&current.credentials),
        current.created_at,
    )?;
    if !store
        .replace_registered_client(&registered.client)
        .await
        .map_err(RegistrationError::Store)?
    {
        return Err(RegistrationError::Gone);
    }
    tracing::info!(target: "audit", client_id = %registered.client.id, "self-registered client updated");
    Ok(registered)
}

/// What an operator-registered client is, as the [`NewClient`] it would
/// be registered from (its credentials' type and method, no origins): the
/// start of a change ([`replace_if`]).
pub fn as_new(c: &Client) -> NewClient {
    let (client_type, auth_method, keys) = match &c.credentials {
        ClientCredentials::Secret { method, .. } => (ClientType::Confidential, method.registered(), None),
        ClientCredentials::Keys { keys } => (
            ClientType::Confidential,
            Some(AuthMethod::PrivateKeyJwt),
            Some(keys.clone()),
        ),
        ClientCredentials::None => (ClientType::Public, None, None),
    };
    NewClient {
        name: c.name.clone(),
        client_type,
        auth_method,
        keys,
        grant_types: c.grant_types.clone(),
        scopes: c.scopes.clone(),
        audiences: c.audiences.clone(),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        resource_server_for: c.resource_server_for.clone(),
        origins: vec![],
        access_token_ttl: c.access_token_ttl,
        refresh_cookie: c.refresh_cookie,
        first_party: c.first_party,
        require_par: c.require_par,
        dpop_bound: c.dpop_bound,
        require_mfa: c.require_mfa,
        admin: c.admin,
        provenance: c.provenance,
    }
}

/// Replaces the registration of `current` with `new` (every rule again;
/// same id, creation time, provenance and secret), if the client's row
/// version is still `version`: one conditional write, so of two
/// administrators changing it with the same `ETag` exactly one does. The
/// client's type (public or confidential) and credentials are not changed
/// here.
pub async fn replace_if<S: ClientStore + VersionStore>(
    store: &S,
    current: &Client,
    new: NewClient,
    version: i64,
) -> Result<(Conditional, Client), RegistrationError> {
    let new = NewClient {
        provenance: current.provenance,
        ..new
    };
    let proof = check(&new)?;
    let (registered, _) = build(
        current.id.clone(),
        new,
        proof,
        Some(&current.credentials),
        current.created_at,
    )?;
    let done = store
        .replace_client_if(&registered.client, version)
        .await
        .map_err(RegistrationError::Store)?;
    Ok((done, registered.client))
}

/// What [`rotate_secret_if`] did.
#[derive(Debug)]
pub enum Rotated {
    /// The client has a new 256-bit secret (shown this once); the old one
    /// no longer works.
    Done(Zeroizing<String>),
    /// The client changed since `version`: nothing was done.
    Stale,
    /// The client has no secret (public, or `private_key_jwt`): there is
    /// nothing to rotate.
    NoSecret,
}

/// Gives the client `current` a new secret in place of its old one (the
/// same secret method), if its row version is still `version`. Only the
/// new secret's SHA-256 is stored; the old hash is overwritten in the same
/// statement, so the old secret stops working at once (on this node; other
/// nodes' client caches within `CACHE_TTL`).
pub async fn rotate_secret_if<S: ClientStore + VersionStore>(
    store: &S,
    current: &Client,
    version: i64,
) -> Result<Rotated, RegistrationError> {
    let ClientCredentials::Secret { method, .. } = &current.credentials else {
        return Ok(Rotated::NoSecret);
    };
    let secret = Zeroizing::new(random(32)?);
    let client = Client {
        credentials: ClientCredentials::Secret {
            hash: hash_secret(&secret),
            method: *method,
        },
        ..current.clone()
    };
    match store
        .replace_client_if(&client, version)
        .await
        .map_err(RegistrationError::Store)?
    {
        Conditional::Done => Ok(Rotated::Done(secret)),
        Conditional::Stale => Ok(Rotated::Stale),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rule 11: an administrator's client uses client_credentials, gets
    /// the admin API's audience, and a client that registered itself is
    /// never one (rule 10).
    #[test]
    fn an_admin_client_uses_client_credentials_and_names_the_admin_audience() {
        let mut admin = NewClient::new("ops", 600);
        admin.admin = true;
        admin.audiences = vec!["reports".into()];
        let proof = check(&admin).unwrap();
        let (registered, _) = build("ops".into(), admin.clone(), proof, None, 1).unwrap();
        assert!(registered.client.admin);
        assert_eq!(registered.client.audiences, ["reports", ADMIN_AUDIENCE]);
        let mut twice = admin.clone();
        twice.audiences = vec![ADMIN_AUDIENCE.into()];
        let proof = check(&twice).unwrap();
        let (registered, _) = build("ops".into(), twice, proof, None, 1).unwrap();
        assert_eq!(registered.client.audiences, [ADMIN_AUDIENCE]);

        let mut no_grant = admin.clone();
        no_grant.grant_types = vec![GrantType::AuthorizationCode];
        no_grant.redirect_uris = vec!["https://ops.example/cb".into()];
        assert!(matches!(
            check(&no_grant),
            Err(RegistrationError::AdminWithoutClientCredentials)
        ));
        let mut dynamic = admin;
        dynamic.audiences = vec![];
        dynamic.provenance = Provenance::Dynamic;
        assert!(matches!(check(&dynamic), Err(RegistrationError::Unvetted(_))));
    }

    /// Issue 17, item 10: plain http only to loopback (RFC 8252 §7.3, RFC
    /// 9700 §2.1), private-use schemes for native apps (RFC 8252 §7.1).
    #[test]
    fn redirect_uris_need_tls_unless_loopback_or_a_native_app() {
        use RedirectUriError::*;
        let table: &[(&str, Result<(), RedirectUriError>)] = &[
            ("https://photos.example/callback", Ok(())),
            ("https://photos.example:8443/cb?x=1", Ok(())),
            ("http://127.0.0.1:8080/cb", Ok(())),
            ("http://127.0.0.1/cb", Ok(())),
            ("http://[::1]:51004/cb", Ok(())),
            ("http://localhost:3000/cb", Ok(())),
            ("http://LOCALHOST/cb", Ok(())),
            ("com.example.app:/oauth2redirect", Ok(())),
            ("com.example.app://cb", Ok(())),
            ("http://photos.example/callback", Err(PlainHttp)),
            ("http://app.example/cb", Err(PlainHttp)),
            ("http://10.0.0.5/cb", Err(PlainHttp)),
            ("http://localhost.evil.example/cb", Err(PlainHttp)),
            ("http://127.0.0.1.evil.example/cb", Err(PlainHttp)),
            ("http://localhost@evil.example/cb", Err(PlainHttp)),
            ("http://[::ffff:10.0.0.1]/cb", Err(PlainHttp)),
            ("javascript:alert(1)", Err(Scheme)),
            ("data:text/html,hi", Err(Scheme)),
            ("file:///etc/passwd", Err(Scheme)),
            ("myapp://cb", Err(Scheme)),
            ("https://photos.example/cb#fragment", Err(Fragment)),
            ("/relative/cb", Err(NotAbsolute)),
            ("not a uri", Err(NotAbsolute)),
            ("", Err(NotAbsolute)),
        ];
        let wrong: Vec<_> = table
            .iter()
            .map(|(uri, expected)| (uri, redirect_uri_allowed(uri), expected))
            .filter(|(_, got, expected)| got != *expected)
            .collect();
        assert!(wrong.is_empty(), "(uri, got, expected): {wrong:#?}");
    }

    fn service() -> NewClient {
        NewClient::new("svc", 600)
    }

    fn web_app() -> NewClient {
        NewClient {
            grant_types: vec![GrantType::AuthorizationCode, GrantType::RefreshToken],
            redirect_uris: vec!["https://app.example/cb".into()],
            ..NewClient::new("web", 600)
        }
    }

    fn spa() -> NewClient {
        NewClient {
            client_type: ClientType::Public,
            grant_types: vec![GrantType::Password, GrantType::RefreshToken],
            ..NewClient::new("spa", 600)
        }
    }

    fn dynamic() -> NewClient {
        NewClient {
            provenance: Provenance::Dynamic,
            ..web_app()
        }
    }

    const JWKS: &str = r#"{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}"#;

    /// One row per rule: the registration, and the rule it breaks (the
    /// error's name) or `Ok` with how the client will prove itself.
    #[test]
    fn registration_rules() {
        let keys = |k: ClientKeys| NewClient {
            keys: Some(k),
            ..service()
        };
        let table: Vec<(&str, NewClient, Result<Proof, &str>)> = vec![
            // Accepted.
            ("a service", service(), Ok(Proof::Secret(SecretMethod::Either))),
            ("a web app", web_app(), Ok(Proof::Secret(SecretMethod::Either))),
            ("a public app", spa(), Ok(Proof::None)),
            (
                "public, none named",
                NewClient {
                    auth_method: Some(AuthMethod::None),
                    ..spa()
                },
                Ok(Proof::None),
            ),
            (
                "basic only",
                NewClient {
                    auth_method: Some(AuthMethod::ClientSecretBasic),
                    ..service()
                },
                Ok(Proof::Secret(SecretMethod::Basic)),
            ),
            (
                "post only",
                NewClient {
                    auth_method: Some(AuthMethod::ClientSecretPost),
                    ..service()
                },
                Ok(Proof::Secret(SecretMethod::Post)),
            ),
            (
                "inline keys",
                keys(ClientKeys::Jwks(JWKS.into())),
                Ok(Proof::Keys(ClientKeys::Jwks(JWKS.into()))),
            ),
            (
                "keys by URL",
                NewClient {
                    auth_method: Some(AuthMethod::PrivateKeyJwt),
                    ..keys(ClientKeys::JwksUri("https://svc.example/jwks".into()))
                },
                Ok(Proof::Keys(ClientKeys::JwksUri(
                    "https://svc.example/jwks".into(),
                ))),
            ),
            (
                "a native app",
                NewClient {
                    redirect_uris: vec!["com.example.app:/cb".into()],
                    grant_types: vec![GrantType::AuthorizationCode],
                    ..spa()
                },
                Ok(Proof::None),
            ),
            (
                "a loopback app",
                NewClient {
                    redirect_uris: vec!["http://127.0.0.1:8080/cb".into()],
                    ..web_app()
                },
                Ok(Proof::Secret(SecretMethod::Either)),
            ),
            (
                "post-logout https",
                NewClient {
                    post_logout_redirect_uris: vec!["https://app.example/bye".into()],
                    ..web_app()
                },
                Ok(Proof::Secret(SecretMethod::Either)),
            ),
            (
                "a resource server",
                NewClient {
                    resource_server_for: vec!["api".into()],
                    ..service()
                },
                Ok(Proof::Secret(SecretMethod::Either)),
            ),
            (
                "audiences",
                NewClient {
                    audiences: vec!["api".into(), "billing".into()],
                    ..service()
                },
                Ok(Proof::Secret(SecretMethod::Either)),
            ),
            (
                "first-party code app",
                NewClient {
                    first_party: true,
                    ..web_app()
                },
                Ok(Proof::Secret(SecretMethod::Either)),
            ),
            (
                "first-party password app",
                NewClient {
                    first_party: true,
                    ..spa()
                },
                Ok(Proof::None),
            ),
            (
                "refresh cookie",
                NewClient {
                    refresh_cookie: true,
                    ..spa()
                },
                Ok(Proof::None),
            ),
            (
                "an origin",
                NewClient {
                    origins: vec!["https://spa.example".into(), "http://127.0.0.1:3000".into()],
                    ..spa()
                },
                Ok(Proof::None),
            ),
            (
                "the longest ttl",
                NewClient {
                    access_token_ttl: crate::config::MAX_ACCESS_TOKEN_TTL,
                    ..service()
                },
                Ok(Proof::Secret(SecretMethod::Either)),
            ),
            (
                "password alone",
                NewClient {
                    grant_types: vec![GrantType::Password],
                    ..service()
                },
                Ok(Proof::Secret(SecretMethod::Either)),
            ),
            // Refused.
            (
                "no grant",
                NewClient {
                    grant_types: vec![],
                    ..service()
                },
                Err("NoGrantTypes"),
            ),
            (
                "public client_credentials",
                NewClient {
                    client_type: ClientType::Public,
                    ..service()
                },
                Err("PublicClientCredentials"),
            ),
            (
                "plain http redirect",
                NewClient {
                    redirect_uris: vec!["http://app.example/cb".into()],
                    ..web_app()
                },
                Err("RedirectUri"),
            ),
            (
                "fragment",
                NewClient {
                    redirect_uris: vec!["https://app.example/cb#x".into()],
                    ..web_app()
                },
                Err("RedirectUri"),
            ),
            (
                "relative",
                NewClient {
                    redirect_uris: vec!["/cb".into()],
                    ..web_app()
                },
                Err("RedirectUri"),
            ),
            (
                "javascript post-logout",
                NewClient {
                    post_logout_redirect_uris: vec!["javascript:alert(1)".into()],
                    ..web_app()
                },
                Err("PostLogoutRedirectUri"),
            ),
            (
                "public resource server",
                NewClient {
                    resource_server_for: vec!["api".into()],
                    ..spa()
                },
                Err("PublicResourceServer"),
            ),
            (
                "two-word resource server",
                NewClient {
                    resource_server_for: vec!["my api".into()],
                    ..service()
                },
                Err("ResourceServerAudience"),
            ),
            (
                "empty resource server",
                NewClient {
                    resource_server_for: vec![String::new()],
                    ..service()
                },
                Err("ResourceServerAudience"),
            ),
            (
                "two-word audience",
                NewClient {
                    audiences: vec!["a b".into()],
                    ..service()
                },
                Err("Audience"),
            ),
            (
                "code without redirect",
                NewClient {
                    redirect_uris: vec![],
                    ..web_app()
                },
                Err("CodeWithoutRedirectUri"),
            ),
            (
                "public with basic",
                NewClient {
                    auth_method: Some(AuthMethod::ClientSecretBasic),
                    ..spa()
                },
                Err("AuthMethodMismatch"),
            ),
            (
                "confidential with none",
                NewClient {
                    auth_method: Some(AuthMethod::None),
                    ..service()
                },
                Err("AuthMethodMismatch"),
            ),
            (
                "keys with a secret method",
                NewClient {
                    auth_method: Some(AuthMethod::ClientSecretPost),
                    ..keys(ClientKeys::Jwks(JWKS.into()))
                },
                Err("AuthMethodMismatch"),
            ),
            (
                "public with keys",
                NewClient {
                    keys: Some(ClientKeys::Jwks(JWKS.into())),
                    ..spa()
                },
                Err("KeysForPublicClient"),
            ),
            (
                "private_key_jwt without keys",
                NewClient {
                    auth_method: Some(AuthMethod::PrivateKeyJwt),
                    ..service()
                },
                Err("PrivateKeyJwtWithoutKeys"),
            ),
            (
                "jwks not JSON",
                keys(ClientKeys::Jwks("not json".into())),
                Err("MalformedJwks"),
            ),
            (
                "jwks without keys",
                keys(ClientKeys::Jwks(r#"{"keys":[]}"#.into())),
                Err("MalformedJwks"),
            ),
            (
                "jwks a bare key",
                keys(ClientKeys::Jwks(r#"{"kty":"EC"}"#.into())),
                Err("MalformedJwks"),
            ),
            (
                "jwks_uri plain http",
                keys(ClientKeys::JwksUri("http://svc.example/jwks".into())),
                Err("JwksUri"),
            ),
            (
                "jwks_uri with credentials",
                keys(ClientKeys::JwksUri("https://u:p@svc.example/jwks".into())),
                Err("JwksUri"),
            ),
            (
                "jwks_uri with a fragment",
                keys(ClientKeys::JwksUri("https://svc.example/jwks#k".into())),
                Err("JwksUri"),
            ),
            (
                "jwks_uri not a URL",
                keys(ClientKeys::JwksUri("svc.example/jwks".into())),
                Err("JwksUri"),
            ),
            (
                "zero ttl",
                NewClient {
                    access_token_ttl: 0,
                    ..service()
                },
                Err("AccessTokenTtl"),
            ),
            (
                "ttl over a day",
                NewClient {
                    access_token_ttl: crate::config::MAX_ACCESS_TOKEN_TTL + 1,
                    ..service()
                },
                Err("AccessTokenTtl"),
            ),
            (
                "refresh for a service",
                NewClient {
                    grant_types: vec![GrantType::ClientCredentials, GrantType::RefreshToken],
                    ..service()
                },
                Err("RefreshWithoutUserGrant"),
            ),
            (
                "refresh alone",
                NewClient {
                    grant_types: vec![GrantType::RefreshToken],
                    ..spa()
                },
                Err("RefreshWithoutUserGrant"),
            ),
            (
                "first-party service",
                NewClient {
                    first_party: true,
                    ..service()
                },
                Err("FirstPartyWithoutUserGrant"),
            ),
            (
                "refresh cookie without password",
                NewClient {
                    refresh_cookie: true,
                    ..web_app()
                },
                Err("RefreshCookieWithoutPassword"),
            ),
            (
                "origin with a path",
                NewClient {
                    origins: vec!["https://spa.example/app".into()],
                    ..spa()
                },
                Err("Origin"),
            ),
            (
                "origin with a slash",
                NewClient {
                    origins: vec!["https://spa.example/".into()],
                    ..spa()
                },
                Err("Origin"),
            ),
            // Rule 10: a client that registered itself is a third party.
            (
                "a dynamic web app",
                dynamic(),
                Ok(Proof::Secret(SecretMethod::Either)),
            ),
            (
                "a dynamic first-party app",
                NewClient {
                    first_party: true,
                    ..dynamic()
                },
                Err("Unvetted"),
            ),
            (
                "a dynamic resource server",
                NewClient {
                    resource_server_for: vec!["api".into()],
                    ..dynamic()
                },
                Err("Unvetted"),
            ),
            (
                "a dynamic password app",
                NewClient {
                    grant_types: vec![GrantType::Password],
                    ..dynamic()
                },
                Err("Unvetted"),
            ),
            (
                "a dynamic app with origins",
                NewClient {
                    origins: vec!["https://app.example".into()],
                    ..dynamic()
                },
                Err("Unvetted"),
            ),
            (
                "a dynamic app with audiences",
                NewClient {
                    audiences: vec!["api".into()],
                    ..dynamic()
                },
                Err("Unvetted"),
            ),
            (
                "a metadata-document app first-party",
                NewClient {
                    first_party: true,
                    provenance: Provenance::MetadataDocument,
                    ..web_app()
                },
                Err("Unvetted"),
            ),
        ];
        let mut wrong = Vec::new();
        for (name, new, expected) in table {
            let got = check(&new).map_err(|e| {
                let text = format!("{e:?}");
                text.split(['(', ' ']).next().unwrap_or_default().to_owned()
            });
            let expected = expected.map_err(str::to_owned);
            if got != expected {
                wrong.push(format!("{name}: got {got:?}, expected {expected:?}"));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    /// `register` stores what it built: a secret shown once and stored as
    /// its hash, typed credentials read back unchanged, origins stored in
    /// the same transaction, and nothing stored when a rule is broken.
    #[tokio::test]
    async fn register_stores_what_it_built() {
        let store = crate::fixtures::store().await;
        let web = register(
            &store,
            NewClient {
                origins: vec!["https://app.example".into()],
                auth_method: Some(AuthMethod::ClientSecretPost),
                ..web_app()
            },
            1_000,
        )
        .await
        .unwrap();
        let secret = web.secret.as_deref().unwrap();
        assert_eq!(secret.len(), 43, "256 bits, base64url");
        assert!(web.client.id.starts_with(|c: char| c.is_ascii_alphanumeric()));
        assert_eq!(
            web.client.credentials,
            ClientCredentials::Secret {
                hash: hash_secret(secret),
                method: SecretMethod::Post
            }
        );
        assert_eq!(web.client.created_at, 1_000);
        assert_eq!(
            store.client(&web.client.id).await.unwrap(),
            Some(web.client.clone())
        );
        assert!(store.origin_registered("https://app.example").await.unwrap());

        let spa = register(&store, spa(), 1_000).await.unwrap();
        assert!(spa.secret.is_none());
        assert!(store.client(&spa.client.id).await.unwrap().unwrap().is_public());

        for k in [
            ClientKeys::Jwks(JWKS.into()),
            ClientKeys::JwksUri("https://svc.example/jwks".into()),
        ] {
            let keyed = register_with_id(
                &store,
                &format!("keys-{}", matches!(k, ClientKeys::Jwks(_))),
                NewClient {
                    keys: Some(k.clone()),
                    ..service()
                },
                1_000,
            )
            .await
            .unwrap();
            assert!(keyed.secret.is_none(), "a keys client gets no secret");
            let stored = store.client(&keyed.client.id).await.unwrap().unwrap();
            assert_eq!(stored.credentials, ClientCredentials::Keys { keys: k });
            assert!(!stored.is_public(), "keys, not public");
        }

        let taken = register_with_id(&store, "keys-true", service(), 1_000).await;
        assert!(matches!(taken, Err(RegistrationError::IdTaken(_))), "{taken:?}");
        assert!(matches!(
            register_with_id(&store, "has space", service(), 1_000).await,
            Err(RegistrationError::Id(_))
        ));
        let refused = register(
            &store,
            NewClient {
                origins: vec!["https://never.example".into()],
                client_type: ClientType::Public,
                ..service()
            },
            1_000,
        )
        .await;
        assert!(matches!(refused, Err(RegistrationError::PublicClientCredentials)));
        assert!(!store.origin_registered("https://never.example").await.unwrap());
        assert_eq!(store.clients().await.unwrap().len(), 4);
    }

    /// `register_dynamic` stores the client with the hash of its
    /// registration access token (provenance `dynamic` whatever was
    /// asked); `replace_dynamic` keeps id, creation time and secret, and
    /// reports a client that is gone.
    #[tokio::test]
    async fn dynamic_clients_have_a_registration_token() {
        use crate::store::RegistrationStore;
        let store = crate::fixtures::store().await;
        let made = register_dynamic(&store, web_app(), 1_000).await.unwrap();
        let client = &made.registered.client;
        assert_eq!(client.provenance, Provenance::Dynamic);
        let secret = made.registered.secret.as_deref().unwrap().to_owned();
        assert_eq!(
            store.registration_token_hash(&client.id).await.unwrap(),
            Some(hash_secret(&made.registration_access_token))
        );
        let first_party = register_dynamic(
            &store,
            NewClient {
                first_party: true,
                ..web_app()
            },
            1_000,
        )
        .await;
        assert!(
            matches!(first_party, Err(RegistrationError::Unvetted(_))),
            "{first_party:?}"
        );

        let replaced = replace_dynamic(
            &store,
            client,
            NewClient {
                name: "renamed".into(),
                auth_method: Some(AuthMethod::ClientSecretPost),
                ..web_app()
            },
        )
        .await
        .unwrap();
        assert!(replaced.secret.is_none(), "the secret stays");
        let stored = store.client(&client.id).await.unwrap().unwrap();
        assert_eq!(stored.name, "renamed");
        assert_eq!(stored.created_at, 1_000);
        assert_eq!(
            stored.credentials,
            ClientCredentials::Secret {
                hash: hash_secret(&secret),
                method: SecretMethod::Post
            }
        );

        // An operator's client is never replaced or deleted this way.
        let operator = register(&store, web_app(), 1_000).await.unwrap().client;
        assert!(store
            .registration_token_hash(&operator.id)
            .await
            .unwrap()
            .is_none());
        let gone = replace_dynamic(&store, &operator, web_app()).await;
        assert!(matches!(gone, Err(RegistrationError::Gone)), "{gone:?}");
        assert!(!store.delete_registered_client(&operator.id, 1_000).await.unwrap());
        assert!(store.client(&operator.id).await.unwrap().is_some());

        assert!(store.delete_registered_client(&client.id, 1_000).await.unwrap());
        assert!(store.registration_token_hash(&client.id).await.unwrap().is_none());
        let gone = replace_dynamic(&store, client, web_app()).await;
        assert!(matches!(gone, Err(RegistrationError::Gone)), "{gone:?}");
    }
}
