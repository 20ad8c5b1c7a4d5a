//! Client metadata ([RFC 7591 §2]) as JSON: what a client that registers
//! itself sends, read into a [`NewClient`] for
//! [`super::registration`] to check, and a registered [`Client`] written
//! back as the metadata it registered (RFC 7591 §3.2.1, RFC 7592 §3).
//!
//! The members Tessera acts on, each with its default when absent (or
//! `null`, RFC 7592 §2.2):
//!
//! | member | default | |
//! |---|---|---|
//! | `redirect_uris` | none | the code grant needs one |
//! | `token_endpoint_auth_method` | `client_secret_basic` (§2) | `none` (public), `client_secret_basic`, `client_secret_post`, `private_key_jwt` (with `jwks`) |
//! | `grant_types` | `["authorization_code"]` (§2) | and `refresh_token`, `client_credentials` |
//! | `response_types` | `["code"]` with the code grant (§2) | `code` only, and only with the code grant (§2.1) |
//! | `client_name` | "Unnamed app" | on the consent page, at most 100 characters |
//! | `scope` | `openid profile email offline_access` | what it may ask for, with the user's consent |
//! | `jwks` or `jwks_uri` | none | its public keys, for `private_key_jwt` (a `jwks_uri` is fetched as `client_metadata_allow_hosts` allows) |
//! | `post_logout_redirect_uris` | none | RP-initiated logout |
//! | `require_pushed_authorization_requests` | false | [RFC 9126 §6] |
//!
//! Every other member
//! (`client_uri`, `logo_uri`, `tos_uri`, `policy_uri`, `contacts`,
//! `software_id`, `software_version`, `software_statement`, ...) is
//! ignored and not stored, as §2 asks of members a server does not act on:
//! nothing a client says about itself but its name reaches a page.
//!
//! [RFC 7591 §2]: https://www.rfc-editor.org/rfc/rfc7591#section-2
//! [RFC 9126 §6]: https://www.rfc-editor.org/rfc/rfc9126#section-6

use serde_json::{Map, Value};

use super::registration::{ClientType, NewClient};
use crate::domain::{AuthMethod, Client, ClientCredentials, ClientKeys, GrantType, Provenance, Scope};

/// The scope a client that names none may ask for.
pub const DEFAULT_SCOPE: &str = "openid profile email offline_access";

/// The name of a client that gives none.
pub const DEFAULT_NAME: &str = "Unnamed app";

/// The longest `client_name`, in characters.
pub const MAX_NAME: usize = 100;

/// Why client metadata cannot be read. Every description is fixed text
/// naming the member at fault, never the value sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// The body is not a JSON object.
    #[error("the client metadata must be a JSON object (RFC 7591 §2)")]
    NotAnObject,
    /// A member of the wrong JSON type.
    #[error("{0} has the wrong type (RFC 7591 §2)")]
    Type(&'static str),
    /// A `token_endpoint_auth_method` Tessera does not implement.
    #[error(
        "token_endpoint_auth_method must be none, client_secret_basic, client_secret_post or private_key_jwt"
    )]
    AuthMethod,
    /// A grant type Tessera does not offer a client that registers itself.
    #[error("grant_types may hold authorization_code, refresh_token and client_credentials")]
    GrantType,
    /// A response type other than `code`.
    #[error("response_types may hold only code (the authorization code flow)")]
    ResponseType,
    /// `response_types` and `grant_types` disagree (RFC 7591 §2.1).
    #[error(
        "response_types must be [\"code\"] exactly when grant_types holds authorization_code (RFC 7591 §2.1)"
    )]
    ResponseTypesMismatch,
    /// `scope` is not a scope (RFC 6749 §3.3).
    #[error("scope must be scope tokens separated by single spaces (RFC 6749 §3.3)")]
    Scope,
    /// `client_name` too long or with control characters.
    #[error("client_name must be at most 100 characters, without control characters")]
    Name,
    /// Both `jwks` and `jwks_uri` (RFC 7591 §2: "MUST NOT both be present").
    #[error("send jwks or jwks_uri, not both (RFC 7591 §2)")]
    BothJwks,
}

/// A member that must be a string, if present and not `null`.
fn string<'a>(map: &'a Map<String, Value>, member: &'static str) -> Result<Option<&'a str>, MetadataError> {
    match map.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(MetadataError::Type(member)),
    }
}

/// A member that must be an array of strings, if present and not `null`.
fn strings(map: &Map<String, Value>, member: &'static str) -> Result<Option<Vec<String>>, MetadataError> {
    match map.get(member) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or(MetadataError::Type(member)))
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(MetadataError::Type(member)),
    }
}

