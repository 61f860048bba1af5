//! The `handover` binary: parse the command line, run it, print the error chain, return the exit code.

fn main() -> std::process::ExitCode {
    handover::cli::main()
}
