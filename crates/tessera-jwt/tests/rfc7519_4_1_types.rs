//! Registered claims are typed ([RFC 7519 §4.1]): `iss`, `sub` and `jti`
//! are strings, `aud` is a string or an array of strings, and `exp`, `nbf`
//! and `iat` are NumericDates ([RFC 7519 §2]: JSON numbers, fractions
//! allowed). A token that breaks this is refused on verify whatever the
//! [`Validation`] checks and whatever the caller's claims type, and the
//! [`Signer`] refuses to make one.
//!
//! The bad tokens are signed with [`Signer::sign_payload`], which signs raw
//! bytes without looking at them.
//!
//! [RFC 7519 §4.1]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1
//! [RFC 7519 §2]: https://www.rfc-editor.org/rfc/rfc7519#section-2

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

mod support;

use serde::de::{DeserializeOwned, IgnoredAny};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use support::NOW;
use tessera_jwt::{Algorithm, Error, KeySet, RegisteredClaims, Signer, SigningKey, UnixTime, Validation};

struct Fixture {
    signer: Signer,
    keys: KeySet,
}

fn fixture() -> Fixture {
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let keys = KeySet::new(vec![key.verifying_key().unwrap()]).unwrap();
    Fixture {
        signer: Signer::new(key, Some("at+jwt")),
        keys,
    }
}

impl Fixture {
    /// Signs the exact JSON, unchecked, and verifies it as `C`.
    fn verify<C: DeserializeOwned>(&self, claims: &Value, rules: &Validation) -> Result<C, Error> {
        let token = self
            .signer
            .sign_payload(&serde_json::to_vec(claims).unwrap())
            .unwrap();
        self.keys
            .verify::<C>(&token, rules, UnixTime::from_secs(NOW))
            .map(|v| v.into_claims())
    }
}

/// A valid claims set with `claim` set to `value`.
fn with(claim: &str, value: Value) -> Value {
    let mut c = json!({"exp": NOW + 300});
    c.as_object_mut().unwrap().insert(claim.to_owned(), value);
    c
}

/// Asserts `result` is [`Error::InvalidClaim`] for `claim`, with a reason
/// that says what the claim must be.
#[track_caller]
fn assert_refused<T: std::fmt::Debug>(result: Result<T, Error>, claim: &str, must_be: &str, case: &Value) {
    match result {
        Err(e @ Error::InvalidClaim { claim: c, .. }) if c == claim => {
            let text = e.to_string();
            assert!(text.contains(must_be), "{case}: {text}");
        }
        other => panic!("{case}: expected InvalidClaim {{ claim: {claim:?} }}, got {other:?}"),
    }
}

const STRING: &str = "must be a string";
const AUD: &str = "must be a string or an array of strings";
const DATE: &str = "must be a NumericDate";

fn not_strings() -> Vec<Value> {
    vec![
        json!(42),
        json!(-1),
        json!(1.5),
        json!({"id": "alice"}),
        json!(["alice"]),
        json!([]),
        json!(true),
        json!(null),
    ]
}

fn not_audiences() -> Vec<Value> {
    vec![
        json!(7),
        json!(1.5),
        json!(["api", 7]),
        json!([["api"]]),
        json!(["api", null]),
        json!({"api": true}),
        json!(false),
        json!(null),
    ]
}

fn not_dates() -> Vec<Value> {
    vec![
        json!((NOW + 300).to_string()),
        json!("2030-01-01T00:00:00Z"),
        json!(""),
        json!(true),
        json!({"secs": NOW + 300}),
        json!([NOW + 300]),
        json!(null),
    ]
}

/// A claims type that reads none of the registered claims but `exp`.
#[derive(Deserialize, Debug)]
#[allow(dead_code)]
struct OnlyExp {
    exp: i64,
}

mod verify {
    use super::*;

    /// The rules below check none of `sub` and `jti`, and `iss` only in
    /// the last case: the type check does not depend on them.
    fn rule_sets() -> Vec<Validation> {
        vec![
            Validation::new(),
            Validation::new().allow_missing_exp().leeway(0),
            Validation::new()
                .require("sub")
                .require("jti")
                .issuer("https://id.example"),
        ]
    }

