//! GitHub (and GitHub Enterprise Server) upstream. GitHub is an OAuth 2.0
//! provider without ID tokens, so the identity comes from its REST API:
//!
//! - the code is exchanged at the token endpoint with the client
//!   credentials in the body (GitHub's way), PKCE S256 included; a refused
//!   code is a 200 with an `error` member, which counts as a refusal;
//! - `GET {api_base}/user`: the stable numeric `id` (never the `login`,
//!   which its owner can change and someone else can then take), `login`
//!   and `name`;
//! - `GET {api_base}/user/emails`: the one address that is both `primary`
//!   and `verified`, if any; no other address is used.
//!
//! GitHub does not send `iss` ([RFC 9207]); an answer that carries one
//! anyway is refused before this module runs ([`super::Upstreams::arrive`]).
//!
//! [RFC 9207]: https://www.rfc-editor.org/rfc/rfc9207

use serde_json::Value;

use super::{access_token, Profile, Provider, UpstreamError, Upstreams};

/// Exchanges the code, then reads the user and their emails.
pub async fn arrive(
    upstreams: &Upstreams,
    provider: &Provider,
    code: &str,
    verifier: &str,
) -> Result<Profile, UpstreamError> {
    let c = &provider.config;
    let token_endpoint = c
        .token_endpoint
        .clone()
        .unwrap_or_else(|| "https://github.com/login/oauth/access_token".into());
    let answer = upstreams
        .exchange(provider, &token_endpoint, code, verifier, true)
        .await?;
    let token = access_token(provider, &answer)?;
    let api = c
        .api_base
        .clone()
        .unwrap_or_else(|| crate::config::GITHUB_API.into());
    let user = upstreams
        .resource(provider, &format!("{api}/user"), &token)
        .await?;
    let Some(id) = user.get("id").and_then(Value::as_u64) else {
        return Err(UpstreamError::Nonsense(c.name.clone()));
    };
    let emails = upstreams
        .resource(provider, &format!("{api}/user/emails"), &token)
        .await?;
    let email = primary_verified(&emails);
    Ok(Profile {
        subject: id.to_string(),
        username: user.get("login").and_then(Value::as_str).map(str::to_owned),
        name: user.get("name").and_then(Value::as_str).map(str::to_owned),
        email_verified: email.is_some(),
        email,
        groups: vec![],
        amr: vec![],
    })
}

/// The address that is `primary` and `verified`, if there is one.
fn primary_verified(emails: &Value) -> Option<String> {
    emails.as_array()?.iter().find_map(|e| {
        let yes = |name: &str| e.get(name).and_then(Value::as_bool) == Some(true);
        (yes("primary") && yes("verified"))
            .then(|| e.get("email").and_then(Value::as_str).map(str::to_owned))
            .flatten()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_primary_verified_address_counts() {
        let emails = serde_json::json!([
            {"email": "old@example.com", "primary": false, "verified": true},
            {"email": "me@example.com", "primary": true, "verified": true},
        ]);
        assert_eq!(primary_verified(&emails).as_deref(), Some("me@example.com"));
        let unverified = serde_json::json!([{"email": "me@example.com", "primary": true, "verified": false}]);
        assert_eq!(primary_verified(&unverified), None);
        assert_eq!(
            primary_verified(&serde_json::json!({"message": "Bad credentials"})),
            None
        );
    }
}
