//! HTTP: thin handlers that parse the request, call `oauth`, and render.
//! [`router`] builds the whole app, so tests can drive it.

mod account;
mod admin;
mod api;
mod assets;
mod authorize;
mod bearer;
mod browser;
mod client_form;
mod client_ip;
mod console;
mod cookie;
mod cors;
mod discovery;
mod email;
mod error;
mod health;
mod logout;
pub mod metrics;
mod own_client;
mod registration;
pub mod request_id;
mod response;
mod token;
mod upstream;
mod userinfo;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::http::header::{AUTHORIZATION, CONTENT_TYPE};
use axum::http::HeaderMap;
use axum::routing::{get, post};
use axum::Router;
use tessera_jwt::UnixTime;

use crate::keys::KeyRing;
use crate::oauth::introspect;
use crate::oauth::user_tokens::Issue;
use crate::oauth::OAuthError;
use crate::store::Store;

/// Largest accepted request body: token requests are a few hundred bytes.
pub const MAX_BODY: usize = 16 * 1024;

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    issuer: String,
    self_registration: bool,
    require_par: bool,
    dynamic_registration: crate::config::DynamicRegistration,
    access_token_ttl: i64,
    cors_origins: Vec<String>,
    proxies: Vec<crate::client_addr::Cidr>,
    forwarded_header: crate::client_addr::ForwardedHeader,
    metrics_elsewhere: bool,
    hsts: bool,
    family_lifetime: i64,
    second_factor_max_age: i64,
    store: Store,
    keys: std::sync::RwLock<Arc<KeyRing>>,
    discovery: String,
    metrics: metrics::Metrics,
    upstreams: crate::oauth::upstream::Upstreams,
    devices: crate::oauth::device::DeviceKey,
    master: Arc<crate::keys::MasterKey>,
    clients: crate::clients::directory::Directory,
    /// Whether the issuer can be a WebAuthn relying party (a host name):
    /// passkeys are offered only then.
    passkeys: bool,
    /// Where mail is queued (verification and reset links).
    outbox: crate::mail::Outbox,
}

impl AppState {
    /// Builds the state, rendering the discovery document once. `devices`
    /// signs device cookies: the key derived from the master key
    /// ([`crate::keys::MasterKey::device_cookie_key`]), so every node knows
    /// the same devices. `master` opens second factors' secrets.
    pub fn new(
        issuer: String,
        store: Store,
        keys: KeyRing,
        devices: crate::oauth::device::DeviceKey,
        master: Arc<crate::keys::MasterKey>,
    ) -> AppState {
        let discovery = discovery::document(&issuer, discovery::Advertised::default());
        AppState {
            self_registration: false,
            require_par: false,
            dynamic_registration: crate::config::DynamicRegistration::Off,
            access_token_ttl: crate::config::Config::default().access_token_ttl,
            cors_origins: Vec::new(),
            proxies: Vec::new(),
            forwarded_header: crate::client_addr::ForwardedHeader::default(),
            metrics_elsewhere: false,
            hsts: false,
            family_lifetime: crate::config::Config::default().refresh_family_lifetime,
            second_factor_max_age: crate::config::Config::default().second_factor_max_age,
            store,
            keys: std::sync::RwLock::new(Arc::new(keys)),
            discovery,
            metrics: metrics::Metrics::default(),
            upstreams: crate::oauth::upstream::Upstreams::none(&issuer),
            devices,
            master,
            clients: crate::clients::directory::Directory::default(),
            passkeys: crate::identity::passkeys::RelyingParty::from_issuer(&issuer, "Tessera").is_ok(),
            outbox: crate::mail::Outbox::off(),
            issuer,
        }
    }
}