    #[test]
    fn sub_jti_and_iss_must_be_strings() {
        let f = fixture();
        for claim in ["sub", "jti", "iss"] {
            for bad in not_strings() {
                let c = with(claim, bad);
                for rules in rule_sets() {
                    assert_refused(f.verify::<Value>(&c, &rules), claim, STRING, &c);
                    assert_refused(f.verify::<OnlyExp>(&c, &rules), claim, STRING, &c);
                    assert_refused(f.verify::<RegisteredClaims>(&c, &rules), claim, STRING, &c);
                    // A type that never reads the object as a map: the
                    // second-pass scan must refuse it as well.
                    assert_refused(f.verify::<IgnoredAny>(&c, &rules), claim, STRING, &c);
                }
            }
        }
    }

    /// The reported issue: a numeric `sub` verified. A relying party that
    /// compares `sub` loosely (`42 == "42"`) would take it for user "42".
    #[test]
    fn numeric_sub_is_refused_whatever_the_callers_type() {
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct NumericSub {
            sub: u64,
        }
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct AnySub {
            sub: Value,
        }
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct Flattened {
            #[serde(flatten)]
            rest: serde_json::Map<String, Value>,
        }
        let f = fixture();
        let c = json!({"sub": 42, "exp": NOW + 300});
        let rules = Validation::new();
        assert_refused(f.verify::<NumericSub>(&c, &rules), "sub", STRING, &c);
        assert_refused(f.verify::<AnySub>(&c, &rules), "sub", STRING, &c);
        assert_refused(f.verify::<Flattened>(&c, &rules), "sub", STRING, &c);
        assert_refused(f.verify::<Value>(&c, &rules), "sub", STRING, &c);
        let access = json!({"iss": "https://id.example", "aud": "api", "exp": NOW + 300,
                            "iat": NOW, "sub": 42, "client_id": "web", "jti": "j1"});
        assert_refused(
            f.verify::<Value>(&access, &Validation::access_token("https://id.example", "api")),
            "sub",
            STRING,
            &access,
        );
    }

    #[test]
    fn aud_must_be_a_string_or_an_array_of_strings() {
        let f = fixture();
        let rule_sets = [
            Validation::new().audience("api"),
            Validation::new().ignore_audience(),
            // No audience expected: a well-typed `aud` would be
            // `UnexpectedAudience`; an ill-typed one is named as such.
            Validation::new(),
        ];
        for bad in not_audiences() {
            let c = with("aud", bad);
            for rules in &rule_sets {
                assert_refused(f.verify::<Value>(&c, rules), "aud", AUD, &c);
                assert_refused(f.verify::<OnlyExp>(&c, rules), "aud", AUD, &c);
                assert_refused(f.verify::<IgnoredAny>(&c, rules), "aud", AUD, &c);
            }
        }
    }

    #[test]
    fn exp_nbf_and_iat_must_be_numbers() {
        let f = fixture();
        for claim in ["exp", "nbf", "iat"] {
            for bad in not_dates() {
                let c = with(claim, bad);
                for rules in [Validation::new(), Validation::new().allow_missing_exp()] {
                    assert_refused(f.verify::<Value>(&c, &rules), claim, DATE, &c);
                    assert_refused(f.verify::<IgnoredAny>(&c, &rules), claim, DATE, &c);
                    assert_refused(f.verify::<RegisteredClaims>(&c, &rules), claim, DATE, &c);
                }
            }
        }
    }

    /// Only the top-level members are registered claims (RFC 7519 §4); a
    /// nested `sub` (e.g. in RFC 8693's `act`) is the application's.
    #[test]
    fn nested_members_are_not_registered_claims() {
        let f = fixture();
        let c = json!({"exp": NOW + 300, "act": {"sub": 42, "exp": "never"}, "client_id": 7});
        assert_eq!(f.verify::<Value>(&c, &Validation::new()).unwrap(), c);
    }

