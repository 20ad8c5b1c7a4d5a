//! Full JWT sign / verify against the raw aws-lc-rs primitive, with the
//! `jsonwebtoken` crate (same aws-lc-rs backend) measured beside us.
//!
//! For each of RS256 (2048-bit), PS256, ES256, ES384, EdDSA and HS256:
//!
//! - `raw_sign` / `raw_verify`: aws-lc-rs alone on the exact signing input
//!   (`header.payload`) and signature of a token this library produced, with
//!   the keys parsed once outside the loop (the fair upper bound).
//! - `tessera_sign`: `Signer::sign` (claims serialization, a scan that
//!   refuses duplicate names and ill-typed registered claims, base64,
//!   signature).
//! - `tessera_verify`: `KeySet::verify` (size bound, split, header parse,
//!   key selection, signature, then one pass that deserializes the claims
//!   type while refusing duplicate names and reading the registered claims,
//!   then claim validation).
//! - `jsonwebtoken_sign` / `jsonwebtoken_verify`: `encode` / `decode` with
//!   issuer, audience, `exp` and `nbf` checked. Verify runs on the same token
//!   bytes as ours.
//!
//! The claims are a realistic access token (RFC 9068 members plus a few
//! profile claims, about 350 bytes of JSON).
//!
//! Running:
//!
//! ```sh
//! export CARGO_TARGET_DIR=$HOME/.cache/tessera-target
//! # everything: criterion groups, then the ratio table (about 3 minutes)
//! taskset -c 1 cargo bench -p tessera-jwt --bench jwt
//! # quick look (about 1 minute)
//! TESSERA_BENCH_QUICK=1 taskset -c 1 cargo bench -p tessera-jwt --bench jwt
//! # smoke test: every case runs once, no timing
//! cargo test -p tessera-jwt --bench jwt
//! ```
//!
//! Environment variables:
//!
//! - `TESSERA_BENCH_QUICK=1`: shorter criterion warm-up/measurement and a
//!   shorter ratio pass.
//! - `TESSERA_BENCH_TABLE_ONLY=1`: skip the criterion groups, print only the
//!   ratio table.
//! - `TESSERA_BENCH_ALGS=RS256,HS256`: restrict both passes to these
//!   algorithms.
//!
//! Criterion's own flags (`--warm-up-time`, `--measurement-time`, a name
//! filter, ...) still apply to the criterion groups and override the
//! defaults set here.
//!
//! The ratio table comes from a separate pass in `main` because criterion
//! 0.5 does not hand results back: for each algorithm and operation, raw,
//! tessera and jsonwebtoken run in alternating batches (the order rotating
//! each round, so drift and frequency changes hit all three alike) and the
//! median batch of each is reported. Run it pinned to one core
//! (`taskset -c 1`); the targets are single-core.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{self as sig, KeyPair as _, ParsedPublicKey};
use aws_lc_rs::{hmac, rsa};
use criterion::Criterion;
use serde::{Deserialize, Serialize};
use tessera_jwt::{Algorithm, KeySet, Signer, SigningKey, UnixTime, Validation, Verified};

const ISSUER: &str = "https://id.example";
const AUDIENCE: &str = "api";
const TYP: &str = "at+jwt";
/// Issued-at / not-before of every token (2025-10-09). Before the real
/// clock, which `jsonwebtoken` reads for `nbf`.
const IAT: i64 = 1_760_000_000;
/// Expiry of every token (2100-01-01): far enough ahead that
/// `jsonwebtoken`, which reads the system clock, accepts it; ten digits like
/// a realistic `iat + 300`, so the payload size is the realistic one.
const EXP: i64 = 4_102_444_800;
/// The fixed `now` given to tessera.
const NOW: i64 = IAT + 30;
/// An HS256 secret (32 bytes, the minimum for HS256).
const HMAC_SECRET: &[u8; 32] = b"tessera-bench-hs256-secret-32by!";

/// A realistic RFC 9068 access token with a few profile claims.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct AccessClaims {
    iss: String,
    sub: String,
    aud: String,
    exp: i64,
    iat: i64,
    nbf: i64,
    jti: String,
    client_id: String,
    scope: String,
    preferred_username: String,
    email: String,
    roles: Vec<String>,
}