impl AppState {
    /// The current keys (cheap: one shared pointer).
    pub fn keys(&self) -> Arc<KeyRing> {
        match self.keys.read() {
            Ok(k) => Arc::clone(&k),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// Replaces the keys (after a reload).
    pub fn set_keys(&self, keys: KeyRing) {
        match self.keys.write() {
            Ok(mut k) => *k = Arc::new(keys),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(keys),
        }
    }

    /// Requires pushed authorization requests (RFC 9126 §5) or not; the
    /// discovery document says so.
    #[must_use]
    pub fn with_require_par(mut self, on: bool) -> AppState {
        self.require_par = on;
        self.rerender_discovery();
        self
    }

    /// Who may register clients at `/register` (RFC 7591); discovery names
    /// the endpoint unless it is off.
    #[must_use]
    pub fn with_dynamic_registration(mut self, mode: crate::config::DynamicRegistration) -> AppState {
        self.dynamic_registration = mode;
        self.rerender_discovery();
        self
    }

    /// Seconds a second factor satisfies a requested two-factor level
    /// (step-up).
    #[must_use]
    pub fn with_second_factor_max_age(mut self, seconds: i64) -> AppState {
        self.second_factor_max_age = seconds;
        self
    }

    /// The access-token lifetime of clients that register themselves.
    #[must_use]
    pub fn with_access_token_ttl(mut self, seconds: i64) -> AppState {
        self.access_token_ttl = seconds;
        self
    }

    fn rerender_discovery(&mut self) {
        let on = discovery::Advertised {
            require_par: self.require_par,
            registration: self.dynamic_registration != crate::config::DynamicRegistration::Off,
            metadata_documents: self.clients.documents_supported(),
        };
        self.discovery = discovery::document(&self.issuer, on);
    }

    /// Turns self-registration on or off.
    #[must_use]
    pub fn with_self_registration(mut self, on: bool) -> AppState {
        self.self_registration = on;
        self
    }

    /// Browser origins allowed to call the API (CORS).
    #[must_use]
    pub fn with_cors_origins(mut self, origins: Vec<String>) -> AppState {
        self.cors_origins = origins;
        self
    }

    /// Reverse proxies whose forwarding headers name the client.
    #[must_use]
    pub fn with_trusted_proxies(mut self, proxies: Vec<crate::client_addr::Cidr>) -> AppState {
        self.proxies = proxies;
        self
    }

    /// The one header those proxies name the client in.
    #[must_use]
    pub fn with_forwarded_header(mut self, header: crate::client_addr::ForwardedHeader) -> AppState {
        self.forwarded_header = header;
        self
    }

    /// Serves `/metrics` only from [`metrics_router`] (its own address).
    #[must_use]
    pub fn with_metrics_elsewhere(mut self, elsewhere: bool) -> AppState {
        self.metrics_elsewhere = elsewhere;
        self
    }

    /// Sends `Strict-Transport-Security` on every answer: for a server
    /// that serves TLS itself (RFC 6797; never over plain http, §7.2).
    #[must_use]
    pub fn with_hsts(mut self, on: bool) -> AppState {
        self.hsts = on;
        self
    }

    /// The upstream identity providers ("Continue with GitHub").
    #[must_use]
    pub fn with_upstreams(mut self, upstreams: crate::oauth::upstream::Upstreams) -> AppState {
        self.upstreams = upstreams;
        self
    }

    /// Where clients are found: the store, client ID metadata documents
    /// (when on), and the fetcher of what clients point at. Discovery
    /// says whether documents are supported.
    #[must_use]
    pub fn with_clients(mut self, clients: crate::clients::directory::Directory) -> AppState {
        self.clients = clients;
        self.rerender_discovery();
        self
    }

    /// How long a refresh-token family lives from its sign-in.
    #[must_use]
    pub fn with_family_lifetime(mut self, seconds: i64) -> AppState {
        self.family_lifetime = seconds;
        self
    }

    /// Where mail goes ([`crate::mail::Outbox::start`]).
    #[must_use]
    pub fn with_outbox(mut self, outbox: crate::mail::Outbox) -> AppState {
        self.outbox = outbox;
        self
    }

    /// The upstream identity providers.
    pub fn upstreams(&self) -> &crate::oauth::upstream::Upstreams {
        &self.upstreams
    }

    /// The store.
    pub fn store(&self) -> &Store {
        &self.store
    }
}

/// `/metrics` alone, for its own listen address (`metrics_listen`).
pub fn metrics_router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/metrics", get(metrics::endpoint))
        .with_state(state)
}

/// The application (with `/metrics`, unless it is served on its own
/// address).
pub fn router(state: Arc<AppState>) -> Router {
    let metrics_here = !state.metrics_elsewhere;
    let router = Router::new();
    let router = if metrics_here {
        router.route("/metrics", get(metrics::endpoint))
    } else {
        router
    };
    // Dynamic client registration is not routed when it is off (404).
    let router = if state.dynamic_registration == crate::config::DynamicRegistration::Off {
        router
    } else {
        router
            .route(
                crate::oauth::dynamic_registration::PATH,
                post(registration::register),
            )
            .route(
                "/register/{client_id}",
                get(registration::read)
                    .put(registration::update)
                    .delete(registration::delete),
            )
    };
    router
        .route("/.well-known/openid-configuration", get(discovery::metadata))
        .route(
            "/.well-known/oauth-authorization-server",
            get(discovery::metadata),
        )
        .route("/jwks", get(discovery::jwks))
        .route("/authorize", get(authorize::get).post(authorize::post))
        .route("/authorize/login", post(authorize::login))
        .route("/authorize/otp", post(authorize::otp))
        .route(
            "/authorize/passkey",
            get(authorize::passkey_options).post(authorize::passkey),
        )
        .route("/authorize/enroll", post(authorize::enroll))
        .route("/authorize/continue", post(authorize::continue_sign_in))
        .route("/authorize/consent", post(authorize::consent))
        .route("/authorize/upstream", post(upstream::leave))
        .route("/authorize/link", post(upstream::link))
        .route("/upstream/{id}/callback", get(upstream::callback))
        .route(
            "/authorize/register",
            get(authorize::register_page).post(authorize::register),
        )
        .route("/logout", get(logout::get).post(logout::post))
        .route("/logout/confirm", post(logout::confirm))
        .route("/token", post(token::token))
        .route("/userinfo", get(userinfo::userinfo).post(userinfo::userinfo))
        .route("/introspect", post(token::introspect))
        .route("/revoke", post(token::revoke))
        .route("/par", post(token::par))
        .route("/account", get(account::show))
        .route(crate::account::sign_in::CALLBACK, get(account::callback))
        .route(
            "/account/totp",
            get(account::add_authenticator_page).post(account::confirm_authenticator),
        )
        .route("/account/totp/remove", post(account::remove_authenticator))
        .route("/account/recovery-codes", post(account::new_recovery_codes))
        .route(
            "/account/passkey",
            get(account::add_passkey_page).post(account::add_passkey),
        )
        .route("/account/passkey/rename", post(account::rename_passkey))
        .route("/account/passkey/remove", post(account::remove_passkey))
        .route("/", get(account::home))
        .route("/account/name", post(account::set_name))
        .route(
            "/account/password",
            get(account::change_password_page).post(account::change_password),
        )
        .route("/account/sessions/end", post(account::end_session))
        .route("/account/sessions/end-others", post(account::end_other_sessions))
        .route("/account/apps/revoke", post(account::revoke_app))
        .route("/account/identities/unlink", post(account::unlink))
        .route("/account/email", post(account::change_email))
        .route("/email/verify", get(email::verify_page).post(email::verify))
        .route("/password/forgot", get(email::forgot_page).post(email::forgot))
        .route("/password/reset", get(email::reset_page).post(email::reset))
        .route("/api/v1/login", post(api::login))
        .route("/api/v1/login/mfa", post(api::login_mfa))
        .route("/api/v1/logout", post(api::logout))
        .route("/api/v1/refresh", post(api::refresh))
        .route("/api/v1/me", get(api::me))
        .route("/api/v1/users", post(api::register))
        .merge(admin::router())
        .merge(console::router())
        .route("/static/{name}", get(assets::get))
        .route("/healthz", get(health::live))
        .route("/readyz", get(health::ready))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            metrics::measure,
        ))
        .layer(axum::middleware::from_fn_with_state(state.clone(), cors::cors))
        .layer(axum::middleware::map_response_with_state(
            state.clone(),
            strict_transport_security,
        ))
        .layer(axum::middleware::from_fn(request_id::middleware))
        .with_state(state)
}

