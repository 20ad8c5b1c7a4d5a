//! [`Guard`]: one issuer, one audience, and how tokens are checked.
//!
//! The checks a resource server owes a JWT access token ([RFC 9068 §4]),
//! in order: the token is found in the request ([`crate::bearer`]); its
//! `typ` header is `at+jwt`; its signature verifies with one of the
//! issuer's keys named by `kid`, of the key's own algorithm ([RFC 8725
//! §3.1]); `iss` equals the issuer exactly; `aud` includes this API;
//! `exp`, `nbf` and `iat` hold, with the configured leeway; `sub`,
//! `client_id`, `iat` and `jti` are present. Then the route's scopes and
//! roles ([`crate::GuardLayer`]).
//!
//! [RFC 9068 §4]: https://www.rfc-editor.org/rfc/rfc9068#section-4
//! [RFC 8725 §3.1]: https://www.rfc-editor.org/rfc/rfc8725#section-3.1

use std::sync::Arc;
use std::time::Duration;

use http::request::Parts;
use tessera_jwt::{Error as JwtError, KeySet, UnixTime, Validation};

use crate::bearer::{self, CookieToken, Scheme};
use crate::fetch::{FetchError, Fetcher};
use crate::introspection::Introspector;
use crate::jwks::{KeyCache, KeyPolicy, KeysError, Snapshot};
use crate::{discovery, Claims, GuardLayer, Rejection, ResourceMetadata};

/// Verifies access tokens for one API. Cheap to clone; build it once at
/// start-up with [`Guard::discover`] or [`Guard::builder`].
#[derive(Clone)]
pub struct Guard {
    inner: Arc<Inner>,
}

struct Inner {
    validation: Validation,
    /// The clock-skew allowance `validation` applies to `exp`, in seconds:
    /// a remembered token counts until `exp` plus this.
    leeway: i64,
    check: Check,
    realm: Option<String>,
    cookie: Option<CookieToken>,
    resource: Option<ResourceMetadata>,
    dpop: Option<crate::dpop::Dpop>,
}

/// How a token is checked.
enum Check {
    /// Locally, with the issuer's keys.
    Jwt(Arc<KeyCache>),
    /// By asking the issuer (RFC 7662).
    Introspect(Box<Introspector>),
}

