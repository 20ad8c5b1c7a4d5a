//! Keys: generation for every algorithm, import and export in every form
//! (PKCS#8 PEM/DER, private JWK), public JWK/JWKS ([RFC 7517]), `kid` =
//! thumbprint ([RFC 7638]), and the size rules of [RFC 7518 §3.2, §3.3].
//!
//! [RFC 7517]: https://www.rfc-editor.org/rfc/rfc7517
//! [RFC 7638]: https://www.rfc-editor.org/rfc/rfc7638
//! [RFC 7518 §3.2, §3.3]: https://www.rfc-editor.org/rfc/rfc7518#section-3.2

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

mod support;

use serde_json::{json, Value};
use support::NOW;
use tessera_jwt::{
    Algorithm, Jwk, Jwks, KeyError, KeySet, Signer, SigningKey, UnixTime, Validation, VerifyingKey,
};

fn token(key: SigningKey) -> String {
    Signer::new(key, Some("JWT"))
        .sign(&json!({"sub": "s", "exp": NOW + 60}))
        .unwrap()
}

fn accepts(keys: &KeySet, token: &str) -> bool {
    keys.verify::<Value>(token, &Validation::new(), UnixTime::from_secs(NOW))
        .is_ok()
}

#[test]
fn every_algorithm_round_trips_through_every_format() {
    for alg in Algorithm::ALL {
        let key = SigningKey::generate(alg).unwrap();
        assert_eq!(key.algorithm(), alg);
        let kid = key.kid().to_owned();
        let jwk = key.to_private_jwk().unwrap();
        assert_eq!(jwk.alg.as_deref(), Some(alg.name()));
        assert_eq!(jwk.kid.as_deref(), Some(kid.as_str()));

        // Private JWK: same kid, and its tokens verify with the original's public key.
        let from_jwk = SigningKey::from_jwk(&jwk).unwrap();
        assert_eq!(from_jwk.kid(), kid);
        let keys = KeySet::new(vec![key.verifying_key().unwrap()]).unwrap();
        assert!(accepts(&keys, &token(from_jwk)), "{alg} via JWK");
        let json = serde_json::to_vec(&jwk).unwrap();
        assert!(
            accepts(&keys, &token(SigningKey::decode(&json, None).unwrap())),
            "{alg} via JWK file"
        );

        if alg.is_symmetric() {
            assert_eq!(key.public_jwk().unwrap_err(), KeyError::SymmetricHasNoPublicKey);
            assert!(key.to_pkcs8_der().is_err());
            assert_eq!(keys.to_public_jwks().keys.len(), 0, "secrets are never published");
            continue;
        }
        // PKCS#8 PEM and DER: the curve (or the hint, for RSA) fixes the algorithm.
        let hint = matches!(
            alg,
            Algorithm::RS384 | Algorithm::RS512 | Algorithm::PS256 | Algorithm::PS384 | Algorithm::PS512
        )
        .then_some(alg);
        let pem = key.to_pkcs8_pem().unwrap();
        assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
        let from_pem = SigningKey::decode(pem.as_bytes(), hint).unwrap();
        assert_eq!((from_pem.algorithm(), from_pem.kid()), (alg, kid.as_str()));
        assert!(accepts(&keys, &token(from_pem)), "{alg} via PEM");
        let der = key.to_pkcs8_der().unwrap();
        let from_der = SigningKey::decode(&der, hint).unwrap();
        assert_eq!(from_der.kid(), kid);
        assert!(accepts(&keys, &token(from_der)), "{alg} via DER");

        // Public JWK: no private members; kid is its thumbprint.
        let public = key.public_jwk().unwrap();
        assert!(!public.is_private());
        assert_eq!(public.use_.as_deref(), Some("sig"));
        assert_eq!(public.thumbprint().unwrap(), kid);
        let text = serde_json::to_string(&public).unwrap();
        for secret in ["\"d\"", "\"p\"", "\"q\"", "\"dp\"", "\"dq\"", "\"qi\"", "\"k\""] {
            assert!(!text.contains(secret), "{alg}: {text}");
        }
        // The published JWKS verifies the key's tokens.
        let jwks = keys.to_public_jwks();
        let reloaded = KeySet::from_jwks_json(&serde_json::to_vec(&jwks).unwrap()).unwrap();
        assert!(
            accepts(&reloaded, &token(SigningKey::from_jwk(&jwk).unwrap())),
            "{alg} via JWKS"
        );
    }
}