fn claims() -> AccessClaims {
    AccessClaims {
        iss: ISSUER.into(),
        sub: "7f3c9a2e-4b1d-4e8a-9c6f-2d5b8e1a7c40".into(),
        aud: AUDIENCE.into(),
        exp: EXP,
        iat: IAT,
        nbf: IAT,
        jti: "b2f1c6a8-3d4e-4f5a-8b9c-0d1e2f3a4b5c".into(),
        client_id: "tessera-web".into(),
        scope: "openid profile tasks:read tasks:write".into(),
        preferred_username: "alice".into(),
        email: "alice@example.com".into(),
        roles: vec!["admin".into(), "editor".into(), "viewer".into()],
    }
}

/// The raw signing primitive, key parsed once.
enum RawSigner {
    Rsa(rsa::KeyPair, &'static dyn sig::RsaEncoding),
    Ec(sig::EcdsaKeyPair),
    Ed(sig::Ed25519KeyPair),
    Hmac(Box<hmac::Key>),
}

/// The raw verification primitive, key parsed once.
enum RawVerifier {
    Asymmetric(ParsedPublicKey),
    Hmac(Box<hmac::Key>),
}

/// One algorithm's keys, tokens and the six operations.
struct Fixture {
    name: &'static str,
    claims: AccessClaims,
    // tessera
    signer: Signer,
    keys: KeySet,
    validation: Validation,
    now: UnixTime,
    // raw aws-lc-rs
    raw_signer: RawSigner,
    raw_verifier: RawVerifier,
    rng: SystemRandom,
    /// A token tessera signed; every verifier checks these bytes.
    token: String,
    signing_input: Vec<u8>,
    signature: Vec<u8>,
    // jsonwebtoken
    jwt_header: jsonwebtoken::Header,
    jwt_encoding: jsonwebtoken::EncodingKey,
    jwt_decoding: jsonwebtoken::DecodingKey,
    jwt_validation: jsonwebtoken::Validation,
}

fn b64url_decode(s: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(s)
        .expect("base64url")
}

impl Fixture {
    fn new(alg: Algorithm) -> Fixture {
        let (name, key, jwt_alg) = match alg {
            Algorithm::RS256 => (
                "RS256",
                SigningKey::generate_rsa(alg, 2048),
                jsonwebtoken::Algorithm::RS256,
            ),
            Algorithm::PS256 => (
                "PS256",
                SigningKey::generate_rsa(alg, 2048),
                jsonwebtoken::Algorithm::PS256,
            ),
            Algorithm::ES256 => ("ES256", SigningKey::generate(alg), jsonwebtoken::Algorithm::ES256),
            Algorithm::ES384 => ("ES384", SigningKey::generate(alg), jsonwebtoken::Algorithm::ES384),
            Algorithm::EdDSA => ("EdDSA", SigningKey::generate(alg), jsonwebtoken::Algorithm::EdDSA),
            Algorithm::HS256 => (
                "HS256",
                SigningKey::from_hmac_secret(alg, HMAC_SECRET),
                jsonwebtoken::Algorithm::HS256,
            ),
            other => unimplemented!("no bench fixture for {other:?}"),
        };
        let key = key.expect("key");
        let kid = key.kid().to_owned();

        // Raw primitives and jsonwebtoken keys, from the same key material.
        let (raw_signer, raw_verifier, jwt_encoding, jwt_decoding) = match alg {
            Algorithm::HS256 => (
                RawSigner::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, HMAC_SECRET))),
                RawVerifier::Hmac(Box::new(hmac::Key::new(hmac::HMAC_SHA256, HMAC_SECRET))),
                jsonwebtoken::EncodingKey::from_secret(HMAC_SECRET),
                jsonwebtoken::DecodingKey::from_secret(HMAC_SECRET),
            ),
            _ => {
                let der = key.to_pkcs8_der().expect("pkcs8");
                let (raw_signer, public, verification, encoding): (
                    RawSigner,
                    Vec<u8>,
                    &'static dyn sig::VerificationAlgorithm,
                    jsonwebtoken::EncodingKey,
                ) = match alg {
                    Algorithm::RS256 | Algorithm::PS256 => {
                        let pair = rsa::KeyPair::from_pkcs8(&der).expect("rsa pkcs8");
                        let public = pair.public_key().as_ref().to_vec();
                        let (padding, verification): (
                            &'static dyn sig::RsaEncoding,
                            &'static dyn sig::VerificationAlgorithm,
                        ) = if alg == Algorithm::RS256 {
                            (&sig::RSA_PKCS1_SHA256, &sig::RSA_PKCS1_2048_8192_SHA256)
                        } else {
                            (&sig::RSA_PSS_SHA256, &sig::RSA_PSS_2048_8192_SHA256)
                        };
                        // jsonwebtoken wants PKCS#1; its PEM reader takes
                        // the PKCS#8 document and unwraps it.
                        let pem = key.to_pkcs8_pem().expect("pem");
                        let encoding = jsonwebtoken::EncodingKey::from_rsa_pem(pem.as_bytes())
                            .expect("jsonwebtoken RSA key");
                        (RawSigner::Rsa(pair, padding), public, verification, encoding)
                    }
                    Algorithm::ES256 | Algorithm::ES384 => {
                        let (signing, verification): (
                            &'static sig::EcdsaSigningAlgorithm,
                            &'static dyn sig::VerificationAlgorithm,
                        ) = if alg == Algorithm::ES256 {
                            (
                                &sig::ECDSA_P256_SHA256_FIXED_SIGNING,
                                &sig::ECDSA_P256_SHA256_FIXED,
                            )
                        } else {
                            (
                                &sig::ECDSA_P384_SHA384_FIXED_SIGNING,
                                &sig::ECDSA_P384_SHA384_FIXED,
                            )
                        };
                        let pair = sig::EcdsaKeyPair::from_pkcs8(signing, &der).expect("ec pkcs8");
                        let public = pair.public_key().as_ref().to_vec();
                        let encoding = jsonwebtoken::EncodingKey::from_ec_der(&der);
                        (RawSigner::Ec(pair), public, verification, encoding)
                    }
                    _ => {
                        let pair = sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).expect("ed pkcs8");
                        let public = pair.public_key().as_ref().to_vec();
                        let encoding = jsonwebtoken::EncodingKey::from_ed_der(&der);
                        (RawSigner::Ed(pair), public, &sig::ED25519, encoding)
                    }
                };
                let parsed = ParsedPublicKey::new(verification, public).expect("public key");
                // jsonwebtoken's key from our published JWK, as an API would
                // load it from the issuer's JWKS.
                let jwk = serde_json::to_string(&key.public_jwk().expect("public jwk")).unwrap();
                let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_str(&jwk).expect("jwk");
                let decoding = jsonwebtoken::DecodingKey::from_jwk(&jwk).expect("decoding key");
                (raw_signer, RawVerifier::Asymmetric(parsed), encoding, decoding)
            }
        };

        let keys = KeySet::new(vec![key.verifying_key().expect("verifying key")]).expect("keyset");
        let signer = Signer::new(key, Some(TYP));
        let validation = Validation::new().issuer(ISSUER).audience(AUDIENCE).typ(TYP);
        let claims = claims();
        let token = signer.sign(&claims).expect("sign");
        let (signing_input, signature) = token.rsplit_once('.').expect("compact");
        let signing_input = signing_input.as_bytes().to_vec();
        let signature = b64url_decode(signature);

        let mut jwt_header = jsonwebtoken::Header::new(jwt_alg);
        jwt_header.typ = Some(TYP.into());
        jwt_header.kid = Some(kid);
        let mut jwt_validation = jsonwebtoken::Validation::new(jwt_alg);
        jwt_validation.set_issuer(&[ISSUER]);
        jwt_validation.set_audience(&[AUDIENCE]);
        jwt_validation.set_required_spec_claims(&["exp", "iss", "aud"]);
        jwt_validation.validate_nbf = true;

        let fixture = Fixture {
            name,
            claims,
            signer,
            keys,
            validation,
            now: UnixTime::from_secs(NOW),
            raw_signer,
            raw_verifier,
            rng: SystemRandom::new(),
            token,
            signing_input,
            signature,
            jwt_header,
            jwt_encoding,
            jwt_decoding,
            jwt_validation,
        };
        fixture.check();
        fixture
    }

    /// Every path accepts every token before anything is timed, and what
    /// it returns is the claims that went in.
    fn check(&self) {
        let mut buf = Vec::new();
        assert!(self.raw_sign(&mut buf) > 0, "{}: raw sign", self.name);
        assert!(self.raw_verify(), "{}: raw verify", self.name);
        assert_eq!(
            self.tessera_verify().claims(),
            &self.claims,
            "{}: tessera verify",
            self.name
        );
        assert_eq!(
            self.jsonwebtoken_verify().claims,
            self.claims,
            "{}: jsonwebtoken must accept tessera's token",
            self.name
        );
        // Each library accepts what the other signed.
        let ours = self.tessera_sign();
        let theirs = self.jsonwebtoken_sign();
        for token in [&ours, &theirs] {
            let verified = self
                .keys
                .verify::<AccessClaims>(token, &self.validation, self.now)
                .expect("tessera accepts both tokens");
            assert_eq!(verified.claims(), &self.claims);
            let decoded =
                jsonwebtoken::decode::<AccessClaims>(token, &self.jwt_decoding, &self.jwt_validation)
                    .expect("jsonwebtoken accepts both tokens");
            assert_eq!(decoded.claims, self.claims);
        }
        // A broken signature is refused by all three.
        let mut bad = self.signature.clone();
        if let Some(b) = bad.last_mut() {
            *b ^= 1;
        }
        let ok = match &self.raw_verifier {
            RawVerifier::Asymmetric(key) => key.verify_sig(&self.signing_input, &bad).is_ok(),
            RawVerifier::Hmac(key) => hmac::verify(key, &self.signing_input, &bad).is_ok(),
        };
        assert!(!ok, "{}: raw verify accepted a bad signature", self.name);
        let (head, _) = self.token.rsplit_once('.').unwrap();
        let forged = format!("{head}.{}", {
            use base64::Engine as _;
            base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(&bad)
        });
        assert!(self
            .keys
            .verify::<AccessClaims>(&forged, &self.validation, self.now)
            .is_err());
        assert!(
            jsonwebtoken::decode::<AccessClaims>(&forged, &self.jwt_decoding, &self.jwt_validation).is_err()
        );
    }

    /// The raw signature over tessera's signing input, into a reused buffer.
    fn raw_sign(&self, buf: &mut Vec<u8>) -> usize {
        let msg = &self.signing_input;
        match &self.raw_signer {
            RawSigner::Rsa(pair, padding) => {
                buf.resize(pair.public_modulus_len(), 0);
                pair.sign(*padding, &self.rng, msg, buf).expect("rsa sign");
                buf.len()
            }
            RawSigner::Ec(pair) => pair.sign(&self.rng, msg).expect("ec sign").as_ref().len(),
            RawSigner::Ed(pair) => pair.sign(msg).as_ref().len(),
            RawSigner::Hmac(key) => hmac::sign(key, msg).as_ref().len(),
        }
    }

    fn raw_verify(&self) -> bool {
        match &self.raw_verifier {
            RawVerifier::Asymmetric(key) => key.verify_sig(&self.signing_input, &self.signature),
            RawVerifier::Hmac(key) => hmac::verify(key, &self.signing_input, &self.signature),
        }
        .is_ok()
    }

    fn tessera_sign(&self) -> String {
        self.signer.sign(&self.claims).expect("tessera sign")
    }

    fn tessera_verify(&self) -> Verified<AccessClaims> {
        self.keys
            .verify::<AccessClaims>(&self.token, &self.validation, self.now)
            .expect("tessera verify")
    }

    fn jsonwebtoken_sign(&self) -> String {
        jsonwebtoken::encode(&self.jwt_header, &self.claims, &self.jwt_encoding).expect("jsonwebtoken sign")
    }

    fn jsonwebtoken_verify(&self) -> jsonwebtoken::TokenData<AccessClaims> {
        jsonwebtoken::decode::<AccessClaims>(&self.token, &self.jwt_decoding, &self.jwt_validation)
            .expect("jsonwebtoken verify")
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Op {
    Sign,
    Verify,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Sign => "sign",
            Op::Verify => "verify",
        }
    }
}

