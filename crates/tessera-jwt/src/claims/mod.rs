//! The claims set ([RFC 7519 §4]): one strict pass that finds the
//! registered claims the validation needs and refuses repeated names.
//!
//! The caller's own claims type is deserialized afterwards from the same
//! bytes, so it may be any serde type; this pass only guarantees that what
//! it reads and what the caller reads cannot differ.
//!
//! Registered claims are typed ([RFC 7519 §4.1]) whether or not the
//! validation checks them, on verify and on sign: `iss`, `sub` and `jti`
//! are strings; `aud` is a string or an array of strings; `exp`, `nbf` and
//! `iat` are NumericDates ([RFC 7519 §2]), i.e. JSON numbers, fractions
//! allowed (a string such as `"1700000000"` is not a number). Anything else
//! is [`Error::InvalidClaim`]. Only top-level members are registered
//! claims; nested objects are the application's.
//!
//! [RFC 7519 §4]: https://www.rfc-editor.org/rfc/rfc7519#section-4
//! [RFC 7519 §4.1]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1
//! [RFC 7519 §2]: https://www.rfc-editor.org/rfc/rfc7519#section-2

mod checked;

use std::borrow::Cow;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};

use crate::error::{Part, Untrusted};
use crate::json::{SeenNames, Str};
use crate::Error;

/// The registered claims, borrowed from the decoded payload.
#[derive(Default)]
pub(crate) struct Scanned<'de> {
    pub(crate) exp: Option<i64>,
    pub(crate) nbf: Option<i64>,
    pub(crate) iat: Option<i64>,
    pub(crate) iss: Option<Cow<'de, str>>,
    pub(crate) aud: Option<Aud<'de>>,
    pub(crate) names: SeenNames<'de>,
}

/// A NumericDate ([RFC 7519 §2]): seconds since the epoch, integer or not.
/// Fractions are dropped (floor); out-of-range values saturate.
///
/// [RFC 7519 §2]: https://www.rfc-editor.org/rfc/rfc7519#section-2
pub(crate) struct NumericDate(pub(crate) i64);

impl<'de> de::Deserialize<'de> for NumericDate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = NumericDate;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a NumericDate")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<NumericDate, E> {
                Ok(NumericDate(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<NumericDate, E> {
                Ok(NumericDate(i64::try_from(v).unwrap_or(i64::MAX)))
            }
            #[allow(clippy::cast_possible_truncation)] // `as` saturates, which is the intent
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<NumericDate, E> {
                if v.is_finite() {
                    Ok(NumericDate(v.floor() as i64))
                } else {
                    Err(E::custom("not finite"))
                }
            }
        }
        d.deserialize_any(V)
    }
}

/// `aud`: one string or an array of strings ([RFC 7519 §4.1.3]).
///
/// [RFC 7519 §4.1.3]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1.3
pub(crate) enum Aud<'de> {
    One(Cow<'de, str>),
    Many(Vec<Cow<'de, str>>),
}

impl Aud<'_> {
    pub(crate) fn iter(&self) -> impl Iterator<Item = &str> {
        let (one, many) = match self {
            Aud::One(a) => (Some(&**a), &[][..]),
            Aud::Many(v) => (None, v.as_slice()),
        };
        one.into_iter().chain(many.iter().map(|a| &**a))
    }
}

impl<'de> de::Deserialize<'de> for Aud<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Aud<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string or an array of strings")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Aud<'de>, E> {
                Ok(Aud::One(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Aud<'de>, E> {
                Ok(Aud::One(Cow::Owned(v.to_owned())))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Aud<'de>, A::Error> {
                let mut out = Vec::new();
                while let Some(Str(s)) = seq.next_element::<Str<'de>>()? {
                    out.push(s);
                }
                Ok(Aud::Many(out))
            }
        }
        d.deserialize_any(V)
    }
}

struct Seed<'a, 'de> {
    out: &'a mut Scanned<'de>,
    fault: &'a mut Option<Error>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_, 'de> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_map(self)
    }
}

/// Reads one registered claim's value; a type error names the claim.
fn claim<'de, T: de::Deserialize<'de>, A: MapAccess<'de>>(
    map: &mut A,
    fault: &mut Option<Error>,
    claim: &'static str,
    reason: &'static str,
) -> Result<T, A::Error> {
    map.next_value::<T>()
        .inspect_err(|_| *fault = Some(Error::InvalidClaim { claim, reason }))
}

/// Why an `exp`, `nbf` or `iat` was refused ([RFC 7519 §2]).
///
/// [RFC 7519 §2]: https://www.rfc-editor.org/rfc/rfc7519#section-2
pub(crate) const DATE: &str = "must be a NumericDate (a number of seconds since the epoch)";
/// Why an `iss`, `sub` or `jti` was refused ([RFC 7519 §4.1.1, §4.1.2,
/// §4.1.7]).
///
/// [RFC 7519 §4.1.1, §4.1.2, §4.1.7]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1
pub(crate) const STRING: &str = "must be a string";
/// Why an `aud` was refused ([RFC 7519 §4.1.3]).
///
/// [RFC 7519 §4.1.3]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1.3
pub(crate) const AUDIENCE: &str = "must be a string or an array of strings";

