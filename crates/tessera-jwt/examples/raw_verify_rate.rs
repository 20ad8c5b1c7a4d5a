//! The raw signature-verification rate on one core, for comparing a
//! server's introspection throughput (or a guard's) with what its
//! algorithm allows.
//!
//! `cargo run --release -p tessera-jwt --example raw_verify_rate -- ES256 2`
//! prints verifications per second over about 2 seconds: aws-lc-rs alone,
//! the public key parsed once outside the loop, over a 600-byte message
//! (the size of an access token's signing input).

use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa;
use aws_lc_rs::signature::{self as sig, KeyPair, ParsedPublicKey};
use tessera_jwt::{Algorithm, SigningKey};

fn main() {
    let mut args = std::env::args().skip(1);
    let alg = args
        .next()
        .and_then(|a| Algorithm::from_name(&a))
        .unwrap_or(Algorithm::RS256);
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let Some((key, signature)) = parsed_key(alg) else {
        eprintln!("cannot make a {alg} key (RS256, PS256, ES256, ES384 and EdDSA are measured)");
        std::process::exit(1);
    };
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        for _ in 0..16 {
            if key.verify_sig(&MESSAGE, &signature).is_err() {
                std::process::exit(1);
            }
        }
        n += 16;
    }
    println!("{:.0}", n as f64 / start.elapsed().as_secs_f64());
}

const MESSAGE: [u8; 600] = [b'x'; 600];

/// A fresh key of `alg`, its public half parsed once, and a signature of
/// [`MESSAGE`].
fn parsed_key(alg: Algorithm) -> Option<(ParsedPublicKey, Vec<u8>)> {
    let der = SigningKey::generate(alg).ok()?.to_pkcs8_der().ok()?;
    let rng = SystemRandom::new();
    let (public, signature, verification): (Vec<u8>, Vec<u8>, &'static dyn sig::VerificationAlgorithm) =
        match alg {
            Algorithm::RS256 | Algorithm::PS256 => {
                let pair = rsa::KeyPair::from_pkcs8(&der).ok()?;
                let (padding, verification): (
                    &'static dyn sig::RsaEncoding,
                    &'static dyn sig::VerificationAlgorithm,
                ) = if alg == Algorithm::RS256 {
                    (&sig::RSA_PKCS1_SHA256, &sig::RSA_PKCS1_2048_8192_SHA256)
                } else {
                    (&sig::RSA_PSS_SHA256, &sig::RSA_PSS_2048_8192_SHA256)
                };
                let mut signature = vec![0; pair.public_modulus_len()];
                pair.sign(padding, &rng, &MESSAGE, &mut signature).ok()?;
                (pair.public_key().as_ref().to_vec(), signature, verification)
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
                let pair = sig::EcdsaKeyPair::from_pkcs8(signing, &der).ok()?;
                let signature = pair.sign(&rng, &MESSAGE).ok()?.as_ref().to_vec();
                (pair.public_key().as_ref().to_vec(), signature, verification)
            }
            Algorithm::EdDSA => {
                let pair = sig::Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der).ok()?;
                let signature = pair.sign(&MESSAGE).as_ref().to_vec();
                (pair.public_key().as_ref().to_vec(), signature, &sig::ED25519)
            }
            _ => return None,
        };
    Some((ParsedPublicKey::new(verification, public).ok()?, signature))
}
