//! `/admin/v1/clients`: list, create, read, change, rotate the secret of,
//! and delete the operator's clients. Creation and change take the fields
//! `tessera client create` takes and go through [`registration`], the one
//! place a client is built, with the same rules.

use super::{after_of, check_if_match, keyset_page, limit_of, Admin, AdminError, Page, PageRequest, Tagged};
use crate::audit::{self, AuditKind, Event};
use crate::clients::registration::{self, ClientType, NewClient, RegistrationError, Rotated};
use crate::domain::{AuthMethod, Client, GrantType, Provenance, Scope};
use crate::store::{ClientStore, Conditional, Store, VersionStore};

/// A client as the admin API shows it (never its secret or its hash).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct ClientView {
    /// `client_id`.
    pub client_id: String,
    /// Display name.
    pub name: String,
    /// A public client (no secret, RFC 6749 §2.1).
    pub public: bool,
    /// Grant types it may use.
    pub grant_types: Vec<String>,
    /// Space-separated scopes it may request.
    pub scope: String,
    /// Audiences its access tokens may name.
    pub audiences: Vec<String>,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Where RP-initiated logout may send the user back to.
    pub post_logout_redirect_uris: Vec<String>,
    /// Audiences it is the resource server for.
    pub resource_server_for: Vec<String>,
    /// The token endpoint authentication methods it may use.
    pub auth_methods: Vec<String>,
    /// Access-token lifetime in seconds.
    pub access_token_ttl: i64,
    /// Creation time (seconds since the epoch).
    pub created_at: i64,
    /// Refresh token of `/api/v1/login` in a cookie.
    pub refresh_cookie: bool,
    /// The operator's own app (no consent).
    pub first_party: bool,
    /// Its authorization requests must be pushed (RFC 9126).
    pub require_par: bool,
    /// Its tokens must be DPoP-bound (RFC 9449).
    pub dpop_bound: bool,
    /// Its users sign in with a second factor.
    pub require_mfa: bool,
    /// An administrator's client.
    pub admin: bool,
    /// Who registered it: `operator`, `dynamic` or `metadata_document`.
    pub provenance: String,
}

/// A client as the admin API shows it.
pub fn view(c: &Client) -> ClientView {
    ClientView {
        client_id: c.id.clone(),
        name: c.name.clone(),
        public: c.is_public(),
        grant_types: c.grant_types.iter().map(|g| g.as_str().to_owned()).collect(),
        scope: c.scopes.as_str().to_owned(),
        audiences: c.audiences.clone(),
        redirect_uris: c.redirect_uris.clone(),
        post_logout_redirect_uris: c.post_logout_redirect_uris.clone(),
        resource_server_for: c.resource_server_for.clone(),
        auth_methods: c
            .credentials
            .auth_methods()
            .iter()
            .map(|m| m.as_str().to_owned())
            .collect(),
        access_token_ttl: c.access_token_ttl,
        created_at: c.created_at,
        refresh_cookie: c.refresh_cookie,
        first_party: c.first_party,
        require_par: c.require_par,
        dpop_bound: c.dpop_bound,
        require_mfa: c.require_mfa,
        admin: c.admin,
        provenance: c.provenance.as_str().to_owned(),
    }
}

/// `POST /admin/v1/clients`: what `tessera client create` takes.
#[derive(Debug, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateClient {
    /// Display name.
    pub name: String,
    /// Grant types (default `client_credentials`).
    #[serde(default)]
    pub grant_types: Vec<String>,
    /// Redirect URIs.
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    /// Space-separated scopes.
    #[serde(default)]
    pub scope: String,
    /// Audiences its tokens may name.
    #[serde(default)]
    pub audiences: Vec<String>,
    /// A public client (no secret).
    #[serde(default)]
    pub public: bool,
    /// `client_secret_basic`, `client_secret_post` or `none`.
    pub auth_method: Option<String>,
    /// Post-logout redirect URIs.
    #[serde(default)]
    pub post_logout_redirect_uris: Vec<String>,
    /// Audiences it is the resource server for.
    #[serde(default)]
    pub resource_server_for: Vec<String>,
    /// Browser origins (CORS).
    #[serde(default)]
    pub cors_origins: Vec<String>,
    /// Access-token lifetime in seconds (default: the server's).
    pub access_token_ttl: Option<i64>,
    /// Refresh token of `/api/v1/login` in a cookie.
    #[serde(default)]
    pub refresh_cookie: bool,
    /// The operator's own app.
    #[serde(default)]
    pub first_party: bool,
    /// Requests must be pushed (RFC 9126).
    #[serde(default)]
    pub require_par: bool,
    /// Tokens must be DPoP-bound (RFC 9449).
    #[serde(default)]
    pub dpop_bound: bool,
    /// Its users sign in with a second factor.
    #[serde(default)]
    pub require_mfa: bool,
    /// An administrator's client.
    #[serde(default)]
    pub admin: bool,
}

/// A created client, and its secret, shown this once.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct CreatedClient {
    /// The client.
    #[serde(flatten)]
    pub client: ClientView,
    /// Its secret, for a client with one: shown this once, stored only
    /// as its hash.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
}