/// Reads client metadata into what registration checks: a client of
/// provenance [`Provenance::Dynamic`], with `access_token_ttl` (the
/// server's default). Only the form of each member is checked here; the
/// rules are [`super::registration`]'s.
pub fn new_client(map: &Map<String, Value>, access_token_ttl: i64) -> Result<NewClient, MetadataError> {
    let auth_method = match string(map, "token_endpoint_auth_method")? {
        None => AuthMethod::ClientSecretBasic,
        Some(name) => AuthMethod::parse(name).ok_or(MetadataError::AuthMethod)?,
    };
    let keys = match (map.get("jwks").filter(|v| !v.is_null()), string(map, "jwks_uri")?) {
        (Some(_), Some(_)) => return Err(MetadataError::BothJwks),
        (None, Some(uri)) => Some(ClientKeys::JwksUri(uri.to_owned())),
        (Some(jwks @ Value::Object(_)), None) => Some(ClientKeys::Jwks(jwks.to_string())),
        (Some(_), None) => return Err(MetadataError::Type("jwks")),
        (None, None) => None,
    };
    let grant_types = match strings(map, "grant_types")? {
        None => vec![GrantType::AuthorizationCode],
        Some(names) => {
            let mut grants = Vec::new();
            for name in &names {
                let grant = GrantType::parse(name).ok_or(MetadataError::GrantType)?;
                if !grants.contains(&grant) {
                    grants.push(grant);
                }
            }
            grants
        }
    };
    let code = grant_types.contains(&GrantType::AuthorizationCode);
    if let Some(types) = strings(map, "response_types")? {
        if types.iter().any(|t| t != "code") {
            return Err(MetadataError::ResponseType);
        }
        if types.is_empty() == code {
            return Err(MetadataError::ResponseTypesMismatch);
        }
    }
    let scopes =
        Scope::parse(string(map, "scope")?.unwrap_or(DEFAULT_SCOPE)).map_err(|_| MetadataError::Scope)?;
    let name = match string(map, "client_name")? {
        None => DEFAULT_NAME.to_owned(),
        Some(name) if name.chars().count() > MAX_NAME || name.chars().any(char::is_control) => {
            return Err(MetadataError::Name)
        }
        Some(name) if name.trim().is_empty() => DEFAULT_NAME.to_owned(),
        Some(name) => name.to_owned(),
    };
    let require_par = match map.get("require_pushed_authorization_requests") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(MetadataError::Type("require_pushed_authorization_requests")),
    };
    Ok(NewClient {
        name,
        client_type: if auth_method == AuthMethod::None {
            ClientType::Public
        } else {
            ClientType::Confidential
        },
        auth_method: Some(auth_method),
        keys,
        grant_types,
        scopes,
        redirect_uris: strings(map, "redirect_uris")?.unwrap_or_default(),
        post_logout_redirect_uris: strings(map, "post_logout_redirect_uris")?.unwrap_or_default(),
        require_par,
        provenance: Provenance::Dynamic,
        ..NewClient::new("", access_token_ttl)
    })
}

