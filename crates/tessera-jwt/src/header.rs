//! The JOSE header ([RFC 7515 §4]): read strictly, trusted for nothing but
//! naming a key and checking that key's algorithm.
//!
//! Only `alg`, `kid`, `typ`, `cty` and `crit` are read. `jku`, `x5u`, `jwk`
//! and `x5c` are skipped like any other unknown member: a key or a URL
//! carried by the token it is supposed to verify proves nothing
//! ([RFC 8725 §3.10], CVE-2018-0114), so they are never fetched, parsed or
//! exposed.
//!
//! [RFC 7515 §4]: https://www.rfc-editor.org/rfc/rfc7515#section-4
//! [RFC 8725 §3.10]: https://www.rfc-editor.org/rfc/rfc8725#section-3.10

use std::borrow::Cow;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::error::{Part, Untrusted};
use crate::json::{SeenNames, Str};
use crate::{Algorithm, Error};

/// The header of a verified token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Header {
    /// The algorithm, which always equals the verifying key's.
    pub alg: Algorithm,
    /// The key id the token named, if any.
    pub kid: Option<String>,
    /// The media type of the whole token, e.g. `at+jwt` ([RFC 7515 §4.1.9]).
    ///
    /// [RFC 7515 §4.1.9]: https://www.rfc-editor.org/rfc/rfc7515#section-4.1.9
    pub typ: Option<Cow<'static, str>>,
    /// The content type of the payload ([RFC 7515 §4.1.10]).
    ///
    /// [RFC 7515 §4.1.10]: https://www.rfc-editor.org/rfc/rfc7515#section-4.1.10
    pub cty: Option<String>,
}

#[derive(Default)]
struct Raw<'de> {
    alg: Option<Cow<'de, str>>,
    kid: Option<Cow<'de, str>>,
    typ: Option<Cow<'de, str>>,
    cty: Option<Cow<'de, str>>,
    crit: Option<Vec<Str<'de>>>,
}

struct Seed<'a> {
    fault: &'a mut Option<Error>,
}

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Raw<'de>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Raw<'de>, D::Error> {
        d.deserialize_map(self)
    }
}

fn string<'de, A: MapAccess<'de>>(
    map: &mut A,
    fault: &mut Option<Error>,
    name: &'static str,
) -> Result<Cow<'de, str>, A::Error> {
    map.next_value::<Str<'de>>()
        .map(|s| s.0)
        .inspect_err(|_| *fault = Some(Error::InvalidHeaderParameter(name)))
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Raw<'de>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Raw<'de>, A::Error> {
        let mut raw = Raw::default();
        let mut seen = SeenNames::default();
        while let Some(Str(name)) = map.next_key::<Str<'de>>()? {
            if !seen.insert(name.clone()) {
                *self.fault = Some(Error::DuplicateMember {
                    part: Part::Header,
                    name: Untrusted::new(&name),
                });
                return Err(de::Error::custom("duplicate member"));
            }
            match &*name {
                "alg" => raw.alg = Some(string(&mut map, self.fault, "alg")?),
                "kid" => raw.kid = Some(string(&mut map, self.fault, "kid")?),
                "typ" => raw.typ = Some(string(&mut map, self.fault, "typ")?),
                "cty" => raw.cty = Some(string(&mut map, self.fault, "cty")?),
                "crit" => {
                    raw.crit = Some(map.next_value::<Vec<Str<'de>>>().inspect_err(|_| {
                        *self.fault = Some(Error::InvalidHeaderParameter("crit"));
                    })?)
                }
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(raw)
    }
}

