//! JSON reading shared by the header and claims parsers: member names that
//! borrow from the input, and duplicate detection.
//!
//! serde_json keeps the *last* of two members with the same name in a map
//! and ignores repeats of unknown struct fields, so `{"iss":"a","iss":"b"}`
//! would quietly mean one of the two. RFC 7515 §5.2 and RFC 7519 §4 let a
//! parser either reject duplicates or take the lexically last; two parsers
//! that choose differently disagree on what a signed token says, so Tessera
//! rejects them ([RFC 8725 §2.10] warns about parser differentials).
//!
//! [RFC 8725 §2.10]: https://www.rfc-editor.org/rfc/rfc8725#section-2.10

use std::borrow::Cow;
use std::collections::HashSet;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};

use crate::error::{Part, Untrusted};
use crate::Error;

/// A JSON string (member name or value), borrowed when it has no escapes.
/// Escapes are decoded, so `"\u0065xp"` and `"exp"` are the same name.
pub(crate) struct Str<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Str<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Str<'de>, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// The member names seen so far in one JSON object.
///
/// Linear search while small (headers and typical claim sets have under a
/// dozen members), with a bit per (length, last byte) class so that most
/// new names are known new without comparing strings; a hash set past
/// that, so a 16 KiB token of tiny members cannot make the check quadratic.
#[derive(Default)]
pub(crate) struct SeenNames<'de> {
    small: Vec<Cow<'de, str>>,
    classes: u64,
    large: Option<HashSet<Cow<'de, str>>>,
}

const LINEAR_LIMIT: usize = 16;

fn class(name: &str) -> u64 {
    let last = name.as_bytes().last().copied().unwrap_or(0);
    1u64 << ((name.len() as u64).wrapping_mul(7).wrapping_add(u64::from(last)) & 63)
}

impl<'de> SeenNames<'de> {
    /// Records `name`; `false` when it was already there.
    pub(crate) fn insert(&mut self, name: Cow<'de, str>) -> bool {
        if let Some(set) = &mut self.large {
            return set.insert(name);
        }
        let class = class(&name);
        if self.classes & class != 0 && self.small.contains(&name) {
            return false;
        }
        self.classes |= class;
        if self.small.capacity() == 0 {
            self.small.reserve_exact(LINEAR_LIMIT);
        }
        if self.small.len() == LINEAR_LIMIT {
            let mut set: HashSet<Cow<'de, str>> = self.small.drain(..).collect();
            set.insert(name);
            self.large = Some(set);
        } else {
            self.small.push(name);
        }
        true
    }

    /// Whether `name` was seen.
    pub(crate) fn contains(&self, name: &str) -> bool {
        match &self.large {
            Some(set) => set.contains(name),
            None => self.classes & class(name) != 0 && self.small.iter().any(|n| n == name),
        }
    }
}

/// Checks that the bytes are UTF-8 ([RFC 8259 §8.1], required by RFC 7515
/// §5.2 and RFC 7519 §7.2): serde_json does not check UTF-8 inside values
/// it skips.
///
/// [RFC 8259 §8.1]: https://www.rfc-editor.org/rfc/rfc8259#section-8.1
pub(crate) fn check_utf8(bytes: &[u8], part: Part) -> Result<(), Error> {
    std::str::from_utf8(bytes).map(|_| ()).map_err(|_| Error::Json {
        part,
        reason: "not valid UTF-8".into(),
    })
}

/// Whether the first non-whitespace byte opens a JSON object.
pub(crate) fn starts_object(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'))
        .is_some_and(|b| *b == b'{')
}

/// Checks that `json` is one JSON object whose top-level member names are
/// unique, without interpreting any value.
pub(crate) fn unique_object(json: &[u8], part: Part) -> Result<(), Error> {
    struct Seed<'a> {
        fault: &'a mut Option<Error>,
        part: Part,
    }
    impl<'de> DeserializeSeed<'de> for Seed<'_> {
        type Value = ();
        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_map(self)
        }
    }
    impl<'de> Visitor<'de> for Seed<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
            let mut seen = SeenNames::default();
            while let Some(Str(name)) = map.next_key::<Str<'de>>()? {
                if !seen.insert(name.clone()) {
                    *self.fault = Some(Error::DuplicateMember {
                        part: self.part,
                        name: Untrusted::new(&name),
                    });
                    return Err(de::Error::custom("duplicate member"));
                }
                map.next_value::<IgnoredAny>()?;
            }
            Ok(())
        }
    }
    check_utf8(json, part)?;
    if !starts_object(json) {
        return Err(Error::Json {
            part,
            reason: "not a JSON object".into(),
        });
    }
    let mut fault = None;
    let mut de = serde_json::Deserializer::from_slice(json);
    Seed {
        fault: &mut fault,
        part,
    }
    .deserialize(&mut de)
    .and_then(|()| de.end())
    .map_err(|e| {
        fault.take().unwrap_or_else(|| Error::Json {
            part,
            reason: e.to_string(),
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_repeats_in_small_and_large_objects() {
        let mut seen = SeenNames::default();
        for i in 0..100 {
            assert!(seen.insert(Cow::Owned(format!("m{i}"))));
        }
        assert!(!seen.insert(Cow::Borrowed("m3")));
        assert!(!seen.insert(Cow::Borrowed("m99")));
        assert!(seen.contains("m50"));
        let mut small = SeenNames::default();
        assert!(small.insert(Cow::Borrowed("exp")));
        assert!(!small.insert(Cow::Borrowed("exp")));
    }
}
