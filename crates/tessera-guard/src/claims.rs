//! The verified claims of an access token ([RFC 9068 §2.2]), as handlers
//! see them.
//!
//! The registered and profile claims an API commonly reads are fields;
//! anything else the issuer put in the token is kept, and read with
//! [`Claims::get`] or, as one typed struct, [`Claims::custom`]. Cloning is
//! cheap (one reference count), so the claims can travel in request
//! extensions.
//!
//! Every request builds one of these, so the string claims share one
//! buffer (one allocation instead of one per claim), read in one pass over
//! the members.
//!
//! [RFC 9068 §2.2]: https://www.rfc-editor.org/rfc/rfc9068#section-2.2

use std::fmt;
use std::sync::Arc;

use serde::de::{self, DeserializeOwned, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde::Deserialize;
use serde_json::{Map, Value};

/// A verified access token's claims.
#[derive(Clone, Debug)]
pub struct Claims(Arc<Inner>);

/// Where a string claim sits in [`Inner::text`].
#[derive(Clone, Copy, Debug, Default)]
struct Span {
    start: usize,
    end: usize,
}

#[derive(Debug)]
struct Inner {
    /// The string claims, back to back.
    text: String,
    iss: Span,
    sub: Span,
    exp: i64,
    iat: Option<i64>,
    jti: Option<Span>,
    client_id: Option<Span>,
    scope: Option<Span>,
    roles: Vec<Span>,
    preferred_username: Option<Span>,
    email: Option<Span>,
    name: Option<Span>,
    other: Map<String, Value>,
}

impl Inner {
    fn str(&self, span: Span) -> &str {
        self.text.get(span.start..span.end).unwrap_or_default()
    }

    fn opt(&self, span: Option<Span>) -> Option<&str> {
        span.map(|s| self.str(s))
    }
}

/// A member name: the ones with a field cost no allocation.
enum Key {
    Iss,
    Sub,
    Exp,
    Iat,
    Jti,
    ClientId,
    Scope,
    Roles,
    PreferredUsername,
    Email,
    Name,
    /// Already checked against the configured audience; not kept.
    Aud,
    Other(String),
}

impl<'de> Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Key, D::Error> {
        struct Names;
        impl Visitor<'_> for Names {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a claim name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Key, E> {
                Ok(match name {
                    "iss" => Key::Iss,
                    "sub" => Key::Sub,
                    "exp" => Key::Exp,
                    "iat" => Key::Iat,
                    "jti" => Key::Jti,
                    "client_id" => Key::ClientId,
                    "scope" => Key::Scope,
                    "roles" => Key::Roles,
                    "preferred_username" => Key::PreferredUsername,
                    "email" => Key::Email,
                    "name" => Key::Name,
                    "aud" => Key::Aud,
                    other => Key::Other(other.to_owned()),
                })
            }
        }
        deserializer.deserialize_identifier(Names)
    }
}

/// Appends a JSON string to the buffer; `null` is `None`.
struct Append<'t>(&'t mut String);

impl<'de> DeserializeSeed<'de> for Append<'_> {
    type Value = Option<Span>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Option<Span>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Append<'_> {
    type Value = Option<Span>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Option<Span>, E> {
        let start = self.0.len();
        self.0.push_str(v);
        Ok(Some(Span {
            start,
            end: self.0.len(),
        }))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Option<Span>, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Option<Span>, E> {
        Ok(None)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Option<Span>, D::Error> {
        d.deserialize_any(self)
    }
}

/// Appends an array of strings (`roles`); `null` is empty.
struct AppendAll<'t>(&'t mut String);

impl<'de> DeserializeSeed<'de> for AppendAll<'_> {
    type Value = Vec<Span>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Vec<Span>, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for AppendAll<'_> {
    type Value = Vec<Span>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an array of strings")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<Span>, A::Error> {
        let mut spans = Vec::with_capacity(seq.size_hint().unwrap_or(2).min(16));
        while let Some(span) = seq.next_element_seed(Append(&mut *self.0))? {
            spans.push(span.ok_or_else(|| de::Error::custom("roles must be strings"))?);
        }
        Ok(spans)
    }
    fn visit_unit<E: de::Error>(self) -> Result<Vec<Span>, E> {
        Ok(Vec::new())
    }
}

