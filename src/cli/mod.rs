//! The command line of SPEC §3, in two stages (as ripgrep does): raw arguments parsed by clap, then a
//! validated [`invocation`] that the commands use. Errors are printed once, with their chain, and mapped to
//! exit codes.

pub(crate) mod args;
pub(crate) mod invocation;
pub(crate) mod prompt;

use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use crate::support::error::Exit;
use args::*;

/// Parse, run, print the error chain, return the exit code.
pub fn main() -> ExitCode {
    // A closed stdout (`handover … | head -1`) ends the command quietly with exit 0, as ripgrep does.
    // SIGPIPE stays ignored (Rust's default) rather than reset to SIG_DFL: that signal would kill an
    // apply half-way through a change. A write to the closed pipe fails with EPIPE instead, and
    // `println!` panics on it; that panic is recognised here, silenced, and unwound (so locks and
    // temporary directories are dropped). An apply prints its report only after its record is written.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !is_closed_stdout_panic(info.payload()) {
            default_hook(info);
        }
    }));
    match std::panic::catch_unwind(main_inner) {
        Ok(code) => code,
        Err(payload) if is_closed_stdout_panic(payload.as_ref()) => ExitCode::SUCCESS,
        Err(payload) => std::panic::resume_unwind(payload),
    }
}

/// Whether a panic is `println!`'s on a stdout whose reader has gone (EPIPE on Unix; ERROR_NO_DATA or
/// ERROR_BROKEN_PIPE on Windows).
fn is_closed_stdout_panic(payload: &(dyn std::any::Any + Send)) -> bool {
    let msg = payload
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| payload.downcast_ref::<&str>().copied())
        .unwrap_or("");
    msg.starts_with("failed printing to stdout")
        && (msg.contains("Broken pipe")
            || msg.contains("os error 32)")
            || msg.contains("os error 232)")
            || msg.contains("os error 109)"))
}

/// Whether an error is a write to a stdout whose reader has gone: a broken pipe in the chain, and
/// stdout itself broken (a broken pipe to a server or a child must stay an error).
fn is_closed_stdout_error(e: &anyhow::Error) -> bool {
    let broken_pipe = e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    });
    broken_pipe && stdout_reader_gone()
}

#[cfg(unix)]
fn stdout_reader_gone() -> bool {
    // poll(2) reports POLLERR on the write end of a pipe whose read end is closed.
    let mut fd = libc::pollfd {
        fd: libc::STDOUT_FILENO,
        events: 0,
        revents: 0,
    };
    // SAFETY: one valid pollfd, a zero timeout.
    let n = unsafe { libc::poll(&mut fd, 1, 0) };
    n == 1 && fd.revents & libc::POLLERR != 0
}

#[cfg(not(unix))]
fn stdout_reader_gone() -> bool {
    false
}

fn main_inner() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                Exit::Error.code()
            } else {
                0
            });
        }
    };
    match run(cli) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(e) if is_closed_stdout_error(&e) => ExitCode::SUCCESS,
        Err(e) => {
            // An error can quote a device's output (a script's stderr): no control characters (F18).
            let e = format!("{e:#}");
            eprintln!(
                "handover: error: {}",
                crate::support::textsafe::terminal_safe(&e)
            );
            ExitCode::from(Exit::Error.code())
        }
    }
}

/// `handover man --out DIR`: one roff page per command and subcommand (`handover-site-init.1`), as
/// clap_mangen renders them from the same definitions `--help` prints.
fn man_pages(out: &std::path::Path) -> Result<Exit> {
    use anyhow::Context;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let cmd = <Cli as clap::CommandFactory>::command();
    clap_mangen::generate_to(cmd, out)
        .with_context(|| format!("writing man pages into {}", out.display()))?;
    eprintln!("wrote the man pages into {}", out.display());
    Ok(Exit::Ok)
}