impl<'de> Visitor<'de> for Seed<'_, 'de> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some(Str(name)) = map.next_key::<Str<'de>>()? {
            if !self.out.names.insert(name.clone()) {
                *self.fault = Some(Error::DuplicateMember {
                    part: Part::Payload,
                    name: Untrusted::new(&name),
                });
                return Err(de::Error::custom("duplicate member"));
            }
            let f = &mut *self.fault;
            match &*name {
                "exp" => self.out.exp = Some(claim::<NumericDate, _>(&mut map, f, "exp", DATE)?.0),
                "nbf" => self.out.nbf = Some(claim::<NumericDate, _>(&mut map, f, "nbf", DATE)?.0),
                "iat" => self.out.iat = Some(claim::<NumericDate, _>(&mut map, f, "iat", DATE)?.0),
                "iss" => self.out.iss = Some(claim::<Str<'de>, _>(&mut map, f, "iss", STRING)?.0),
                // Typed, though no validation rule reads them.
                "sub" => {
                    claim::<Str<'de>, _>(&mut map, f, "sub", STRING)?;
                }
                "jti" => {
                    claim::<Str<'de>, _>(&mut map, f, "jti", STRING)?;
                }
                "aud" => self.out.aud = Some(claim::<Aud<'de>, _>(&mut map, f, "aud", AUDIENCE)?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(())
    }
}

/// Scans a decoded claims set: a JSON object ([RFC 7519 §7.2] step 10)
/// with unique member names and well-typed registered claims. The signer
/// runs it on the serialized claims too, so what verification would refuse
/// is never signed.
///
/// [RFC 7519 §7.2]: https://www.rfc-editor.org/rfc/rfc7519#section-7.2
pub(crate) fn scan(json: &[u8]) -> Result<Scanned<'_>, Error> {
    crate::json::check_utf8(json, Part::Payload)?;
    if !crate::json::starts_object(json) {
        return Err(Error::ClaimsNotObject);
    }
    let mut out = Scanned::default();
    let mut fault = None;
    let mut de = serde_json::Deserializer::from_slice(json);
    Seed {
        out: &mut out,
        fault: &mut fault,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end())
    .map_err(|e| {
        fault.take().unwrap_or_else(|| Error::Json {
            part: Part::Payload,
            reason: e.to_string(),
        })
    })?;
    Ok(out)
}

/// Deserializes the caller's claims type and scans the registered claims,
/// in one pass when the type reads the payload as a map (see [`checked`]).
pub(crate) fn deserialize<'de, C: serde::Deserialize<'de>>(
    json: &'de [u8],
) -> Result<(C, Scanned<'de>), Error> {
    crate::json::check_utf8(json, Part::Payload)?;
    if !crate::json::starts_object(json) {
        return Err(Error::ClaimsNotObject);
    }
    match checked::deserialize::<C>(json)? {
        Some(done) => Ok(done),
        None => {
            let scanned = scan(json)?;
            let claims = serde_json::from_slice(json).map_err(|e| Error::ClaimsShape(e.to_string()))?;
            Ok((claims, scanned))
        }
    }
}

/// The registered claims of [RFC 7519 §4.1], ready to use as (or flatten
/// into) a claims type. Unknown claims are ignored.
///
/// [RFC 7519 §4.1]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegisteredClaims {
    /// Issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Subject.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sub: Option<String>,
    /// Audience.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<Audience>,
    /// Expiration time (seconds since the epoch).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exp: Option<i64>,
    /// Not before.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    /// Issued at.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<i64>,
    /// JWT ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jti: Option<String>,
}

/// The `aud` claim: one audience or several.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Audience {
    /// A single audience, serialized as a string.
    One(String),
    /// Several audiences, serialized as an array.
    Many(Vec<String>),
}

impl Audience {
    /// Whether `name` is one of the audiences.
    pub fn contains(&self, name: &str) -> bool {
        match self {
            Audience::One(a) => a == name,
            Audience::Many(v) => v.iter().any(|a| a == name),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_registered_claims_and_refuses_repeats() {
        let s =
            scan(br#"{"exp":10,"nbf":1.9,"iat":5,"iss":"i","aud":["a","b"],"x":{"exp":"nested"}}"#).unwrap();
        assert_eq!((s.exp, s.nbf, s.iat), (Some(10), Some(1), Some(5)));
        assert_eq!(s.iss.as_deref(), Some("i"));
        assert_eq!(s.aud.unwrap().iter().collect::<Vec<_>>(), vec!["a", "b"]);
        assert!(s.names.contains("x"));

        let s = scan(br#"{"aud":"only"}"#).unwrap();
        assert_eq!(s.aud.unwrap().iter().collect::<Vec<_>>(), vec!["only"]);

        assert!(matches!(
            scan(br#"{"sub":"a","sub":"b"}"#),
            Err(Error::DuplicateMember {
                part: Part::Payload,
                ..
            })
        ));
        assert!(matches!(
            scan(br#"{"exp":"tomorrow"}"#),
            Err(Error::InvalidClaim { claim: "exp", .. })
        ));
        assert!(matches!(
            scan(br#"{"aud":[1]}"#),
            Err(Error::InvalidClaim { claim: "aud", .. })
        ));
        assert!(matches!(
            scan(br#"{"iss":null}"#),
            Err(Error::InvalidClaim { claim: "iss", .. })
        ));
        assert!(matches!(
            scan(br#"{"sub":42}"#),
            Err(Error::InvalidClaim { claim: "sub", .. })
        ));
        assert!(matches!(
            scan(br#"{"jti":{"id":1}}"#),
            Err(Error::InvalidClaim { claim: "jti", .. })
        ));
        assert!(scan(br#"{"sub":"42","jti":"\u0061","act":{"sub":42}}"#).is_ok());
        assert_eq!(scan(b"foo").err(), Some(Error::ClaimsNotObject));
        assert_eq!(scan(b"[1]").err(), Some(Error::ClaimsNotObject));
        assert!(matches!(scan(br#"{"a":1"#), Err(Error::Json { .. })));
        assert!(matches!(scan(b"{\"a\":\"\xff\"}"), Err(Error::Json { .. })));
    }
}
