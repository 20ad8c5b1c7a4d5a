//! What a client reads before it talks to the server: the metadata
//! document ([RFC 8414 §3], OpenID Connect Discovery §4) and the signing
//! keys ([RFC 7517 §5]). Both are public and cacheable; the JWKS for less
//! long, though rotation publishes a key before it signs.
//!
//! [RFC 8414 §3]: https://www.rfc-editor.org/rfc/rfc8414#section-3
//! [RFC 7517 §5]: https://www.rfc-editor.org/rfc/rfc7517#section-5

use std::sync::Arc;

use axum::extract::State;

use super::response::Json;
use super::AppState;
use crate::oauth::authorize::Prompt;
use crate::oauth::client_auth::{AuthMethod, PublicClients};
use crate::oauth::grant::GrantType;

/// The switches that change what discovery advertises.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Advertised {
    /// `require_pushed_authorization_requests` (RFC 9126 §5).
    pub require_par: bool,
    /// Dynamic registration is on: `registration_endpoint`.
    pub registration: bool,
    /// Client ID metadata documents are on.
    pub metadata_documents: bool,
}

/// The metadata document ([RFC 8414 §2], [OpenID Connect Discovery §3]),
/// rendered once. Every list that names what the server implements is
/// derived from the code that implements it, so it cannot claim more or
/// less than the server does: the grant types ([`GrantType::ALL`]), the
/// client authentication methods each endpoint accepts ([`AuthMethod::ALL`]
/// and who may call it), the `prompt` values acted on
/// ([`Prompt::is_acted_on`]), the ID-token algorithm
/// ([`crate::keys::ID_TOKEN_ALG`]).
///
/// What depends on settings is in [`Advertised`]: `registration_endpoint`
/// only when clients may register (RFC 7591 §3), and
/// `client_id_metadata_document_supported`
/// (draft-ietf-oauth-client-id-metadata-document §6), `true`, only when
/// metadata documents are on.
///
/// [RFC 8414 §2]: https://www.rfc-editor.org/rfc/rfc8414#section-2
/// [OpenID Connect Discovery §3]: https://openid.net/specs/openid-connect-discovery-1_0.html#ProviderMetadata
pub(super) fn document(issuer: &str, on: Advertised) -> String {
    let Advertised {
        require_par,
        registration,
        metadata_documents,
    } = on;
    let mut doc = serde_json::json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{issuer}/authorize"),
        "token_endpoint": format!("{issuer}/token"),
        "jwks_uri": format!("{issuer}/jwks"),
        "userinfo_endpoint": format!("{issuer}/userinfo"),
        "end_session_endpoint": format!("{issuer}/logout"),
        "introspection_endpoint": format!("{issuer}/introspect"),
        "introspection_endpoint_auth_methods_supported": auth_methods(crate::oauth::introspect::CALLERS),
        "revocation_endpoint": format!("{issuer}/revoke"),
        "revocation_endpoint_auth_methods_supported": auth_methods(crate::oauth::revoke::CALLERS),
        "grant_types_supported": GrantType::ALL.map(GrantType::as_str),
        // Public clients may use some grants (crate::oauth::token).
        "token_endpoint_auth_methods_supported": auth_methods(PublicClients::Allowed),
        // RFC 9126 §5.
        "pushed_authorization_request_endpoint": format!("{issuer}/par"),
        "require_pushed_authorization_requests": require_par,
        "token_endpoint_auth_signing_alg_values_supported": assertion_algorithms(),
        "introspection_endpoint_auth_signing_alg_values_supported": assertion_algorithms(),
        "revocation_endpoint_auth_signing_alg_values_supported": assertion_algorithms(),
        // RFC 9449 §5.1: the algorithms a DPoP proof may use.
        "dpop_signing_alg_values_supported": crate::oauth::dpop::ALGORITHMS.map(tessera_jwt::Algorithm::name),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "code_challenge_methods_supported": ["S256"],
        "scopes_supported": ["openid", "profile", "email", "offline_access", "roles"],
        "claims_supported": ["iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash", "sid", "amr", "acr", "name", "preferred_username", "email", "email_verified", "roles"],
        // The levels a sign-in reaches: `phr` only where passkeys are
        // offered (an issuer that is a host name: WebAuthn refuses IP
        // addresses as relying-party IDs).
        "acr_values_supported": crate::domain::Acr::ALL
            .into_iter()
            .filter(|acr| *acr != crate::domain::Acr::PhishingResistant
                || crate::identity::passkeys::RelyingParty::from_issuer(issuer, "Tessera").is_ok())
            .map(crate::domain::Acr::as_str)
            .collect::<Vec<_>>(),
        "prompt_values_supported": Prompt::ALL
            .into_iter()
            .filter(|p| p.is_acted_on())
            .map(Prompt::as_str)
            .collect::<Vec<_>>(),
        // OpenID Connect Core §5.5: read for `id_token.acr` (essential
        // levels); other members are accepted and ignored.
        "claims_parameter_supported": true,
        "request_parameter_supported": false,
        "request_uri_parameter_supported": false,
        "authorization_response_iss_parameter_supported": true,
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": [crate::keys::ID_TOKEN_ALG.name()],
    });
    // RFC 8414 §2, RFC 7591 §3: only when clients may register.
    if registration {
        if let Some(doc) = doc.as_object_mut() {
            doc.insert(
                "registration_endpoint".into(),
                format!("{issuer}{}", crate::oauth::dynamic_registration::PATH).into(),
            );
        }
    }
    if let (true, Some(fields)) = (metadata_documents, doc.as_object_mut()) {
        fields.insert("client_id_metadata_document_supported".into(), true.into());
    }
    doc.to_string()
}

