//! Upstream identity providers: one `[[upstream]]` table each in the
//! configuration file. A user may sign in to Tessera with an account at one
//! of them ("Continue with GitHub"); apps behind Tessera still get
//! Tessera's tokens only.
//!
//! ```toml
//! [[upstream]]
//! id = "github"                  # URL-safe; callback {issuer}/upstream/github/callback
//! name = "GitHub"                # the button's label
//! kind = "github"                # or "oidc", "oauth2"
//! client_id = "Iv1.0123"
//! client_secret_file = "/run/secrets/github"   # or client_secret, client_secret_env
//! ```
//!
//! An OpenID provider's table may say `trust_mfa = true`: its own second
//! factor, when its ID token's `amr` shows one, stands for the user's
//! second factor here ([`UpstreamConfig::trust_mfa`]); refused for the
//! other kinds, which send no `amr`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::ConfigError;

/// What protocol an upstream speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum UpstreamKind {
    /// An OpenID provider: endpoints and keys from its discovery document,
    /// identity from its verified ID token.
    Oidc,
    /// GitHub (or GitHub Enterprise Server): identity from `/user`, email
    /// from `/user/emails`.
    Github,
    /// A plain OAuth 2.0 provider: identity from a user-info URL whose JSON
    /// fields are named in `fields`.
    Oauth2,
}

/// Which JSON fields of a plain OAuth 2.0 provider's user-info answer
/// hold what (`kind = "oauth2"`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamFields {
    /// The stable, unique account id (a string or a number). Required.
    pub id: String,
    /// A username to start from. Default `login`.
    #[serde(default)]
    pub username: Option<String>,
    /// The display name. Default `name`.
    #[serde(default)]
    pub name: Option<String>,
    /// The email. Default `email`.
    #[serde(default)]
    pub email: Option<String>,
    /// A boolean saying the email is verified; without it no email from
    /// this provider counts as verified.
    #[serde(default)]
    pub email_verified: Option<String>,
}

/// GitHub's REST API base, unless `api_base` says otherwise.
pub const GITHUB_API: &str = "https://api.github.com";

/// One `[[upstream]]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamConfig {
    /// URL-safe id (`[a-z0-9-]`, up to 32): the callback is
    /// `{issuer}/upstream/{id}/callback`, and linked identities name it.
    pub id: String,
    /// The button's label ("Continue with {name}").
    pub name: String,
    /// `oidc`, `github` or `oauth2`.
    pub kind: UpstreamKind,
    /// Tessera's client id at the provider.
    pub client_id: String,
    /// The client secret itself (prefer the next two).
    #[serde(default)]
    pub client_secret: Option<String>,
    /// A file holding the client secret (trailing newline ignored).
    #[serde(default)]
    pub client_secret_file: Option<String>,
    /// An environment variable holding the client secret.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// Scopes to ask for. Default: `openid profile email` (oidc),
    /// `read:user user:email` (github), none (oauth2).
    #[serde(default)]
    pub scopes: Option<Vec<String>>,
    /// The provider's issuer identifier (`kind = "oidc"`): its discovery
    /// document is `{issuer}/.well-known/openid-configuration`.
    #[serde(default)]
    pub issuer: Option<String>,
    /// Authorization endpoint (github: default
    /// `https://github.com/login/oauth/authorize`; oauth2: required).
    #[serde(default)]
    pub authorization_endpoint: Option<String>,
    /// Token endpoint (github: default
    /// `https://github.com/login/oauth/access_token`; oauth2: required).
    #[serde(default)]
    pub token_endpoint: Option<String>,
    /// GitHub's REST API base (default `https://api.github.com`; GitHub
    /// Enterprise Server: `https://HOST/api/v3`).
    #[serde(default)]
    pub api_base: Option<String>,
    /// The user-info URL (`kind = "oauth2"`, required).
    #[serde(default)]
    pub userinfo_endpoint: Option<String>,
    /// Field names of the user-info answer (`kind = "oauth2"`, required).
    #[serde(default)]
    pub fields: Option<UpstreamFields>,
    /// Whether a first sign-in with an unknown identity may create a local
    /// user. Default: as `self_registration` (off unless sign-up is open),
    /// so adding a "Continue with GitHub" button does not open sign-up to
    /// every GitHub user; see [`UpstreamConfig::create_users`].
    #[serde(default)]
    pub create_users: Option<bool>,
    /// Whether this provider's verified emails may link an identity to the
    /// local user with that email without the person proving that account.
    /// Default false.
    #[serde(default)]
    pub trust_email: bool,
    /// Whether this provider's own second factor counts as the user's
    /// second factor here (`kind = "oidc"` only: GitHub and plain OAuth 2.0
    /// providers send no ID token, so no `amr`). When true and the ID
    /// token's `amr` shows several factors (`mfa`, or a first factor such
    /// as `pwd` and a possession or one-time factor such as `otp` or
    /// `hwk`), the sign-in reaches two factors (`acr`
    /// `urn:tessera:acr:2fa`, `amr` `fed mfa`) and a user with a second
    /// factor here is not asked for its code. Default false: the code is
    /// asked whatever the provider says.
    #[serde(default)]
    pub trust_mfa: bool,
    /// The claim (oidc) or field (oauth2) holding the user's groups, for
    /// `role_map`. Default `groups`.
    #[serde(default)]
    pub roles_claim: Option<String>,
    /// Upstream group -> local roles. Roles named here are managed by this
    /// provider: set at each sign-in from the groups it asserts; other
    /// local roles are left alone.
    #[serde(default)]
    pub role_map: BTreeMap<String, Vec<String>>,
    /// A PEM file of certificate authorities to trust for this provider,
    /// besides Mozilla's roots (a provider on a private network whose
    /// certificate a private CA signed).
    #[serde(default)]
    pub ca_file: Option<String>,
    /// Keeping the provider's tokens (for calling its API on the user's
    /// behalf). Not supported yet: Tessera keeps no upstream token.
    #[serde(default)]
    pub store_tokens: bool,
}