/// Parses a decoded header, in the order of [RFC 7515 §5.2] steps 3-5 and
/// [RFC 8725 §3.1]:
///
/// 1. It is a JSON object with unique member names.
/// 2. `alg` is present; `none` (any case) is refused; an unknown name is refused.
/// 3. `crit`, if present, is refused: no extension is understood here, and
///    RFC 7515 §4.1.11 says a recipient MUST then reject the JWS.
///
/// [RFC 7515 §5.2]: https://www.rfc-editor.org/rfc/rfc7515#section-5.2
/// [RFC 8725 §3.1]: https://www.rfc-editor.org/rfc/rfc8725#section-3.1
pub(crate) fn parse(json: &[u8]) -> Result<Header, Error> {
    crate::json::check_utf8(json, Part::Header)?;
    if !crate::json::starts_object(json) {
        return Err(Error::Json {
            part: Part::Header,
            reason: "not a JSON object".into(),
        });
    }
    let mut fault = None;
    let mut de = serde_json::Deserializer::from_slice(json);
    let raw = Seed { fault: &mut fault }
        .deserialize(&mut de)
        .and_then(|raw| de.end().map(|()| raw))
        .map_err(|e| {
            fault.take().unwrap_or_else(|| Error::Json {
                part: Part::Header,
                reason: e.to_string(),
            })
        })?;

    let alg = raw.alg.ok_or(Error::MissingAlgorithm)?;
    if alg.eq_ignore_ascii_case("none") {
        return Err(Error::AlgorithmNone);
    }
    let alg = Algorithm::from_name(&alg).ok_or_else(|| Error::UnsupportedAlgorithm(Untrusted::new(&alg)))?;
    if let Some(crit) = raw.crit {
        let names: Vec<&str> = crit.iter().map(|s| &*s.0).collect();
        return Err(Error::UnsupportedCritical(Untrusted::new(&names.join(","))));
    }
    Ok(Header {
        alg,
        kid: raw.kid.map(Cow::into_owned),
        typ: raw.typ.map(media_type),
        cty: raw.cty.map(Cow::into_owned),
    })
}

/// The `typ` values Tessera and most issuers write, kept without copying.
const COMMON_TYPES: [&str; 5] = ["JWT", "at+jwt", "application/at+jwt", "JOSE", "jwt"];