/// What the issue asks of tessera for one (algorithm, operation).
enum Target {
    /// tessera ops/s ≥ this fraction of raw ops/s.
    RatioOfRaw(f64),
    /// tessera ops/s ≥ this, absolute.
    OpsPerSec(f64),
}

fn target(alg: &str, op: Op) -> Option<Target> {
    match (alg, op) {
        ("RS256" | "ES256" | "EdDSA", Op::Verify) => Some(Target::RatioOfRaw(0.90)),
        ("RS256", Op::Sign) => Some(Target::RatioOfRaw(0.95)),
        ("ES256" | "EdDSA", Op::Sign) => Some(Target::RatioOfRaw(0.85)),
        ("HS256", Op::Verify) => Some(Target::OpsPerSec(600_000.0)),
        _ => None,
    }
}

/// Timing settings for both passes.
struct Settings {
    quick: bool,
    /// Wall time of one batch in the ratio pass.
    batch: Duration,
    /// Rounds in the ratio pass; each runs one batch of each contender.
    rounds: usize,
}

impl Settings {
    fn from_env() -> Settings {
        let quick = env_flag("TESSERA_BENCH_QUICK");
        if quick {
            Settings {
                quick,
                batch: Duration::from_millis(20),
                rounds: 7,
            }
        } else {
            Settings {
                quick,
                batch: Duration::from_millis(50),
                rounds: 11,
            }
        }
    }

