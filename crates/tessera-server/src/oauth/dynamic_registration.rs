//! Dynamic client registration ([RFC 7591]) and its management protocol
//! ([RFC 7592]): `POST /register`, and `GET`, `PUT` and `DELETE` on
//! `/register/{client_id}` with the client's registration access token.
//!
//! Registration ([`register`], RFC 7591 §3), in order:
//! 1. Who may register (the `dynamic_registration` setting): `open`,
//!    anyone, counted per client address
//!    ([`throttle::reserve_client_registration`], every attempt counts;
//!    429 past the limit); `token`, whoever sends an unexpired initial
//!    access token as `Authorization: Bearer` (401 otherwise, RFC 6750
//!    §3.1). (`off` is not routed at all.)
//! 2. The body is a JSON object of client metadata (§3.1), read by
//!    [`metadata::new_client`]: the form of each member.
//! 3. Every rule of [`registration`] for a client of provenance
//!    `dynamic`: the same rules as `tessera client create`, and a third
//!    party's (never first-party, no resource server, no password grant);
//!    `invalid_redirect_uri` or `invalid_client_metadata` (§3.2.2).
//! 4. With `token`, the initial access token is used up: one token, one
//!    client (RFC 7591 leaves it to the server; a token that leaks registers
//!    one client, not many). Checked in step 1 and spent only now, so a
//!    typo in the metadata does not waste it; of two registrations racing
//!    with one token, one goes ahead.
//! 5. The client and the SHA-256 of a new registration access token are
//!    stored in one transaction; 201 with the registered metadata,
//!    `client_id`, `client_id_issued_at`, the secret (with
//!    `client_secret_expires_at: 0`, it does not expire) for a client
//!    that has one, `registration_access_token` and
//!    `registration_client_uri` (§3.2.1, RFC 7592 §3).
//!
//! Management ([`read`], [`update`], [`delete`], RFC 7592 §2): the
//! registration access token of that very client, compared as SHA-256 in
//! constant time; a missing one is a bare 401 challenge, a wrong one, one
//! for another client, or one for a client that is gone is 401
//! `invalid_token` (§2.1: an unknown client is 401, so ids cannot be
//! probed). Only clients that registered themselves have a token: an
//! operator's client is never reachable here. The secret is stored only
//! as its hash, so a read cannot return it (§3 allows leaving it out).
//!
//! [RFC 7591]: https://www.rfc-editor.org/rfc/rfc7591
//! [RFC 7592]: https://www.rfc-editor.org/rfc/rfc7592

use crate::audit::{self, Actor, AuditKind, Event};
use std::net::IpAddr;

use serde_json::{Map, Value};

use super::client_auth::hash_secret;
use super::{throttle, OAuthError};
use crate::clients::metadata::{self, MetadataError};
use crate::clients::registration::{self, RegistrationError};
use crate::config::DynamicRegistration;
use crate::domain::Client;
use crate::store::{AttemptStore, ClientStore, RegistrationStore};

/// The path of the registration endpoint.
pub const PATH: &str = "/register";

/// Why a request is refused.
#[derive(Debug)]
pub enum Refusal {
    /// No bearer token where one is needed: a bare challenge (RFC 6750
    /// §3.1: "SHOULD NOT include an error code").
    TokenMissing,
    /// A bearer token that is unknown, expired, used or another client's:
    /// 401 `invalid_token` (RFC 6750 §3.1).
    TokenInvalid,
    /// An OAuth error.
    Error(OAuthError),
}

impl From<OAuthError> for Refusal {
    fn from(e: OAuthError) -> Refusal {
        Refusal::Error(e)
    }
}

impl From<crate::store::StoreError> for Refusal {
    fn from(e: crate::store::StoreError) -> Refusal {
        Refusal::Error(OAuthError::Store(e))
    }
}