    #[test]
    fn well_typed_claims_pass() {
        let f = fixture();
        let rules = Validation::new()
            .issuer("https://id.example")
            .audience("api")
            .require("sub")
            .require("jti")
            .leeway(0);
        let cases = [
            json!({"iss": "https://id.example", "sub": "alice", "jti": "j1", "aud": "api",
                   "exp": NOW + 300, "nbf": NOW, "iat": NOW}),
            json!({"iss": "https://id.example", "sub": "42", "jti": "", "aud": ["other", "api"],
                   "exp": NOW + 300}),
            // NumericDates may be fractional (RFC 7519 §2) and large.
            json!({"iss": "https://id.example", "sub": "a", "jti": "j", "aud": ["api"],
                   "exp": (NOW + 300) as f64 + 0.25, "nbf": NOW as f64 - 0.5, "iat": 0}),
            json!({"iss": "https://id.example", "sub": "a", "jti": "j", "aud": "api",
                   "exp": u64::MAX}),
        ];
        for c in cases {
            assert_eq!(f.verify::<Value>(&c, &rules).unwrap(), c);
            assert!(f.verify::<IgnoredAny>(&c, &rules).is_ok(), "{c}");
            let token = f.signer.sign(&c).unwrap();
            assert!(f
                .keys
                .verify::<Value>(&token, &rules, UnixTime::from_secs(NOW))
                .is_ok());
        }
        // Escaped strings are strings, and read back decoded.
        let escaped = format!(
            r#"{{"iss":"https://id.example","sub":"\u0061lice","jti":"j\"1","aud":["a\/b","api"],"exp":{}}}"#,
            NOW + 300
        );
        let token = f.signer.sign_payload(escaped.as_bytes()).unwrap();
        let got = f
            .keys
            .verify::<RegisteredClaims>(&token, &rules, UnixTime::from_secs(NOW))
            .unwrap()
            .into_claims();
        assert_eq!(got.sub.as_deref(), Some("alice"));
        assert_eq!(got.jti.as_deref(), Some("j\"1"));
    }
}

mod sign {
    use super::*;

    #[test]
    fn signer_refuses_ill_typed_registered_claims() {
        let f = fixture();
        let mut cases: Vec<(&str, &str, Value)> = Vec::new();
        for claim in ["sub", "jti", "iss"] {
            cases.extend(not_strings().into_iter().map(|v| (claim, STRING, v)));
        }
        cases.extend(not_audiences().into_iter().map(|v| ("aud", AUD, v)));
        for claim in ["exp", "nbf", "iat"] {
            cases.extend(not_dates().into_iter().map(|v| (claim, DATE, v)));
        }
        for (claim, must_be, bad) in cases {
            let c = with(claim, bad);
            assert_refused(f.signer.sign(&c), claim, must_be, &c);
        }
    }

    /// A typed claims struct whose field types are wrong for the claim
    /// serializes fine; the signer still refuses it.
    #[test]
    fn signer_refuses_a_struct_with_a_numeric_sub() {
        #[derive(Serialize)]
        struct NumericSub {
            sub: u64,
            exp: i64,
        }
        #[derive(Serialize)]
        struct StringExp {
            sub: &'static str,
            exp: String,
        }
        let f = fixture();
        let err = f
            .signer
            .sign(&NumericSub {
                sub: 42,
                exp: NOW + 300,
            })
            .unwrap_err();
        assert!(matches!(err, Error::InvalidClaim { claim: "sub", .. }), "{err:?}");
        let err = f
            .signer
            .sign(&StringExp {
                sub: "alice",
                exp: (NOW + 300).to_string(),
            })
            .unwrap_err();
        assert!(matches!(err, Error::InvalidClaim { claim: "exp", .. }), "{err:?}");
    }

    #[test]
    fn signer_signs_well_typed_claims() {
        let f = fixture();
        let claims = RegisteredClaims {
            iss: Some("https://id.example".into()),
            sub: Some("alice".into()),
            aud: Some(tessera_jwt::Audience::Many(vec!["api".into(), "other".into()])),
            exp: Some(NOW + 300),
            nbf: Some(NOW),
            iat: Some(NOW),
            jti: Some("j1".into()),
        };
        let token = f.signer.sign(&claims).unwrap();
        let got = f
            .keys
            .verify::<RegisteredClaims>(
                &token,
                &Validation::new().audience("api"),
                UnixTime::from_secs(NOW),
            )
            .unwrap();
        assert_eq!(got.claims(), &claims);
    }
}
