//! The admin API's rules (issue 20, item 3): who may administer, the
//! optimistic concurrency of its writes, its paging, and its errors. The
//! resources are in [`clients`], [`users`] and [`keys`]; each calls the
//! module that owns what it changes (`clients::registration`,
//! `identity::users`, `crate::keys`), as the CLI does. `http/admin.rs` is its thin shell under `/admin/v1`.
//!
//! Who may call ([`authorize`]), in order:
//!
//! 1. An access token of this server ([RFC 9068]): signature, issuer,
//!    `typ`, expiry, not revoked (nor its signing key), as introspection
//!    checks it. Otherwise 401 `invalid_token`.
//! 2. Its `aud` names [`ADMIN_AUDIENCE`] ([RFC 9068 §4]: "the resource
//!    server MUST validate that the aud claim contains a resource
//!    indicator value corresponding to an identifier the resource server
//!    expects for itself"). Otherwise 401 `invalid_token`.
//! 3. It is not DPoP-bound (the admin API takes bearer tokens; a bound
//!    token sent as one is refused, [RFC 9449 §7.1]). Otherwise 401.
//! 4. Its `roles` ([RFC 9068 §7.2.1.1]) hold [`ADMIN_ROLE`]. Otherwise 403
//!    `insufficient_scope`.
//! 5. Whoever it speaks for still is an administrator now: a client's own
//!    token (`sub` = `client_id`) needs the client still registered with
//!    `admin`; a user's token needs the user still there, not disabled,
//!    with the admin role. So deleting an admin client, or disabling or
//!    demoting an admin, takes their power away at once, not at the
//!    token's expiry. Otherwise 401 `invalid_token` (gone or disabled) or
//!    403 (no longer an administrator).
//!
//! Writes to a resource that has a `GET` of its own need `If-Match` with
//! the `ETag` of that `GET` ([RFC 9110 §13.1.1]): 428 without it
//! ([RFC 6585 §3]), 412 when it is stale, so two administrators do not
//! overwrite each other. The `ETag` hashes the representation with the
//! row's version (migration 36), and a write is one conditional `UPDATE
//! ... WHERE version = $v` ([`crate::store::VersionStore`]): of two
//! administrators writing with the same `ETag` at the same moment, exactly
//! one changes the resource and the other gets 412 (a check of the tag
//! followed by a plain write would let both through).
//!
//! [RFC 9068]: https://www.rfc-editor.org/rfc/rfc9068
//! [RFC 9068 §4]: https://www.rfc-editor.org/rfc/rfc9068#section-4
//! [RFC 9068 §7.2.1.1]: https://www.rfc-editor.org/rfc/rfc9068#section-7.2.1.1
//! [RFC 9449 §7.1]: https://www.rfc-editor.org/rfc/rfc9449#section-7.1
//! [RFC 9110 §13.1.1]: https://www.rfc-editor.org/rfc/rfc9110#section-13.1.1
//! [RFC 6585 §3]: https://www.rfc-editor.org/rfc/rfc6585#section-3

pub mod audit;
pub mod clients;
pub mod keys;
pub mod upstreams;
pub mod users;

use base64::Engine as _;
use serde_json::{Map, Value};

use crate::domain::{ADMIN_AUDIENCE, ADMIN_ROLE};
use crate::oauth::introspect::{active_claims, Context};
use crate::store::{Store, StoreError, UserStore};

