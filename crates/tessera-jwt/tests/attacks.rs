//! One test per known attack on JWT libraries (see `tessera_jwt::manual`).
//! Each would fail if the defence it names were removed.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing,
    clippy::panic
)] // tests fail by panicking

mod support;

use serde_json::Value;
use support::{b64, claims, forge, hmac_sha256, with_signature, NOW};
use tessera_jwt::{Algorithm, Error, KeySet, Part, Signer, SigningKey, UnixTime, Validation};

fn rules() -> Validation {
    Validation::new().issuer("https://id.example").audience("api")
}

fn now() -> UnixTime {
    UnixTime::from_secs(NOW)
}

fn set(key: &SigningKey) -> KeySet {
    KeySet::new(vec![key.verifying_key().unwrap()]).unwrap()
}

fn verify(keys: &KeySet, token: &str) -> Result<Value, Error> {
    keys.verify::<Value>(token, &rules(), now())
        .map(|v| v.into_claims())
}

#[test]
fn control_a_well_formed_token_verifies() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let header = format!(r#"{{"alg":"ES256","kid":"{}"}}"#, key.kid());
    let token = forge(&key, &header, &claims());
    assert_eq!(verify(&set(&key), &token).unwrap()["sub"], "alice");
}

/// RFC 8725 §2.1: `alg: none` with an empty signature, in any letter case,
/// with and without a real kid.
#[test]
fn alg_none_is_refused() {
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let keys = set(&key);
    for alg in ["none", "None", "NONE", "nOnE"] {
        for header in [
            format!(r#"{{"alg":"{alg}"}}"#),
            format!(r#"{{"alg":"{alg}","kid":"{}"}}"#, key.kid()),
        ] {
            let token = format!("{}.{}.", b64(header.as_bytes()), b64(claims().as_bytes()));
            assert_eq!(
                verify(&keys, &token).unwrap_err(),
                Error::AlgorithmNone,
                "{header}"
            );
        }
    }
}

/// RFC 8725 §2.1/§3.1: HS256 "signed" with the RSA public key (in every form
/// an attacker might try) as the HMAC secret, naming the RSA key's kid.
#[test]
fn rsa_public_key_as_hmac_secret_is_refused() {
    let rsa = SigningKey::generate(Algorithm::RS256).unwrap();
    let keys = set(&rsa);
    let public = rsa.public_jwk().unwrap();
    let jwk_json = serde_json::to_string(&public).unwrap();
    let n = public.n.clone().unwrap();
    for secret in [jwk_json.as_bytes(), n.as_bytes()] {
        let header = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, rsa.kid());
        let input = format!("{}.{}", b64(header.as_bytes()), b64(claims().as_bytes()));
        let token = format!("{input}.{}", b64(&hmac_sha256(secret, input.as_bytes())));
        assert!(
            matches!(
                verify(&keys, &token),
                Err(Error::AlgorithmMismatch {
                    header: Algorithm::HS256,
                    key: Algorithm::RS256,
                    ..
                })
            ),
            "{:?}",
            verify(&keys, &token)
        );
        // Without a kid no key is bound to HS256 at all.
        let header = r#"{"alg":"HS256"}"#;
        let input = format!("{}.{}", b64(header.as_bytes()), b64(claims().as_bytes()));
        let token = format!("{input}.{}", b64(&hmac_sha256(secret, input.as_bytes())));
        assert_eq!(
            verify(&keys, &token).unwrap_err(),
            Error::NoKeyForAlgorithm(Algorithm::HS256)
        );
    }
    // The same mismatch between two asymmetric algorithms (RS256 key, PS256 header).
    let header = format!(r#"{{"alg":"PS256","kid":"{}"}}"#, rsa.kid());
    let token = forge(&rsa, &header, &claims());
    assert!(matches!(
        verify(&keys, &token),
        Err(Error::AlgorithmMismatch { .. })
    ));
}

/// CVE-2022-21449: ECDSA signatures with r = s = 0, r = s = n, and the
/// DER (ASN.1) form of a valid signature are all refused.
#[test]
fn psychic_ecdsa_signature_is_refused() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys = set(&key);
    let header = format!(r#"{{"alg":"ES256","kid":"{}"}}"#, key.kid());
    let zero = with_signature(&header, &claims(), &[0u8; 64]);
    assert_eq!(verify(&keys, &zero).unwrap_err(), Error::InvalidSignature);
    // P-256 group order n.
    let n: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xbc,
        0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51,
    ];
    let rs_n = [n, n].concat();
    assert_eq!(
        verify(&keys, &with_signature(&header, &claims(), &rs_n)).unwrap_err(),
        Error::InvalidSignature
    );
    // A valid signature re-encoded as DER is not the JWS form (RFC 7518 §3.4).
    let good = forge(&key, &header, &claims());
    let raw = base64::Engine::decode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        good.rsplit('.').next().unwrap(),
    )
    .unwrap();
    let der = to_der(&raw[..32], &raw[32..]);
    assert_eq!(
        verify(&keys, &with_signature(&header, &claims(), &der)).unwrap_err(),
        Error::InvalidSignature
    );
    // Truncated and extended signatures.
    assert_eq!(
        verify(&keys, &with_signature(&header, &claims(), &raw[..63])).unwrap_err(),
        Error::InvalidSignature
    );
    assert_eq!(
        verify(
            &keys,
            &with_signature(&header, &claims(), &[raw.clone(), vec![0]].concat())
        )
        .unwrap_err(),
        Error::InvalidSignature
    );
    assert!(verify(&keys, &good).is_ok());
}

