//! Claim validation ([RFC 7519 §4.1], [RFC 9068 §4]): each rule at its
//! boundary, with the clock pinned.
//!
//! [RFC 7519 §4.1]: https://www.rfc-editor.org/rfc/rfc7519#section-4.1
//! [RFC 9068 §4]: https://www.rfc-editor.org/rfc/rfc9068#section-4

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

mod support;

use serde::Deserialize;
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
    fn check(&self, claims: Value, rules: &Validation, now: i64) -> Result<Value, Error> {
        // Raw payload signing, so invalid claims reach the verifier
        // (`Signer::sign` would refuse them, see the last test).
        let token = self
            .signer
            .sign_payload(&serde_json::to_vec(&claims).unwrap())
            .unwrap();
        self.keys
            .verify::<Value>(&token, rules, UnixTime::from_secs(now))
            .map(|v| v.into_claims())
    }
}

mod rfc7519_4_1_4_exp {
    use super::*;

    #[test]
    fn expiry_honours_the_leeway_to_the_second() {
        let f = fixture();
        let rules = Validation::new().leeway(60);
        let c = json!({"exp": NOW});
        assert!(f.check(c.clone(), &rules, NOW + 59).is_ok());
        assert_eq!(
            f.check(c.clone(), &rules, NOW + 60).unwrap_err(),
            Error::Expired {
                exp: NOW,
                now: NOW + 60,
                leeway: 60
            }
        );
        let strict = Validation::new().leeway(0);
        assert!(f.check(c.clone(), &strict, NOW - 1).is_ok());
        assert!(
            matches!(f.check(c, &strict, NOW), Err(Error::Expired { .. })),
            "now == exp is expired"
        );
    }

    #[test]
    fn exp_is_required_by_default() {
        let f = fixture();
        assert_eq!(
            f.check(json!({"sub": "a"}), &Validation::new(), NOW).unwrap_err(),
            Error::MissingClaim("exp".into())
        );
        assert!(f
            .check(json!({"sub": "a"}), &Validation::new().allow_missing_exp(), NOW)
            .is_ok());
    }

    #[test]
    fn exp_must_be_a_number_and_may_be_fractional() {
        let f = fixture();
        assert!(matches!(
            f.check(json!({"exp": "2030-01-01"}), &Validation::new(), NOW),
            Err(Error::InvalidClaim { claim: "exp", .. })
        ));
        assert!(matches!(
            f.check(json!({"exp": null}), &Validation::new(), NOW),
            Err(Error::InvalidClaim { .. })
        ));
        assert!(f
            .check(
                json!({"exp": (NOW + 10) as f64 + 0.5}),
                &Validation::new().leeway(0),
                NOW
            )
            .is_ok());
        assert!(f.check(json!({"exp": u64::MAX}), &Validation::new(), NOW).is_ok());
    }
}

mod rfc7519_4_1_5_nbf {
    use super::*;

    #[test]
    fn not_before_honours_the_leeway() {
        let f = fixture();
        let rules = Validation::new().leeway(30);
        let c = json!({"exp": NOW + 1000, "nbf": NOW + 100});
        assert!(f.check(c.clone(), &rules, NOW + 70).is_ok());
        assert_eq!(
            f.check(c, &rules, NOW + 69).unwrap_err(),
            Error::NotYetValid {
                nbf: NOW + 100,
                now: NOW + 69,
                leeway: 30
            }
        );
    }
}

mod rfc7519_4_1_6_iat {
    use super::*;

    #[test]
    fn issued_in_the_future_is_refused() {
        let f = fixture();
        let rules = Validation::new().leeway(60);
        assert!(f
            .check(json!({"exp": NOW + 1000, "iat": NOW + 60}), &rules, NOW)
            .is_ok());
        assert!(matches!(
            f.check(json!({"exp": NOW + 1000, "iat": NOW + 61}), &rules, NOW),
            Err(Error::IssuedInFuture { .. })
        ));
    }
}

