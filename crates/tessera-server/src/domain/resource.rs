//! Resource servers and resource indicators ([RFC 8707]).
//!
//! A [`Resource`] is an API the operator registered
//! (`tessera resource create --identifier URI --scope "a b"`): its
//! identifier is the `aud` of the tokens issued for it, and its scopes are
//! the ones it accepts. A client names the APIs it wants a token for with
//! `resource` at `/authorize` and `/token` ([RFC 8707 §2]); the set it names
//! is [`Resources`].
//!
//! Which resources a client may ask for ([`may_request`]): an operator's
//! client, those registered for it (`--audience` or `--resource`); a client
//! nobody here registered by hand (dynamic registration, a client ID
//! metadata document), any registered resource, with the user's consent.
//!
//! [RFC 8707]: https://www.rfc-editor.org/rfc/rfc8707
//! [RFC 8707 §2]: https://www.rfc-editor.org/rfc/rfc8707#section-2

use std::sync::Arc;

use super::{Client, Provenance, Scope};

/// A registered resource server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resource {
    /// Its resource indicator: an absolute URI without a fragment
    /// ([RFC 8707 §2]), the `aud` of tokens for it.
    ///
    /// [RFC 8707 §2]: https://www.rfc-editor.org/rfc/rfc8707#section-2
    pub identifier: String,
    /// Its name, shown on the consent page.
    pub name: String,
    /// The scopes it accepts: a token for it carries no other.
    pub scopes: Scope,
    /// When it was registered (seconds since the epoch).
    pub created_at: i64,
}

/// Why a `resource` value is not a resource indicator ([RFC 8707 §2]).
///
/// [RFC 8707 §2]: https://www.rfc-editor.org/rfc/rfc8707#section-2
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum IdentifierError {
    /// Not an absolute URI.
    #[error("a resource indicator must be an absolute URI")]
    NotAbsolute,
    /// It has a fragment ("MUST NOT include a fragment component").
    #[error("a resource indicator must not include a fragment")]
    Fragment,
}

/// Checks a resource indicator: "an absolute URI, as specified by Section
/// 4.3 of RFC 3986 ... MUST NOT include a fragment component"
/// ([RFC 8707 §2]). A query is allowed, though the RFC advises against
/// one.
///
/// [RFC 8707 §2]: https://www.rfc-editor.org/rfc/rfc8707#section-2
pub fn check_identifier(identifier: &str) -> Result<(), IdentifierError> {
    let url = url::Url::parse(identifier).map_err(|_| IdentifierError::NotAbsolute)?;
    if url.cannot_be_a_base() && !identifier.starts_with("urn:") {
        return Err(IdentifierError::NotAbsolute);
    }
    if url.fragment().is_some() || identifier.contains('#') {
        return Err(IdentifierError::Fragment);
    }
    Ok(())
}

/// Why the resources a request names cannot be granted: `invalid_target`
/// on the wire ([RFC 8707 §2]), with these words as its description.
///
/// [RFC 8707 §2]: https://www.rfc-editor.org/rfc/rfc8707#section-2
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TargetError {
    /// A `resource` value is not a resource indicator.
    #[error("resource is malformed: {0}")]
    Malformed(IdentifierError),
    /// A `resource` names no registered resource server.
    #[error("the resource is not a registered resource server")]
    Unknown,
    /// The client may not ask for a token for this resource.
    #[error("the resource is not allowed for this client")]
    NotAllowed,
    /// The grant (a code or a refresh token) was not given for this
    /// resource: a later request may narrow the resources, never widen
    /// them ([RFC 8707 §2.2]).
    ///
    /// [RFC 8707 §2.2]: https://www.rfc-editor.org/rfc/rfc8707#section-2.2
    #[error("the resource was not granted to this code or refresh token")]
    NotGranted,
}

/// The resources a request names, or a grant was given for: each
/// identifier once, in the order first given (so a token's `aud` is
/// stable). Empty means "no `resource` was sent": today's behaviour, the
/// client's registered audiences.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Resources(Vec<String>);

