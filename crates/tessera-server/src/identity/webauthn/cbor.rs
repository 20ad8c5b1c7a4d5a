//! A strict decoder for the subset of CBOR ([RFC 8949]) that WebAuthn
//! uses: the attestation object ([WebAuthn §6.5]), COSE keys ([WebAuthn
//! §6.5.1.1]) and authenticator extension outputs ([WebAuthn §9]).
//!
//! Accepted: unsigned and negative integers that fit an `i64`, byte
//! strings, text strings (valid UTF-8), arrays, maps whose keys are
//! integers or text, and the simple values `false`, `true` and `null`.
//! Refused: indefinite lengths, tags, floats and other simple values,
//! arguments not in their shortest form ([RFC 8949 §4.2.1], "preferred
//! serialization"), duplicate map keys ([RFC 8949 §5.6]), nesting deeper
//! than [`MAX_DEPTH`], and lengths beyond the input. This is a parser,
//! not a cryptographic primitive: nothing here verifies anything.
//!
//! [RFC 8949]: https://www.rfc-editor.org/rfc/rfc8949
//! [RFC 8949 §4.2.1]: https://www.rfc-editor.org/rfc/rfc8949#section-4.2.1
//! [RFC 8949 §5.6]: https://www.rfc-editor.org/rfc/rfc8949#section-5.6
//! [WebAuthn §6.5]: https://www.w3.org/TR/webauthn-3/#sctn-attestation
//! [WebAuthn §6.5.1.1]: https://www.w3.org/TR/webauthn-3/#sctn-encoded-credPubKey-examples
//! [WebAuthn §9]: https://www.w3.org/TR/webauthn-3/#sctn-extensions

/// How deeply arrays and maps may nest (a COSE key inside an attestation
/// object is two deep; extension outputs add a little).
pub const MAX_DEPTH: usize = 8;

