//! One pass over the claims: the caller's type is deserialized while the
//! same traversal records member names (refusing repeats) and reads the
//! registered claims the validation needs.
//!
//! A thin [`Deserializer`] wraps serde_json's. When the caller's type asks
//! for the top-level object, the wrapper hands it a [`MapAccess`] that sees
//! every key before the caller does. The value of a registered claim is
//! parsed once into our own form (a number, or borrowed strings), so a
//! value of the wrong type is refused before the caller's type sees it
//! (a `sub` of `42` never reaches a `sub: u64` field); what validation
//! needs is kept, and the value is replayed to the caller's type from
//! memory. All other values stream straight to the caller. Only the top
//! level is inspected, as RFC 7519 §4 requires. Member names are strings
//! (RFC 7519 §4), so a caller's type with integer map keys at the top level
//! is not supported.
//!
//! If the caller's type never asks for a map (a raw value, say), nothing was
//! recorded and [`super::scan`] runs as a second pass instead.

use std::borrow::Cow;

use serde::de::value::{
    BorrowedStrDeserializer, F64Deserializer, I64Deserializer, SeqDeserializer, StrDeserializer,
    U64Deserializer,
};
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, Visitor};

use super::{Aud, Scanned, AUDIENCE, DATE, STRING};
use crate::error::{Part, Untrusted};
use crate::json::Str;
use crate::Error;

/// Which registered claim the next value belongs to.
#[derive(Clone, Copy)]
enum Registered {
    Exp,
    Nbf,
    Iat,
    Iss,
    Sub,
    Jti,
    Aud,
}

#[derive(Default)]
struct State<'de> {
    scanned: Scanned<'de>,
    fault: Option<Error>,
    entered: bool,
    pending: Option<Registered>,
}

/// Deserializes `C` from a claims object in one pass, returning it with the
/// registered claims; `Ok(None)` when `C` did not read the object as a map.
pub(crate) fn deserialize<'de, C: de::Deserialize<'de>>(
    json: &'de [u8],
) -> Result<Option<(C, Scanned<'de>)>, Error> {
    let mut state = State::default();
    let mut de = serde_json::Deserializer::from_slice(json);
    let result = C::deserialize(Top {
        de: &mut de,
        state: &mut state,
    })
    .and_then(|c| de.end().map(|()| c));
    match result {
        Ok(c) if state.entered => Ok(Some((c, state.scanned))),
        Ok(_) => Ok(None),
        Err(e) => Err(state.fault.take().unwrap_or_else(|| match e.classify() {
            serde_json::error::Category::Data => Error::ClaimsShape(e.to_string()),
            _ => Error::Json {
                part: Part::Payload,
                reason: e.to_string(),
            },
        })),
    }
}

struct Top<'a, 'de> {
    de: &'a mut serde_json::Deserializer<serde_json::de::SliceRead<'de>>,
    state: &'a mut State<'de>,
}

macro_rules! forward {
    ($($method:ident)*) => {$(
        fn $method<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
            self.de.$method(visitor)
        }
    )*};
}

impl<'de> Deserializer<'de> for Top<'_, 'de> {
    type Error = serde_json::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.de.deserialize_any(Wrap {
            inner: visitor,
            state: self.state,
        })
    }

    fn deserialize_map<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, Self::Error> {
        self.de.deserialize_map(Wrap {
            inner: visitor,
            state: self.state,
        })
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        fields: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.de.deserialize_struct(
            name,
            fields,
            Wrap {
                inner: visitor,
                state: self.state,
            },
        )
    }

    forward! {
        deserialize_bool deserialize_i8 deserialize_i16 deserialize_i32 deserialize_i64
        deserialize_i128 deserialize_u8 deserialize_u16 deserialize_u32 deserialize_u64
        deserialize_u128 deserialize_f32 deserialize_f64 deserialize_char deserialize_str
        deserialize_string deserialize_bytes deserialize_byte_buf deserialize_option
        deserialize_unit deserialize_seq deserialize_identifier deserialize_ignored_any
    }

    fn deserialize_unit_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.de.deserialize_unit_struct(name, visitor)
    }

    fn deserialize_newtype_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.de.deserialize_newtype_struct(name, visitor)
    }

    fn deserialize_tuple<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Self::Error> {
        self.de.deserialize_tuple(len, visitor)
    }

    fn deserialize_tuple_struct<V: Visitor<'de>>(
        self,
        name: &'static str,
        len: usize,
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.de.deserialize_tuple_struct(name, len, visitor)
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        name: &'static str,
        variants: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.de.deserialize_enum(name, variants, visitor)
    }
}