/// What the endpoints need.
pub struct Registrar<'a, S> {
    /// The store.
    pub store: &'a S,
    /// The issuer identifier (the base of `registration_client_uri`).
    pub issuer: &'a str,
    /// Who may register.
    pub mode: DynamicRegistration,
    /// The access-token lifetime of new clients (`access_token_ttl`).
    pub access_token_ttl: i64,
    /// Now.
    pub now: i64,
}

impl<S> Registrar<'_, S> {
    /// `registration_client_uri` of `client_id` (RFC 7592 §3).
    fn client_uri(&self, client_id: &str) -> String {
        let id: String = form_urlencoded::byte_serialize(client_id.as_bytes()).collect();
        format!("{}{PATH}/{id}", self.issuer)
    }
}

/// `POST /register` (steps 1-5 of the module). `bearer` is the token of an
/// `Authorization: Bearer` header, `peer` the client's address, `body` the
/// JSON body or why it cannot be read (answered after step 1).
pub async fn register<S: ClientStore + RegistrationStore + AttemptStore>(
    ctx: &Registrar<'_, S>,
    bearer: Option<&str>,
    peer: Option<IpAddr>,
    body: Result<&[u8], OAuthError>,
) -> Result<Map<String, Value>, Refusal> {
    // 1.
    let initial = match ctx.mode {
        DynamicRegistration::Off => {
            return Err(OAuthError::Internal("dynamic registration is off".into()).into())
        }
        DynamicRegistration::Open => {
            if !throttle::reserve_client_registration(ctx.store, peer, ctx.now).await? {
                tracing::warn!(target: "audit", peer = ?peer, "client registration refused: too many from this address");
                return Err(OAuthError::ClientRegistrationThrottled.into());
            }
            None
        }
        DynamicRegistration::Token => {
            let token = bearer.ok_or(Refusal::TokenMissing)?;
            let hash = hash_secret(token);
            if !ctx.store.initial_access_token_valid(&hash, ctx.now).await? {
                return Err(Refusal::TokenInvalid);
            }
            Some(hash)
        }
    };
    // 2.
    let new = metadata::new_client(&object(body?)?, ctx.access_token_ttl).map_err(metadata_refusal)?;
    // 3.
    registration::validate(&new).map_err(refusal)?;
    // 4.
    if let Some(hash) = initial {
        if !ctx.store.use_initial_access_token(&hash, ctx.now).await? {
            return Err(Refusal::TokenInvalid);
        }
    }
    // 5.
    let made = registration::register_dynamic(ctx.store, new, ctx.now)
        .await
        .map_err(refusal)?;
    let client = &made.registered.client;
    let mut answer = metadata::registered(client);
    if let Some(secret) = &made.registered.secret {
        answer.insert("client_secret".into(), secret.as_str().into());
        answer.insert("client_secret_expires_at".into(), 0.into());
    }
    answer.insert(
        "registration_access_token".into(),
        made.registration_access_token.as_str().into(),
    );
    answer.insert(
        "registration_client_uri".into(),
        ctx.client_uri(&client.id).into(),
    );
    tracing::info!(target: "audit", client_id = %client.id, peer = ?peer, "client registered at /register");
    Ok(answer)
}

/// The self-registered client `client_id`, if `bearer` is its
/// registration access token (RFC 7592 §2: checked before anything else).
async fn authorized<S: ClientStore + RegistrationStore>(
    store: &S,
    client_id: &str,
    bearer: Option<&str>,
) -> Result<Client, Refusal> {
    let token = bearer.ok_or(Refusal::TokenMissing)?;
    let sent = hash_secret(token);
    let Some(stored) = store.registration_token_hash(client_id).await? else {
        return Err(Refusal::TokenInvalid);
    };
    if aws_lc_rs::constant_time::verify_slices_are_equal(&sent, &stored).is_err() {
        return Err(Refusal::TokenInvalid);
    }
    // (The token row is deleted with its client; a client gone between the
    // two reads is as unknown as one never registered.)
    match store.client(client_id).await? {
        Some(client) if client.provenance == crate::domain::Provenance::Dynamic => Ok(client),
        _ => Err(Refusal::TokenInvalid),
    }
}

