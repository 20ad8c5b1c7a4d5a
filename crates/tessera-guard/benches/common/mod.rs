//! What both guard benches share: a token as Tessera issues it, its raw
//! verification, and the layer around a handler.

#![allow(dead_code)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{self as sig, KeyPair as _, ParsedPublicKey};
use http::{Request, Response};
use tessera_guard::{Claims, Guard};
use tessera_jwt::{Algorithm, KeySet, Signer, SigningKey, UnixTime};
use tower::{Layer, Service, ServiceExt};

pub const ISSUER: &str = "https://id.example";
pub const AUDIENCE: &str = "tasks-api";

/// How many distinct tokens the first-sight runs cycle through: more than
/// the guard remembers and notes together, so none is found in its cache.
pub const FIRST_SIGHT_TOKENS: usize = 20_000;

/// Calls per second of `f` for about `secs` seconds.
pub fn rate(secs: u64, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        for _ in 0..64 {
            f();
        }
        n += 64;
    }
    n as f64 / start.elapsed().as_secs_f64()
}

pub struct Fixture {
    pub token: String,
    /// More distinct live tokens ([`FIRST_SIGHT_TOKENS`]) than the guard
    /// remembers (4,096) and notes as seen once (16,384), for
    /// requests whose token is verified, not found in its cache.
    others: Vec<http::HeaderValue>,
    /// The same tokens split for the raw verification: signing input and
    /// decoded signature.
    others_raw: Vec<(Vec<u8>, Vec<u8>)>,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    raw: ParsedPublicKey,
    guard: Guard,
    pub jwks: Vec<u8>,
}

impl Fixture {
    pub fn new(alg: Algorithm) -> Fixture {
        let key = SigningKey::generate(alg).unwrap();
        let der = key.to_pkcs8_der().unwrap();
        let raw = match alg {
            Algorithm::RS256 => {
                let pair = sig::RsaKeyPair::from_pkcs8(&der).unwrap();
                ParsedPublicKey::new(&sig::RSA_PKCS1_2048_8192_SHA256, pair.public_key().as_ref()).unwrap()
            }
            _ => {
                let pair =
                    sig::EcdsaKeyPair::from_pkcs8(&sig::ECDSA_P256_SHA256_FIXED_SIGNING, &der).unwrap();
                ParsedPublicKey::new(&sig::ECDSA_P256_SHA256_FIXED, pair.public_key().as_ref()).unwrap()
            }
        };
        let jwks = serde_json::to_vec(
            &KeySet::new(vec![key.verifying_key().unwrap()])
                .unwrap()
                .to_public_jwks(),
        )
        .unwrap();
        let now = UnixTime::now().as_secs();
        // The claims Tessera puts in a user's access token.
        let claims = serde_json::json!({
            "iss": ISSUER, "sub": "3f6c2a9e-user", "aud": AUDIENCE, "exp": now + 3600, "iat": now,
            "jti": "Yx3kQv8bN2mT7rLp4sWz9A", "client_id": "tasks-web", "scope": "openid profile tasks:read tasks:write",
            "preferred_username": "ann", "email": "ann@example.com", "roles": ["user"]
        });
        let signer = Signer::new(key, Some("at+jwt"));
        let token = signer.sign(&claims).unwrap();
        let mut claims = claims;
        let split = |token: &str| {
            use base64::Engine;
            let (signing_input, signature) = token.rsplit_once('.').unwrap();
            let signature = base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(signature)
                .unwrap();
            (signing_input.as_bytes().to_vec(), signature)
        };
        let (others, others_raw) = (0..FIRST_SIGHT_TOKENS)
            .map(|i| {
                claims["jti"] = serde_json::Value::from(format!("jti-{i}"));
                let t = signer.sign(&claims).unwrap();
                let header =
                    http::HeaderValue::from_maybe_shared(bytes::Bytes::from(format!("Bearer {t}"))).unwrap();
                (header, split(&t))
            })
            .unzip();
        let (signing_input, signature) = split(&token);
        let guard = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(Guard::builder(ISSUER, AUDIENCE).jwks_json(&jwks).build())
            .unwrap();
        let fixture = Fixture {
            signing_input,
            token,
            others,
            others_raw,
            signature,
            raw,
            guard,
            jwks,
        };
        assert!(fixture.raw_verify());
        fixture
    }

