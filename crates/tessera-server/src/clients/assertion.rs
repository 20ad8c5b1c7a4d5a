//! `private_key_jwt`: a confidential client proves itself with a JWT it
//! signed with one of its registered keys ([RFC 7523 §2.2], [OpenID
//! Connect Core §9]), sent as `client_assertion` with
//! `client_assertion_type` [`ASSERTION_TYPE`].
//!
//! The checks, in [RFC 7523 §3]'s order:
//!
//! 1. `iss` is the `client_id` (item 1) and `sub` is the `client_id`
//!    (item 2.B: "the subject MUST be the client_id of the OAuth client").
//! 2. `aud` names this server: its issuer identifier or its token
//!    endpoint URL (item 3).
//! 3. `exp` is present and not past (item 4), and at most
//!    [`MAX_LIFETIME`] ahead: a long-lived assertion is a password by
//!    another name.
//! 4. The signature verifies with one of the client's registered keys,
//!    with an asymmetric algorithm only (item 9; a symmetric key would be a
//!    shared secret, which `client_secret_jwt` would be, and is not offered).
//! 5. `jti` is present; that it is used once is checked by the caller
//!    against the store shared by every node (item 7,
//!    [`crate::store::AssertionStore`]).
//!
//! [RFC 7523 §2.2]: https://www.rfc-editor.org/rfc/rfc7523#section-2.2
//! [RFC 7523 §3]: https://www.rfc-editor.org/rfc/rfc7523#section-3
//! [OpenID Connect Core §9]: https://openid.net/specs/openid-connect-core-1_0.html#ClientAuthentication

use tessera_jwt::{KeySet, UnixTime, Validation};

/// The `client_assertion_type` of a JWT client assertion ([RFC 7523 §2.2]).
///
/// [RFC 7523 §2.2]: https://www.rfc-editor.org/rfc/rfc7523#section-2.2
pub const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// The longest an assertion may live from now, in seconds.
pub const MAX_LIFETIME: i64 = 300;

/// The longest assertion read, in bytes.
const MAX_LEN: usize = 8 * 1024;