/// One pass over the members, straight into the fields (no intermediate
/// buffering, which `#[serde(flatten)]` would cost on every request).
impl<'de> Deserialize<'de> for Claims {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Members;
        impl<'de> Visitor<'de> for Members {
            type Value = Inner;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JWT claims object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Inner, A::Error> {
                let (mut iss, mut sub, mut exp) = (None, None, None);
                let mut c = Inner {
                    text: String::with_capacity(256),
                    iss: Span::default(),
                    sub: Span::default(),
                    exp: 0,
                    iat: None,
                    jti: None,
                    client_id: None,
                    scope: None,
                    roles: Vec::new(),
                    preferred_username: None,
                    email: None,
                    name: None,
                    other: Map::new(),
                };
                while let Some(key) = map.next_key::<Key>()? {
                    let text = &mut c.text;
                    match key {
                        Key::Iss => iss = map.next_value_seed(Append(text))?,
                        Key::Sub => sub = map.next_value_seed(Append(text))?,
                        Key::Exp => exp = Some(map.next_value()?),
                        Key::Iat => c.iat = map.next_value()?,
                        Key::Jti => c.jti = map.next_value_seed(Append(text))?,
                        Key::ClientId => c.client_id = map.next_value_seed(Append(text))?,
                        Key::Scope => c.scope = map.next_value_seed(Append(text))?,
                        Key::Roles => c.roles = map.next_value_seed(AppendAll(text))?,
                        Key::PreferredUsername => c.preferred_username = map.next_value_seed(Append(text))?,
                        Key::Email => c.email = map.next_value_seed(Append(text))?,
                        Key::Name => c.name = map.next_value_seed(Append(text))?,
                        Key::Aud => {
                            map.next_value::<de::IgnoredAny>()?;
                        }
                        Key::Other(name) => {
                            let value = map.next_value::<Value>()?;
                            c.other.insert(name, value);
                        }
                    }
                }
                c.iss = iss.ok_or_else(|| de::Error::missing_field("iss"))?;
                c.sub = sub.ok_or_else(|| de::Error::missing_field("sub"))?;
                c.exp = exp.ok_or_else(|| de::Error::missing_field("exp"))?;
                Ok(c)
            }
        }
        deserializer
            .deserialize_map(Members)
            .map(|inner| Claims(Arc::new(inner)))
    }
}

impl Claims {
    /// Builds claims from an introspection response's members (RFC 7662
    /// §2.2), which carry the same names as the JWT's.
    pub(crate) fn from_map(map: Map<String, Value>) -> Result<Claims, serde_json::Error> {
        serde_json::from_value(Value::Object(map))
    }

    /// `iss`: who issued the token (already checked).
    pub fn issuer(&self) -> &str {
        self.0.str(self.0.iss)
    }

    /// `sub`: the user, or the client for a client-credentials token.
    pub fn subject(&self) -> &str {
        self.0.str(self.0.sub)
    }

    /// `exp`, seconds since the epoch (already checked).
    pub fn expires_at(&self) -> i64 {
        self.0.exp
    }

    /// `iat`, seconds since the epoch.
    pub fn issued_at(&self) -> Option<i64> {
        self.0.iat
    }

    /// `jti`: the token's identifier.
    pub fn token_id(&self) -> Option<&str> {
        self.0.opt(self.0.jti)
    }

    /// `client_id`: the OAuth client the token was issued to (RFC 9068 §2.2).
    pub fn client_id(&self) -> Option<&str> {
        self.0.opt(self.0.client_id)
    }