    fn criterion(&self) -> Criterion {
        let c = Criterion::default().without_plots();
        let c = if self.quick {
            c.warm_up_time(Duration::from_millis(500))
                .measurement_time(Duration::from_secs(1))
                .sample_size(20)
        } else {
            c.warm_up_time(Duration::from_secs(1))
                .measurement_time(Duration::from_secs(3))
                .sample_size(50)
        };
        c.configure_from_args()
    }
}

fn env_flag(name: &str) -> bool {
    std::env::var(name).is_ok_and(|v| !v.is_empty() && v != "0")
}

const ALGORITHMS: [Algorithm; 6] = [
    Algorithm::RS256,
    Algorithm::PS256,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
    Algorithm::HS256,
];

fn selected_algorithms() -> Vec<Algorithm> {
    let only = std::env::var("TESSERA_BENCH_ALGS").unwrap_or_default();
    let only: Vec<String> = only
        .split(',')
        .map(|s| s.trim().to_ascii_uppercase())
        .filter(|s| !s.is_empty())
        .collect();
    ALGORITHMS
        .into_iter()
        .filter(|alg| only.is_empty() || only.contains(&alg.name().to_ascii_uppercase()))
        .collect()
}

fn criterion_groups(c: &mut Criterion, fixtures: &[Fixture]) {
    for f in fixtures {
        let mut g = c.benchmark_group(f.name);
        let mut buf = Vec::with_capacity(512);
        g.bench_function("raw_sign", |b| b.iter(|| black_box(f.raw_sign(&mut buf))));
        g.bench_function("tessera_sign", |b| b.iter(|| f.tessera_sign()));
        g.bench_function("jsonwebtoken_sign", |b| b.iter(|| f.jsonwebtoken_sign()));
        g.bench_function("raw_verify", |b| b.iter(|| f.raw_verify()));
        g.bench_function("tessera_verify", |b| b.iter(|| f.tessera_verify()));
        g.bench_function("jsonwebtoken_verify", |b| b.iter(|| f.jsonwebtoken_verify()));
        g.finish();
    }
}