/// `GET /register/{client_id}` (RFC 7592 §2.1): the registered metadata,
/// and the `registration_client_uri` (the token is not sent back: the
/// client holds it).
pub async fn read<S: ClientStore + RegistrationStore>(
    ctx: &Registrar<'_, S>,
    client_id: &str,
    bearer: Option<&str>,
) -> Result<Map<String, Value>, Refusal> {
    let client = authorized(ctx.store, client_id, bearer).await?;
    let mut answer = metadata::registered(&client);
    answer.insert(
        "registration_client_uri".into(),
        ctx.client_uri(&client.id).into(),
    );
    Ok(answer)
}

/// Members only the server sets: a client update must not send them (RFC
/// 7592 §2.2).
const SERVER_MEMBERS: [&str; 4] = [
    "registration_access_token",
    "registration_client_uri",
    "client_secret_expires_at",
    "client_id_issued_at",
];

/// `PUT /register/{client_id}` (RFC 7592 §2.2): the metadata sent replaces
/// the registration (a member left out is reset to its default), checked
/// by the same rules as a registration. The body's `client_id` must be
/// this client's; a `client_secret` sent must be its secret (compared as
/// SHA-256 in constant time: a client cannot choose its secret). The
/// secret stays while the client keeps a secret method; a client that
/// becomes confidential gets one, shown in this answer only.
pub async fn update<S: ClientStore + RegistrationStore>(
    ctx: &Registrar<'_, S>,
    client_id: &str,
    bearer: Option<&str>,
    body: Result<&[u8], OAuthError>,
) -> Result<Map<String, Value>, Refusal> {
    let current = authorized(ctx.store, client_id, bearer).await?;
    let sent = object(body?)?;
    if sent.get("client_id").and_then(Value::as_str) != Some(current.id.as_str()) {
        return Err(
            OAuthError::ClientUpdateRefused("client_id must be this client's (RFC 7592 §2.2)").into(),
        );
    }
    if let Some(name) = SERVER_MEMBERS.into_iter().find(|m| sent.contains_key(*m)) {
        tracing::debug!(client_id, member = name, "client update refused");
        return Err(OAuthError::ClientUpdateRefused(
            "registration_access_token, registration_client_uri, client_secret_expires_at and client_id_issued_at are the server's; leave them out (RFC 7592 §2.2)",
        )
        .into());
    }
    match (sent.get("client_secret"), &current.credentials) {
        (None | Some(Value::Null), _) => {}
        (Some(Value::String(secret)), crate::domain::ClientCredentials::Secret { hash, .. })
            if aws_lc_rs::constant_time::verify_slices_are_equal(&hash_secret(secret), hash).is_ok() => {}
        (Some(_), _) => {
            return Err(OAuthError::ClientUpdateRefused(
                "client_secret must be the client's current secret; a client cannot choose its secret (RFC 7592 §2.2)",
            )
            .into())
        }
    }
    let new = metadata::new_client(&sent, current.access_token_ttl).map_err(metadata_refusal)?;
    let replaced = registration::replace_dynamic(ctx.store, &current, new)
        .await
        .map_err(|e| match e {
            RegistrationError::Gone => Refusal::TokenInvalid,
            other => refusal(other),
        })?;
    let event = Event::new(
        AuditKind::ClientChanged,
        ctx.now,
        Actor::Client,
        "self-registered client updated",
    )
    .client(&replaced.client.id)
    .with("provenance", "dynamic");
    audit::record(ctx.store, event).await;
    let mut answer = metadata::registered(&replaced.client);
    if let Some(secret) = &replaced.secret {
        answer.insert("client_secret".into(), secret.as_str().into());
        answer.insert("client_secret_expires_at".into(), 0.into());
    }
    answer.insert(
        "registration_client_uri".into(),
        ctx.client_uri(&replaced.client.id).into(),
    );
    Ok(answer)
}