    pub fn raw_verify(&self) -> bool {
        self.raw
            .verify_sig(black_box(&self.signing_input), black_box(&self.signature))
            .is_ok()
    }

    /// Raw verifications per second of the same tokens in turn: the
    /// baseline for [`Fixture::layer_rate_first_sight`], which reads the
    /// same bytes (more than the core's L2 cache holds).
    pub fn raw_rate_first_sight(&self, secs: u64) -> f64 {
        let mut next = self.others_raw.iter().cycle();
        rate(secs, || {
            let (signing_input, signature) = next.next().unwrap();
            assert!(self
                .raw
                .verify_sig(black_box(signing_input), black_box(signature))
                .is_ok());
        })
    }

    /// Requests per second through the layer into a handler that reads
    /// the claims.
    pub async fn layer_rate(&self, secs: u64) -> f64 {
        let (mut service, header) = self.service();
        // Warm up (per-thread header cache, allocator).
        for _ in 0..100 {
            call(&mut service, request(&header)).await;
        }
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_secs(secs) {
            for _ in 0..64 {
                call(&mut service, request(&header)).await;
            }
            n += 64;
        }
        n as f64 / start.elapsed().as_secs_f64()
    }

    /// Requests per second through the layer, each with a token the guard
    /// has not seen lately ([`FIRST_SIGHT_TOKENS`] in turn: every one has
    /// left the guard's notes before it comes round again), so each
    /// is verified.
    pub async fn layer_rate_first_sight(&self, secs: u64) -> f64 {
        let (mut service, _) = self.service();
        let mut next = self.others.iter().cycle();
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_secs(secs) {
            for _ in 0..64 {
                call(&mut service, request(next.next().unwrap())).await;
            }
            n += 64;
        }
        n as f64 / start.elapsed().as_secs_f64()
    }

    /// `n` requests through the layer, after a warm-up that `counted`
    /// does not see: for counting what each request allocates.
    pub async fn layer_calls(&self, n: u64, counted: impl FnOnce() -> Box<dyn FnOnce() -> u64>) -> f64 {
        let (mut service, header) = self.service();
        for _ in 0..100 {
            call(&mut service, request(&header)).await;
        }
        let done = counted();
        for _ in 0..n {
            call(&mut service, request(&header)).await;
        }
        done() as f64 / n as f64
    }

    /// The layer requiring `tasks:read` around a handler that reads the
    /// claims, and the `Authorization` value as hyper hands it over (the
    /// value shares the connection's buffer, so a request costs its header
    /// map, not a copy of the token).
    fn service(
        &self,
    ) -> (
        impl Service<Request<String>, Response = Response<String>, Error = impl std::fmt::Debug>,
        http::HeaderValue,
    ) {
        let handler = tower::service_fn(|request: Request<String>| async move {
            let claims = request.extensions().get::<Claims>().expect("claims");
            Ok::<_, std::convert::Infallible>(Response::new(black_box(claims.subject()).len().to_string()))
        });
        let service = self.guard.layer().scope("tasks:read").layer(handler);
        let header =
            http::HeaderValue::from_maybe_shared(bytes::Bytes::from(format!("Bearer {}", self.token)))
                .unwrap();
        (service, header)
    }
}

/// A request as a server receives it.
fn request(header: &http::HeaderValue) -> Request<String> {
    Request::get("/tasks")
        .header(http::header::AUTHORIZATION, header.clone())
        .body(String::new())
        .unwrap()
}

async fn call<S>(service: &mut S, request: Request<String>)
where
    S: Service<Request<String>, Response = Response<String>>,
    S::Error: std::fmt::Debug,
{
    let response = service.ready().await.unwrap().call(request).await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.body());
}