impl Resources {
    /// The set of these identifiers (a repeat counts once).
    pub fn from_identifiers<I, S>(identifiers: I) -> Resources
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut set = Resources::default();
        for id in identifiers {
            let id = id.into();
            if !set.0.contains(&id) {
                set.0.push(id);
            }
        }
        set
    }

    /// The `resource` values of a request ([RFC 8707 §2]: the parameter
    /// may be repeated), each checked by [`check_identifier`].
    ///
    /// [RFC 8707 §2]: https://www.rfc-editor.org/rfc/rfc8707#section-2
    pub fn parse<'a>(values: impl IntoIterator<Item = &'a str>) -> Result<Resources, TargetError> {
        let values: Vec<&str> = values.into_iter().collect();
        for v in &values {
            check_identifier(v).map_err(TargetError::Malformed)?;
        }
        Ok(Resources::from_identifiers(values))
    }

    /// No resource, for as long as needed.
    pub fn none() -> &'static Resources {
        static NONE: Resources = Resources(Vec::new());
        &NONE
    }

    /// The stored form: identifiers separated by single spaces (a resource
    /// indicator is a URI, which holds no space).
    pub fn from_stored(text: &str) -> Resources {
        Resources::from_identifiers(text.split(' ').filter(|s| !s.is_empty()))
    }

    /// The stored form.
    pub fn to_stored(&self) -> String {
        self.0.join(" ")
    }

    /// The identifiers.
    pub fn identifiers(&self) -> &[String] {
        &self.0
    }

    /// Whether none was named.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether every one of `other` is in this set.
    pub fn covers(&self, other: &Resources) -> bool {
        other.0.iter().all(|r| self.0.contains(r))
    }

    /// This set and `other`'s.
    pub fn union(&self, other: &Resources) -> Resources {
        Resources::from_identifiers(self.0.iter().chain(other.0.iter()).cloned())
    }

    /// What a later request may have of a grant given for this set
    /// ([RFC 8707 §2.2]): `requested` when every one of it was granted (an
    /// empty request means all that was granted), else `None`, which is
    /// `invalid_target`: a refresh or a code may narrow the resources,
    /// never widen them.
    ///
    /// [RFC 8707 §2.2]: https://www.rfc-editor.org/rfc/rfc8707#section-2.2
    pub fn narrow(&self, requested: &Resources) -> Option<Resources> {
        if requested.is_empty() {
            return Some(self.clone());
        }
        self.covers(requested).then(|| requested.clone())
    }
}

/// Every registered resource server, as read at one time (the store keeps
/// it for a few seconds: there are few, and grants that name one need
/// them all).
#[derive(Clone, Debug, Default)]
pub struct Registry(Arc<Vec<Resource>>);

impl Registry {
    /// A registry of these resources.
    pub fn of(resources: Vec<Resource>) -> Registry {
        Registry(Arc::new(resources))
    }

    /// The resource with this identifier.
    pub fn find(&self, identifier: &str) -> Option<&Resource> {
        self.0.iter().find(|r| r.identifier == identifier)
    }

    /// Every resource, by identifier.
    pub fn all(&self) -> &[Resource] {
        &self.0
    }

    /// The resources `requested` names, each registered and allowed to
    /// `client` ([`may_request`]).
    pub fn resolve(&self, client: &Client, requested: &Resources) -> Result<Vec<&Resource>, TargetError> {
        requested
            .identifiers()
            .iter()
            .map(|id| {
                let resource = self.find(id).ok_or(TargetError::Unknown)?;
                if may_request(client, resource) {
                    Ok(resource)
                } else {
                    Err(TargetError::NotAllowed)
                }
            })
            .collect()
    }