/// Why bytes are not the CBOR this decoder accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("malformed CBOR: {0}")]
pub struct CborError(pub &'static str);

/// One decoded CBOR data item, borrowing strings from the input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value<'a> {
    /// An integer (major types 0 and 1).
    Int(i64),
    /// A byte string (major type 2).
    Bytes(&'a [u8]),
    /// A text string (major type 3), valid UTF-8.
    Text(&'a str),
    /// An array (major type 4).
    Array(Vec<Value<'a>>),
    /// A map (major type 5), in input order, keys unique.
    Map(Vec<(Value<'a>, Value<'a>)>),
    /// `false` or `true` (simple values 20 and 21).
    Bool(bool),
    /// `null` (simple value 22).
    Null,
}

impl<'a> Value<'a> {
    /// The value under `key` if this is a map.
    pub fn get(&self, key: &Value<'_>) -> Option<&Value<'a>> {
        match self {
            Value::Map(entries) => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value under the integer key `key` if this is a map.
    pub fn get_int(&self, key: i64) -> Option<&Value<'a>> {
        self.get(&Value::Int(key))
    }

    /// The value under the text key `key` if this is a map.
    pub fn get_text(&self, key: &str) -> Option<&Value<'a>> {
        self.get(&Value::Text(key))
    }
}

/// Decodes exactly one data item that fills `input`.
pub fn decode(input: &[u8]) -> Result<Value<'_>, CborError> {
    let (value, used) = decode_prefix(input)?;
    if used != input.len() {
        return Err(CborError("trailing bytes after the data item"));
    }
    Ok(value)
}

/// Decodes the data item at the start of `input`; the item and how many
/// bytes it used (the rest may be another item, as in authenticator data,
/// [WebAuthn §6.1]).
///
/// [WebAuthn §6.1]: https://www.w3.org/TR/webauthn-3/#sctn-authenticator-data
pub fn decode_prefix(input: &[u8]) -> Result<(Value<'_>, usize), CborError> {
    let mut reader = Reader { input, at: 0 };
    let value = reader.item(0)?;
    Ok((value, reader.at))
}

struct Reader<'a> {
    input: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], CborError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|&end| end <= self.input.len())
            .ok_or(CborError("a length goes beyond the input"))?;
        let bytes = self
            .input
            .get(self.at..end)
            .ok_or(CborError("a length goes beyond the input"))?;
        self.at = end;
        Ok(bytes)
    }

    fn byte(&mut self) -> Result<u8, CborError> {
        let bytes = self.take(1)?;
        bytes.first().copied().ok_or(CborError("unexpected end of input"))
    }

    /// The argument of an initial byte's additional information
    /// ([RFC 8949 §3]), in its shortest form ([RFC 8949 §4.2.1]).
    ///
    /// [RFC 8949 §3]: https://www.rfc-editor.org/rfc/rfc8949#section-3
    /// [RFC 8949 §4.2.1]: https://www.rfc-editor.org/rfc/rfc8949#section-4.2.1
    fn argument(&mut self, info: u8) -> Result<u64, CborError> {
        let (width, least) = match info {
            0..=23 => return Ok(u64::from(info)),
            24 => (1, 24),
            25 => (2, 0x100),
            26 => (4, 0x1_0000),
            27 => (8, 0x1_0000_0000),
            31 => return Err(CborError("indefinite length")),
            _ => return Err(CborError("reserved additional information")),
        };
        let bytes = self.take(width)?;
        let value = bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
        if value < least {
            return Err(CborError("an argument not in its shortest form"));
        }
        Ok(value)
    }

    fn length(&mut self, info: u8) -> Result<usize, CborError> {
        let n = usize::try_from(self.argument(info)?).map_err(|_| CborError("a length too large"))?;
        // Every element or byte takes at least one byte of input: a
        // count beyond what is left cannot be honest (and must not size
        // an allocation).
        if n > self.input.len().saturating_sub(self.at) {
            return Err(CborError("a length goes beyond the input"));
        }
        Ok(n)
    }

    fn item(&mut self, depth: usize) -> Result<Value<'a>, CborError> {
        if depth > MAX_DEPTH {
            return Err(CborError("nested too deeply"));
        }
        let initial = self.byte()?;
        let (major, info) = (initial >> 5, initial & 0x1f);
        match major {
            0 => {
                let n = self.argument(info)?;
                i64::try_from(n)
                    .map(Value::Int)
                    .map_err(|_| CborError("an integer out of range"))
            }
            1 => {
                let n = self.argument(info)?;
                // -1 - n, for n up to i64::MAX.
                i64::try_from(n)
                    .map(|n| Value::Int(-1 - n))
                    .map_err(|_| CborError("an integer out of range"))
            }
            2 => {
                let n = self.length(info)?;
                Ok(Value::Bytes(self.take(n)?))
            }
            3 => {
                let n = self.length(info)?;
                let bytes = self.take(n)?;
                std::str::from_utf8(bytes)
                    .map(Value::Text)
                    .map_err(|_| CborError("a text string that is not UTF-8"))
            }
            4 => {
                let n = self.length(info)?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.item(depth + 1)?);
                }
                Ok(Value::Array(items))
            }
            5 => {
                let n = self.length(info)?;
                let mut entries: Vec<(Value<'a>, Value<'a>)> = Vec::with_capacity(n);
                for _ in 0..n {
                    let key = self.item(depth + 1)?;
                    if !matches!(key, Value::Int(_) | Value::Text(_)) {
                        return Err(CborError("a map key that is neither an integer nor text"));
                    }
                    if entries.iter().any(|(k, _)| *k == key) {
                        return Err(CborError("a duplicate map key"));
                    }
                    let value = self.item(depth + 1)?;
                    entries.push((key, value));
                }
                Ok(Value::Map(entries))
            }
            6 => Err(CborError("a tag")),
            _ => match info {
                20 => Ok(Value::Bool(false)),
                21 => Ok(Value::Bool(true)),
                22 => Ok(Value::Null),
                25..=27 => Err(CborError("a floating-point number")),
                31 => Err(CborError("a break outside an indefinite-length item")),
                _ => Err(CborError("an unsupported simple value")),
            },
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A minimal CBOR encoder for building test inputs.
    pub(crate) mod enc {
        fn head(major: u8, n: u64, out: &mut Vec<u8>) {
            let m = major << 5;
            if n < 24 {
                out.push(m | n as u8);
            } else if n < 0x100 {
                out.extend([m | 24, n as u8]);
            } else if n < 0x1_0000 {
                out.push(m | 25);
                out.extend((n as u16).to_be_bytes());
            } else if n < 0x1_0000_0000 {
                out.push(m | 26);
                out.extend((n as u32).to_be_bytes());
            } else {
                out.push(m | 27);
                out.extend(n.to_be_bytes());
            }
        }

        /// An encodable value.
        #[derive(Clone, Debug)]
        pub(crate) enum E {
            Int(i64),
            Bytes(Vec<u8>),
            Text(String),
            Array(Vec<E>),
            Map(Vec<(E, E)>),
            Bool(bool),
            Raw(Vec<u8>),
        }

        pub(crate) fn text(s: &str) -> E {
            E::Text(s.to_owned())
        }

        pub(crate) fn bytes(b: &[u8]) -> E {
            E::Bytes(b.to_vec())
        }

        pub(crate) fn encode(e: &E) -> Vec<u8> {
            let mut out = Vec::new();
            put(e, &mut out);
            out
        }

        fn put(e: &E, out: &mut Vec<u8>) {
            match e {
                E::Int(n) if *n >= 0 => head(0, *n as u64, out),
                E::Int(n) => head(1, (-1 - *n) as u64, out),
                E::Bytes(b) => {
                    head(2, b.len() as u64, out);
                    out.extend(b);
                }
                E::Text(s) => {
                    head(3, s.len() as u64, out);
                    out.extend(s.as_bytes());
                }
                E::Array(items) => {
                    head(4, items.len() as u64, out);
                    items.iter().for_each(|i| put(i, out));
                }
                E::Map(entries) => {
                    head(5, entries.len() as u64, out);
                    for (k, v) in entries {
                        put(k, out);
                        put(v, out);
                    }
                }
                E::Bool(b) => out.push(if *b { 0xf5 } else { 0xf4 }),
                E::Raw(raw) => out.extend(raw),
            }
        }
    }

    use enc::*;

    #[test]
    fn decodes_the_webauthn_subset() {
        let input = encode(&E::Map(vec![
            (text("fmt"), text("none")),
            (E::Int(-257), E::Int(-1)),
            (E::Int(3), bytes(&[1, 2, 3])),
            (
                text("a"),
                E::Array(vec![E::Bool(true), E::Bool(false), E::Raw(vec![0xf6])]),
            ),
            (E::Int(1), E::Int(1_000_000_000_000)),
        ]));
        let value = decode(&input).unwrap();
        assert_eq!(value.get_text("fmt"), Some(&Value::Text("none")));
        assert_eq!(value.get_int(-257), Some(&Value::Int(-1)));
        assert_eq!(value.get_int(3), Some(&Value::Bytes(&[1, 2, 3])));
        assert_eq!(
            value.get_text("a"),
            Some(&Value::Array(vec![
                Value::Bool(true),
                Value::Bool(false),
                Value::Null
            ]))
        );
        assert_eq!(value.get_int(1), Some(&Value::Int(1_000_000_000_000)));
        // Integer extremes.
        assert_eq!(
            decode(&[0x1b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).unwrap(),
            Value::Int(i64::MAX)
        );
        assert_eq!(
            decode(&[0x3b, 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]).unwrap(),
            Value::Int(i64::MIN)
        );
    }

    #[test]
    fn decode_prefix_says_how_much_it_used() {
        let mut input = encode(&E::Map(vec![(E::Int(1), E::Int(2))]));
        let first = input.len();
        input.extend(encode(&text("next")));
        let (value, used) = decode_prefix(&input).unwrap();
        assert_eq!(used, first);
        assert_eq!(value.get_int(1), Some(&Value::Int(2)));
        assert_eq!(decode(&input[used..]).unwrap(), Value::Text("next"));
        assert_eq!(
            decode(&input),
            Err(CborError("trailing bytes after the data item"))
        );
    }

    #[test]
    fn refuses_what_webauthn_does_not_need() {
        let refused: &[(&[u8], &str)] = &[
            (&[], "unexpected end"),
            (&[0x5f, 0x41, 0x00, 0xff], "indefinite byte string"),
            (&[0x9f, 0xff], "indefinite array"),
            (&[0xbf, 0xff], "indefinite map"),
            (&[0xc2, 0x41, 0x01], "tag"),
            (&[0xf9, 0x3c, 0x00], "half float"),
            (&[0xfa, 0, 0, 0, 0], "single float"),
            (&[0xfb, 0, 0, 0, 0, 0, 0, 0, 0], "double float"),
            (&[0xf7], "undefined"),
            (&[0xf0], "simple value 16"),
            (&[0xf8, 0x20], "simple value in a byte"),
            (&[0xff], "stray break"),
            (&[0x18, 0x05], "non-shortest uint8"),
            (&[0x19, 0x00, 0x10], "non-shortest uint16"),
            (&[0x1a, 0x00, 0x00, 0x01, 0x00], "non-shortest uint32"),
            (&[0x1b, 0, 0, 0, 0, 0, 0, 0, 1], "non-shortest uint64"),
            (&[0x58, 0x01, 0xaa], "non-shortest byte string length"),
            (&[0x1b, 0x80, 0, 0, 0, 0, 0, 0, 0], "uint beyond i64"),
            (&[0x3b, 0x80, 0, 0, 0, 0, 0, 0, 0], "negative beyond i64"),
            (&[0x1c], "reserved additional information"),
            (&[0x44, 0x01, 0x02], "byte string longer than the input"),
            (
                &[0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                "huge length",
            ),
            (
                &[0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff],
                "huge array",
            ),
            (&[0x62, 0xc3, 0x28], "invalid UTF-8"),
            (&[0xa2, 0x01, 0x01, 0x01, 0x02], "duplicate integer key"),
            (&[0xa2, 0x61, 0x61, 0x01, 0x61, 0x61, 0x02], "duplicate text key"),
            (&[0xa1, 0x41, 0x00, 0x01], "byte-string key"),
            (&[0xa1, 0x01], "map missing a value"),
        ];
        for (input, what) in refused {
            assert!(decode(input).is_err(), "{what} was accepted");
        }
        // Nesting: MAX_DEPTH arrays inside one another are fine, one more is not.
        let nested = |depth: usize| {
            let mut v = vec![0x81; depth];
            v.push(0x00);
            v
        };
        assert!(decode(&nested(MAX_DEPTH)).is_ok());
        assert_eq!(
            decode(&nested(MAX_DEPTH + 1)),
            Err(CborError("nested too deeply"))
        );
    }
}
