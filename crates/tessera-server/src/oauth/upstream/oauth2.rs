//! A plain OAuth 2.0 provider upstream: the code is exchanged (client
//! credentials in HTTP Basic, PKCE S256), then the configured user-info
//! URL is read with the access token, and the configured `fields` say
//! which members hold the stable id, username, name, email, whether the
//! email is verified, and the groups. Without an `email_verified` field no
//! email from such a provider counts as verified.

use serde_json::Value;

use super::{access_token, Profile, Provider, UpstreamError, Upstreams};

/// Exchanges the code, then reads the user.
pub async fn arrive(
    upstreams: &Upstreams,
    provider: &Provider,
    code: &str,
    verifier: &str,
) -> Result<Profile, UpstreamError> {
    let c = &provider.config;
    let (Some(token_endpoint), Some(userinfo), Some(fields)) =
        (&c.token_endpoint, &c.userinfo_endpoint, &c.fields)
    else {
        return Err(UpstreamError::UnknownProvider);
    };
    let answer = upstreams
        .exchange(provider, token_endpoint, code, verifier, false)
        .await?;
    let token = access_token(provider, &answer)?;
    let user = upstreams.resource(provider, userinfo, &token).await?;
    let text = |name: Option<&str>, default: &str| {
        user.get(name.unwrap_or(default))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    // The id may be a string or a number; nothing else is an id.
    let subject = match user.get(&fields.id) {
        Some(Value::String(s)) if !s.is_empty() => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => return Err(UpstreamError::Nonsense(c.name.clone())),
    };
    let email_verified = fields
        .email_verified
        .as_ref()
        .and_then(|f| user.get(f))
        .and_then(Value::as_bool)
        == Some(true);
    Ok(Profile {
        subject,
        username: text(fields.username.as_deref(), "login"),
        name: text(fields.name.as_deref(), "name"),
        email: text(fields.email.as_deref(), "email"),
        email_verified,
        groups: user
            .as_object()
            .map(|u| super::groups(u, c.roles_claim.as_deref()))
            .unwrap_or_default(),
        amr: vec![],
    })
}
