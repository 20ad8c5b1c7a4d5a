//! The console's forms, read into the admin API's requests: the same
//! fields, so the same rules ([`crate::admin`]) judge them. A form sends
//! each field once (checkboxes have a name each), lists one per line or
//! space-separated, and an unchecked checkbox not at all.

use crate::admin::clients::{CreateClient, PatchClient};
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

/// The lifetime typed, if any.
fn ttl(form: &impl Fields) -> Result<Option<i64>, AdminError> {
    match form.optional("access_token_ttl") {
        None => Ok(None),
        Some(ttl) => ttl
            .parse::<i64>()
            .map(Some)
            .map_err(|_| AdminError::InvalidRequest("access_token_ttl: a number of seconds".into())),
    }
}

/// The grant types checked.
fn grants(form: &impl Fields) -> Vec<String> {
    GrantType::ALL
        .into_iter()
        .filter(|g| form.checked(&grant_field(*g)))
        .map(|g| g.as_str().to_owned())
        .collect()
}

/// The new-client form as `POST /admin/v1/clients` takes it.
pub fn new_client(form: &impl Fields) -> Result<CreateClient, AdminError> {
    let access_token_ttl = ttl(form)?;
    Ok(CreateClient {
        name: form.text("name").to_owned(),
        grant_types: grants(form),
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

/// The client form as a `PATCH` of what it shows: every field replaced,
/// but no grant type checked or no lifetime typed leaves those as they
/// are.
pub fn edit_client(form: &impl Fields) -> Result<PatchClient, AdminError> {
    let grant_types = Some(grants(form)).filter(|g| !g.is_empty());
    Ok(PatchClient {
        name: Some(form.text("name").to_owned()),
        grant_types,
        redirect_uris: Some(form.list("redirect_uris")),
        post_logout_redirect_uris: Some(form.list("post_logout_redirect_uris")),
        scope: Some(form.list("scope").join(" ")),
        audiences: Some(form.list("audiences")),
        access_token_ttl: ttl(form)?,
        first_party: Some(form.checked("first_party")),
        require_par: Some(form.checked("require_par")),
        dpop_bound: Some(form.checked("dpop_bound")),
        require_mfa: Some(form.checked("require_mfa")),
        ..PatchClient::default()
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
        ..PatchUser::default()
    }
}

/// A time typed as `YYYY-MM-DD` or `YYYY-MM-DD HH:MM` (a `T` for the
/// space too), in UTC: seconds since the epoch (H. Hinnant's
/// `days_from_civil`), or none when it is not such a time.
pub fn moment(text: &str) -> Option<i64> {
    let text = text.trim();
    let (date, time) = match text.split_once([' ', 'T']) {
        Some((d, t)) => (d, Some(t.trim())),
        None => (text, None),
    };
    let mut parts = date.split('-');
    let (Some(y), Some(m), Some(d), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return None;
    };
    let number = |s: &str, len: usize| {
        (s.len() == len && s.bytes().all(|b| b.is_ascii_digit()))
            .then(|| s.parse::<i64>().ok())
            .flatten()
    };
    let (year, month, day) = (number(y, 4)?, number(m, 2)?, number(d, 2)?);
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days_in_month = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    if !(1..=days_in_month).contains(&day) {
        return None;
    }
    let seconds = match time {
        None => 0,
        Some(t) => {
            let (h, min) = t.split_once(':')?;
            let (h, min) = (number(h, 2)?, number(min, 2)?);
            if h > 23 || min > 59 {
                return None;
            }
            h * 3600 + min * 60
        }
    };
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    Some(days * 86_400 + seconds)
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

    #[test]
    fn moments_are_read_as_utc() {
        assert_eq!(moment("1970-01-01"), Some(0));
        assert_eq!(moment("2000-02-29"), Some(951_782_400));
        assert_eq!(moment(" 2026-12-07 19:04 "), Some(1_796_670_240));
        assert_eq!(moment("2026-12-07T19:04"), Some(1_796_670_240));
        for bad in [
            "",
            "2026-13-01",
            "2026-02-29",
            "2026-1-01",
            "2026-12-07 24:00",
            "2026-12-07 19",
            "yesterday",
            "2026-12-07-01",
        ] {
            assert_eq!(moment(bad), None, "{bad}");
        }
        for t in [0, 951_782_400, 1_796_670_240, 4_102_444_800] {
            let shown = crate::ui::admin::moment(t);
            assert_eq!(moment(shown.trim_end_matches(" UTC")), Some(t), "{shown}");
        }
    }
}