/// The algorithms a `private_key_jwt` assertion may be signed with: every
/// asymmetric one tessera-jwt verifies (`crate::clients::assertion`).
fn assertion_algorithms() -> Vec<&'static str> {
    tessera_jwt::Algorithm::ALL
        .into_iter()
        .filter(|a| !a.is_symmetric())
        .map(tessera_jwt::Algorithm::name)
        .collect()
}

/// The client authentication methods of an endpoint that `callers` may
/// call: `none` only where public clients may.
fn auth_methods(callers: PublicClients) -> Vec<&'static str> {
    AuthMethod::ALL
        .into_iter()
        .filter(|m| match m {
            AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost => true,
            AuthMethod::None => callers == PublicClients::Allowed,
            // RFC 7523 §2.2: a confidential client with registered keys.
            AuthMethod::PrivateKeyJwt => true,
        })
        .map(AuthMethod::as_str)
        .collect()
}

/// `GET /.well-known/openid-configuration` and
/// `/.well-known/oauth-authorization-server`.
pub(super) async fn metadata(State(state): State<Arc<AppState>>) -> Json {
    Json::rendered(state.discovery.clone(), 3600)
}

/// `GET /jwks`.
pub(super) async fn jwks(State(state): State<Arc<AppState>>) -> Json {
    Json::rendered(state.keys().jwks_json.to_string(), 300)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use base64::Engine;

    fn metadata() -> serde_json::Value {
        serde_json::from_str(&document(fixtures::ISSUER, Advertised::default())).unwrap()
    }

    /// `client_id_metadata_document_supported` only when the setting is
    /// on (draft-ietf-oauth-client-id-metadata-document §6).
    #[test]
    fn metadata_documents_are_advertised_only_when_on() {
        assert!(metadata().get("client_id_metadata_document_supported").is_none());
        let on: serde_json::Value = serde_json::from_str(&document(
            fixtures::ISSUER,
            Advertised {
                metadata_documents: true,
                ..Advertised::default()
            },
        ))
        .unwrap();
        assert_eq!(on["client_id_metadata_document_supported"], true);
    }

    fn list(doc: &serde_json::Value, member: &str) -> Vec<String> {
        doc[member]
            .as_array()
            .unwrap_or_else(|| panic!("{member}"))
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect()
    }

    /// Issue 18, item 9: `prompt_values_supported` lists what the server
    /// acts on: not `select_account`, which it accepts and drops.
    #[test]
    fn prompt_values_are_those_acted_on() {
        assert_eq!(
            list(&metadata(), "prompt_values_supported"),
            ["none", "login", "consent"]
        );
        for p in Prompt::ALL {
            assert_eq!(Prompt::parse(p.as_str()), Some(p));
        }
    }

    /// Each endpoint lists the methods it accepts: `none` (public
    /// clients) at the token and revocation endpoints, not at
    /// introspection; every grant type the token endpoint dispatches.
    #[test]
    fn endpoints_list_what_they_accept() {
        let doc = metadata();
        let all = [
            "client_secret_basic",
            "client_secret_post",
            "private_key_jwt",
            "none",
        ];
        assert_eq!(list(&doc, "token_endpoint_auth_methods_supported"), all);
        assert_eq!(list(&doc, "revocation_endpoint_auth_methods_supported"), all);
        assert_eq!(
            list(&doc, "introspection_endpoint_auth_methods_supported"),
            ["client_secret_basic", "client_secret_post", "private_key_jwt"]
        );
        // private_key_jwt assertions: asymmetric algorithms only.
        for member in [
            "token_endpoint_auth_signing_alg_values_supported",
            "introspection_endpoint_auth_signing_alg_values_supported",
            "revocation_endpoint_auth_signing_alg_values_supported",
        ] {
            let algs = list(&doc, member);
            assert!(
                algs.contains(&"ES256".to_owned()) && algs.contains(&"RS256".to_owned()),
                "{member}"
            );
            assert!(!algs.iter().any(|a| a.starts_with("HS")), "{member}: {algs:?}");
        }
        assert_eq!(
            list(&doc, "grant_types_supported"),
            [
                "authorization_code",
                "client_credentials",
                "password",
                "refresh_token"
            ]
        );
    }

    /// Issue 18, item 9: for every `token_alg` the configuration accepts,
    /// an ID token's `alg` header is one discovery lists in
    /// `id_token_signing_alg_values_supported`, and every listed one is
    /// the ID-token signer's.
    #[tokio::test]
    async fn id_tokens_are_signed_with_what_discovery_says() {
        use crate::oauth::grant::{authorization_code, GrantType};
        let advertised = list(&metadata(), "id_token_signing_alg_values_supported");
        let settings: Vec<tessera_jwt::Algorithm> = tessera_jwt::Algorithm::ALL
            .into_iter()
            .filter(|alg| {
                let config = crate::config::Config {
                    token_alg: alg.name().to_owned(),
                    ..crate::config::Config::default()
                };
                config.algorithm().is_ok()
            })
            .collect();
        assert!(settings.len() >= 5, "{settings:?}");
        for token_alg in settings {
            let store = fixtures::store().await;
            let ring = fixtures::key_ring(&store, token_alg).await;
            let grants = [GrantType::AuthorizationCode];
            let web = fixtures::client("web", Some("s"), &grants, "openid");
            let web = fixtures::registered(&store, &web, Some("s")).await;
            fixtures::add_user(&store, &fixtures::user("u1", "alice", "alice's long password")).await;
            fixtures::add_code(&store, &fixtures::code("c", "web", "u1", "openid")).await;
            let issue = crate::oauth::user_tokens::Issue {
                signer: &ring.access_tokens,
                ..fixtures::issue(fixtures::NOW)
            };
            let form = fixtures::params("code=c&redirect_uri=https%3A%2F%2Fapp.example%2Fcb");
            let tokens = authorization_code::handle(&store, &issue, &ring.id_tokens, &web, &form)
                .await
                .unwrap();
            let alg = |token: &str| -> String {
                let header = token.split('.').next().unwrap();
                let header = base64::engine::general_purpose::URL_SAFE_NO_PAD
                    .decode(header)
                    .unwrap();
                let header: serde_json::Value = serde_json::from_slice(&header).unwrap();
                header["alg"].as_str().unwrap().to_owned()
            };
            let id_alg = alg(tokens.id_token.as_deref().unwrap());
            assert_eq!(advertised, std::slice::from_ref(&id_alg), "token_alg {token_alg}");
            assert_eq!(
                alg(&tokens.access_token),
                token_alg.name(),
                "token_alg {token_alg}"
            );
        }
    }
}