    /// The granted scopes (`scope`, space-separated, RFC 9068 §2.2.3).
    pub fn scopes(&self) -> impl Iterator<Item = &str> {
        self.0
            .opt(self.0.scope)
            .unwrap_or("")
            .split(' ')
            .filter(|s| !s.is_empty())
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// `roles` (RFC 9068 §7.2.1.1, from RFC 7643).
    pub fn roles(&self) -> impl Iterator<Item = &str> {
        self.0.roles.iter().map(|&span| self.0.str(span))
    }

    /// Whether the token carries `role`.
    pub fn has_role(&self, role: &str) -> bool {
        self.roles().any(|r| r == role)
    }

    /// `preferred_username` (OpenID Connect Core §5.1).
    pub fn preferred_username(&self) -> Option<&str> {
        self.0.opt(self.0.preferred_username)
    }

    /// `email` (OpenID Connect Core §5.1).
    pub fn email(&self) -> Option<&str> {
        self.0.opt(self.0.email)
    }

    /// `name` (OpenID Connect Core §5.1).
    pub fn name(&self) -> Option<&str> {
        self.0.opt(self.0.name)
    }

    /// Any other claim, typed; `None` when absent or of another shape.
    pub fn get<T: DeserializeOwned>(&self, claim: &str) -> Option<T> {
        self.0.other.get(claim).and_then(|v| T::deserialize(v).ok())
    }

    /// The claims that have no field here, read as one struct of the
    /// application's (e.g. `#[derive(Deserialize)] struct Tenant { org: String }`).
    pub fn custom<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_value(Value::Object(self.0.other.clone()))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn fields_and_other_claims() {
        let claims: Claims = serde_json::from_value(serde_json::json!({
            "iss": "https://id.example", "sub": "u1", "aud": ["a", "b"], "exp": 10, "iat": 5,
            "jti": "j", "client_id": "app", "scope": "tasks:read  tasks:write", "roles": ["admin"],
            "preferred_username": "ann", "org": "acme", "tier": 3
        }))
        .unwrap();
        assert_eq!(claims.subject(), "u1");
        assert_eq!(claims.issuer(), "https://id.example");
        assert_eq!((claims.token_id(), claims.client_id()), (Some("j"), Some("app")));
        assert_eq!(claims.roles().collect::<Vec<_>>(), ["admin"]);
        assert_eq!((claims.email(), claims.name()), (None, None));
        assert_eq!(claims.scopes().collect::<Vec<_>>(), ["tasks:read", "tasks:write"]);
        assert!(claims.has_scope("tasks:write") && !claims.has_scope("tasks"));
        assert!(claims.has_role("admin") && !claims.has_role("user"));
        assert_eq!(claims.preferred_username(), Some("ann"));
        assert_eq!(claims.get::<String>("org").as_deref(), Some("acme"));
        assert_eq!(claims.get::<String>("tier"), None);
        assert_eq!(claims.get::<String>("aud"), None, "aud is checked, not kept");
        #[derive(Deserialize)]
        struct Tenant {
            org: String,
            tier: u8,
        }
        let t: Tenant = claims.custom().unwrap();
        assert_eq!((t.org.as_str(), t.tier), ("acme", 3));
    }

    #[test]
    fn null_optional_claims_and_bad_shapes() {
        let ok: Claims = serde_json::from_value(serde_json::json!({
            "iss": "i", "sub": "s", "exp": 1, "email": null, "roles": null
        }))
        .unwrap();
        assert_eq!(ok.email(), None);
        assert_eq!(ok.roles().count(), 0);
        for bad in [
            serde_json::json!({"iss": "i", "exp": 1}),
            serde_json::json!({"iss": "i", "sub": null, "exp": 1}),
            serde_json::json!({"iss": "i", "sub": 7, "exp": 1}),
            serde_json::json!({"iss": "i", "sub": "s", "exp": 1, "roles": ["a", 1]}),
            serde_json::json!({"iss": "i", "sub": "s", "exp": 1, "roles": "admin"}),
        ] {
            assert!(serde_json::from_value::<Claims>(bad.clone()).is_err(), "{bad}");
        }
    }
}