/// The caller's visitor, given a checked map. The payload is known to start
/// with `{`, so serde_json only ever calls `visit_map` here.
struct Wrap<'a, 'de, V> {
    inner: V,
    state: &'a mut State<'de>,
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Wrap<'_, 'de, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.inner.expecting(f)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<V::Value, A::Error> {
        self.state.entered = true;
        self.inner.visit_map(Checked {
            map,
            state: self.state,
        })
    }
}

struct Checked<'a, 'de, A> {
    map: A,
    state: &'a mut State<'de>,
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Checked<'_, 'de, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, A::Error> {
        self.map.next_key_seed(KeySeed {
            seed,
            state: self.state,
        })
    }

    fn next_value_seed<S: DeserializeSeed<'de>>(&mut self, seed: S) -> Result<S::Value, A::Error> {
        let Some(which) = self.state.pending.take() else {
            return self.map.next_value_seed(seed);
        };
        // A registered claim: parse it once into our own form, keep what
        // validation needs, and replay the parsed value to the caller.
        let parsed = match which {
            Registered::Exp | Registered::Nbf | Registered::Iat => {
                self.map.next_value::<Number>().map(Parsed::Number)
            }
            Registered::Iss | Registered::Sub | Registered::Jti => {
                self.map.next_value::<Str<'de>>().map(|s| Parsed::Str(s.0))
            }
            Registered::Aud => self.map.next_value::<Aud<'de>>().map(Parsed::Aud),
        };
        let parsed = match parsed {
            Ok(p) => p,
            Err(e) => {
                let (claim, reason) = match which {
                    Registered::Exp => ("exp", DATE),
                    Registered::Nbf => ("nbf", DATE),
                    Registered::Iat => ("iat", DATE),
                    Registered::Iss => ("iss", STRING),
                    Registered::Sub => ("sub", STRING),
                    Registered::Jti => ("jti", STRING),
                    Registered::Aud => ("aud", AUDIENCE),
                };
                self.state.fault = Some(Error::InvalidClaim { claim, reason });
                return Err(e);
            }
        };
        let scanned = &mut self.state.scanned;
        match parsed {
            Parsed::Number(n) => {
                let slot = match which {
                    Registered::Exp => &mut scanned.exp,
                    Registered::Nbf => &mut scanned.nbf,
                    _ => &mut scanned.iat,
                };
                *slot = Some(n.seconds());
                n.replay(seed)
            }
            Parsed::Str(s) => {
                let out = replay_str(&s, seed);
                // `sub` and `jti` are only type-checked.
                if let Registered::Iss = which {
                    scanned.iss = Some(s);
                }
                out
            }
            Parsed::Aud(aud) => {
                let out = match &aud {
                    Aud::One(one) => replay_str(one, seed),
                    Aud::Many(list) => seed.deserialize(Present(SeqDeserializer::new(
                        list.iter().map(|s| StrDeserializer::<A::Error>::new(s)),
                    ))),
                };
                scanned.aud = Some(aud);
                out
            }
        }
    }

    fn size_hint(&self) -> Option<usize> {
        self.map.size_hint()
    }
}