/// Why an assertion was refused. On the wire every one of these is
/// `invalid_client` ([RFC 7521 §4.2.1]); the detail goes to the audit log.
///
/// [RFC 7521 §4.2.1]: https://www.rfc-editor.org/rfc/rfc7521#section-4.2.1
#[derive(Debug, thiserror::Error)]
pub enum AssertionError {
    /// The client's registered JWK Set cannot be read, or holds no
    /// asymmetric signature key.
    #[error("the client's registered keys cannot be used")]
    BadKeys,
    /// The JWT is malformed, its signature does not verify with the
    /// client's keys, or a claim check failed (`iss`, `aud`, `exp`,
    /// `jti`).
    #[error("the assertion does not verify: {0}")]
    Invalid(#[from] tessera_jwt::Error),
    /// `sub` is not the client.
    #[error("the assertion's sub is not the client_id")]
    NotTheClient,
    /// `exp` is further ahead than [`MAX_LIFETIME`].
    #[error("the assertion lives more than {MAX_LIFETIME} seconds")]
    TooLong,
}

/// The claims an assertion must carry.
#[derive(serde::Deserialize)]
struct Claims {
    sub: String,
    jti: String,
    exp: i64,
}

/// A verified assertion: its `jti` (to be used once) and its expiry.
#[derive(Debug, PartialEq, Eq)]
pub struct Verified {
    /// The assertion's `jti`.
    pub jti: String,
    /// Its `exp`: the store keeps the `jti` until then.
    pub exp: i64,
}

/// Verifies `assertion` for the client `client_id` whose registered JWK
/// Set is `jwks`, for the server whose issuer identifier is `issuer`, at
/// `now` (checks 1-4 of the module; the caller uses up the `jti`).
pub fn verify(
    jwks: &str,
    assertion: &str,
    client_id: &str,
    issuer: &str,
    now: i64,
) -> Result<Verified, AssertionError> {
    // 4. The client's asymmetric keys only.
    let registered = KeySet::from_jwks_json(jwks.as_bytes()).map_err(|_| AssertionError::BadKeys)?;
    let asymmetric = registered
        .keys()
        .iter()
        .filter(|k| !k.algorithm().is_symmetric())
        .cloned()
        .collect::<Vec<_>>();
    if asymmetric.is_empty() {
        return Err(AssertionError::BadKeys);
    }
    let keys = KeySet::new(asymmetric).map_err(|_| AssertionError::BadKeys)?;
    // 1-3, 5: iss, aud, exp, jti, with the signature.
    let token_endpoint = format!("{}/token", issuer.trim_end_matches('/'));
    let validation = Validation::new()
        .issuer(client_id)
        .audience(issuer)
        .audience(&token_endpoint)
        .require("sub")
        .require("jti")
        .max_token_len(MAX_LEN);
    let verified = keys.verify::<Claims>(assertion, &validation, UnixTime::from_secs(now))?;
    let claims = verified.into_claims();
    if claims.sub != client_id {
        return Err(AssertionError::NotTheClient);
    }
    if claims.exp - now > MAX_LIFETIME {
        return Err(AssertionError::TooLong);
    }
    Ok(Verified {
        jti: claims.jti,
        exp: claims.exp,
    })
}

/// The `sub` an assertion claims, read **without verifying it**: only to
/// find which client's keys to verify it with, when the request sent no
/// `client_id` (RFC 7523 §3 lets the assertion alone name the client).
pub fn claimed_client(assertion: &str) -> Option<String> {
    let unverified = tessera_jwt::danger::decode_unverified(assertion, MAX_LEN).ok()?;
    unverified.claims.get("sub")?.as_str().map(str::to_owned)
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        clippy::expect_used,
        clippy::panic,
        clippy::indexing_slicing
    )]

    use super::*;
    use serde_json::json;
    use tessera_jwt::{Algorithm, Signer, SigningKey};

    const ISSUER: &str = "https://id.example";
    const NOW: i64 = 1_700_000_000;

    fn key(alg: Algorithm) -> (Signer, String) {
        let signing = SigningKey::generate(alg).unwrap();
        let jwks = KeySet::new(vec![signing.verifying_key().unwrap()])
            .unwrap()
            .to_public_jwks();
        (Signer::new(signing, None), serde_json::to_string(&jwks).unwrap())
    }

    fn claims(over: serde_json::Value) -> serde_json::Value {
        let mut c = json!({
            "iss": "app", "sub": "app", "aud": ISSUER, "jti": "j-1",
            "iat": NOW, "exp": NOW + 60,
        });
        for (k, v) in over.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    }

    /// RFC 7523 §3, one row per check.
    #[test]
    fn rfc_7523_3_checks() {
        let (signer, jwks) = key(Algorithm::ES256);
        let (other, _) = key(Algorithm::ES256);
        let rows: Vec<(&str, &Signer, serde_json::Value, bool)> = vec![
            ("a good assertion", &signer, json!({}), true),
            (
                "aud is the token endpoint",
                &signer,
                json!({"aud": "https://id.example/token"}),
                true,
            ),
            (
                "aud is a list naming the issuer",
                &signer,
                json!({"aud": ["https://else.example", ISSUER]}),
                true,
            ),
            (
                "1. iss is another client",
                &signer,
                json!({"iss": "other"}),
                false,
            ),
            (
                "1. sub is another client",
                &signer,
                json!({"sub": "other"}),
                false,
            ),
            ("1. no sub", &signer, json!({"sub": null}), false),
            (
                "2. aud is someone else",
                &signer,
                json!({"aud": "https://else.example"}),
                false,
            ),
            ("2. no aud", &signer, json!({"aud": null}), false),
            ("3. expired", &signer, json!({"exp": NOW - 120}), false),
            ("3. no exp", &signer, json!({"exp": null}), false),
            (
                "3. lives too long",
                &signer,
                json!({"exp": NOW + MAX_LIFETIME + 60}),
                false,
            ),
            ("4. signed with another key", &other, json!({}), false),
            ("5. no jti", &signer, json!({"jti": null}), false),
        ];
        for (name, by, over, ok) in rows {
            let assertion = by.sign(&claims(over)).unwrap();
            let got = verify(&jwks, &assertion, "app", ISSUER, NOW);
            assert_eq!(got.is_ok(), ok, "{name}: {got:?}");
        }
        let good = signer.sign(&claims(json!({}))).unwrap();
        assert_eq!(
            verify(&jwks, &good, "app", ISSUER, NOW).unwrap(),
            Verified {
                jti: "j-1".into(),
                exp: NOW + 60
            }
        );
        assert_eq!(claimed_client(&good).as_deref(), Some("app"));
        assert_eq!(claimed_client("not a jwt"), None);
    }

    /// A symmetric key among the registered ones is never used: an HS256
    /// assertion made with it is refused.
    #[test]
    fn symmetric_keys_are_not_used() {
        let secret = [7u8; 32];
        let k = base64::Engine::encode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, secret);
        let jwks =
            json!({"keys": [{"kty": "oct", "k": k, "alg": "HS256", "kid": "h", "use": "sig"}]}).to_string();
        let hmac = SigningKey::from_hmac_secret(Algorithm::HS256, &secret).unwrap();
        let assertion = Signer::new(hmac, None).sign(&claims(json!({}))).unwrap();
        assert!(verify(&jwks, &assertion, "app", ISSUER, NOW).is_err());
        assert!(matches!(
            verify("not json", &assertion, "app", ISSUER, NOW),
            Err(AssertionError::BadKeys)
        ));
    }
}