mod rfc7519_4_1_1_iss {
    use super::*;

    #[test]
    fn issuer_is_compared_exactly() {
        let f = fixture();
        let rules = Validation::new().issuer("https://id.example");
        assert!(f
            .check(json!({"exp": NOW + 10, "iss": "https://id.example"}), &rules, NOW)
            .is_ok());
        for other in [
            "https://id.example/",
            "https://ID.example",
            "https://id.example ",
            "http://id.example",
        ] {
            assert!(
                matches!(
                    f.check(json!({"exp": NOW + 10, "iss": other}), &rules, NOW),
                    Err(Error::InvalidIssuer { .. })
                ),
                "{other}"
            );
        }
        assert_eq!(
            f.check(json!({"exp": NOW + 10}), &rules, NOW).unwrap_err(),
            Error::MissingClaim("iss".into())
        );
        assert!(matches!(
            f.check(
                json!({"exp": NOW + 10, "iss": ["https://id.example"]}),
                &rules,
                NOW
            ),
            Err(Error::InvalidClaim { claim: "iss", .. })
        ));
    }
}

mod rfc7519_4_1_3_aud {
    use super::*;

    #[test]
    fn audience_as_string_or_array() {
        let f = fixture();
        let rules = Validation::new().audience("api");
        assert!(f
            .check(json!({"exp": NOW + 10, "aud": "api"}), &rules, NOW)
            .is_ok());
        assert!(f
            .check(json!({"exp": NOW + 10, "aud": ["other", "api"]}), &rules, NOW)
            .is_ok());
        assert!(matches!(
            f.check(json!({"exp": NOW + 10, "aud": "API"}), &rules, NOW),
            Err(Error::InvalidAudience { .. })
        ));
        assert!(matches!(
            f.check(json!({"exp": NOW + 10, "aud": []}), &rules, NOW),
            Err(Error::InvalidAudience { .. })
        ));
        assert_eq!(
            f.check(json!({"exp": NOW + 10}), &rules, NOW).unwrap_err(),
            Error::MissingClaim("aud".into())
        );
        let either = Validation::new().audience("a").audience("b");
        assert!(f
            .check(json!({"exp": NOW + 10, "aud": "b"}), &either, NOW)
            .is_ok());
    }

    /// "If the principal processing the claim does not identify itself with
    /// a value in the aud claim when this claim is present, then the JWT
    /// MUST be rejected."
    #[test]
    fn audience_present_but_not_expected_is_refused() {
        let f = fixture();
        assert_eq!(
            f.check(json!({"exp": NOW + 10, "aud": "api"}), &Validation::new(), NOW)
                .unwrap_err(),
            Error::UnexpectedAudience
        );
    }
}

mod rfc9068_4_access_tokens {
    use super::*;

    fn access_claims() -> Value {
        json!({"iss": "https://id.example", "aud": "api", "exp": NOW + 300, "iat": NOW,
               "sub": "alice", "client_id": "web", "jti": "j1", "scope": "read"})
    }

    #[test]
    fn access_token_profile_requires_its_claims_and_typ() {
        let f = fixture();
        let rules = Validation::access_token("https://id.example", "api");
        assert!(f.check(access_claims(), &rules, NOW).is_ok());
        for missing in ["sub", "client_id", "jti", "iat"] {
            let mut c = access_claims();
            c.as_object_mut().unwrap().remove(missing);
            assert_eq!(
                f.check(c, &rules, NOW).unwrap_err(),
                Error::MissingClaim(missing.into())
            );
        }
    }

    #[derive(Deserialize)]
    struct Typed {
        #[serde(flatten)]
        registered: RegisteredClaims,
        scope: String,
    }