/// Why an admin request was refused or failed. [`AdminError::code`] and
/// [`AdminError::status`] are its one mapping to the wire.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// No valid token for the admin API (step 1, 2, 3 or 5): 401
    /// `invalid_token`.
    #[error("{0}")]
    InvalidToken(&'static str),
    /// A valid token without the admin role (step 4): 403
    /// `insufficient_scope`.
    #[error("the access token does not carry the admin role")]
    NotAnAdmin,
    /// The resource does not exist: 404 `not_found`.
    #[error("no such {0}")]
    NotFound(&'static str),
    /// The request is malformed or breaks a rule: 400 `invalid_request`.
    #[error("{0}")]
    InvalidRequest(String),
    /// A name that is taken: 409 `conflict`.
    #[error("{0}")]
    Conflict(String),
    /// A write without `If-Match` ([RFC 6585 §3]): 428
    /// `precondition_required`.
    ///
    /// [RFC 6585 §3]: https://www.rfc-editor.org/rfc/rfc6585#section-3
    #[error("send If-Match with the ETag of a GET of this resource")]
    PreconditionRequired,
    /// A write whose `If-Match` is not the current `ETag` ([RFC 9110
    /// §13.1.1]): 412 `precondition_failed`.
    ///
    /// [RFC 9110 §13.1.1]: https://www.rfc-editor.org/rfc/rfc9110#section-13.1.1
    #[error("the resource changed since that ETag: GET it again")]
    PreconditionFailed,
    /// The store failed, or another fault of the server: 500
    /// `server_error`, with fixed text on the wire.
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for AdminError {
    fn from(e: StoreError) -> AdminError {
        AdminError::Internal(e.to_string())
    }
}

impl AdminError {
    /// The `error` code of the JSON body.
    pub fn code(&self) -> &'static str {
        match self {
            AdminError::InvalidToken(_) => "invalid_token",
            AdminError::NotAnAdmin => "insufficient_scope",
            AdminError::NotFound(_) => "not_found",
            AdminError::InvalidRequest(_) => "invalid_request",
            AdminError::Conflict(_) => "conflict",
            AdminError::PreconditionRequired => "precondition_required",
            AdminError::PreconditionFailed => "precondition_failed",
            AdminError::Internal(_) => "server_error",
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> u16 {
        match self {
            AdminError::InvalidToken(_) => 401,
            AdminError::NotAnAdmin => 403,
            AdminError::NotFound(_) => 404,
            AdminError::InvalidRequest(_) => 400,
            AdminError::Conflict(_) => 409,
            AdminError::PreconditionRequired => 428,
            AdminError::PreconditionFailed => 412,
            AdminError::Internal(_) => 500,
        }
    }

    /// The `error_description`: what to fix; fixed text for a fault of
    /// the server (its detail goes to the log).
    pub fn description(&self) -> String {
        match self {
            AdminError::Internal(_) => "the server failed; try again".to_owned(),
            other => other.to_string(),
        }
    }
}

/// Who is administering: the token's subject, for the audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admin {
    /// The token's `sub` (a client id for a client's own token).
    pub subject: String,
    /// The token's `client_id`.
    pub client_id: String,
}

impl Admin {
    /// Who this administrator is in the audit log.
    pub fn actor(&self) -> crate::audit::Actor {
        crate::audit::Actor::Admin(self.subject.clone())
    }
}

/// The strings of a claim that is a string or an array of them.
fn strings<'a>(claims: &'a Map<String, Value>, name: &str) -> Vec<&'a str> {
    match claims.get(name) {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Checks that `token` may administer (the module's numbered steps).
pub async fn authorize(ctx: &Context<'_, Store>, token: &str) -> Result<Admin, AdminError> {
    // 1.
    let Some(claims) = active_claims(ctx, token)
        .await
        .map_err(|e| AdminError::Internal(e.to_string()))?
    else {
        return Err(AdminError::InvalidToken(
            "the access token is invalid, expired or revoked",
        ));
    };
    // 2.
    if !strings(&claims, "aud").contains(&ADMIN_AUDIENCE) {
        return Err(AdminError::InvalidToken(
            "the access token is not for the admin API (audience tessera-admin)",
        ));
    }
    // 3.
    if claims.get("cnf").is_some() {
        return Err(AdminError::InvalidToken(
            "the admin API takes bearer tokens, not DPoP-bound ones",
        ));
    }
    // 4.
    if !strings(&claims, "roles").contains(&ADMIN_ROLE) {
        return Err(AdminError::NotAnAdmin);
    }
    let (Some(subject), Some(client_id)) = (
        claims.get("sub").and_then(Value::as_str),
        claims.get("client_id").and_then(Value::as_str),
    ) else {
        return Err(AdminError::InvalidToken("the access token names no subject"));
    };
    // 5.
    if subject == client_id {
        match ctx.clients.client(ctx.store, client_id, ctx.now).await {
            Ok(Some(client)) if client.admin => {}
            Ok(Some(_)) => return Err(AdminError::NotAnAdmin),
            Ok(None) => return Err(AdminError::InvalidToken("the client is no longer registered")),
            Err(e) => return Err(AdminError::Internal(e.to_string())),
        }
    } else {
        match ctx.store.user(subject).await? {
            Some(user) if user.is_disabled() => return Err(AdminError::InvalidToken("the user is disabled")),
            Some(user) if user.roles.iter().any(|r| r == ADMIN_ROLE) => {}
            Some(_) => return Err(AdminError::NotAnAdmin),
            None => return Err(AdminError::InvalidToken("the user no longer exists")),
        }
    }
    Ok(Admin {
        subject: subject.to_owned(),
        client_id: client_id.to_owned(),
    })
}

/// The body of every error of the admin API.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct ErrorBody {
    /// The error code: `invalid_token`, `insufficient_scope`,
    /// `invalid_request`, `not_found`, `conflict`, `precondition_required`,
    /// `precondition_failed` or `server_error`.
    pub error: String,
    /// What to fix.
    pub error_description: String,
}

/// The `ETag` of a resource's JSON: a strong validator ([RFC 9110
/// §8.8.3]), the base64url SHA-256 of its serialisation, quoted.
///
/// [RFC 9110 §8.8.3]: https://www.rfc-editor.org/rfc/rfc9110#section-8.8.3
pub fn etag(resource: &impl serde::Serialize) -> String {
    // Serialising the server's own types cannot fail (no maps with
    // non-string keys); were it to, the tag is that of an empty body.
    let json = serde_json::to_string(resource).unwrap_or_default();
    let hash = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, json.as_bytes());
    format!(
        "\"{}\"",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(hash)
    )
}

/// A resource as read for a write: its view, its row version, and the
/// `ETag` of both (so a change the view does not show, made by a write
/// that raised the version, changes the tag too).
#[derive(Debug, Clone)]
pub struct Tagged<T> {
    /// What the API shows.
    pub view: T,
    /// The row version its conditional write names.
    pub version: i64,
    /// Its `ETag`.
    pub etag: String,
}

impl<T: serde::Serialize> Tagged<T> {
    /// `view` at `version`, tagged.
    pub fn new(view: T, version: i64) -> Tagged<T> {
        let etag = etag(&(version, &view));
        Tagged { view, version, etag }
    }
}

/// Checks a write's `If-Match` ([RFC 9110 §13.1.1]) against the current
/// `ETag`: none is 428, one that lists neither it nor `*` is 412. (Weak
/// tags never match: the comparison is strong.) The write itself must
/// still be conditional on the version read with the tag.
///
/// [RFC 9110 §13.1.1]: https://www.rfc-editor.org/rfc/rfc9110#section-13.1.1
pub fn check_if_match(if_match: Option<&str>, current: &str) -> Result<(), AdminError> {
    let Some(if_match) = if_match else {
        return Err(AdminError::PreconditionRequired);
    };
    let matches = if_match
        .split(',')
        .map(str::trim)
        .any(|t| t == "*" || t == current);
    if matches {
        Ok(())
    } else {
        Err(AdminError::PreconditionFailed)
    }
}

/// The most items a page holds, and how many one holds by default.
pub const MAX_LIMIT: usize = 200;
/// How many items a page holds when `limit` is not given.
pub const DEFAULT_LIMIT: usize = 50;

/// A page request: `?limit=&cursor=`.
#[derive(Debug, Default, Clone, serde::Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageRequest {
    /// At most this many items: 1 to 200 (`MAX_LIMIT`), 50 when absent.
    pub limit: Option<usize>,
    /// The `next_cursor` of the page before.
    pub cursor: Option<String>,
}