/// The HSTS policy: a year (OWASP's HTTP Strict Transport Security cheat
/// sheet), this host only (its subdomains are not Tessera's to pin).
const HSTS: &str = "max-age=31536000";

/// `Strict-Transport-Security` ([RFC 6797 §6.1]) on every answer when
/// Tessera serves https itself, so a browser that has been here once never
/// sends a password or a code over plain http to this host again (an
/// `http://` link, a downgrade by someone on the path). Never on plain http:
/// RFC 6797 §7.2 forbids it there, and behind a TLS-terminating proxy the
/// proxy sends it.
///
/// [RFC 6797 §6.1]: https://www.rfc-editor.org/rfc/rfc6797#section-6.1
async fn strict_transport_security(
    axum::extract::State(state): axum::extract::State<Arc<AppState>>,
    mut response: axum::response::Response,
) -> axum::response::Response {
    if state.hsts {
        response.headers_mut().insert(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static(HSTS),
        );
    }
    response
}

/// Whether the request's media type (parameters such as `charset` aside)
/// is `media`.
fn content_type_is(headers: &HeaderMap, media: &str) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case(media))
}

/// The `Authorization` header, if any; not ASCII is malformed.
fn authorization(headers: &HeaderMap) -> Result<Option<&str>, OAuthError> {
    headers
        .get(AUTHORIZATION)
        .map(|v| v.to_str().map_err(|_| OAuthError::MalformedBasicAuth))
        .transpose()
}

impl AppState {
    /// What issuing tokens needs, for a request from `peer`, now.
    fn issue<'a>(&'a self, keys: &'a KeyRing, peer: Option<std::net::IpAddr>) -> Issue<'a> {
        Issue {
            issuer: &self.issuer,
            signer: &keys.access_tokens,
            now: UnixTime::now().as_secs(),
            peer,
            family_lifetime: self.family_lifetime,
            clients: &self.clients,
            dpop: None,
        }
    }

    /// What checking a token of this server needs, now.
    fn introspection<'a>(&'a self, keys: &'a KeyRing) -> introspect::Context<'a, Store> {
        introspect::Context {
            store: &self.store,
            issuer: &self.issuer,
            keys: &keys.verify,
            verified: &keys.verified,
            now: UnixTime::now().as_secs(),
            clients: &self.clients,
        }
    }
}