fn to_der(r: &[u8], s: &[u8]) -> Vec<u8> {
    fn int(v: &[u8]) -> Vec<u8> {
        let mut v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
        if v.first().is_some_and(|b| *b & 0x80 != 0) {
            v.insert(0, 0);
        }
        [vec![0x02, v.len() as u8], v].concat()
    }
    let body = [int(r), int(s)].concat();
    [vec![0x30, body.len() as u8], body].concat()
}

/// CVE-2018-0114 and RFC 8725 §3.10: an attacker signs with its own key and
/// embeds it (`jwk`), points at it (`jku`, `x5u`) or ships a chain (`x5c`).
#[test]
fn embedded_jwk_and_jku_are_ignored() {
    let victim = SigningKey::generate(Algorithm::ES256).unwrap();
    let attacker = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys = set(&victim);
    let attacker_jwk = serde_json::to_string(&attacker.public_jwk().unwrap()).unwrap();
    for extra in [
        format!(r#""jwk":{attacker_jwk}"#),
        r#""jku":"https://attacker.example/jwks.json""#.to_owned(),
        r#""x5u":"https://attacker.example/cert.pem""#.to_owned(),
        r#""x5c":["MIIBszCCAVmgAwIBAgIUQ"]"#.to_owned(),
    ] {
        // Naming the attacker's own key: not in the trusted set.
        let header = format!(r#"{{"alg":"ES256","kid":"{}",{extra}}}"#, attacker.kid());
        let token = forge(&attacker, &header, &claims());
        assert!(
            matches!(verify(&keys, &token), Err(Error::UnknownKid(_))),
            "{extra}"
        );
        // Naming the victim's key: the attacker's signature does not verify.
        let header = format!(r#"{{"alg":"ES256","kid":"{}",{extra}}}"#, victim.kid());
        let token = forge(&attacker, &header, &claims());
        assert_eq!(
            verify(&keys, &token).unwrap_err(),
            Error::InvalidSignature,
            "{extra}"
        );
        // No kid: the one trusted ES256 key is used, never the embedded one.
        let header = format!(r#"{{"alg":"ES256",{extra}}}"#);
        let token = forge(&attacker, &header, &claims());
        assert_eq!(
            verify(&keys, &token).unwrap_err(),
            Error::InvalidSignature,
            "{extra}"
        );
    }
}

/// `kid` used as a path, a query or a log line finds no key, and the error
/// shows it escaped and cut.
#[test]
fn kid_injection_finds_no_key() {
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let keys = set(&key);
    let long = "A".repeat(5000);
    for kid in [
        "../../../../../../dev/null",
        "/dev/null",
        "' OR '1'='1",
        "x\" UNION SELECT 'secret' --",
        "evil\nINFO login ok user=admin",
        "|cat /etc/passwd",
        long.as_str(),
    ] {
        let header = serde_json::json!({"alg": "HS256", "kid": kid}).to_string();
        let input = format!("{}.{}", b64(header.as_bytes()), b64(claims().as_bytes()));
        // The attacker "signs" with an empty key, as /dev/null would give.
        let token = format!("{input}.{}", b64(&hmac_sha256(b"", input.as_bytes())));
        let err = verify(&keys, &token).unwrap_err();
        assert!(matches!(err, Error::UnknownKid(_)), "{kid}: {err:?}");
        let shown = err.to_string();
        assert!(!shown.contains('\n'), "{shown}");
        assert!(shown.len() < 120, "{shown}");
    }
}

/// RFC 7515 §2 and RFC 8725 §2.10: one token, one spelling.
#[test]
fn non_canonical_base64_is_refused() {
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let keys = set(&key);
    let token = Signer::new(key, None)
        .sign(&serde_json::from_str::<Value>(&claims()).unwrap())
        .unwrap();
    assert!(verify(&keys, &token).is_ok());
    let parts: Vec<&str> = token.split('.').collect();
    let join = |p: [&str; 3]| p.join(".");
    let padded = |s: &str| format!("{s}{}", "=".repeat(((4 - s.len() % 4) % 4).max(1)));
    let cases = [
        (join([&padded(parts[0]), parts[1], parts[2]]), Part::Header),
        (join([parts[0], &padded(parts[1]), parts[2]]), Part::Payload),
        (join([parts[0], parts[1], &padded(parts[2])]), Part::Signature),
        (
            join([parts[0], parts[1], &parts[2].replace('-', "+").replace('_', "/")]),
            Part::Signature,
        ),
        (
            join([parts[0], parts[1], &format!(" {}", parts[2])]),
            Part::Signature,
        ),
        (
            join([parts[0], parts[1], &format!("{}\n", parts[2])]),
            Part::Signature,
        ),
    ];
    for (bad, part) in cases {
        if bad == token {
            continue; // the segment had no '-' or '_' to swap
        }
        let err = verify(&keys, &bad).unwrap_err();
        assert!(
            err == Error::Base64(part) || (part != Part::Header && err == Error::InvalidSignature),
            "{bad}: {err:?}"
        );
    }
    // A padded payload under a signature that covers the padding: the
    // signature verifies, and the strict decoder still refuses the payload.
    let signer = SigningKey::generate(Algorithm::HS256).unwrap();
    let header = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, signer.kid());
    let input = format!("{}.{}", b64(header.as_bytes()), padded(parts[1]));
    let token = format!("{input}.{}", b64(&signer.sign_bytes(input.as_bytes()).unwrap()));
    assert_eq!(
        verify(&set(&signer), &token).unwrap_err(),
        Error::Base64(Part::Payload)
    );
    // Non-zero trailing bits: a 32-byte HMAC tag is 43 base64url characters
    // whose last one carries 2 unused bits. Setting them decodes to the same
    // bytes in a lenient decoder; here it is refused.
    let sig = parts[2];
    let last = sig.chars().last().unwrap();
    const ALPHABET: &str = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let index = ALPHABET.find(last).unwrap();
    let sibling = ALPHABET.chars().nth(index | 0b01).unwrap();
    assert_ne!(sibling, last, "canonical encodings end in a multiple of 4");
    let bad = join([parts[0], parts[1], &format!("{}{sibling}", &sig[..sig.len() - 1])]);
    assert_eq!(verify(&keys, &bad).unwrap_err(), Error::Base64(Part::Signature));
}

/// RFC 7519 §4 / RFC 7515 §5.2: repeated member names, in the claims and in
/// the header, including names spelled with JSON escapes.
#[test]
fn duplicate_claims_are_refused() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys = set(&key);
    let header = format!(r#"{{"alg":"ES256","kid":"{}"}}"#, key.kid());
    let exp = NOW + 300;
    for payload in [
        format!(r#"{{"iss":"https://id.example","aud":"api","exp":{exp},"sub":"alice","sub":"admin"}}"#),
        format!(r#"{{"iss":"https://id.example","aud":"api","exp":{exp},"exp":99999999999}}"#),
        format!(r#"{{"iss":"https://id.example","aud":"api","exp":{exp},"\u0065xp":99999999999}}"#),
        format!(r#"{{"iss":"https://id.example","aud":"api","exp":{exp},"role":"user","role":"admin"}}"#),
    ] {
        let token = forge(&key, &header, &payload);
        assert!(
            matches!(
                verify(&keys, &token),
                Err(Error::DuplicateMember {
                    part: Part::Payload,
                    ..
                })
            ),
            "{payload}"
        );
    }
    let header = format!(r#"{{"alg":"ES256","kid":"{}","kid":"{}"}}"#, key.kid(), key.kid());
    let token = forge(&key, &header, &claims());
    assert!(matches!(
        verify(&keys, &token),
        Err(Error::DuplicateMember {
            part: Part::Header,
            ..
        })
    ));
}

/// RFC 7515 §4.1.11: an extension marked critical that is not understood.
#[test]
fn crit_is_refused() {
    let key = SigningKey::generate(Algorithm::EdDSA).unwrap();
    let keys = set(&key);
    for crit in [r#"["exp"]"#, r#"["b64"]"#, "[]", r#""b64""#] {
        let header = format!(
            r#"{{"alg":"EdDSA","kid":"{}","crit":{crit},"b64":false,"exp":1}}"#,
            key.kid()
        );
        let token = forge(&key, &header, &claims());
        let err = verify(&keys, &token).unwrap_err();
        assert!(
            matches!(
                err,
                Error::UnsupportedCritical(_) | Error::InvalidHeaderParameter("crit")
            ),
            "{crit}: {err:?}"
        );
    }
}

/// RFC 8725 §3.11 and RFC 9068 §4: explicit typing stops an ID token or
/// other JWT from being used as an access token.
#[test]
fn wrong_typ_is_refused() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let keys = set(&key);
    let at = rules().typ("at+jwt");
    let claims: Value = serde_json::from_str(&claims()).unwrap();
    let id_token = Signer::new(
        SigningKey::decode(&key.to_pkcs8_der().unwrap(), None).unwrap(),
        Some("JWT"),
    )
    .sign(&claims)
    .unwrap();
    assert!(matches!(
        keys.verify::<Value>(&id_token, &at, now()),
        Err(Error::InvalidType { .. })
    ));
    let untyped = Signer::new(
        SigningKey::decode(&key.to_pkcs8_der().unwrap(), None).unwrap(),
        None,
    )
    .sign(&claims)
    .unwrap();
    assert!(matches!(
        keys.verify::<Value>(&untyped, &at, now()),
        Err(Error::InvalidType { .. })
    ));
    for typ in ["at+jwt", "application/at+jwt", "AT+JWT"] {
        let token = Signer::new(
            SigningKey::decode(&key.to_pkcs8_der().unwrap(), None).unwrap(),
            Some(typ),
        )
        .sign(&claims)
        .unwrap();
        assert!(keys.verify::<Value>(&token, &at, now()).is_ok(), "{typ}");
    }
}

/// Size is bounded before decoding; JWE and other shapes are refused.
#[test]
fn oversized_and_misshapen_tokens_are_refused() {
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let keys = set(&key);
    let big = format!("{}.{}.{}", "a".repeat(8000), "b".repeat(8000), "c".repeat(1000));
    assert!(matches!(
        verify(&keys, &big),
        Err(Error::TooLarge { max: 16384, .. })
    ));
    let small_rules = rules().max_token_len(100);
    let token = forge(
        &key,
        &format!(r#"{{"alg":"HS256","kid":"{}"}}"#, key.kid()),
        &claims(),
    );
    assert!(matches!(
        keys.verify::<Value>(&token, &small_rules, now()),
        Err(Error::TooLarge { .. })
    ));
    assert_eq!(
        verify(&keys, "a.b.c.d.e").unwrap_err(),
        Error::EncryptedTokenNotSupported
    );
    assert_eq!(verify(&keys, "a.b").unwrap_err(), Error::NotCompact(2));
    assert_eq!(verify(&keys, "").unwrap_err(), Error::NotCompact(1));
    assert_eq!(
        verify(&keys, "..").unwrap_err(),
        Error::Json {
            part: Part::Header,
            reason: "not a JSON object".into()
        }
    );
}

/// Tampering with any signed byte, or a truncated HMAC tag, fails.
#[test]
fn tampering_is_detected() {
    let key = SigningKey::generate(Algorithm::HS256).unwrap();
    let keys = set(&key);
    let header = format!(r#"{{"alg":"HS256","kid":"{}"}}"#, key.kid());
    let good = forge(&key, &header, &claims());
    let admin = claims().replace("alice", "admin");
    let parts: Vec<&str> = good.split('.').collect();
    let swapped = format!("{}.{}.{}", parts[0], b64(admin.as_bytes()), parts[2]);
    assert_eq!(verify(&keys, &swapped).unwrap_err(), Error::InvalidSignature);
    let sig = base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, parts[2]).unwrap();
    let truncated = format!("{}.{}.{}", parts[0], parts[1], b64(&sig[..16]));
    assert_eq!(verify(&keys, &truncated).unwrap_err(), Error::InvalidSignature);
    let other = set(&SigningKey::generate(Algorithm::HS256)
        .unwrap()
        .with_kid(key.kid()));
    assert_eq!(verify(&other, &good).unwrap_err(), Error::InvalidSignature);
}