/// A contender in the ratio pass: runs `n` iterations and says how long
/// they took. The loop is inside the closure, so each is monomorphic.
type Runner<'a> = Box<dyn FnMut(u64) -> Duration + 'a>;

fn runner<'a, R>(mut op: impl FnMut() -> R + 'a) -> Runner<'a> {
    Box::new(move |n| {
        let start = Instant::now();
        for _ in 0..n {
            black_box(op());
        }
        start.elapsed()
    })
}

/// Iterations that take about `batch` (doubling from 1; also the warm-up).
fn calibrate(run: &mut Runner<'_>, batch: Duration) -> u64 {
    let mut n = 1u64;
    loop {
        let took = run(n);
        if took >= batch / 4 || n >= 1 << 30 {
            let per = took.as_secs_f64() / n as f64;
            return ((batch.as_secs_f64() / per).ceil() as u64).max(1);
        }
        n *= 2;
    }
}

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs.get(xs.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Median ops/s of each contender, interleaved round by round.
fn interleaved(runners: &mut [Runner<'_>; 3], settings: &Settings) -> [f64; 3] {
    let mut iters = [0u64; 3];
    for (n, run) in iters.iter_mut().zip(runners.iter_mut()) {
        *n = calibrate(run, settings.batch);
    }
    let mut rates: [Vec<f64>; 3] = Default::default();
    for round in 0..settings.rounds {
        for k in 0..3 {
            let i = (round + k) % 3;
            if let (Some(run), Some(&n), Some(out)) = (runners.get_mut(i), iters.get(i), rates.get_mut(i)) {
                out.push(n as f64 / run(n).as_secs_f64());
            }
        }
    }
    rates.map(median)
}

struct Row {
    alg: &'static str,
    op: Op,
    raw: f64,
    tessera: f64,
    jsonwebtoken: f64,
}

fn ratio_pass(fixtures: &[Fixture], settings: &Settings) -> Vec<Row> {
    let mut rows = Vec::new();
    for f in fixtures {
        for op in [Op::Sign, Op::Verify] {
            let mut runners: [Runner<'_>; 3] = match op {
                Op::Sign => {
                    let mut buf = Vec::with_capacity(512);
                    [
                        runner(move || f.raw_sign(&mut buf)),
                        runner(|| f.tessera_sign()),
                        runner(|| f.jsonwebtoken_sign()),
                    ]
                }
                Op::Verify => [
                    runner(|| f.raw_verify()),
                    runner(|| f.tessera_verify()),
                    runner(|| f.jsonwebtoken_verify()),
                ],
            };
            let [raw, tessera, jsonwebtoken] = interleaved(&mut runners, settings);
            eprintln!(
                "  {:<6} {:<6} raw {:>12.0}/s  tessera {:>12.0}/s  jsonwebtoken {:>12.0}/s",
                f.name,
                op.name(),
                raw,
                tessera,
                jsonwebtoken
            );
            rows.push(Row {
                alg: f.name,
                op,
                raw,
                tessera,
                jsonwebtoken,
            });
        }
    }
    rows
}

fn print_table(rows: &[Row]) {
    println!();
    println!("| alg | op | raw ops/s | tessera ops/s | jsonwebtoken ops/s | tessera/raw | jsonwebtoken/raw | target | met |");
    println!("|---|---|---:|---:|---:|---:|---:|---|---|");
    for r in rows {
        let ratio = r.tessera / r.raw;
        let (goal, met) = match target(r.alg, r.op) {
            Some(Target::RatioOfRaw(min)) => (format!("≥ {min:.2} of raw"), Some(ratio >= min)),
            Some(Target::OpsPerSec(min)) => (format!("≥ {min:.0}/s"), Some(r.tessera >= min)),
            None => ("-".to_owned(), None),
        };
        let met = match met {
            Some(true) => "yes",
            Some(false) => "**NO**",
            None => "-",
        };
        println!(
            "| {} | {} | {:.0} | {:.0} | {:.0} | {:.3} | {:.3} | {} | {} |",
            r.alg,
            r.op.name(),
            r.raw,
            r.tessera,
            r.jsonwebtoken,
            ratio,
            r.jsonwebtoken / r.raw,
            goal,
            met
        );
    }
    println!();
}

/// Like criterion: `cargo bench` passes `--bench`; anything else (`cargo
/// test --benches`, `-- --test`, `--list`, `--profile-time`) is not a
/// measurement run.
fn measuring() -> bool {
    let args: Vec<String> = std::env::args().collect();
    let has = |flag: &str| {
        args.iter()
            .any(|a| a == flag || a.starts_with(&format!("{flag}=")))
    };
    has("--bench") && !has("--test") && !has("--list") && !has("--profile-time")
}

fn main() {
    let settings = Settings::from_env();
    let fixtures: Vec<Fixture> = selected_algorithms().into_iter().map(Fixture::new).collect();

    let payload = serde_json::to_vec(&claims()).unwrap();
    println!(
        "claims payload: {} bytes of JSON; tokens: {}",
        payload.len(),
        fixtures
            .iter()
            .map(|f| format!("{} {} B", f.name, f.token.len()))
            .collect::<Vec<_>>()
            .join(", ")
    );

    if !env_flag("TESSERA_BENCH_TABLE_ONLY") {
        let mut c = settings.criterion();
        criterion_groups(&mut c, &fixtures);
        c.final_summary();
    }

    if !measuring() {
        // Smoke test: every contender once (criterion did the same above).
        for f in &fixtures {
            let mut buf = Vec::new();
            black_box(f.raw_sign(&mut buf));
            black_box(f.tessera_sign());
            black_box(f.jsonwebtoken_sign());
            black_box(f.raw_verify());
            black_box(f.tessera_verify());
            black_box(f.jsonwebtoken_verify());
        }
        println!("not a --bench run: ratio pass skipped");
        return;
    }

    eprintln!(
        "ratio pass: {} rounds of ~{} ms batches per contender, raw/tessera/jsonwebtoken interleaved",
        settings.rounds,
        settings.batch.as_millis()
    );
    let rows = ratio_pass(&fixtures, &settings);
    print_table(&rows);
}