fn invalid(message: String) -> ConfigError {
    ConfigError::Invalid {
        setting: "upstream",
        message,
    }
}

/// Whether calls to `url` are protected in transit: `https://`, or
/// `http://` to a loopback host (`localhost`, `127.0.0.0/8`, `[::1]`), which
/// never leaves the machine (tests, a sidecar). Everything Tessera sends
/// to or trusts from a provider (its client secret, the code, the ID
/// token, the keys that verify it) would otherwise be readable and
/// changeable on the network (RFC 6749 §3.2 and §10.9, OpenID Connect
/// Core §16.17).
pub fn secure_transport(url: &str) -> bool {
    let Ok(parsed) = url::Url::parse(url) else {
        return false;
    };
    match parsed.scheme() {
        "https" => true,
        "http" => match parsed.host() {
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            Some(url::Host::Domain(host)) => host.eq_ignore_ascii_case("localhost"),
            None => false,
        },
        _ => false,
    }
}

impl UpstreamConfig {
    /// The client secret, from wherever it is configured (exactly one
    /// place).
    pub fn secret(&self) -> Result<String, ConfigError> {
        let id = &self.id;
        match (
            &self.client_secret,
            &self.client_secret_file,
            &self.client_secret_env,
        ) {
            (Some(s), None, None) => Ok(s.clone()),
            (None, Some(path), None) => std::fs::read_to_string(path)
                .map(|s| s.trim_end_matches(['\r', '\n']).to_owned())
                .map_err(|e| invalid(format!("{id}: client_secret_file {path}: {e}"))),
            (None, None, Some(name)) => std::env::var(name)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| invalid(format!("{id}: environment variable {name} is not set"))),
            (None, None, None) => Err(invalid(format!(
                "{id}: set client_secret, client_secret_file or client_secret_env"
            ))),
            _ => Err(invalid(format!(
                "{id}: set only one of client_secret, client_secret_file, client_secret_env"
            ))),
        }
    }

    /// What the provider's subjects are unique within, so what a linked
    /// identity is keyed by, beside the subject: the issuer of an OpenID
    /// provider ("the `sub` and `iss` Claims, used together, are the only
    /// Claims that an RP can rely upon as a stable identifier", OpenID
    /// Connect Core §5.7), GitHub's API base (github.com or one Enterprise
    /// Server), a plain OAuth 2.0 provider's user-info URL. Never the
    /// table's `id`, a local label an operator may rename.
    pub fn identity_key(&self) -> String {
        let key = match self.kind {
            UpstreamKind::Oidc => self.issuer.as_deref(),
            UpstreamKind::Github => Some(self.api_base.as_deref().unwrap_or(GITHUB_API)),
            UpstreamKind::Oauth2 => self.userinfo_endpoint.as_deref(),
        };
        // validate() requires issuer (oidc) and userinfo_endpoint (oauth2).
        key.unwrap_or(&self.id).to_owned()
    }

    /// Whether a first sign-in may create a local user: `create_users` when
    /// set, else whatever `self_registration` is.
    pub fn create_users(&self, self_registration: bool) -> bool {
        self.create_users.unwrap_or(self_registration)
    }

    /// The scopes to ask for.
    pub fn scopes(&self) -> Vec<String> {
        match (&self.scopes, self.kind) {
            (Some(s), _) => s.clone(),
            (None, UpstreamKind::Oidc) => vec!["openid".into(), "profile".into(), "email".into()],
            (None, UpstreamKind::Github) => vec!["read:user".into(), "user:email".into()],
            (None, UpstreamKind::Oauth2) => vec![],
        }
    }

    /// Checks one table on its own.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let id = &self.id;
        let url_safe = !id.is_empty()
            && id.len() <= 32
            && id
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !url_safe {
            return Err(invalid(format!("{id:?}: an id is 1 to 32 of a-z, 0-9 and -")));
        }
        if self.name.trim().is_empty() || self.client_id.is_empty() {
            return Err(invalid(format!("{id}: name and client_id are required")));
        }
        self.secret()?;
        if self.store_tokens {
            return Err(invalid(format!(
                "{id}: store_tokens is not supported yet (Tessera keeps no upstream token)"
            )));
        }
        let urls = [
            &self.issuer,
            &self.authorization_endpoint,
            &self.token_endpoint,
            &self.api_base,
            &self.userinfo_endpoint,
        ];
        for url in urls.into_iter().flatten() {
            if !secure_transport(url) {
                return Err(invalid(format!(
                    "{id}: {url:?} must be an https:// URL (http:// only to a loopback host)"
                )));
            }
        }
        if let Some(path) = &self.ca_file {
            std::fs::read(path).map_err(|e| invalid(format!("{id}: ca_file {path}: {e}")))?;
        }
        match self.kind {
            UpstreamKind::Oidc if self.issuer.is_none() => {
                Err(invalid(format!("{id}: kind = \"oidc\" needs issuer")))
            }
            UpstreamKind::Oauth2
                if self.authorization_endpoint.is_none()
                    || self.token_endpoint.is_none()
                    || self.userinfo_endpoint.is_none()
                    || self.fields.is_none() =>
            {
                Err(invalid(format!(
                    "{id}: kind = \"oauth2\" needs authorization_endpoint, token_endpoint, userinfo_endpoint and fields"
                )))
            }
            UpstreamKind::Github if !self.role_map.is_empty() => Err(invalid(format!(
                "{id}: role_map needs a provider that asserts groups (oidc or oauth2)"
            ))),
            UpstreamKind::Github | UpstreamKind::Oauth2 if self.trust_mfa => Err(invalid(format!(
                "{id}: trust_mfa needs an OpenID provider (kind = \"oidc\"), whose ID token says `amr`"
            ))),
            _ => Ok(()),
        }
    }
}