    #[test]
    fn claims_deserialize_into_the_callers_type() {
        let f = fixture();
        let token = f.signer.sign(&access_claims()).unwrap();
        let rules = Validation::access_token("https://id.example", "api");
        let v = f
            .keys
            .verify::<Typed>(&token, &rules, UnixTime::from_secs(NOW))
            .unwrap();
        assert_eq!(v.claims().registered.sub.as_deref(), Some("alice"));
        assert_eq!(v.claims().scope, "read");
        assert_eq!(v.header().typ.as_deref(), Some("at+jwt"));
        #[derive(Deserialize, Debug)]
        #[allow(dead_code)]
        struct NeedsMissing {
            tenant: String,
        }
        assert!(matches!(
            f.keys
                .verify::<NeedsMissing>(&token, &rules, UnixTime::from_secs(NOW)),
            Err(Error::ClaimsShape(_))
        ));
    }
}

#[test]
fn signing_refuses_what_verification_would_refuse() {
    let f = fixture();
    assert!(matches!(
        f.signer.sign(&json!(["not", "an", "object"])),
        Err(Error::ClaimsSerialize(_))
    ));
    assert!(matches!(f.signer.sign(&"string"), Err(Error::ClaimsSerialize(_))));
    // Ill-typed registered claims get the error verification would give
    // (more in `tests/rfc7519_4_1_types.rs`).
    assert!(matches!(
        f.signer.sign(&json!({"exp": "soon"})),
        Err(Error::InvalidClaim { claim: "exp", .. })
    ));
    assert!(matches!(
        f.signer.sign(&json!({"aud": 7})),
        Err(Error::InvalidClaim { claim: "aud", .. })
    ));
}

/// The claims are read in one pass whatever the caller's type; the checks
/// must hold for a typed struct (which ignores unknown members), for an
/// escaped member name, and for a type that never reads the object as a map
/// (which takes the two-pass fallback).
mod one_pass_for_any_claims_type {
    use super::*;

    #[derive(Deserialize, Debug)]
    #[allow(dead_code)]
    struct OnlySub {
        sub: String,
    }

    fn token(f: &Fixture, payload: &str) -> String {
        f.signer.sign_payload(payload.as_bytes()).unwrap()
    }

    fn check<C: serde::de::DeserializeOwned>(f: &Fixture, payload: &str) -> Result<C, Error> {
        f.keys
            .verify::<C>(
                &token(f, payload),
                &Validation::new().leeway(0),
                UnixTime::from_secs(NOW),
            )
            .map(|v| v.into_claims())
    }