/// The flat dispatch: one command function per subcommand.
fn run(cli: Cli) -> Result<Exit> {
    use crate::commands::{artifacts, facts, kit, lifecycle, profiles, record, render, report};
    use crate::commands::{run, schedule, site, waivers};
    match cli.command {
        Command::Facts { format } => facts::facts(format),
        Command::Plan { common, format } => run::plan(&common, format),
        Command::Check {
            common,
            format,
            out,
        } => run::check(&common, format, out),
        Command::Apply(args) => run::apply(args),
        Command::Render {
            profile,
            site,
            out,
            profiles_dir,
            templates_dir,
        } => render::render_command(profile, site, &out, profiles_dir, templates_dir),
        Command::Artifacts {
            action:
                ArtifactsAction::Fetch {
                    site,
                    profile,
                    all: _,
                    cache,
                    jobs,
                    retries,
                    timeout,
                },
        } => artifacts::fetch(
            site.as_deref(),
            profile.as_deref(),
            cache,
            jobs,
            retries,
            timeout,
        ),
        Command::Artifacts {
            action: ArtifactsAction::Lock { from, site, yes },
        } => artifacts::lock(site, &from, yes),
        Command::Artifacts {
            action:
                ArtifactsAction::Verify {
                    site,
                    profile,
                    cache,
                },
        } => artifacts::verify_artifacts(site.as_deref(), profile.as_deref(), cache),
        Command::Kit {
            action:
                KitAction::Build {
                    out,
                    profile,
                    site,
                    cache,
                    exe,
                    no_packages,
                },
        } => kit::kit_build(&out, &profile, site.as_deref(), cache, &exe, !no_packages),
        Command::Kit {
            action: KitAction::Verify { dir },
        } => kit::kit_verify(&dir),
        Command::Kit {
            action:
                KitAction::Keygen {
                    dir,
                    reseal,
                    key_passphrase_file,
                },
        } => kit::keygen(&dir, reseal, key_passphrase_file),
        Command::Kit {
            action:
                KitAction::Sign {
                    dir,
                    key_passphrase_file,
                },
        } => kit::sign(&dir, key_passphrase_file),
        Command::Waivers {
            action: WaiversAction::Lint { site },
        } => waivers::waivers_lint(site.as_deref()),
        Command::Record { action } => record::record_action(action),
        Command::Report {
            action: ReportAction::Merge { files, format, out },
        } => report::merge(&files, format, out.as_deref()),
        Command::Schedule { action } => schedule::schedule(action),
        Command::Lifecycle {
            action: LifecycleAction::Import { file, product, out },
        } => lifecycle::import(&file, product.as_deref(), out),
        Command::Site {
            action,
            profiles_dir,
            templates_dir,
        } => site::site_command(action, profiles_dir, templates_dir),
        Command::Completions { shell } => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "handover", &mut std::io::stdout());
            Ok(Exit::Ok)
        }
        Command::Man { out } => man_pages(&out),
        Command::Profiles {
            action,
            profiles_dir,
            templates_dir,
        } => profiles::profiles_command(action, profiles_dir, templates_dir),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every subcommand, option and argument has a help line (`--help`, the man pages and the
    /// completions show it): the names of those without one.
    fn without_help(cmd: &clap::Command, path: &str, out: &mut Vec<String>) {
        for a in cmd.get_arguments() {
            let id = a.get_id().as_str();
            if ["help", "version"].contains(&id) || a.is_hide_set() {
                continue;
            }
            let blank = a.get_help().is_none_or(|h| h.to_string().trim().is_empty());
            if blank {
                out.push(format!("{path} {id}"));
            }
        }
        for sub in cmd.get_subcommands() {
            let name = format!("{path} {}", sub.get_name());
            if sub
                .get_about()
                .is_none_or(|h| h.to_string().trim().is_empty())
            {
                out.push(name.clone());
            }
            without_help(sub, &name, out);
        }
    }

    #[test]
    fn every_option_and_command_has_a_help_line() {
        let mut cmd = <Cli as clap::CommandFactory>::command();
        cmd.build();
        let mut blank = Vec::new();
        without_help(&cmd, "handover", &mut blank);
        assert!(blank.is_empty(), "no help line: {blank:#?}");
    }

    /// The checker itself: a command with a blank option is caught.
    #[test]
    fn a_blank_help_line_is_found() {
        let cmd = clap::Command::new("t").about("t").subcommand(
            clap::Command::new("s")
                .about("s")
                .arg(clap::Arg::new("x").long("x")),
        );
        let mut blank = Vec::new();
        without_help(&cmd, "t", &mut blank);
        assert_eq!(blank, vec!["t s x".to_string()]);
    }
}
