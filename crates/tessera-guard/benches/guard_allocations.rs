//! Heap allocations per request through [`GuardLayer`], counted by an
//! instrumented global allocator over 10,000 requests after a warm-up. Its
//! own process, so that the counting does not slow the `guard` bench's
//! timed loop.
//!
//! ```text
//! cargo bench -p tessera-guard --bench guard_allocations
//! ```
//!
//! The count includes the harness's own request and response.
//!
//! [`GuardLayer`]: tessera_guard::GuardLayer

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use common::Fixture;
use tessera_jwt::Algorithm;

/// Counts every allocation, so a request's cost in allocations is known.
#[global_allocator]
static GLOBAL: &stats_alloc::StatsAlloc<std::alloc::System> = &stats_alloc::INSTRUMENTED_SYSTEM;

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    println!("| alg | allocations/request |");
    println!("|---|---:|");
    for alg in [Algorithm::RS256, Algorithm::ES256] {
        let fixture = Fixture::new(alg);
        let per_request = runtime.block_on(fixture.layer_calls(10_000, || {
            let region = stats_alloc::Region::new(GLOBAL);
            Box::new(move || {
                let stats = region.change();
                (stats.allocations + stats.reallocations) as u64
            })
        }));
        println!("| {} | {per_request:.1} |", alg.name());
    }
}