#[test]
fn rsa_sizes() {
    for bits in [2048, 3072, 4096] {
        let key = SigningKey::generate_rsa(Algorithm::RS256, bits).unwrap();
        let n = key.public_jwk().unwrap().n.unwrap();
        let n = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, n).unwrap();
        assert_eq!(n.len() * 8, bits);
    }
    assert_eq!(
        SigningKey::generate_rsa(Algorithm::RS256, 1024).unwrap_err(),
        KeyError::UnsupportedRsaSize(1024)
    );
    assert!(matches!(
        SigningKey::generate_rsa(Algorithm::ES256, 2048),
        Err(KeyError::WrongKeyType { .. })
    ));
    // A 1024-bit public key is refused on load (RFC 7518 §3.3).
    let small = Jwk {
        kty: "RSA".into(),
        n: Some(support::b64(&[0xc5; 128])),
        e: Some("AQAB".into()),
        ..Jwk::default()
    };
    assert_eq!(
        VerifyingKey::from_jwk(&small).unwrap_err(),
        KeyError::RsaKeyTooSmall(1024)
    );
}

#[test]
fn hmac_keys_must_be_as_long_as_the_hash() {
    for (alg, min) in [
        (Algorithm::HS256, 32),
        (Algorithm::HS384, 48),
        (Algorithm::HS512, 64),
    ] {
        assert!(SigningKey::from_hmac_secret(alg, &vec![7; min]).is_ok());
        assert_eq!(
            SigningKey::from_hmac_secret(alg, &vec![7; min - 1]).unwrap_err(),
            KeyError::HmacKeyTooShort {
                alg,
                len: min - 1,
                min
            }
        );
    }
    let short = Jwk {
        kty: "oct".into(),
        alg: Some("HS256".into()),
        k: Some(tessera_jwt::Secret::new(support::b64(b"secret"))),
        ..Jwk::default()
    };
    assert!(matches!(
        VerifyingKey::from_jwk(&short),
        Err(KeyError::HmacKeyTooShort { .. })
    ));
}

#[test]
fn a_key_is_bound_to_one_algorithm() {
    let ec = SigningKey::generate(Algorithm::ES256).unwrap();
    let der = ec.to_pkcs8_der().unwrap();
    assert!(matches!(
        SigningKey::decode(&der, Some(Algorithm::ES384)),
        Err(KeyError::WrongKeyType { .. })
    ));
    assert!(matches!(
        SigningKey::decode(&der, Some(Algorithm::RS256)),
        Err(KeyError::WrongKeyType { .. })
    ));
    // A JWK whose alg contradicts its curve.
    let mut jwk = ec.public_jwk().unwrap();
    jwk.alg = Some("ES384".into());
    assert!(matches!(
        VerifyingKey::from_jwk(&jwk),
        Err(KeyError::WrongKeyType { .. })
    ));
    jwk.alg = Some("HS256".into());
    assert!(matches!(
        VerifyingKey::from_jwk(&jwk),
        Err(KeyError::WrongKeyType { .. })
    ));
    // An oct JWK must name its algorithm.
    let mut secret = SigningKey::generate(Algorithm::HS256)
        .unwrap()
        .to_private_jwk()
        .unwrap();
    secret.alg = None;
    assert_eq!(
        VerifyingKey::from_jwk(&secret).unwrap_err(),
        KeyError::JwkMember("alg")
    );
    // An RSA JWK without alg is RS256; PS256 must be named.
    let mut rsa = SigningKey::generate(Algorithm::PS256)
        .unwrap()
        .public_jwk()
        .unwrap();
    rsa.alg = None;
    assert_eq!(
        VerifyingKey::from_jwk(&rsa).unwrap().algorithm(),
        Algorithm::RS256
    );
}