/// Why registration refused, in the words of the request's fields.
fn refusal(e: RegistrationError) -> AdminError {
    match e {
        RegistrationError::Store(e) => AdminError::Internal(e.to_string()),
        RegistrationError::NoRandomness => AdminError::Internal("no randomness".into()),
        RegistrationError::IdTaken(_) => AdminError::Internal("client id collision".into()),
        other => AdminError::InvalidRequest(other.to_string()),
    }
}

/// Registers a client as the operator (`default_ttl` when none is given).
pub async fn create(
    store: &Store,
    admin: &Admin,
    request: CreateClient,
    default_ttl: i64,
    now: i64,
) -> Result<CreatedClient, AdminError> {
    let mut grant_types = grants(&request.grant_types)?;
    if grant_types.is_empty() {
        grant_types.push(GrantType::ClientCredentials);
    }
    let auth_method = request
        .auth_method
        .as_deref()
        .map(|m| {
            AuthMethod::parse(m)
                .ok_or_else(|| AdminError::InvalidRequest(format!("auth_method: unknown {m:?}")))
        })
        .transpose()?;
    let scopes = scope(&request.scope)?;
    let new = NewClient {
        name: request.name,
        client_type: if request.public {
            ClientType::Public
        } else {
            ClientType::Confidential
        },
        auth_method,
        keys: None,
        grant_types,
        scopes,
        audiences: request.audiences,
        redirect_uris: request.redirect_uris,
        post_logout_redirect_uris: request.post_logout_redirect_uris,
        resource_server_for: request.resource_server_for,
        origins: request.cors_origins,
        access_token_ttl: request.access_token_ttl.unwrap_or(default_ttl),
        refresh_cookie: request.refresh_cookie,
        first_party: request.first_party,
        require_par: request.require_par,
        dpop_bound: request.dpop_bound,
        require_mfa: request.require_mfa,
        admin: request.admin,
        provenance: Provenance::Operator,
    };
    let registered = registration::register(store, new, now).await.map_err(refusal)?;
    let event = Event::new(
        AuditKind::ClientCreated,
        now,
        admin.actor(),
        "client created through the admin API",
    )
    .client(&registered.client.id);
    audit::record(store, event).await;
    Ok(CreatedClient {
        client: view(&registered.client),
        client_secret: registered.secret.as_ref().map(|s| s.as_str().to_owned()),
    })
}

/// Grant types by name, each once.
fn grants(names: &[String]) -> Result<Vec<GrantType>, AdminError> {
    let mut grant_types = Vec::new();
    for name in names {
        let grant = GrantType::parse(name)
            .ok_or_else(|| AdminError::InvalidRequest(format!("grant_types: unknown {name:?}")))?;
        if !grant_types.contains(&grant) {
            grant_types.push(grant);
        }
    }
    Ok(grant_types)
}

fn scope(text: &str) -> Result<Scope, AdminError> {
    Scope::parse(text).map_err(|e| AdminError::InvalidRequest(format!("scope: {e}")))
}

/// The operator's clients, a page at a time, by client id, read a page at
/// a time from the store (keyset on the id).
pub async fn list(store: &Store, request: &PageRequest) -> Result<Page<ClientView>, AdminError> {
    let limit = limit_of(request)?;
    let after = after_of(request)?;
    let want = i64::try_from(limit + 1).unwrap_or(i64::MAX);
    let rows = store.clients_after(after.as_deref(), want).await?;
    Ok(keyset_page(rows, limit, |c| c.id.as_str(), view))
}

/// One client, with its `ETag`. The version is read before the client, so
/// a change between the two reads makes a tag no write will match (a 412,
/// never a lost update).
pub async fn get(store: &Store, id: &str) -> Result<Tagged<ClientView>, AdminError> {
    Ok(read(store, id).await?.0)
}

/// One client as stored and as shown.
async fn read(store: &Store, id: &str) -> Result<(Tagged<ClientView>, Client), AdminError> {
    let Some(version) = store.client_version(id).await? else {
        return Err(AdminError::NotFound("client"));
    };
    match store.client(id).await? {
        Some(c) => Ok((Tagged::new(view(&c), version), c)),
        None => Err(AdminError::NotFound("client")),
    }
}

/// `PATCH /admin/v1/clients/{client_id}`: the members present are
/// changed, under the rules of registration. A client's type (public or
/// confidential), credentials, origins and `admin` are not changed here
/// (rotate the secret with `POST .../secret`; make a new client for the
/// rest).
#[derive(Debug, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PatchClient {
    /// Display name.
    pub name: Option<String>,
    /// Grant types, replaced.
    pub grant_types: Option<Vec<String>>,
    /// Redirect URIs, replaced.
    pub redirect_uris: Option<Vec<String>>,
    /// Post-logout redirect URIs, replaced.
    pub post_logout_redirect_uris: Option<Vec<String>>,
    /// Space-separated scopes, replaced.
    pub scope: Option<String>,
    /// Audiences its tokens may name, replaced.
    pub audiences: Option<Vec<String>>,
    /// Audiences it is the resource server for, replaced.
    pub resource_server_for: Option<Vec<String>>,
    /// Access-token lifetime in seconds.
    pub access_token_ttl: Option<i64>,
    /// Refresh token of `/api/v1/login` in a cookie.
    pub refresh_cookie: Option<bool>,
    /// The operator's own app.
    pub first_party: Option<bool>,
    /// Requests must be pushed (RFC 9126).
    pub require_par: Option<bool>,
    /// Tokens must be DPoP-bound (RFC 9449).
    pub dpop_bound: Option<bool>,
    /// Its users sign in with a second factor.
    pub require_mfa: Option<bool>,
}

