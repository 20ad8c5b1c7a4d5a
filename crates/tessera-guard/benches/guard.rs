//! Verified requests per second through [`GuardLayer`] (token in the
//! `Authorization` header, claims out in the handler) against the raw
//! signature verification rate of aws-lc-rs, in one run, for RS256 and
//! ES256; and the heap allocations each request costs.
//!
//! ```text
//! taskset -c 1 cargo bench -p tessera-guard --bench guard
//! ```
//!
//! Each measurement runs for `TESSERA_BENCH_SECS` seconds (default 2;
//! `TESSERA_BENCH_ALG=RS256` measures one algorithm only);
//! raw and layer runs alternate five times and the best of each counts,
//! so a noisy neighbour hurts both alike. Requests are built inside the
//! timed loop, as a server would receive them (header value shared with
//! the read buffer, as hyper does).

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::signature::{self as sig, KeyPair as _, ParsedPublicKey};
use http::{Request, Response};
use tessera_guard::{Claims, Guard};
use tessera_jwt::{Algorithm, KeySet, Signer, SigningKey, UnixTime};
use tower::{Layer, Service, ServiceExt};

/// Counts every allocation, so a request's cost in allocations is known.
#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

const ISSUER: &str = "https://id.example";
const AUDIENCE: &str = "tasks-api";

fn main() {
    let secs: u64 = std::env::var("TESSERA_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("| alg | raw verify/s | through the layer/s | layer/raw | allocations/request |");
    println!("|---|---:|---:|---:|---:|");
    let only = std::env::var("TESSERA_BENCH_ALG").ok();
    for alg in [Algorithm::RS256, Algorithm::ES256] {
        if only.as_deref().is_some_and(|a| a != alg.name()) {
            continue;
        }
        let fixture = Fixture::new(alg);
        let mut raw_best = 0.0f64;
        let mut layer_best = 0.0f64;
        let mut allocations = 0.0;
        for _ in 0..5 {
            raw_best = raw_best.max(rate(secs, || assert!(fixture.raw_verify())));
            if std::env::var_os("TESSERA_BENCH_JWT").is_some() {
                let keys = KeySet::from_jwks_json(&fixture.jwks).unwrap();
                let rules = tessera_jwt::Validation::access_token(ISSUER, AUDIENCE);
                let r = rate(secs, || {
                    black_box(
                        keys.verify::<Claims>(black_box(&fixture.token), &rules, UnixTime::now())
                            .unwrap(),
                    );
                });
                eprintln!("{}: tessera-jwt verify into Claims {r:.0}/s", alg.name());
            }
            let (r, a) = runtime.block_on(fixture.layer_rate(secs));
            layer_best = layer_best.max(r);
            allocations = a;
        }
        println!(
            "| {} | {raw_best:.0} | {layer_best:.0} | {:.3} | {allocations:.1} |",
            alg.name(),
            layer_best / raw_best
        );
    }
}

/// Calls per second of `f` for about `secs` seconds.
fn rate(secs: u64, mut f: impl FnMut()) -> f64 {
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

struct Fixture {
    token: String,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    raw: ParsedPublicKey,
    guard: Guard,
    jwks: Vec<u8>,
}

impl Fixture {
    fn new(alg: Algorithm) -> Fixture {
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
        let token = Signer::new(key, Some("at+jwt")).sign(&claims).unwrap();
        let (signing_input, signature) = token.rsplit_once('.').unwrap();
        let signature = {
            use base64::Engine;
            base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(signature)
                .unwrap()
        };
        let guard = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(Guard::builder(ISSUER, AUDIENCE).jwks_json(&jwks).build())
            .unwrap();
        let fixture = Fixture {
            signing_input: signing_input.as_bytes().to_vec(),
            token,
            signature,
            raw,
            guard,
            jwks,
        };
        assert!(fixture.raw_verify());
        fixture
    }

    fn raw_verify(&self) -> bool {
        self.raw
            .verify_sig(black_box(&self.signing_input), black_box(&self.signature))
            .is_ok()
    }

    /// Requests per second through the layer into a handler that reads
    /// the claims, and allocations per request.
    async fn layer_rate(&self, secs: u64) -> (f64, f64) {
        let handler = tower::service_fn(|request: Request<String>| async move {
            let claims = request.extensions().get::<Claims>().expect("claims");
            Ok::<_, std::convert::Infallible>(Response::new(black_box(claims.subject()).len().to_string()))
        });
        let mut service = self.guard.layer().scope("tasks:read").layer(handler);
        // As hyper hands it over: the value shares the connection's buffer,
        // so a request costs its header map, not a copy of the token.
        let header =
            http::HeaderValue::from_maybe_shared(bytes::Bytes::from(format!("Bearer {}", self.token)))
                .unwrap();
        let request = || {
            Request::get("/tasks")
                .header(http::header::AUTHORIZATION, header.clone())
                .body(String::new())
                .unwrap()
        };
        // Warm up (per-thread header cache, allocator).
        for _ in 0..100 {
            call(&mut service, request()).await;
        }
        let region = stats_alloc::Region::new(GLOBAL);
        let start = Instant::now();
        let mut n = 0u64;
        while start.elapsed() < Duration::from_secs(secs) {
            for _ in 0..64 {
                call(&mut service, request()).await;
            }
            n += 64;
        }
        let elapsed = start.elapsed().as_secs_f64();
        let stats = region.change();
        let allocations = (stats.allocations + stats.reallocations) as f64 / n as f64;
        (n as f64 / elapsed, allocations)
    }
}

async fn call<S>(service: &mut S, request: Request<String>)
where
    S: Service<Request<String>, Response = Response<String>>,
    S::Error: std::fmt::Debug,
{
    let response = service.ready().await.unwrap().call(request).await.unwrap();
    assert_eq!(response.status(), 200, "{}", response.body());
}
