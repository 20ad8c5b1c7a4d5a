//! `/admin/v1/clients`: list, create, read and delete the operator's
//! clients. Creation takes the fields `tessera client create` takes and
//! goes through [`registration::register`], the one place a client is
//! built, with the same rules.

use super::{check_if_match, page, Admin, AdminError, Page, PageRequest};
use crate::clients::registration::{self, ClientType, NewClient, RegistrationError};
use crate::domain::{AuthMethod, Client, GrantType, Provenance, Scope};
use crate::store::{ClientStore, Store};

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
    let mut grant_types = Vec::new();
    for name in &request.grant_types {
        let grant = GrantType::parse(name)
            .ok_or_else(|| AdminError::InvalidRequest(format!("grant_types: unknown {name:?}")))?;
        if !grant_types.contains(&grant) {
            grant_types.push(grant);
        }
    }
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
    let scopes =
        Scope::parse(&request.scope).map_err(|e| AdminError::InvalidRequest(format!("scope: {e}")))?;
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
    tracing::info!(target: "audit", client_id = %registered.client.id, by = %admin.subject, "client created through the admin API");
    Ok(CreatedClient {
        client: view(&registered.client),
        client_secret: registered.secret.as_ref().map(|s| s.as_str().to_owned()),
    })
}

/// The operator's clients, a page at a time, by client id.
pub async fn list(store: &Store, request: &PageRequest) -> Result<Page<ClientView>, AdminError> {
    page(store.clients().await?, |c| c.id.as_str(), request, view)
}

/// One client.
pub async fn get(store: &Store, id: &str) -> Result<ClientView, AdminError> {
    match store.client(id).await? {
        Some(c) => Ok(view(&c)),
        None => Err(AdminError::NotFound("client")),
    }
}

/// Deletes a client, if `if_match` is its current `ETag`.
pub async fn delete(
    store: &Store,
    admin: &Admin,
    id: &str,
    if_match: Option<&str>,
) -> Result<(), AdminError> {
    let current = get(store, id).await?;
    check_if_match(if_match, &current)?;
    if !store.delete_client(id).await? {
        return Err(AdminError::NotFound("client"));
    }
    tracing::info!(target: "audit", client_id = %id, by = %admin.subject, "client deleted through the admin API");
    Ok(())
}