    /// What an access token is for, when a grant given for `granted`
    /// resources and `scope` is used with `requested` resources (none: all
    /// that was granted): `None` when the grant names no resource (the
    /// client's registered audiences, as before RFC 8707), else the
    /// resources, each still registered and allowed to `client`, and the
    /// scope narrowed silently to what they accept.
    pub fn target(
        &self,
        client: &Client,
        granted: &Resources,
        requested: &Resources,
        scope: &Scope,
    ) -> Result<Option<Target>, TargetError> {
        let chosen = granted.narrow(requested).ok_or(TargetError::NotGranted)?;
        if chosen.is_empty() {
            return Ok(None);
        }
        let resolved = self.resolve(client, &chosen)?;
        let accepted = accepted_scopes(resolved.iter().copied());
        Ok(Some(Target {
            scope: scope.without(|t| !accepted.has(t)),
            resources: chosen,
        }))
    }
}

/// What one access token is for: its `aud` and its `scope`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// The resources: the token's `aud`.
    pub resources: Resources,
    /// The granted scope, narrowed to what the resources accept.
    pub scope: Scope,
}

/// Whether `client` may ask for a token for `resource` (see the module
/// documentation).
pub fn may_request(client: &Client, resource: &Resource) -> bool {
    match client.provenance {
        Provenance::Operator => client.audiences.contains(&resource.identifier),
        Provenance::Dynamic | Provenance::MetadataDocument => true,
    }
}

/// The union of the scopes `resources` accept.
pub fn accepted_scopes<'a>(resources: impl IntoIterator<Item = &'a Resource>) -> Scope {
    resources
        .into_iter()
        .fold(Scope::default(), |all, r| all.union(&r.scopes))
}

/// What a user approved for a client: scopes, and the APIs the client may
/// use on their behalf. A remembered approval stands in for a new consent
/// only when it covers both (OpenID Connect Core §3.1.2.4).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Approval {
    /// The approved scopes.
    pub scope: Scope,
    /// The approved resources.
    pub resources: Resources,
}