/// One page of a list, and the cursor of the next if there is one.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Where the next page starts; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// A page request's limit, checked: 1 to [`MAX_LIMIT`].
pub fn limit_of(request: &PageRequest) -> Result<usize, AdminError> {
    let limit = request.limit.unwrap_or(DEFAULT_LIMIT);
    if limit == 0 || limit > MAX_LIMIT {
        return Err(AdminError::InvalidRequest(format!(
            "limit must be between 1 and {MAX_LIMIT}"
        )));
    }
    Ok(limit)
}

/// The key a page request's cursor names (the last key shown).
pub fn after_of(request: &PageRequest) -> Result<Option<String>, AdminError> {
    match &request.cursor {
        None => Ok(None),
        Some(cursor) => base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(cursor)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .map(Some)
            .ok_or_else(|| AdminError::InvalidRequest("cursor is not one this API gave".into())),
    }
}

/// A page of `rows` read from the store in key order, one more than
/// `limit` asked for (whether another page follows).
pub fn keyset_page<T, V>(
    mut rows: Vec<T>,
    limit: usize,
    key: impl Fn(&T) -> &str,
    render: impl Fn(&T) -> V,
) -> Page<V> {
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = match (more, rows.last()) {
        (true, Some(last)) => Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key(last))),
        _ => None,
    };
    Page {
        items: rows.iter().map(render).collect(),
        next_cursor,
    }
}