/// Changes a client, if `if_match` is its current `ETag` and it is still
/// at the version read with it; the client as changed, tagged.
pub async fn patch(
    store: &Store,
    admin: &Admin,
    id: &str,
    if_match: Option<&str>,
    request: PatchClient,
    now: i64,
) -> Result<Tagged<ClientView>, AdminError> {
    let (current, client) = read(store, id).await?;
    check_if_match(if_match, &current.etag)?;
    let mut new = registration::as_new(&client);
    let mut changed: Vec<&str> = Vec::new();
    if let Some(name) = request.name {
        new.name = name;
        changed.push("name");
    }
    if let Some(names) = &request.grant_types {
        new.grant_types = grants(names)?;
        changed.push("grant_types");
    }
    if let Some(uris) = request.redirect_uris {
        new.redirect_uris = uris;
        changed.push("redirect_uris");
    }
    if let Some(uris) = request.post_logout_redirect_uris {
        new.post_logout_redirect_uris = uris;
        changed.push("post_logout_redirect_uris");
    }
    if let Some(text) = &request.scope {
        new.scopes = scope(text)?;
        changed.push("scope");
    }
    if let Some(audiences) = request.audiences {
        new.audiences = audiences;
        changed.push("audiences");
    }
    if let Some(audiences) = request.resource_server_for {
        new.resource_server_for = audiences;
        changed.push("resource_server_for");
    }
    if let Some(ttl) = request.access_token_ttl {
        new.access_token_ttl = ttl;
        changed.push("access_token_ttl");
    }
    for (value, slot, name) in [
        (request.refresh_cookie, &mut new.refresh_cookie, "refresh_cookie"),
        (request.first_party, &mut new.first_party, "first_party"),
        (request.require_par, &mut new.require_par, "require_par"),
        (request.dpop_bound, &mut new.dpop_bound, "dpop_bound"),
        (request.require_mfa, &mut new.require_mfa, "require_mfa"),
    ] {
        if let Some(value) = value {
            *slot = value;
            changed.push(name);
        }
    }
    let (done, _) = registration::replace_if(store, &client, new, current.version)
        .await
        .map_err(refusal)?;
    if done == Conditional::Stale {
        return Err(AdminError::PreconditionFailed);
    }
    let event = Event::new(
        AuditKind::ClientChanged,
        now,
        admin.actor(),
        "client changed through the admin API",
    )
    .client(id)
    .with("changed", changed);
    audit::record(store, event).await;
    get(store, id).await
}

/// A client's new secret, shown this once.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct RotatedSecret {
    /// The client.
    pub client_id: String,
    /// Its new secret: shown this once, stored only as its hash. The old
    /// one no longer works.
    pub client_secret: String,
}

/// Gives a confidential client with a secret a new one, if `if_match` is
/// its current `ETag` and it is still at that version; a public client
/// or one with keys is refused (400).
pub async fn rotate_secret(
    store: &Store,
    admin: &Admin,
    id: &str,
    if_match: Option<&str>,
    now: i64,
) -> Result<RotatedSecret, AdminError> {
    let (current, client) = read(store, id).await?;
    check_if_match(if_match, &current.etag)?;
    match registration::rotate_secret_if(store, &client, current.version)
        .await
        .map_err(refusal)?
    {
        Rotated::Done(secret) => {
            let event = Event::new(
                AuditKind::ClientSecretRotated,
                now,
                admin.actor(),
                "client secret rotated through the admin API",
            )
            .client(id);
            audit::record(store, event).await;
            Ok(RotatedSecret {
                client_id: id.to_owned(),
                client_secret: secret.as_str().to_owned(),
            })
        }
        Rotated::Stale => Err(AdminError::PreconditionFailed),
        Rotated::NoSecret => Err(AdminError::InvalidRequest(
            "this client has no secret to rotate (a public client, or one that authenticates with keys)"
                .into(),
        )),
    }
}

/// Deletes a client, if `if_match` is its current `ETag`.
pub async fn delete(
    store: &Store,
    admin: &Admin,
    id: &str,
    if_match: Option<&str>,
    now: i64,
) -> Result<(), AdminError> {
    let current = get(store, id).await?;
    check_if_match(if_match, &current.etag)?;
    if !store.delete_client(id).await? {
        return Err(AdminError::NotFound("client"));
    }
    let event = Event::new(
        AuditKind::ClientDeleted,
        now,
        admin.actor(),
        "client deleted through the admin API",
    )
    .client(id);
    audit::record(store, event).await;
    Ok(())
}