impl Approval {
    /// Whether this approval covers `scope` for `resources`.
    pub fn covers(&self, scope: &Scope, resources: &Resources) -> bool {
        self.scope.covers(scope) && self.resources.covers(resources)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{ClientCredentials, GrantType};

    /// A public code-flow client allowed `audiences`.
    fn client(audiences: &[&str]) -> Client {
        Client {
            id: "c".into(),
            name: "C".into(),
            credentials: ClientCredentials::None,
            grant_types: vec![GrantType::AuthorizationCode],
            scopes: Scope::from_tokens(["openid"]),
            audiences: audiences.iter().map(|a| (*a).to_owned()).collect(),
            redirect_uris: vec!["https://app.example/cb".into()],
            access_token_ttl: 60,
            created_at: 0,
            refresh_cookie: false,
            first_party: false,
            require_par: false,
            provenance: Provenance::Operator,
            dpop_bound: false,
            require_mfa: false,
            admin: false,
            post_logout_redirect_uris: vec![],
            resource_server_for: vec![],
        }
    }

    #[test]
    fn identifiers_are_absolute_uris_without_fragments() {
        let table = [
            ("https://api.example.com", Ok(())),
            ("https://api.example.com/mcp", Ok(())),
            ("https://api.example.com/v1?tenant=a", Ok(())),
            ("urn:example:api", Ok(())),
            ("/relative", Err(IdentifierError::NotAbsolute)),
            ("api", Err(IdentifierError::NotAbsolute)),
            ("", Err(IdentifierError::NotAbsolute)),
            ("https://api.example.com/#frag", Err(IdentifierError::Fragment)),
            ("https://api.example.com/#", Err(IdentifierError::Fragment)),
        ];
        for (id, expected) in table {
            assert_eq!(check_identifier(id), expected, "{id:?}");
        }
    }

    #[test]
    fn a_grant_can_be_narrowed_never_widened() {
        let granted = Resources::from_identifiers(["https://a", "https://b"]);
        let a = Resources::from_identifiers(["https://a"]);
        let c = Resources::from_identifiers(["https://a", "https://c"]);
        assert_eq!(granted.narrow(&Resources::default()), Some(granted.clone()));
        assert_eq!(granted.narrow(&a), Some(a.clone()));
        assert_eq!(granted.narrow(&c), None);
        assert_eq!(
            Resources::default().narrow(&a),
            None,
            "nothing granted: nothing to narrow to"
        );
        assert_eq!(
            Resources::from_stored(&granted.to_stored()),
            granted,
            "stored form round-trips"
        );
        assert_eq!(Resources::from_identifiers(["x", "x"]).identifiers(), ["x"]);
    }

    #[test]
    fn operators_clients_ask_for_their_resources_others_for_any() {
        let api = Resource {
            identifier: "https://api.example".into(),
            name: "API".into(),
            scopes: Scope::from_tokens(["read"]),
            created_at: 0,
        };
        let mut client = client(&[]);
        assert!(!may_request(&client, &api));
        client.audiences = vec!["https://api.example".into()];
        assert!(may_request(&client, &api));
        client.audiences = vec![];
        for p in [Provenance::Dynamic, Provenance::MetadataDocument] {
            client.provenance = p;
            assert!(may_request(&client, &api), "{p:?}");
        }
    }

    #[test]
    fn a_token_is_for_granted_resources_and_the_scopes_they_accept() {
        let registry = Registry::of(vec![
            Resource {
                identifier: "https://a".into(),
                name: "A".into(),
                scopes: Scope::from_tokens(["a:read"]),
                created_at: 0,
            },
            Resource {
                identifier: "https://b".into(),
                name: "B".into(),
                scopes: Scope::from_tokens(["b:read", "b:write"]),
                created_at: 0,
            },
        ]);
        let mut client = client(&["https://a", "https://b"]);
        let granted = Resources::from_identifiers(["https://a", "https://b"]);
        let scope = Scope::from_tokens(["openid", "a:read", "b:write"]);
        let all = registry
            .target(&client, &granted, &Resources::default(), &scope)
            .unwrap()
            .unwrap();
        assert_eq!(all.resources, granted);
        assert_eq!(
            all.scope.as_str(),
            "a:read b:write",
            "openid is not an API's scope"
        );
        let a = registry
            .target(
                &client,
                &granted,
                &Resources::from_identifiers(["https://a"]),
                &scope,
            )
            .unwrap()
            .unwrap();
        assert_eq!(
            (a.resources.to_stored().as_str(), a.scope.as_str()),
            ("https://a", "a:read")
        );
        assert_eq!(
            registry.target(&client, &Resources::default(), &Resources::default(), &scope),
            Ok(None),
            "no resource: the client's audiences, as before"
        );
        assert_eq!(
            registry.target(
                &client,
                &granted,
                &Resources::from_identifiers(["https://c"]),
                &scope
            ),
            Err(TargetError::NotGranted)
        );
        client.audiences = vec!["https://a".into()];
        assert_eq!(
            registry.target(&client, &granted, &Resources::default(), &scope),
            Err(TargetError::NotAllowed),
            "an operator took B from the client since"
        );
        let gone = Registry::of(vec![]);
        assert_eq!(
            gone.target(&client, &granted, &Resources::default(), &scope),
            Err(TargetError::Unknown)
        );
        assert_eq!(
            Resources::parse(["https://a", "https://a#x"]),
            Err(TargetError::Malformed(IdentifierError::Fragment))
        );
    }

    #[test]
    fn an_approval_covers_scopes_and_resources() {
        let approval = Approval {
            scope: Scope::from_tokens(["openid", "read"]),
            resources: Resources::from_identifiers(["https://a"]),
        };
        let read = Scope::from_tokens(["read"]);
        assert!(approval.covers(&read, &Resources::default()));
        assert!(approval.covers(&read, &Resources::from_identifiers(["https://a"])));
        assert!(!approval.covers(&read, &Resources::from_identifiers(["https://b"])));
        assert!(!approval.covers(&Scope::from_tokens(["write"]), &Resources::default()));
    }
}
