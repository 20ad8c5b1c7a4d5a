//! The `tessera` binary: parse flags, run, map the outcome to an exit code.

fn main() -> std::process::ExitCode {
    tessera_server::cli::main()
}
