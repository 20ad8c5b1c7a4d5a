//! A registered client ([RFC 6749 §2]) and how it proves who it is.
//!
//! A client is public or confidential by what it registered to prove
//! itself with ([`ClientCredentials`]), never by a missing field: a client
//! that authenticates with keys has no secret and is still confidential
//! ([RFC 6749 §2.1]).
//!
//! Registration (`clients::registration`) is the one place a client is
//! built and checked; the store reads one back from its row.
//!
//! [RFC 6749 §2]: https://www.rfc-editor.org/rfc/rfc6749#section-2
//! [RFC 6749 §2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.1

use super::{AuthMethod, GrantType, Scope};

/// Which secret method a client with a secret may use at the token
/// endpoint ([RFC 7591 §2] `token_endpoint_auth_method`).
///
/// [RFC 7591 §2]: https://www.rfc-editor.org/rfc/rfc7591#section-2
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SecretMethod {
    /// `client_secret_basic` or `client_secret_post`, as the client likes
    /// (no method was registered).
    Either,
    /// `client_secret_basic` only.
    Basic,
    /// `client_secret_post` only.
    Post,
}

impl SecretMethod {
    /// The one method registered, if one was.
    pub fn registered(self) -> Option<AuthMethod> {
        match self {
            SecretMethod::Either => None,
            SecretMethod::Basic => Some(AuthMethod::ClientSecretBasic),
            SecretMethod::Post => Some(AuthMethod::ClientSecretPost),
        }
    }

    /// The secret method `method` registers: `None` for a method that is
    /// not a secret method.
    pub fn from_auth_method(method: AuthMethod) -> Option<SecretMethod> {
        match method {
            AuthMethod::ClientSecretBasic => Some(SecretMethod::Basic),
            AuthMethod::ClientSecretPost => Some(SecretMethod::Post),
            AuthMethod::PrivateKeyJwt | AuthMethod::None => None,
        }
    }

    /// Whether a client registered with this may authenticate with `used`.
    pub fn accepts(self, used: AuthMethod) -> bool {
        match (self, used) {
            (SecretMethod::Either, AuthMethod::ClientSecretBasic | AuthMethod::ClientSecretPost) => true,
            (SecretMethod::Basic, AuthMethod::ClientSecretBasic) => true,
            (SecretMethod::Post, AuthMethod::ClientSecretPost) => true,
            (_, _) => false,
        }
    }
}

/// Where a client's public keys are ([RFC 7591 §2] `jwks` and `jwks_uri`:
/// one or the other, never both).
///
/// [RFC 7591 §2]: https://www.rfc-editor.org/rfc/rfc7591#section-2
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientKeys {
    /// A JWK Set ([RFC 7517 §5]) given inline, as JSON text.
    ///
    /// [RFC 7517 §5]: https://www.rfc-editor.org/rfc/rfc7517#section-5
    Jwks(String),
    /// The https URL the client publishes its JWK Set at.
    JwksUri(String),
}

/// What a client proves itself with at the token endpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCredentials {
    /// A confidential client with a secret. Only the secret's SHA-256 is
    /// kept: client secrets are 256-bit random values, for which a fast
    /// hash is right (a slow password hash would cap the token endpoint).
    Secret {
        /// SHA-256 of the secret.
        hash: Vec<u8>,
        /// Which secret method it may use.
        method: SecretMethod,
    },
    /// A confidential client that signs a JWT with one of its keys
    /// (`private_key_jwt`, [RFC 7523 §2.2]); never taken for public. Keys
    /// registered by `jwks_uri` are not fetched yet: such a client is
    /// refused.
    ///
    /// [RFC 7523 §2.2]: https://www.rfc-editor.org/rfc/rfc7523#section-2.2
    Keys {
        /// Its public keys.
        keys: ClientKeys,
    },
    /// A public client ([RFC 6749 §2.1]): it cannot keep a secret and is
    /// identified by its `client_id` alone.
    ///
    /// [RFC 6749 §2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.1
    None,
}

