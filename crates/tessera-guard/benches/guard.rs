//! Verified requests per second through [`GuardLayer`] (token in the
//! `Authorization` header, claims out in the handler) against the raw
//! signature verification rate of aws-lc-rs, in one run, for RS256 and
//! ES256: with a token the guard has not seen lately (verified), and with
//! the same token again (found among the tokens it remembers).
//!
//! ```text
//! taskset -c 1 cargo bench -p tessera-guard --bench guard
//! cargo bench -p tessera-guard --bench guard_allocations   # allocations per request
//! ```
//!
//! Each measurement runs for `TESSERA_BENCH_SECS` seconds (default 2;
//! `TESSERA_BENCH_ALG=RS256` measures one algorithm only;
//! `TESSERA_BENCH_ONLY=first` (or `again`, `raw`) runs only that column,
//! for a profiler: `perf record` of the whole process is then one path);
//! raw and layer runs alternate five times and the best of each counts,
//! so a noisy neighbour hurts both alike. Requests are built inside the
//! timed loop, as a server would receive them (header value shared with
//! the read buffer, as hyper does). The process runs on the system
//! allocator, uninstrumented: allocations are counted by the other bench,
//! because counting them here (two atomic additions per allocation and
//! per free) would be timed as the layer's cost.
//!
//! [`GuardLayer`]: tessera_guard::GuardLayer

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::hint::black_box;

use common::{rate, Fixture, AUDIENCE, ISSUER};
use tessera_guard::Claims;
use tessera_jwt::{Algorithm, KeySet, UnixTime};

fn main() {
    let secs: u64 = std::env::var("TESSERA_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(2);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("| alg | raw verify/s | raw, 20,000 tokens in turn/s | layer, a token seen first/s | first/raw | first/raw of the same tokens | layer, the same token again/s | again/raw |");
    println!("|---|---:|---:|---:|---:|---:|---:|---:|");
    let only = std::env::var("TESSERA_BENCH_ALG").ok();
    for alg in [Algorithm::RS256, Algorithm::ES256] {
        if only.as_deref().is_some_and(|a| a != alg.name()) {
            continue;
        }
        let fixture = Fixture::new(alg);
        let mut raw_best = 0.0f64;
        let mut layer_best = 0.0f64;
        let mut first_best = 0.0f64;
        let mut raw_first_best = 0.0f64;
        let only_column = std::env::var("TESSERA_BENCH_ONLY").ok();
        let runs = |column: &str| only_column.as_deref().is_none_or(|o| o == column);
        for _ in 0..5 {
            if runs("raw") {
                raw_best = raw_best.max(rate(secs, || assert!(fixture.raw_verify())));
                raw_first_best = raw_first_best.max(fixture.raw_rate_first_sight(secs));
            }
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
            if runs("again") {
                layer_best = layer_best.max(runtime.block_on(fixture.layer_rate(secs)));
            }
            if runs("first") {
                first_best = first_best.max(runtime.block_on(fixture.layer_rate_first_sight(secs)));
            }
        }
        println!(
            "| {} | {raw_best:.0} | {raw_first_best:.0} | {first_best:.0} | {:.3} | {:.3} | {layer_best:.0} | {:.3} |",
            alg.name(),
            first_best / raw_best,
            first_best / raw_first_best,
            layer_best / raw_best
        );
    }
}