    #[test]
    fn typed_struct() {
        let f = fixture();
        let ok = format!(r#"{{"sub":"a","exp":{},"role":"x"}}"#, NOW + 1);
        assert_eq!(check::<OnlySub>(&f, &ok).unwrap().sub, "a");
        let expired = format!(r#"{{"sub":"a","exp":{NOW}}}"#);
        assert!(matches!(
            check::<OnlySub>(&f, &expired),
            Err(Error::Expired { .. })
        ));
        let escaped = format!(r#"{{"sub":"a","\u0065xp":{NOW}}}"#);
        assert!(matches!(
            check::<OnlySub>(&f, &escaped),
            Err(Error::Expired { .. })
        ));
        let repeated_unknown = format!(r#"{{"sub":"a","exp":{},"role":"x","role":"admin"}}"#, NOW + 1);
        assert!(matches!(
            check::<OnlySub>(&f, &repeated_unknown),
            Err(Error::DuplicateMember { .. })
        ));
        let bad_aud = format!(r#"{{"sub":"a","exp":{},"aud":{{"x":1}}}}"#, NOW + 1);
        assert!(matches!(
            check::<OnlySub>(&f, &bad_aud),
            Err(Error::InvalidClaim { claim: "aud", .. })
        ));
        // Expired and of the wrong shape: the broken rule is reported.
        let expired_no_sub = format!(r#"{{"exp":{NOW}}}"#);
        assert!(matches!(
            check::<OnlySub>(&f, &expired_no_sub),
            Err(Error::Expired { .. })
        ));
        let no_sub = format!(r#"{{"exp":{}}}"#, NOW + 1);
        assert!(matches!(
            check::<OnlySub>(&f, &no_sub),
            Err(Error::ClaimsShape(_))
        ));
    }

    #[test]
    fn type_that_skips_the_object() {
        let f = fixture();
        let ok = format!(r#"{{"sub":"a","exp":{}}}"#, NOW + 1);
        assert!(check::<serde::de::IgnoredAny>(&f, &ok).is_ok());
        let expired = format!(r#"{{"sub":"a","exp":{NOW}}}"#);
        assert!(matches!(
            check::<serde::de::IgnoredAny>(&f, &expired),
            Err(Error::Expired { .. })
        ));
        let repeated = format!(r#"{{"sub":"a","exp":{},"sub":"b"}}"#, NOW + 1);
        assert!(matches!(
            check::<serde::de::IgnoredAny>(&f, &repeated),
            Err(Error::DuplicateMember { .. })
        ));
    }

    #[test]
    fn invalid_utf8_in_a_skipped_member_is_refused() {
        let f = fixture();
        let mut payload = format!(r#"{{"sub":"a","exp":{},"x":"?"}}"#, NOW + 1).into_bytes();
        let q = payload.iter().position(|b| *b == b'?').unwrap();
        payload[q] = 0xff;
        let token = f.signer.sign_payload(&payload).unwrap();
        let err = f
            .keys
            .verify::<OnlySub>(&token, &Validation::new(), UnixTime::from_secs(NOW))
            .unwrap_err();
        assert!(matches!(err, Error::Json { .. }), "{err:?}");
    }
}

#[test]
fn ignore_audience_is_explicit() {
    let f = fixture();
    let c = json!({"exp": NOW + 10, "aud": "anything"});
    assert_eq!(
        f.check(c.clone(), &Validation::new(), NOW).unwrap_err(),
        Error::UnexpectedAudience
    );
    assert!(f
        .check(c.clone(), &Validation::new().ignore_audience(), NOW)
        .is_ok());
    // Other checks still apply.
    assert!(matches!(
        f.check(
            json!({"exp": NOW - 100, "aud": "x"}),
            &Validation::new().ignore_audience(),
            NOW
        ),
        Err(Error::Expired { .. })
    ));
}

/// The caller's type may declare registered claims as `Option`s, and may
/// flatten the rest into a map: the values replayed after validation read
/// as serde_json would give them (a regression: `Option<i64>` for `iat`
/// was refused as "invalid type").
#[test]
fn registered_claims_read_into_options_and_flattened_types() {
    #[derive(Deserialize)]
    struct Optional {
        iss: Option<String>,
        aud: Option<Vec<String>>,
        exp: Option<i64>,
        nbf: Option<u64>,
        iat: Option<f64>,
        #[serde(flatten)]
        rest: serde_json::Map<String, Value>,
    }
    let f = fixture();
    let token = f
        .signer
        .sign_payload(
            &serde_json::to_vec(&json!({
                "iss": "https://id.example", "aud": ["a", "b"], "exp": NOW + 10,
                "nbf": NOW - 5, "iat": NOW, "scope": "read"
            }))
            .unwrap(),
        )
        .unwrap();
    let rules = Validation::new().issuer("https://id.example").audience("a");
    let got = f
        .keys
        .verify::<Optional>(&token, &rules, UnixTime::from_secs(NOW))
        .unwrap()
        .into_claims();
    assert_eq!(got.iss.as_deref(), Some("https://id.example"));
    assert_eq!(got.aud, Some(vec!["a".to_owned(), "b".to_owned()]));
    assert_eq!(
        (got.exp, got.nbf, got.iat),
        (Some(NOW + 10), Some((NOW - 5) as u64), Some(NOW as f64))
    );
    assert_eq!(got.rest.get("scope"), Some(&json!("read")));
}