impl ClientCredentials {
    /// The methods a client with these credentials may use, in
    /// discovery's order.
    pub fn auth_methods(&self) -> Vec<AuthMethod> {
        match self {
            ClientCredentials::Secret { method, .. } => AuthMethod::ALL
                .into_iter()
                .filter(|m| method.accepts(*m))
                .collect(),
            ClientCredentials::Keys { .. } => vec![AuthMethod::PrivateKeyJwt],
            ClientCredentials::None => vec![AuthMethod::None],
        }
    }
}

/// How a client came to be known: who vouches for it. Consent pages say
/// so, and which resources a client may ask for depends on it (issue 21:
/// an operator lists them; a client nobody registered by hand may ask for
/// any registered resource, with the user's consent).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Provenance {
    /// Registered by the operator (CLI, admin surface).
    #[default]
    Operator,
    /// Registered by itself at the registration endpoint ([RFC 7591]).
    ///
    /// [RFC 7591]: https://www.rfc-editor.org/rfc/rfc7591
    Dynamic,
    /// Known by its client ID metadata document: the `client_id` is an
    /// https URL whose document describes it
    /// (draft-ietf-oauth-client-id-metadata-document).
    MetadataDocument,
}

impl Provenance {
    /// The name stored in the `clients.provenance` column.
    pub fn as_str(self) -> &'static str {
        match self {
            Provenance::Operator => "operator",
            Provenance::Dynamic => "dynamic",
            Provenance::MetadataDocument => "metadata_document",
        }
    }

    /// The provenance a stored name names.
    pub fn parse(name: &str) -> Option<Provenance> {
        match name {
            "operator" => Some(Provenance::Operator),
            "dynamic" => Some(Provenance::Dynamic),
            "metadata_document" => Some(Provenance::MetadataDocument),
            _ => None,
        }
    }

    /// Whether an operator registered the client: consent pages present
    /// any other client as one nobody here vetted.
    pub fn is_vetted(self) -> bool {
        self == Provenance::Operator
    }
}

/// The audience of the admin API (`/admin/v1`): its tokens name it in
/// `aud` ([RFC 9068 §3]: the resource server checks it is one of them).
///
/// [RFC 9068 §3]: https://www.rfc-editor.org/rfc/rfc9068#section-3
pub const ADMIN_AUDIENCE: &str = "tessera-admin";

/// The role an administrator's token carries in `roles` ([RFC 9068 §7.2.1.1]).
///
/// [RFC 9068 §7.2.1.1]: https://www.rfc-editor.org/rfc/rfc9068#section-7.2.1.1
pub const ADMIN_ROLE: &str = "admin";

/// A registered client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    /// `client_id`.
    pub id: String,
    /// Display name (shown on consent pages).
    pub name: String,
    /// What it proves itself with; [`ClientCredentials::None`] is a public
    /// client.
    pub credentials: ClientCredentials,
    /// Grant types it may use.
    pub grant_types: Vec<GrantType>,
    /// Scopes it may request.
    pub scopes: Scope,
    /// Audiences its access tokens may name.
    pub audiences: Vec<String>,
    /// Registered redirect URIs.
    pub redirect_uris: Vec<String>,
    /// Access token lifetime in seconds.
    pub access_token_ttl: i64,
    /// Creation time (seconds since the epoch).
    pub created_at: i64,
    /// Whether `/api/v1` puts its refresh token in an HttpOnly cookie.
    pub refresh_cookie: bool,
    /// A first-party client (the operator's own app): its users are not
    /// asked for consent.
    pub first_party: bool,
    /// Whether `/authorize` takes this client's requests only pushed
    /// (RFC 9126 §6, `require_pushed_authorization_requests`).
    pub require_par: bool,
    /// Whether its tokens must be DPoP-bound ([RFC 9449]): a token
    /// request without a DPoP proof is refused (`tessera client create
    /// --dpop-bound`, the `dpop_bound_access_tokens` client metadata of
    /// RFC 9449 §5.2).
    ///
    /// [RFC 9449]: https://www.rfc-editor.org/rfc/rfc9449
    pub dpop_bound: bool,
    /// Whether its users must sign in with a second factor (`tessera
    /// client create --require-mfa`): two factors are an essential level
    /// of its every authorization request.
    pub require_mfa: bool,
    /// An administrator's client (`tessera client create --admin`): its
    /// client-credentials tokens carry `roles: ["admin"]` and may name
    /// [`ADMIN_AUDIENCE`], so a script may call the admin API.
    pub admin: bool,
    /// Who registered it.
    pub provenance: Provenance,
    /// Where RP-initiated logout may send the user back to.
    pub post_logout_redirect_uris: Vec<String>,
    /// The audiences (APIs) this client is the resource server for: it may
    /// introspect tokens issued for them ([RFC 7662 §4]: introspection is
    /// need-to-know). Any client may introspect its own tokens.
    ///
    /// [RFC 7662 §4]: https://www.rfc-editor.org/rfc/rfc7662#section-4
    pub resource_server_for: Vec<String>,
}