/// Checks every table, and that ids are unique.
pub fn validate(upstreams: &[UpstreamConfig]) -> Result<(), ConfigError> {
    for (i, u) in upstreams.iter().enumerate() {
        u.validate()?;
        if upstreams.iter().take(i).any(|other| other.id == u.id) {
            return Err(invalid(format!("{}: two [[upstream]] tables have this id", u.id)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Vec<UpstreamConfig>, String> {
        #[derive(Deserialize)]
        struct File {
            upstream: Vec<UpstreamConfig>,
        }
        let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
        validate(&file.upstream).map_err(|e| e.to_string())?;
        Ok(file.upstream)
    }

    #[test]
    fn tables_are_checked() {
        let ok = parse(
            "[[upstream]]\nid = \"gh\"\nname = \"GitHub\"\nkind = \"github\"\nclient_id = \"c\"\nclient_secret = \"s\"\n",
        )
        .unwrap();
        assert!(!ok[0].trust_email && !ok[0].trust_mfa, "safe defaults");
        assert!(
            !ok[0].create_users(false) && ok[0].create_users(true),
            "create_users follows self_registration unless set"
        );
        let set = parse(
            "[[upstream]]\nid = \"gh\"\nname = \"GitHub\"\nkind = \"github\"\nclient_id = \"c\"\nclient_secret = \"s\"\ncreate_users = true\n",
        )
        .unwrap();
        assert!(set[0].create_users(false), "set explicitly");
        assert_eq!(ok[0].scopes(), ["read:user", "user:email"]);
        for (bad, why) in [
            ("id = \"Git Hub\"\nname = \"G\"\nkind = \"github\"\nclient_id = \"c\"\nclient_secret = \"s\"", "id"),
            ("id = \"o\"\nname = \"O\"\nkind = \"oidc\"\nclient_id = \"c\"\nclient_secret = \"s\"", "issuer"),
            ("id = \"o\"\nname = \"O\"\nkind = \"github\"\nclient_id = \"c\"", "secret"),
            (
                "id = \"o\"\nname = \"O\"\nkind = \"github\"\nclient_id = \"c\"\nclient_secret = \"s\"\nclient_secret_env = \"X\"",
                "only one",
            ),
            ("id = \"o\"\nname = \"O\"\nkind = \"oauth2\"\nclient_id = \"c\"\nclient_secret = \"s\"", "oauth2"),
            (
                "id = \"o\"\nname = \"O\"\nkind = \"github\"\nclient_id = \"c\"\nclient_secret = \"s\"\nstore_tokens = true",
                "store_tokens",
            ),
            ("id = \"o\"\nname = \"O\"\nkind = \"saml\"\nclient_id = \"c\"\nclient_secret = \"s\"", "kind"),
            ("id = \"o\"\nname = \"O\"\nkind = \"github\"\nclient_id = \"c\"\nclient_secret = \"s\"\ntypo = 1", "typo"),
        ] {
            assert!(parse(&format!("[[upstream]]\n{bad}\n")).is_err(), "{why}");
        }
        for (url, ok) in [
            ("https://login.corp.example", true),
            ("http://127.0.0.1:8080", true),
            ("http://localhost:9000/x", true),
            ("http://[::1]:9000", true),
            ("http://login.corp.example", false),
            ("http://10.0.0.5", false),
            ("http://localhost.attacker.example", false),
            ("http://127.0.0.1@attacker.example", false),
            ("ftp://127.0.0.1", false),
        ] {
            assert_eq!(secure_transport(url), ok, "{url}");
            let table = format!(
                "[[upstream]]\nid = \"o\"\nname = \"O\"\nkind = \"oidc\"\nclient_id = \"c\"\nclient_secret = \"s\"\nissuer = \"{url}\"\n"
            );
            assert_eq!(parse(&table).is_ok(), ok, "{url}");
        }
        let missing_ca = "[[upstream]]\nid = \"o\"\nname = \"O\"\nkind = \"github\"\nclient_id = \"c\"\nclient_secret = \"s\"\nca_file = \"/nonexistent/ca.pem\"\n";
        assert!(
            parse(missing_ca).is_err(),
            "an unreadable ca_file is refused at start"
        );
        // trust_mfa: an OpenID provider's table only (issue 19, item 5).
        let oidc = "[[upstream]]\nid = \"o\"\nname = \"O\"\nkind = \"oidc\"\nclient_id = \"c\"\nclient_secret = \"s\"\nissuer = \"https://login.corp.example\"\ntrust_mfa = true\n";
        assert!(parse(oidc).unwrap()[0].trust_mfa);
        for kind in ["github", "oauth2"] {
            let table = format!(
                "[[upstream]]\nid = \"o\"\nname = \"O\"\nkind = \"{kind}\"\nclient_id = \"c\"\nclient_secret = \"s\"\nauthorization_endpoint = \"https://f.example/a\"\ntoken_endpoint = \"https://f.example/t\"\nuserinfo_endpoint = \"https://f.example/u\"\nfields = {{ id = \"id\" }}\n"
            );
            assert!(parse(&table).is_ok(), "{kind} without trust_mfa");
            let err = parse(&format!("{table}trust_mfa = true\n")).unwrap_err();
            assert!(err.contains("trust_mfa"), "{kind}: {err}");
        }
        let twice = "[[upstream]]\nid = \"a\"\nname = \"A\"\nkind = \"github\"\nclient_id = \"c\"\nclient_secret = \"s\"\n";
        assert!(parse(&format!("{twice}{twice}")).is_err(), "ids are unique");
    }
}