#[test]
fn jwks_skips_keys_not_for_signatures_and_refuses_ambiguous_kids() {
    let a = SigningKey::generate(Algorithm::ES256).unwrap();
    let b = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let mut enc = a.public_jwk().unwrap();
    enc.use_ = Some("enc".into());
    enc.kid = Some("enc-key".into());
    let mut wrap = b.public_jwk().unwrap();
    wrap.use_ = None;
    wrap.key_ops = Some(vec!["wrapKey".into()]);
    wrap.kid = Some("wrap-key".into());
    let unknown = Jwk {
        kty: "OKP".into(),
        crv: Some("X25519".into()),
        x: Some(support::b64(&[1; 32])),
        ..Jwk::default()
    };
    let jwks = Jwks {
        keys: vec![
            a.public_jwk().unwrap(),
            enc,
            wrap,
            unknown,
            b.public_jwk().unwrap(),
        ],
    };
    let set = KeySet::from_jwks(&jwks).unwrap();
    let kids: Vec<&str> = set.keys().iter().map(|k| k.kid()).collect();
    assert_eq!(kids, vec![a.kid(), b.kid()]);

    let twice = Jwks {
        keys: vec![a.public_jwk().unwrap(), a.public_jwk().unwrap()],
    };
    assert_eq!(
        KeySet::from_jwks(&twice).unwrap_err(),
        KeyError::DuplicateKid(a.kid().to_owned())
    );

    // A malformed signature key is an error, not silently skipped.
    let mut broken = a.public_jwk().unwrap();
    broken.x = Some("not base64url!".into());
    assert_eq!(
        KeySet::from_jwks(&Jwks { keys: vec![broken] }).unwrap_err(),
        KeyError::JwkMember("x")
    );
    // A point that is not on the curve is refused by aws-lc.
    let mut off_curve = a.public_jwk().unwrap();
    off_curve.y = off_curve.x.clone();
    assert!(matches!(
        VerifyingKey::from_jwk(&off_curve),
        Err(KeyError::Rejected(_))
    ));
}

#[test]
fn private_material_is_never_shown_by_debug() {
    for alg in [Algorithm::HS256, Algorithm::ES256, Algorithm::RS256] {
        let key = SigningKey::generate(alg).unwrap();
        let jwk = key.to_private_jwk().unwrap();
        let secret = jwk.k.clone().or(jwk.d.clone()).unwrap();
        let secret = secret.expose();
        assert!(!format!("{jwk:?}").contains(secret));
        assert!(!format!("{key:?}").contains(secret));
    }
}

#[test]
fn tokens_without_kid_use_the_only_key_for_their_algorithm() {
    let es = SigningKey::generate(Algorithm::ES256).unwrap();
    let ed = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let keys = KeySet::new(vec![es.verifying_key().unwrap(), ed.verifying_key().unwrap()]).unwrap();
    let header = r#"{"alg":"ES256"}"#;
    let t = support::forge(&es, header, &format!(r#"{{"exp":{}}}"#, NOW + 10));
    assert!(accepts(&keys, &t));
    let es2 = SigningKey::generate(Algorithm::ES256).unwrap();
    let two = KeySet::new(vec![es.verifying_key().unwrap(), es2.verifying_key().unwrap()]).unwrap();
    assert_eq!(
        two.verify::<Value>(&t, &Validation::new(), UnixTime::from_secs(NOW))
            .unwrap_err(),
        tessera_jwt::Error::KidRequired(2)
    );
}

/// Wycheproof's JWK cases `rejectsKeyWithRocaVulnerability` (CVE-2017-15361)
/// and `rejectsPublicExponent1`: both keys verify their forged tokens unless
/// refused when loaded.
#[test]
fn roca_and_exponent_one_keys_are_refused() {
    let v: Value = serde_json::from_str(include_str!("vectors/wycheproof/json_web_key_test.json")).unwrap();
    let mut seen = 0;
    for group in v["testGroups"].as_array().unwrap() {
        let comment = group["tests"][0]["comment"].as_str().unwrap();
        let expected = match comment {
            "rejectsKeyWithRocaVulnerability" => "ROCA",
            "rejectsPublicExponent1" => "exponent",
            _ => continue,
        };
        seen += 1;
        for keys in [&group["public"], &group["private"]] {
            for jwk in keys["keys"].as_array().unwrap() {
                if jwk["kty"] != "RSA" {
                    continue;
                }
                let jwk: Jwk = serde_json::from_value(jwk.clone()).unwrap();
                let err = VerifyingKey::from_jwk(&jwk).unwrap_err();
                assert!(err.to_string().contains(expected), "{comment}: {err}");
            }
        }
    }
    assert_eq!(seen, 2);
}

/// Signatures up to RSA-8192's 1024 bytes are decoded (the verifier uses a
/// fixed stack buffer), and longer ones are refused as invalid.
#[test]
fn signature_length_bounds() {
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let keys = KeySet::new(vec![key.verifying_key().unwrap()]).unwrap();
    let header = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, key.kid());
    let payload = format!(r#"{{"exp":{}}}"#, NOW + 10);
    for len in [1023, 1024, 1025, 4000] {
        let token = support::with_signature(&header, &payload, &vec![7u8; len]);
        let err = keys
            .verify::<Value>(&token, &Validation::new(), UnixTime::from_secs(NOW))
            .unwrap_err();
        assert_eq!(err, tessera_jwt::Error::InvalidSignature, "{len}");
    }
}