enum Parsed<'de> {
    Number(Number),
    Str(Cow<'de, str>),
    Aud(Aud<'de>),
}

/// A JSON number as serde_json reported it, so it can be replayed exactly.
#[derive(Clone, Copy)]
enum Number {
    I(i64),
    U(u64),
    F(f64),
}

impl Number {
    /// As a NumericDate: floor, saturating (as [`super::NumericDate`]).
    #[allow(clippy::cast_possible_truncation)] // `as` saturates, which is the intent
    fn seconds(self) -> i64 {
        match self {
            Number::I(v) => v,
            Number::U(v) => i64::try_from(v).unwrap_or(i64::MAX),
            Number::F(v) => v.floor() as i64,
        }
    }

    fn replay<'de, S: DeserializeSeed<'de>, E: de::Error>(self, seed: S) -> Result<S::Value, E> {
        match self {
            Number::I(v) => seed.deserialize(Present(I64Deserializer::<E>::new(v))),
            Number::U(v) => seed.deserialize(Present(U64Deserializer::<E>::new(v))),
            Number::F(v) => seed.deserialize(Present(F64Deserializer::<E>::new(v))),
        }
    }
}

impl<'de> de::Deserialize<'de> for Number {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Number;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a NumericDate")
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Number, E> {
                Ok(Number::I(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Number, E> {
                Ok(Number::U(v))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Number, E> {
                if v.is_finite() {
                    Ok(Number::F(v))
                } else {
                    Err(E::custom("not finite"))
                }
            }
        }
        d.deserialize_any(V)
    }
}

fn replay_str<'de, S: DeserializeSeed<'de>, E: de::Error>(s: &Cow<'de, str>, seed: S) -> Result<S::Value, E> {
    match s {
        Cow::Borrowed(b) => seed.deserialize(Present(BorrowedStrDeserializer::<E>::new(b))),
        Cow::Owned(o) => seed.deserialize(Present(StrDeserializer::<E>::new(o))),
    }
}

/// A replayed value is present: into an `Option<T>` it is `Some`, as
/// serde_json would have said. serde's value deserializers alone answer
/// `deserialize_option` with the bare value, which `Option` refuses.
struct Present<D>(D);

impl<'de, D: Deserializer<'de>> Deserializer<'de> for Present<D> {
    type Error = D::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        self.0.deserialize_any(visitor)
    }

    fn deserialize_option<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, D::Error> {
        visitor.visit_some(self.0)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

/// Sees each member name before the caller's key seed does.
struct KeySeed<'a, 'de, K> {
    seed: K,
    state: &'a mut State<'de>,
}

impl<'de, K: DeserializeSeed<'de>> DeserializeSeed<'de> for KeySeed<'_, 'de, K> {
    type Value = K::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<K::Value, D::Error> {
        d.deserialize_str(KeyVisitor {
            seed: self.seed,
            state: self.state,
        })
    }
}

struct KeyVisitor<'a, 'de, K> {
    seed: K,
    state: &'a mut State<'de>,
}

impl<'de, K> KeyVisitor<'_, 'de, K> {
    fn note<E: de::Error>(&mut self, name: Cow<'de, str>) -> Result<(), E> {
        self.state.pending = match &*name {
            "exp" => Some(Registered::Exp),
            "nbf" => Some(Registered::Nbf),
            "iat" => Some(Registered::Iat),
            "iss" => Some(Registered::Iss),
            "sub" => Some(Registered::Sub),
            "jti" => Some(Registered::Jti),
            "aud" => Some(Registered::Aud),
            _ => None,
        };
        if self.state.scanned.names.insert(name.clone()) {
            return Ok(());
        }
        self.state.fault = Some(Error::DuplicateMember {
            part: Part::Payload,
            name: Untrusted::new(&name),
        });
        Err(E::custom("duplicate member"))
    }
}

impl<'de, K: DeserializeSeed<'de>> Visitor<'de> for KeyVisitor<'_, 'de, K> {
    type Value = K::Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a member name")
    }

    fn visit_borrowed_str<E: de::Error>(mut self, v: &'de str) -> Result<K::Value, E> {
        self.note(Cow::Borrowed(v))?;
        self.seed.deserialize(BorrowedStrDeserializer::new(v))
    }

    fn visit_str<E: de::Error>(mut self, v: &str) -> Result<K::Value, E> {
        self.note(Cow::Owned(v.to_owned()))?;
        self.seed.deserialize(StrDeserializer::new(v))
    }
}