/// `DELETE /register/{client_id}` (RFC 7592 §2.3): the client, its token
/// and origins are deleted, and its refresh tokens revoked with the access
/// tokens they issued; 204.
pub async fn delete<S: ClientStore + RegistrationStore>(
    ctx: &Registrar<'_, S>,
    client_id: &str,
    bearer: Option<&str>,
) -> Result<(), Refusal> {
    let client = authorized(ctx.store, client_id, bearer).await?;
    if !ctx.store.delete_registered_client(&client.id, ctx.now).await? {
        return Err(Refusal::TokenInvalid);
    }
    let event = Event::new(
        AuditKind::ClientDeleted,
        ctx.now,
        Actor::Client,
        "self-registered client deleted itself",
    )
    .client(&client.id);
    audit::record(ctx.store, event).await;
    Ok(())
}

/// The body as a JSON object.
fn object(body: &[u8]) -> Result<Map<String, Value>, Refusal> {
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(map)) => Ok(map),
        _ => Err(metadata_refusal(MetadataError::NotAnObject)),
    }
}

fn metadata_refusal(e: MetadataError) -> Refusal {
    Refusal::Error(OAuthError::InvalidClientMetadata(e.to_string()))
}

/// A registration rule broken, as RFC 7591 §3.2.2 names it: the redirect
/// URIs' rules are `invalid_redirect_uri`, the others
/// `invalid_client_metadata`. Fixed words: never the value sent.
fn refusal(e: RegistrationError) -> Refusal {
    use RegistrationError as R;
    let metadata = |text: &str| Refusal::Error(OAuthError::InvalidClientMetadata(text.to_owned()));
    match e {
        R::RedirectUri { reason, .. } => {
            Refusal::Error(OAuthError::InvalidRedirectUri(format!("redirect_uris: {reason}")))
        }
        R::CodeWithoutRedirectUri => Refusal::Error(OAuthError::InvalidRedirectUri(
            "the authorization_code grant needs at least one redirect URI in redirect_uris".into(),
        )),
        R::PostLogoutRedirectUri { reason, .. } => {
            metadata(&format!("post_logout_redirect_uris: {reason}"))
        }
        R::NoGrantTypes => metadata("grant_types must not be empty"),
        R::PublicClientCredentials => {
            metadata("a client with token_endpoint_auth_method none cannot use client_credentials (RFC 6749 §4.4)")
        }
        R::AuthMethodMismatch { .. } | R::KeysForPublicClient => {
            metadata("jwks goes with token_endpoint_auth_method private_key_jwt, and only with it")
        }
        R::PrivateKeyJwtWithoutKeys => metadata("private_key_jwt needs jwks"),
        R::MalformedJwks => metadata(
            "jwks must be a JWK Set with an asymmetric signature key (RSA, EC or OKP), like {\"keys\": [...]}",
        ),
        R::JwksUri(_) => metadata("jwks_uri must be an https URL"),
        R::RefreshWithoutUserGrant => metadata("refresh_token needs the authorization_code grant (RFC 6749 §1.5)"),
        R::Unvetted(what) => Refusal::Error(OAuthError::InvalidClientMetadata(format!(
            "a client that registers itself cannot {what}"
        ))),
        R::IdTaken(_) => Refusal::Error(OAuthError::Internal("client id collision".into())),
        R::Store(e) => Refusal::Error(OAuthError::Store(e)),
        R::NoRandomness => Refusal::Error(OAuthError::Internal("no randomness".into())),
        // What metadata never sets (the CLI's flags): a fault here.
        other @ (R::PublicResourceServer
        | R::ResourceServerAudience(_)
        | R::Audience(_)
        | R::AccessTokenTtl(_)
        | R::FirstPartyWithoutUserGrant
        | R::AdminWithoutClientCredentials
        | R::RefreshCookieWithoutPassword
        | R::Origin(_)
        | R::Id(_)
        | R::Gone
        | R::SecretForDescribedClient) => Refusal::Error(OAuthError::Internal(format!("registration: {other}"))),
    }
}
