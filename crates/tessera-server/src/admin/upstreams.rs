//! `/admin/v1/upstreams`: the upstream identity providers (`[[upstream]]`
//! tables), read only: they are configuration, changed in the file. Never
//! the client secret (nor where it is kept).

use std::collections::BTreeMap;

use super::{AdminError, Page};
use crate::config::UpstreamKind;
use crate::oauth::upstream::{Provider, Upstreams};

/// An upstream provider as the admin API shows it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct UpstreamView {
    /// Its id (`/upstream/{id}/callback`, and the `provider` of linked
    /// identities).
    pub id: String,
    /// The button's label.
    pub name: String,
    /// `oidc`, `github` or `oauth2`.
    pub kind: String,
    /// The provider's issuer (`oidc`).
    pub issuer: Option<String>,
    /// Its authorization endpoint, when configured (an OpenID provider's
    /// is discovered).
    pub authorization_endpoint: Option<String>,
    /// Its token endpoint, when configured.
    pub token_endpoint: Option<String>,
    /// Its user-info URL (`oauth2`).
    pub userinfo_endpoint: Option<String>,
    /// GitHub's API base (`github`).
    pub api_base: Option<String>,
    /// The redirect URI registered at the provider.
    pub redirect_uri: String,
    /// Tessera's client id at the provider.
    pub client_id: String,
    /// The scopes asked for.
    pub scopes: Vec<String>,
    /// Whether its second factor counts here (with an ID token's `amr`
    /// showing one).
    pub trust_mfa: bool,
    /// Linking: whether its verified emails link an identity to the local
    /// user with that email without the person proving that account.
    pub trust_email: bool,
    /// Linking: whether a first sign-in with an unknown identity may
    /// create a local user.
    pub create_users: bool,
    /// The claim or field holding the user's groups.
    pub roles_claim: Option<String>,
    /// Upstream group to local roles.
    pub role_map: BTreeMap<String, Vec<String>>,
}

/// A provider as the admin API shows it.
pub fn view(upstreams: &Upstreams, p: &Provider) -> UpstreamView {
    let c = &p.config;
    UpstreamView {
        id: c.id.clone(),
        name: c.name.clone(),
        kind: match c.kind {
            UpstreamKind::Oidc => "oidc",
            UpstreamKind::Github => "github",
            UpstreamKind::Oauth2 => "oauth2",
        }
        .to_owned(),
        issuer: c.issuer.clone(),
        authorization_endpoint: c.authorization_endpoint.clone(),
        token_endpoint: c.token_endpoint.clone(),
        userinfo_endpoint: c.userinfo_endpoint.clone(),
        api_base: c.api_base.clone(),
        redirect_uri: upstreams.callback(p),
        client_id: c.client_id.clone(),
        scopes: c.scopes(),
        trust_mfa: c.trust_mfa,
        trust_email: c.trust_email,
        create_users: p.create_users,
        roles_claim: c.roles_claim.clone(),
        role_map: c.role_map.clone(),
    }
}

/// Every provider (configuration holds a handful: one page).
pub fn list(upstreams: &Upstreams) -> Page<UpstreamView> {
    Page {
        items: upstreams.providers().map(|p| view(upstreams, p)).collect(),
        next_cursor: None,
    }
}

/// One provider.
pub fn get(upstreams: &Upstreams, id: &str) -> Result<UpstreamView, AdminError> {
    upstreams
        .provider(id)
        .map(|p| view(upstreams, p))
        .map_err(|_| AdminError::NotFound("upstream provider"))
}
