//! The console's forms, read into the admin API's requests: the same
//! fields, so the same rules ([`crate::admin`]) judge them. A form sends
//! each field once (checkboxes have a name each), lists one per line or
//! space-separated, and an unchecked checkbox not at all.

use crate::admin::clients::CreateClient;
use crate::admin::users::{CreateUser, PatchUser};
use crate::admin::AdminError;
use crate::domain::GrantType;

/// A form's fields, by name.
pub trait Fields {
    /// The value of the field `name`, if sent.
    fn field(&self, name: &str) -> Option<&str>;

    /// The field's text, trimmed; empty when not sent.
    fn text(&self, name: &str) -> &str {
        self.field(name).unwrap_or("").trim()
    }

    /// Whether the checkbox `name` is checked.
    fn checked(&self, name: &str) -> bool {
        self.field(name).is_some_and(|v| !v.is_empty())
    }

    /// The field's lines (or space-separated words), blanks dropped.
    fn list(&self, name: &str) -> Vec<String> {
        self.text(name).split_whitespace().map(str::to_owned).collect()
    }

    /// The field's text, or none when empty.
    fn optional(&self, name: &str) -> Option<String> {
        Some(self.text(name)).filter(|t| !t.is_empty()).map(str::to_owned)
    }
}

impl Fields for crate::oauth::Params {
    fn field(&self, name: &str) -> Option<&str> {
        self.get(name)
    }
}

/// The checkbox of a grant type on the client form.
pub fn grant_field(grant: GrantType) -> String {
    format!("grant_{}", grant.as_str())
}

/// The new-client form as `POST /admin/v1/clients` takes it.
pub fn new_client(form: &impl Fields) -> Result<CreateClient, AdminError> {
    let access_token_ttl = match form.optional("access_token_ttl") {
        None => None,
        Some(ttl) => Some(
            ttl.parse::<i64>()
                .map_err(|_| AdminError::InvalidRequest("access_token_ttl: a number of seconds".into()))?,
        ),
    };
    Ok(CreateClient {
        name: form.text("name").to_owned(),
        grant_types: GrantType::ALL
            .into_iter()
            .filter(|g| form.checked(&grant_field(*g)))
            .map(|g| g.as_str().to_owned())
            .collect(),
        redirect_uris: form.list("redirect_uris"),
        scope: form.list("scope").join(" "),
        audiences: form.list("audiences"),
        public: form.checked("public"),
        auth_method: None,
        post_logout_redirect_uris: form.list("post_logout_redirect_uris"),
        resource_server_for: Vec::new(),
        cors_origins: form.list("cors_origins"),
        access_token_ttl,
        refresh_cookie: false,
        first_party: form.checked("first_party"),
        require_par: form.checked("require_par"),
        dpop_bound: form.checked("dpop_bound"),
        require_mfa: form.checked("require_mfa"),
        admin: form.checked("admin"),
    })
}

/// The new-user form as `POST /admin/v1/users` takes it (the password is
/// not trimmed: spaces may be part of it).
pub fn new_user(form: &impl Fields) -> CreateUser {
    CreateUser {
        username: form.text("username").to_owned(),
        email: form.optional("email"),
        email_verified: form.checked("email_verified"),
        name: form.optional("name"),
        roles: form.list("roles"),
        password: form
            .field("password")
            .filter(|p| !p.is_empty())
            .map(str::to_owned),
    }
}

/// The user form (name, roles, second factor) as a `PATCH` of them.
pub fn edit_user(form: &impl Fields) -> PatchUser {
    PatchUser {
        name: Some(form.text("name").to_owned()),
        roles: Some(form.list("roles")),
        require_mfa: Some(form.checked("require_mfa")),
        disabled: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::oauth::Params;

    fn form(pairs: &[(&str, &str)]) -> Params {
        Params::from_pairs(pairs.iter().map(|(k, v)| (*k, Some(*v))))
    }

    #[test]
    fn the_client_form_is_the_apis_request() {
        let sent = form(&[
            ("name", " Photos "),
            ("grant_authorization_code", "on"),
            ("grant_refresh_token", "on"),
            (
                "redirect_uris",
                "https://a.example/cb\r\n\r\nhttps://a.example/cb2\r\n",
            ),
            ("scope", "openid  profile"),
            ("public", "on"),
            ("access_token_ttl", "600"),
        ]);
        let c = new_client(&sent).unwrap();
        assert_eq!(c.name, "Photos");
        assert_eq!(c.grant_types, ["authorization_code", "refresh_token"]);
        assert_eq!(c.redirect_uris, ["https://a.example/cb", "https://a.example/cb2"]);
        assert_eq!(c.scope, "openid profile");
        assert!(c.public && !c.admin && !c.first_party);
        assert_eq!(c.access_token_ttl, Some(600));
        let bad = new_client(&form(&[("name", "x"), ("access_token_ttl", "soon")]));
        assert!(matches!(bad, Err(AdminError::InvalidRequest(_))));
    }

    #[test]
    fn the_user_forms_are_the_apis_requests() {
        let u = new_user(&form(&[
            ("username", "ada"),
            ("email", ""),
            ("roles", "admin ops"),
            ("password", " pw "),
        ]));
        assert_eq!(u.username, "ada");
        assert_eq!(u.email, None);
        assert_eq!(u.roles, ["admin", "ops"]);
        assert_eq!(u.password.as_deref(), Some(" pw "));
        let p = edit_user(&form(&[("name", "Ada"), ("roles", "")]));
        assert_eq!(p.roles, Some(vec![]));
        assert_eq!(p.require_mfa, Some(false));
        assert_eq!(p.disabled, None);
    }
}