impl Client {
    /// Whether this is a public client ([RFC 6749 §2.1]): one registered
    /// with [`ClientCredentials::None`], and nothing else.
    ///
    /// [RFC 6749 §2.1]: https://www.rfc-editor.org/rfc/rfc6749#section-2.1
    pub fn is_public(&self) -> bool {
        matches!(self.credentials, ClientCredentials::None)
    }

    /// Whether the client is registered for `grant` ([RFC 6749 §5.2]
    /// `unauthorized_client` otherwise).
    ///
    /// [RFC 6749 §5.2]: https://www.rfc-editor.org/rfc/rfc6749#section-5.2
    pub fn may_use(&self, grant: GrantType) -> bool {
        self.grant_types.contains(&grant)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_methods_accept_what_they_registered() {
        use AuthMethod::*;
        let table: &[(SecretMethod, AuthMethod, bool)] = &[
            (SecretMethod::Either, ClientSecretBasic, true),
            (SecretMethod::Either, ClientSecretPost, true),
            (SecretMethod::Either, None, false),
            (SecretMethod::Either, PrivateKeyJwt, false),
            (SecretMethod::Basic, ClientSecretBasic, true),
            (SecretMethod::Basic, ClientSecretPost, false),
            (SecretMethod::Post, ClientSecretPost, true),
            (SecretMethod::Post, ClientSecretBasic, false),
            (SecretMethod::Post, None, false),
        ];
        for (registered, used, expected) in table {
            assert_eq!(registered.accepts(*used), *expected, "{registered:?} {used:?}");
        }
        for m in AuthMethod::ALL {
            if let Some(s) = SecretMethod::from_auth_method(m) {
                assert_eq!(s.registered(), Some(m));
            }
        }
        assert_eq!(SecretMethod::Either.registered(), Option::None);
    }

    #[test]
    fn provenance_names_round_trip() {
        for p in [
            Provenance::Operator,
            Provenance::Dynamic,
            Provenance::MetadataDocument,
        ] {
            assert_eq!(Provenance::parse(p.as_str()), Some(p));
        }
        assert_eq!(Provenance::parse("Operator"), Option::None);
        assert!(Provenance::Operator.is_vetted());
        assert!(!Provenance::Dynamic.is_vetted());
        assert!(!Provenance::MetadataDocument.is_vetted());
    }

    #[test]
    fn credentials_name_the_methods_they_allow() {
        let keys = ClientCredentials::Keys {
            keys: ClientKeys::JwksUri("https://app.example/jwks".into()),
        };
        let secret = ClientCredentials::Secret {
            hash: vec![0; 32],
            method: SecretMethod::Either,
        };
        assert_eq!(ClientCredentials::None.auth_methods(), [AuthMethod::None]);
        assert_eq!(keys.auth_methods(), [AuthMethod::PrivateKeyJwt]);
        assert_eq!(
            secret.auth_methods(),
            [AuthMethod::ClientSecretBasic, AuthMethod::ClientSecretPost]
        );
    }
}