/// The metadata a client registered (RFC 7591 §3.2.1: "all registered
/// metadata about the client"), with `client_id` and
/// `client_id_issued_at`; what the server adds (secret, tokens, URIs) the
/// caller adds.
pub fn registered(client: &Client) -> Map<String, Value> {
    let mut map = Map::new();
    let mut put = |name: &str, value: Value| {
        map.insert(name.to_owned(), value);
    };
    put("client_id", client.id.clone().into());
    put("client_id_issued_at", client.created_at.into());
    put("client_name", client.name.clone().into());
    put("redirect_uris", client.redirect_uris.clone().into());
    if !client.post_logout_redirect_uris.is_empty() {
        put(
            "post_logout_redirect_uris",
            client.post_logout_redirect_uris.clone().into(),
        );
    }
    put(
        "grant_types",
        client
            .grant_types
            .iter()
            .map(|g| g.as_str())
            .collect::<Vec<_>>()
            .into(),
    );
    let response_types: Vec<&str> = if client.may_use(GrantType::AuthorizationCode) {
        vec!["code"]
    } else {
        vec![]
    };
    put("response_types", response_types.into());
    // A client registered here has one method; an operator's may allow
    // both secret methods, of which basic is RFC 7591's default.
    let method = client
        .credentials
        .auth_methods()
        .first()
        .copied()
        .unwrap_or(AuthMethod::ClientSecretBasic);
    put("token_endpoint_auth_method", method.as_str().into());
    match &client.credentials {
        ClientCredentials::Keys {
            keys: ClientKeys::Jwks(jwks),
        } => put("jwks", serde_json::from_str(jwks).unwrap_or(Value::Null)),
        ClientCredentials::Keys {
            keys: ClientKeys::JwksUri(uri),
        } => put("jwks_uri", uri.as_str().into()),
        ClientCredentials::Secret { .. } | ClientCredentials::None => {}
    }
    put("scope", client.scopes.as_str().into());
    put("require_pushed_authorization_requests", client.require_par.into());
    map
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(json: &str) -> Result<NewClient, MetadataError> {
        let value: Value = serde_json::from_str(json).unwrap();
        new_client(value.as_object().unwrap(), 600)
    }

    /// Defaults (RFC 7591 §2) and each member's form.
    #[test]
    fn metadata_reads_into_a_new_client() {
        let new =
            read(r#"{"redirect_uris":["https://app.example/cb"],"logo_uri":"https://x.example/l.png"}"#)
                .unwrap();
        assert_eq!(new.auth_method, Some(AuthMethod::ClientSecretBasic));
        assert_eq!(new.client_type, ClientType::Confidential);
        assert_eq!(new.grant_types, [GrantType::AuthorizationCode]);
        assert_eq!(new.scopes.as_str(), DEFAULT_SCOPE);
        assert_eq!(new.name, DEFAULT_NAME);
        assert_eq!(new.provenance, Provenance::Dynamic);
        assert!(!new.first_party && new.audiences.is_empty() && new.origins.is_empty());

        let public = read(
            r#"{"redirect_uris":["http://127.0.0.1:9/cb"],"token_endpoint_auth_method":"none",
                "grant_types":["authorization_code","refresh_token"],"response_types":["code"],
                "client_name":"Notes","scope":"openid","jwks_uri":null}"#,
        )
        .unwrap();
        assert_eq!(public.client_type, ClientType::Public);
        assert_eq!(public.name, "Notes");
        assert_eq!(
            public.grant_types,
            [GrantType::AuthorizationCode, GrantType::RefreshToken]
        );

        let table: &[(&str, MetadataError)] = &[
            ("[]", MetadataError::Type("")),
            (
                r#"{"redirect_uris":"https://a.example/cb"}"#,
                MetadataError::Type("redirect_uris"),
            ),
            (r#"{"redirect_uris":[1]}"#, MetadataError::Type("redirect_uris")),
            (
                r#"{"token_endpoint_auth_method":"client_secret_jwt"}"#,
                MetadataError::AuthMethod,
            ),
            (
                r#"{"token_endpoint_auth_method":"tls_client_auth"}"#,
                MetadataError::AuthMethod,
            ),
            (r#"{"grant_types":["implicit"]}"#, MetadataError::GrantType),
            (
                r#"{"grant_types":["urn:ietf:params:oauth:grant-type:device_code"]}"#,
                MetadataError::GrantType,
            ),
            (r#"{"response_types":["token"]}"#, MetadataError::ResponseType),
            (
                r#"{"response_types":["code id_token"]}"#,
                MetadataError::ResponseType,
            ),
            (r#"{"response_types":[]}"#, MetadataError::ResponseTypesMismatch),
            (
                r#"{"grant_types":["client_credentials"],"response_types":["code"]}"#,
                MetadataError::ResponseTypesMismatch,
            ),
            (r#"{"scope":"a  b"}"#, MetadataError::Scope),
            (r#"{"client_name":"a\u0007b"}"#, MetadataError::Name),
            (
                &format!(r#"{{"client_name":"{}"}}"#, "x".repeat(101)),
                MetadataError::Name,
            ),
            (
                r#"{"jwks":{"keys":[]},"jwks_uri":"https://a.example/j"}"#,
                MetadataError::BothJwks,
            ),
            (r#"{"jwks":"keys"}"#, MetadataError::Type("jwks")),
            (
                r#"{"require_pushed_authorization_requests":"yes"}"#,
                MetadataError::Type("require_pushed_authorization_requests"),
            ),
        ];
        for (json, expected) in table {
            let value: Value = serde_json::from_str(json).unwrap();
            let got = match value.as_object() {
                Some(map) => new_client(map, 600).err(),
                None => Some(MetadataError::Type("")),
            };
            assert_eq!(got, Some(*expected), "{json}");
        }
    }
}
