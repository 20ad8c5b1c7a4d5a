//! The raw signature rate on one core, for comparing a server's token
//! throughput with what its signing algorithm allows.
//!
//! `cargo run --release -p tessera-jwt --example raw_sign_rate -- RS256 2`
//! prints signatures per second over about 2 seconds (raw aws-lc-rs via
//! `SigningKey::sign_bytes`, the same call the signer makes).

use std::time::{Duration, Instant};

use tessera_jwt::{Algorithm, SigningKey};

fn main() {
    let mut args = std::env::args().skip(1);
    let alg = args
        .next()
        .and_then(|a| Algorithm::from_name(&a))
        .unwrap_or(Algorithm::RS256);
    let secs: u64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2);
    let Ok(key) = SigningKey::generate(alg) else {
        eprintln!("cannot generate a {alg} key");
        std::process::exit(1);
    };
    let message = [b'x'; 600];
    let start = Instant::now();
    let mut n = 0u64;
    while start.elapsed() < Duration::from_secs(secs) {
        for _ in 0..16 {
            if key.sign_bytes(&message).is_err() {
                std::process::exit(1);
            }
        }
        n += 16;
    }
    println!("{:.0}", n as f64 / start.elapsed().as_secs_f64());
}