/// Why a [`Guard`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// A document could not be fetched.
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// The metadata document is not usable.
    #[error("issuer metadata: {0}")]
    Metadata(String),
    /// The resource identifier given to [`GuardBuilder::resource`] is not
    /// an https URL.
    #[error(transparent)]
    Resource(#[from] crate::resource::BadResource),
    /// [`GuardBuilder::resource`] names an API other than the audience
    /// the guard checks: tokens for another API would be taken as this
    /// one's (RFC 9728 §7.4: the resource checks that a token is meant for
    /// it; RFC 8707 tokens carry the identifier as `aud`).
    #[error("the resource {resource:?} must be the audience the guard checks, not {audience:?}")]
    ResourceAudience {
        /// The audience given to [`Guard::builder`].
        audience: String,
        /// The identifier given to [`GuardBuilder::resource`].
        resource: String,
    },
    /// The metadata names another issuer (OIDC Discovery §4.3).
    #[error("the metadata names issuer {found:?}, not {expected:?}")]
    IssuerMismatch {
        /// The configured issuer.
        expected: String,
        /// What the document says.
        found: String,
    },
    /// The keys could not be had.
    #[error(transparent)]
    Keys(#[from] KeysError),
    /// Introspection was asked for but the issuer has no endpoint.
    #[error("the issuer advertises no introspection_endpoint")]
    NoIntrospectionEndpoint,
    /// The issuer is `https://` but an endpoint the guard would use is not
    /// (see [`GuardBuilder::build`]): keys fetched, or tokens and the
    /// client secret sent, in the clear would undo the issuer's TLS.
    #[error("the issuer is https://, so its {name} must be too, not {uri:?}")]
    InsecureEndpoint {
        /// `jwks_uri` or `introspection_endpoint`.
        name: &'static str,
        /// The refused URL.
        uri: String,
    },
}

/// Settings for a [`Guard`]; see [`Guard::builder`].
#[must_use]
pub struct GuardBuilder {
    issuer: String,
    audience: String,
    jwks_uri: Option<String>,
    jwks_json: Option<Vec<u8>>,
    leeway: Duration,
    realm: Option<String>,
    cookie: Option<CookieToken>,
    policy: KeyPolicy,
    timeout: Duration,
    introspection: Option<(String, zeroize::Zeroizing<String>)>,
    introspection_cache: (Duration, usize),
    tls_roots: Vec<u8>,
    resource: Option<(String, Vec<String>)>,
    dpop: Option<String>,
}

impl Guard {
    /// A guard for tokens that `issuer` minted for `audience`, with the
    /// keys found through the issuer's metadata, and every default.
    pub async fn discover(issuer: &str, audience: &str) -> Result<Guard, SetupError> {
        Guard::builder(issuer, audience).build().await
    }

    /// Settings, starting from the defaults: keys through discovery, 60 s
    /// leeway, [`KeyPolicy::default`], 5 s timeout, tokens only from the
    /// `Authorization` header.
    pub fn builder(issuer: &str, audience: &str) -> GuardBuilder {
        GuardBuilder {
            issuer: issuer.to_owned(),
            audience: audience.to_owned(),
            jwks_uri: None,
            jwks_json: None,
            leeway: Duration::from_secs(60),
            realm: None,
            cookie: None,
            policy: KeyPolicy::default(),
            timeout: Duration::from_secs(5),
            introspection: None,
            introspection_cache: (Duration::from_secs(5), 10_000),
            tls_roots: Vec::new(),
            resource: None,
            dpop: None,
        }
    }

    /// A layer that lets through requests with a valid token (add scope and
    /// role requirements with [`GuardLayer::scope`] and [`GuardLayer::role`]).
    pub fn layer(&self) -> GuardLayer {
        GuardLayer::new(self.clone())
    }

    /// Checks a token (without the route's scopes or roles).
    pub async fn verify(&self, token: &str) -> Result<Claims, Rejection> {
        match &self.inner.check {
            Check::Introspect(introspector) => introspector.check(token).await,
            Check::Jwt(cache) => {
                let (snapshot, now) = cache.snapshot();
                if snapshot.usable_until.is_some_and(|t| t <= now) {
                    return Err(Rejection::Unavailable(
                        "the issuer's keys could not be refreshed for too long".into(),
                    ));
                }
                let unix = UnixTime::now();
                if let Some(claims) = snapshot.verified.get(token, unix.as_secs()) {
                    return Ok(claims);
                }
                match snapshot
                    .keys
                    .verify::<Claims>(token, &self.inner.validation, unix)
                {
                    Ok(verified) => Ok(self.remember(&snapshot, token, verified.into_claims(), unix)),
                    Err(JwtError::UnknownKid(_) | JwtError::NoKeyForAlgorithm(_)) => {
                        let Some(newer) = cache.refetch_for_unknown_key(&snapshot).await else {
                            return Err(Rejection::InvalidToken(
                                "the token's signing key is unknown".into(),
                            ));
                        };
                        let unix = UnixTime::now();
                        newer
                            .keys
                            .verify::<Claims>(token, &self.inner.validation, unix)
                            .map(|v| self.remember(&newer, token, v.into_claims(), unix))
                            .map_err(invalid_token)
                    }
                    Err(e) => Err(invalid_token(e)),
                }
            }
        }
    }

    /// Tells `snapshot`'s cache that `token` was just verified with its
    /// keys at `now` (remembered from its second verification on), valid
    /// while `now < exp + leeway`.
    fn remember(&self, snapshot: &Snapshot, token: &str, claims: Claims, now: UnixTime) -> Claims {
        let valid_until = claims.expires_at().saturating_add(self.inner.leeway);
        snapshot
            .verified
            .insert(token, claims.clone(), valid_until, now.as_secs());
        claims
    }

    /// Finds the request's token and checks it; a DPoP-bound one
    /// (`cnf.jkt`) with its proof ([`crate::dpop`], [RFC 9449 §7]).
    ///
    /// [RFC 9449 §7]: https://www.rfc-editor.org/rfc/rfc9449#section-7
    pub async fn authenticate(&self, parts: &Parts) -> Result<Claims, Rejection> {
        let (scheme, token) = bearer::presented(parts, self.inner.cookie.as_ref())?;
        let claims = self.verify(token).await?;
        let bound = claims
            .get::<serde_json::Value>("cnf")
            .and_then(|cnf| cnf.get("jkt").and_then(|j| j.as_str()).map(str::to_owned));
        match (scheme, bound, &self.inner.dpop) {
            (Scheme::Bearer, None, _) => Ok(claims),
            (Scheme::Bearer, Some(_), _) => Err(Rejection::DpopInvalidToken(
                "the token is DPoP-bound: send it as Authorization: DPoP with a DPoP proof",
            )),
            (Scheme::DPoP, None, _) => Err(Rejection::DpopInvalidToken(
                "the token is not DPoP-bound: send it as Authorization: Bearer",
            )),
            (Scheme::DPoP, Some(_), None) => Err(Rejection::DpopInvalidToken(
                "this API does not accept DPoP-bound tokens",
            )),
            (Scheme::DPoP, Some(jkt), Some(dpop)) => {
                let proofs: Vec<&[u8]> = parts
                    .headers
                    .get_all("dpop")
                    .iter()
                    .map(|v| v.as_bytes())
                    .collect();
                dpop.check(
                    &proofs,
                    parts.method.as_str(),
                    parts.uri.path(),
                    token,
                    &jkt,
                    UnixTime::now(),
                )?;
                Ok(claims)
            }
        }
    }

    /// The `realm` of the challenges, if configured.
    pub fn realm(&self) -> Option<&str> {
        self.inner.realm.as_deref()
    }

    /// The API's protected resource metadata ([RFC 9728]), if
    /// [`GuardBuilder::resource`] named the API: serve
    /// [`ResourceMetadata::response`] at [`ResourceMetadata::path`].
    ///
    /// [RFC 9728]: https://www.rfc-editor.org/rfc/rfc9728
    pub fn resource_metadata(&self) -> Option<&ResourceMetadata> {
        self.inner.resource.as_ref()
    }

    /// The response for a rejection: status, JSON body, and a challenge
    /// with the realm and, when configured, `resource_metadata`.
    pub fn reject<B: From<String>>(&self, rejection: &Rejection) -> http::Response<B> {
        let metadata = self.inner.resource.as_ref().map(ResourceMetadata::url);
        rejection.to_response_with(self.realm(), metadata.as_deref())
    }

    /// How many times the JWKS was fetched (0 with fixed keys or
    /// introspection).
    pub fn key_fetches(&self) -> u64 {
        match &self.inner.check {
            Check::Jwt(cache) => cache.fetches(),
            Check::Introspect(_) => 0,
        }
    }
}

/// The rule that failed, said for the client. Strings from the token are
/// already cut and escaped by `tessera-jwt`.
fn invalid_token(error: JwtError) -> Rejection {
    Rejection::InvalidToken(match error {
        JwtError::UnknownKid(_) | JwtError::NoKeyForAlgorithm(_) => {
            "the token's signing key is unknown".into()
        }
        other => other.to_string(),
    })
}

impl GuardBuilder {
    /// Fetch keys from this URL instead of the one in the metadata. The
    /// same rule holds as for a discovered `jwks_uri`: an `https://`
    /// issuer's keys are only fetched over `https://` (any host), and
    /// [`build`](GuardBuilder::build) refuses an `http://` one. Keys that
    /// must come another way can be given with
    /// [`jwks_json`](GuardBuilder::jwks_json).
    pub fn jwks_uri(mut self, uri: &str) -> GuardBuilder {
        self.jwks_uri = Some(uri.to_owned());
        self
    }

    /// Use this JWK Set and never fetch one (for issuers whose keys are
    /// distributed out of band, and for tests).
    ///
    /// Unlike a fetched JWK Set, this one may hold symmetric (`kty: oct`)
    /// keys: a secret shared with the issuer can only be distributed out
    /// of band, and it is the application, not the network, that hands
    /// it over here. Tokens signed with it (`HS256` ..) then verify.
    pub fn jwks_json(mut self, jwks: &[u8]) -> GuardBuilder {
        self.jwks_json = Some(jwks.to_vec());
        self
    }

    /// Clock skew allowed for `exp`, `nbf` and `iat` (default 60 s).
    pub fn leeway(mut self, leeway: Duration) -> GuardBuilder {
        self.leeway = leeway;
        self
    }

    /// Names the API by its resource identifier (an `https` URL, [RFC 9728
    /// §1.2]) and the scopes it uses: the guard then has
    /// [`Guard::resource_metadata`] to serve, and every challenge names
    /// it (`resource_metadata`, [RFC 9728 §5.1]). The identifier must be
    /// the audience given to [`Guard::builder`] (else
    /// [`SetupError::ResourceAudience`]): a token is taken only if its
    /// `aud` names this API, as tokens an issuer mints for an RFC 8707
    /// `resource` do.
    ///
    /// [RFC 9728 §1.2]: https://www.rfc-editor.org/rfc/rfc9728#section-1.2
    /// [RFC 9728 §5.1]: https://www.rfc-editor.org/rfc/rfc9728#section-5.1
    pub fn resource(mut self, identifier: &str, scopes: &[&str]) -> GuardBuilder {
        self.resource = Some((
            identifier.to_owned(),
            scopes.iter().map(|s| (*s).to_owned()).collect(),
        ));
        self
    }

    /// Accepts DPoP-bound tokens ([RFC 9449 §7]) at this API, whose
    /// requests are made to `base_url` (scheme, host, and any path prefix
    /// before the routes, e.g. `https://api.example`): a proof's `htu`
    /// must be `base_url` plus the request's path. The URL is configured,
    /// never read from the `Host` header. Proofs are remembered in memory
    /// (see the crate docs). Without it, bound tokens are refused; a bound
    /// token sent as `Bearer` is refused either way.
    ///
    /// [RFC 9449 §7]: https://www.rfc-editor.org/rfc/rfc9449#section-7
    pub fn dpop(mut self, base_url: &str) -> GuardBuilder {
        self.dpop = Some(base_url.to_owned());
        self
    }

    /// The `realm` named in `WWW-Authenticate` challenges (RFC 6750 §3).
    pub fn realm(mut self, realm: &str) -> GuardBuilder {
        self.realm = Some(realm.to_owned());
        self
    }

    /// Also accept the token from an HttpOnly cookie (off by default).
    pub fn cookie(mut self, cookie: CookieToken) -> GuardBuilder {
        self.cookie = Some(cookie);
        self
    }

    /// How keys are cached and refetched.
    pub fn key_policy(mut self, policy: KeyPolicy) -> GuardBuilder {
        self.policy = policy;
        self
    }

    /// The bound on every exchange with the issuer (default 5 s).
    pub fn timeout(mut self, timeout: Duration) -> GuardBuilder {
        self.timeout = timeout;
        self
    }

    /// Ask the issuer about every token (RFC 7662) instead of verifying it
    /// locally, authenticating as this confidential client.
    pub fn introspection(mut self, client_id: &str, client_secret: &str) -> GuardBuilder {
        self.introspection = Some((
            client_id.to_owned(),
            zeroize::Zeroizing::new(client_secret.to_owned()),
        ));
        self
    }

    /// Introspection answers are reused for up to `ttl` (default 5 s; zero
    /// turns the cache off, so a revocation is seen at once): at most
    /// `capacity` answers for active tokens (default 10,000), and a quarter
    /// as many refusals, kept apart so that a flood of invalid tokens
    /// cannot push out the answers for valid ones. When the active answers
    /// fill the cache, only expired ones make room; a new token's answer
    /// is then not kept rather than evict a live one.
    pub fn introspection_cache(mut self, ttl: Duration, capacity: usize) -> GuardBuilder {
        self.introspection_cache = (ttl, capacity);
        self
    }

    /// Also trust these root certificates (PEM) for `https://` issuers,
    /// e.g. a company's private CA; Mozilla's roots stay trusted.
    pub fn tls_root_certificates(mut self, pem: &[u8]) -> GuardBuilder {
        self.tls_roots.extend_from_slice(pem);
        self.tls_roots.push(b'\n');
        self
    }

    /// Fetches what is needed (metadata, keys) and builds the guard.
    ///
    /// With an `https://` issuer, the `jwks_uri` (from the metadata or
    /// [`jwks_uri`](GuardBuilder::jwks_uri)) and the metadata's
    /// `introspection_endpoint` must be `https://` too, or the build fails
    /// with [`SetupError::InsecureEndpoint`]: [RFC 8414 §2] requires
    /// `https` for `jwks_uri`, and [RFC 7662 §4] TLS for introspection,
    /// whose requests carry the token and the client's secret. Only a
    /// downgrade of the scheme is refused; another host (a CDN serving
    /// the keys) is fine, since TLS still authenticates it.
    ///
    /// [RFC 8414 §2]: https://www.rfc-editor.org/rfc/rfc8414#section-2
    /// [RFC 7662 §4]: https://www.rfc-editor.org/rfc/rfc7662#section-4
    pub async fn build(self) -> Result<Guard, SetupError> {
        let resource = match &self.resource {
            None => None,
            Some((identifier, scopes)) => {
                if *identifier != self.audience {
                    return Err(SetupError::ResourceAudience {
                        audience: self.audience.clone(),
                        resource: identifier.clone(),
                    });
                }
                let scopes: Vec<&str> = scopes.iter().map(String::as_str).collect();
                Some(ResourceMetadata::new(identifier, &self.issuer)?.scopes(&scopes))
            }
        };
        let fetcher = Fetcher::new(self.timeout, &self.tls_roots)?;
        let validation = Validation::access_token(&self.issuer, &self.audience).leeway(self.leeway.as_secs());
        let needs_metadata =
            self.introspection.is_some() || (self.jwks_uri.is_none() && self.jwks_json.is_none());
        let metadata = match needs_metadata {
            true => Some(discovery::discover(&fetcher, &self.issuer).await?),
            false => None,
        };
        let check = if let Some((client_id, secret)) = &self.introspection {
            let endpoint = metadata
                .and_then(|m| m.introspection_endpoint)
                .ok_or(SetupError::NoIntrospectionEndpoint)?;
            discovery::no_downgrade(&self.issuer, "introspection_endpoint", &endpoint)?;
            let (ttl, capacity) = self.introspection_cache;
            Check::Introspect(Box::new(Introspector::new(
                endpoint,
                client_id,
                secret,
                self.issuer.clone(),
                self.audience.clone(),
                fetcher,
                ttl,
                capacity,
            )))
        } else if let Some(jwks) = &self.jwks_json {
            let keys = KeySet::from_jwks_json(jwks).map_err(|e| {
                SetupError::Keys(KeysError::Invalid {
                    uri: "(configured)".into(),
                    reason: e.to_string(),
                })
            })?;
            Check::Jwt(Arc::new(KeyCache::fixed(keys)))
        } else {
            let uri = match self.jwks_uri {
                Some(uri) => uri,
                None => metadata
                    .and_then(|m| m.jwks_uri)
                    .ok_or_else(|| SetupError::Metadata("no jwks_uri".into()))?,
            };
            discovery::no_downgrade(&self.issuer, "jwks_uri", &uri)?;
            Check::Jwt(Arc::new(KeyCache::fetched(uri, fetcher, self.policy).await?))
        };
        Ok(Guard {
            inner: Arc::new(Inner {
                validation,
                leeway: i64::try_from(self.leeway.as_secs()).unwrap_or(i64::MAX),
                check,
                realm: self.realm,
                cookie: self.cookie,
                resource,
                dpop: self.dpop.as_deref().map(crate::dpop::Dpop::new),
            }),
        })
    }
}