/// Cuts a page out of `items` ordered by `key` (unique): those after the
/// cursor (an opaque base64url of the last key shown), at most `limit`.
/// Keyset paging: an item added or removed meanwhile never shifts a page.
pub fn page<T, V>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> &str,
    request: &PageRequest,
    render: impl Fn(&T) -> V,
) -> Result<Page<V>, AdminError> {
    let limit = limit_of(request)?;
    let after = after_of(request)?;
    items.sort_by(|a, b| key(a).cmp(key(b)));
    let rest: Vec<&T> = items
        .iter()
        .filter(|i| after.as_deref().is_none_or(|a| key(i) > a))
        .collect();
    let shown: Vec<&T> = rest.iter().take(limit).copied().collect();
    let next_cursor = match (rest.len() > limit, shown.last()) {
        (true, Some(last)) => Some(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(key(last))),
        _ => None,
    };
    Ok(Page {
        items: shown.into_iter().map(render).collect(),
        next_cursor,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures;
    use crate::oauth::access_token::{self, AccessClaims};

    /// A token of this server for `sub` with this audience and roles.
    fn token(sub: &str, aud: &str, roles: Option<&[String]>) -> String {
        let claims = AccessClaims {
            iss: fixtures::ISSUER,
            sub,
            aud: tessera_jwt::Audience::One(aud.to_owned()),
            exp: fixtures::NOW + 60,
            iat: fixtures::NOW,
            jti: access_token::new_jti().unwrap(),
            client_id: "app",
            scope: "",
            preferred_username: None,
            roles,
            email: None,
            email_verified: None,
            name: None,
            cnf: None,
        };
        access_token::issue(fixtures::signer(), &claims).unwrap()
    }

    /// The module's steps 2, 4 and 5 for a user's token: the audience,
    /// the role in the token (step 4 on its own: the user is an
    /// administrator in the store, the token does not say so), and the
    /// role in the store.
    #[tokio::test]
    async fn a_users_token_needs_the_audience_and_the_role_in_itself_and_in_the_store() {
        let store = fixtures::store().await;
        fixtures::add_user(&store, &fixtures::user("u-root", "root", "pw")).await;
        fixtures::add_user(&store, &fixtures::user("u-dev", "dev", "pw")).await;
        crate::identity::users::set_roles(&store, "u-root", &[ADMIN_ROLE.to_owned()])
            .await
            .unwrap();
        let key = fixtures::signer().key().verifying_key().unwrap();
        let keys = tessera_jwt::KeySet::new(vec![key]).unwrap();
        let clients = crate::clients::directory::Directory::default();
        let verified = crate::oauth::verified_tokens::empty();
        let ctx = Context {
            store: &store,
            issuer: fixtures::ISSUER,
            keys: &keys,
            verified: &verified,
            now: fixtures::NOW,
            clients: &clients,
        };
        let admin = [ADMIN_ROLE.to_owned()];
        let ok = authorize(&ctx, &token("u-root", ADMIN_AUDIENCE, Some(&admin))).await;
        assert_eq!(ok.unwrap().subject, "u-root");
        let other_audience = authorize(&ctx, &token("u-root", "api", Some(&admin))).await;
        assert!(
            matches!(other_audience, Err(AdminError::InvalidToken(_))),
            "{other_audience:?}"
        );
        let no_role_claim = authorize(&ctx, &token("u-root", ADMIN_AUDIENCE, None)).await;
        assert!(
            matches!(no_role_claim, Err(AdminError::NotAnAdmin)),
            "{no_role_claim:?}"
        );
        let not_in_store = authorize(&ctx, &token("u-dev", ADMIN_AUDIENCE, Some(&admin))).await;
        assert!(
            matches!(not_in_store, Err(AdminError::NotAnAdmin)),
            "{not_in_store:?}"
        );
        let gone = authorize(&ctx, &token("u-gone", ADMIN_AUDIENCE, Some(&admin))).await;
        assert!(matches!(gone, Err(AdminError::InvalidToken(_))), "{gone:?}");
        let junk = authorize(&ctx, "e30.e30.e30").await;
        assert!(matches!(junk, Err(AdminError::InvalidToken(_))), "{junk:?}");
    }

    #[test]
    fn if_match_is_required_and_compared_strongly() {
        let v = serde_json::json!({"a": 1});
        let tag = Tagged::new(v.clone(), 3).etag;
        assert!(tag.starts_with('"') && tag.ends_with('"'));
        assert!(matches!(
            check_if_match(None, &tag),
            Err(AdminError::PreconditionRequired)
        ));
        assert!(matches!(
            check_if_match(Some("\"stale\""), &tag),
            Err(AdminError::PreconditionFailed)
        ));
        assert!(matches!(
            check_if_match(Some(&format!("W/{tag}")), &tag),
            Err(AdminError::PreconditionFailed)
        ));
        assert!(check_if_match(Some(&tag), &tag).is_ok());
        assert!(check_if_match(Some(&format!("\"x\", {tag}")), &tag).is_ok());
        assert!(check_if_match(Some("*"), &tag).is_ok());
        assert_ne!(Tagged::new(serde_json::json!({"a": 2}), 3).etag, tag);
        assert_ne!(Tagged::new(v, 4).etag, tag, "the version is in the tag");
    }

    #[test]
    fn pages_follow_their_cursor() {
        let items: Vec<String> = ["c", "a", "e", "b", "d"].iter().map(|s| s.to_string()).collect();
        let render = |s: &String| s.clone();
        let first = page(
            items.clone(),
            |s| s,
            &PageRequest {
                limit: Some(2),
                cursor: None,
            },
            render,
        )
        .unwrap();
        assert_eq!(first.items, ["a", "b"]);
        let second = page(
            items.clone(),
            |s| s,
            &PageRequest {
                limit: Some(2),
                cursor: first.next_cursor,
            },
            render,
        )
        .unwrap();
        assert_eq!(second.items, ["c", "d"]);
        let last = page(
            items.clone(),
            |s| s,
            &PageRequest {
                limit: Some(2),
                cursor: second.next_cursor,
            },
            render,
        )
        .unwrap();
        assert_eq!(last.items, ["e"]);
        assert!(last.next_cursor.is_none());
        for bad in [Some(0), Some(MAX_LIMIT + 1)] {
            let r = page(
                items.clone(),
                |s| s,
                &PageRequest {
                    limit: bad,
                    cursor: None,
                },
                render,
            );
            assert!(matches!(r, Err(AdminError::InvalidRequest(_))));
        }
        let r = page(
            items,
            |s| s,
            &PageRequest {
                limit: None,
                cursor: Some("!!".into()),
            },
            render,
        );
        assert!(matches!(r, Err(AdminError::InvalidRequest(_))));
    }
}
