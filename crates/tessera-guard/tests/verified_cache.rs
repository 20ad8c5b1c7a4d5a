//! The guard remembers tokens it has verified (`src/verified.rs`): a
//! remembered token is still refused from its `exp` on (plus the leeway),
//! and a token that differs by one byte is verified, not taken from the
//! cache.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod support;

use std::time::Duration;

use tessera_guard::{Guard, Rejection};
use tessera_jwt::{Algorithm, Signer, SigningKey, UnixTime};

fn token(signer: &Signer, exp: i64) -> String {
    let now = UnixTime::now().as_secs();
    signer
        .sign(&serde_json::json!({
            "iss": "http://id.example", "sub": "u", "aud": "api", "exp": exp, "iat": now,
            "jti": format!("j{exp}"), "client_id": "c"
        }))
        .unwrap()
}

#[tokio::test]
async fn a_remembered_token_still_expires_and_a_changed_one_is_verified() {
    let key = SigningKey::generate(Algorithm::ES256).unwrap();
    let jwks = support::public_jwks(&key);
    let guard = Guard::builder("http://id.example", "api")
        .jwks_json(jwks.as_bytes())
        .leeway(Duration::ZERO)
        .build()
        .await
        .unwrap();
    let signer = Signer::new(key, Some("at+jwt"));
    let exp = UnixTime::now().as_secs() + 2;
    let t = token(&signer, exp);
    // Verified twice, the second time remembered (a first sight is only
    // noted): the same answer both times.
    assert_eq!(guard.verify(&t).await.unwrap().subject(), "u");
    assert_eq!(guard.verify(&t).await.unwrap().expires_at(), exp);
    // One byte of the signature changed: verified, and refused.
    let mut forged = t.clone().into_bytes();
    let last = forged.len() - 2;
    forged[last] = if forged[last] == b'A' { b'B' } else { b'A' };
    let forged = String::from_utf8(forged).unwrap();
    assert!(matches!(
        guard.verify(&forged).await,
        Err(Rejection::InvalidToken(_))
    ));
    // From `exp` on (no leeway here), the remembered token is refused.
    while UnixTime::now().as_secs() < exp {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let late = guard.verify(&t).await;
    assert!(matches!(late, Err(Rejection::InvalidToken(_))), "{late:?}");
}
