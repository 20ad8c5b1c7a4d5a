//! The `tessera` binary: parse flags, run, map the outcome to an exit code.

/// mimalloc instead of glibc's malloc: measured on the token path in
/// BENCHMARKS.md ("tessera serve: the token path", issue 22).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    tessera_server::cli::main()
}