fn media_type(typ: Cow<'_, str>) -> Cow<'static, str> {
    match COMMON_TYPES.iter().find(|t| **t == typ) {
        Some(t) => Cow::Borrowed(t),
        None => Cow::Owned(typ.into_owned()),
    }
}

/// Headers recently parsed on this thread, by their exact encoded bytes.
///
/// An issuer writes the same few headers on every token (one per key and
/// `typ`), so most verifications find theirs here and skip decoding and
/// parsing. Parsing is a pure function of those bytes, and only successful
/// parses are kept, so a hit returns exactly what parsing would. The cache
/// is small and per thread: no locks, and a stream of distinct headers only
/// costs the parsing it would have cost anyway.
mod cache {
    use std::cell::RefCell;
    use std::sync::Arc;

    use super::Header;

    const ENTRIES: usize = 8;
    /// Longer headers are not cached.
    pub(super) const MAX_SEGMENT: usize = 256;

    #[derive(Default)]
    struct Cache {
        entries: Vec<(Box<[u8]>, Arc<Header>)>,
        next: usize,
    }

    thread_local! {
        static CACHE: RefCell<Cache> = RefCell::new(Cache::default());
    }

    /// A hit costs a reference count, not a copy of the header's strings.
    pub(super) fn get(segment: &[u8]) -> Option<Arc<Header>> {
        CACHE.with(|c| {
            let c = c.borrow();
            c.entries
                .iter()
                .find(|(s, _)| **s == *segment)
                .map(|(_, h)| h.clone())
        })
    }

    pub(super) fn put(segment: &[u8], header: &Arc<Header>) {
        CACHE.with(|c| {
            let mut c = c.borrow_mut();
            let entry = (Box::from(segment), Arc::clone(header));
            if c.entries.len() < ENTRIES {
                c.entries.push(entry);
            } else {
                let slot = c.next % ENTRIES;
                if let Some(old) = c.entries.get_mut(slot) {
                    *old = entry;
                }
                c.next = slot + 1;
            }
        });
    }
}

/// Decodes and parses a header segment, from the per-thread cache when it
/// was seen recently.
pub(crate) fn decode_and_parse(segment: &[u8]) -> Result<std::sync::Arc<Header>, Error> {
    if segment.len() > cache::MAX_SEGMENT {
        return decode_and_parse_uncached(segment).map(std::sync::Arc::new);
    }
    if let Some(header) = cache::get(segment) {
        return Ok(header);
    }
    let header = std::sync::Arc::new(decode_and_parse_uncached(segment)?);
    cache::put(segment, &header);
    Ok(header)
}

/// Decodes and parses a header segment, on the stack when it is small.
fn decode_and_parse_uncached(segment: &[u8]) -> Result<Header, Error> {
    let mut buf = [0u8; 384];
    match crate::b64::decode_slice(segment, &mut buf) {
        Some(len) => parse(buf.get(..len).unwrap_or_default()),
        None if segment.len() * 3 / 4 <= buf.len() => Err(Error::Base64(Part::Header)),
        None => parse(&crate::compact::decode(segment, Part::Header)?),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_known_members_and_ignores_embedded_keys() {
        let h =
            parse(br#"{"alg":"ES256","kid":"k1","typ":"at+jwt","jwk":{"kty":"EC"},"jku":"https://evil"}"#)
                .unwrap();
        assert_eq!(h.alg, Algorithm::ES256);
        assert_eq!(h.kid.as_deref(), Some("k1"));
        assert_eq!(h.typ.as_deref(), Some("at+jwt"));
    }

    #[test]
    fn refuses_none_unknown_crit_duplicates_and_bad_types() {
        assert_eq!(parse(br#"{"alg":"none"}"#), Err(Error::AlgorithmNone));
        assert_eq!(parse(br#"{"alg":"nOnE"}"#), Err(Error::AlgorithmNone));
        assert!(matches!(
            parse(br#"{"alg":"HS1"}"#),
            Err(Error::UnsupportedAlgorithm(_))
        ));
        assert_eq!(parse(br#"{"typ":"JWT"}"#), Err(Error::MissingAlgorithm));
        assert!(matches!(
            parse(br#"{"alg":"HS256","crit":["exp"],"exp":1}"#),
            Err(Error::UnsupportedCritical(_))
        ));
        assert!(matches!(
            parse(br#"{"alg":"HS256","alg":"none"}"#),
            Err(Error::DuplicateMember {
                part: Part::Header,
                ..
            })
        ));
        // An escaped name is the same name.
        assert!(matches!(
            parse(br#"{"alg":"HS256","\u0061lg":"RS256"}"#),
            Err(Error::DuplicateMember { .. })
        ));
        assert_eq!(
            parse(br#"{"alg":256}"#),
            Err(Error::InvalidHeaderParameter("alg"))
        );
        assert!(matches!(parse(br#"["alg"]"#), Err(Error::Json { .. })));
        assert!(matches!(parse(br#"{"alg":"HS256"} x"#), Err(Error::Json { .. })));
    }

    #[test]
    fn cached_headers_parse_exactly_as_uncached_ones() {
        use crate::b64::encode;
        let good = encode(br#"{"alg":"ES256","kid":"k","typ":"at+jwt"}"#);
        let none = encode(br#"{"alg":"none"}"#);
        for _ in 0..3 {
            assert_eq!(
                decode_and_parse(good.as_bytes()).map(|h| (*h).clone()),
                decode_and_parse_uncached(good.as_bytes())
            );
            assert_eq!(
                decode_and_parse(none.as_bytes()).err(),
                Some(Error::AlgorithmNone)
            );
        }
        // More distinct headers than entries: each still parses correctly.
        for i in 0..40 {
            let seg = encode(format!(r#"{{"alg":"HS256","kid":"k{i}"}}"#).as_bytes());
            assert_eq!(
                decode_and_parse(seg.as_bytes()).unwrap().kid,
                Some(format!("k{i}"))
            );
        }
        assert_eq!(
            decode_and_parse(good.as_bytes()).unwrap().kid.as_deref(),
            Some("k")
        );
    }
}
