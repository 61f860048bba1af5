//! The command line of SPEC §3, in two stages (as ripgrep does): raw arguments parsed by clap, then a
//! validated [`invocation`] that the commands use. Errors are printed once, with their chain, and mapped to
//! exit codes.

pub(crate) mod args;
pub(crate) mod invocation;

use std::io::IsTerminal;
use std::process::ExitCode;

use anyhow::Result;
use clap::Parser;

use crate::commands::artifacts::{fetch_artifacts, known_artifact_names, verify_artifacts};
use crate::commands::kit::{kit_build, kit_verify};
use crate::commands::profiles::profiles;
use crate::commands::record::record_action;
use crate::commands::render::render;
use crate::commands::run::{run_engine, run_engine_as};
use crate::commands::waivers::waivers_lint;
use crate::commands::{passphrase, write_out};
use crate::engine::Mode;
use crate::evidence::record;
use crate::host::LocalHost;
use crate::support::error::{Exit, InputError};
use args::*;
use invocation::resume_from;
use invocation::sources;

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

fn run(cli: Cli) -> Result<Exit> {
    match cli.command {
        Command::Facts { format } => {
            let d = crate::host::Host::facts(&LocalHost);
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&d)?),
                // The device's own word (/etc/os-release, DMI): one line each, no control characters (F18).
                Format::Text => {
                    let l = crate::support::textsafe::one_line;
                    println!(
                        "hostname: {}\nserial:   {}\nmodel:    {}\nos:       {} ({} {}, family {})",
                        l(&d.hostname),
                        l(&d.serial),
                        l(&d.model),
                        l(&d.os.name),
                        l(&d.os.id),
                        l(&d.os.version),
                        l(&d.os.family)
                    )
                }
            }
            Ok(Exit::Ok)
        }
        Command::Plan { common, format } => run_engine(Mode::Plan, &common, None, format, None),
        Command::Check {
            common,
            format,
            out,
        } => {
            let (base, export) = match format {
                CheckFormat::Text => (Format::Text, None),
                CheckFormat::Json => (Format::Json, None),
                // Documents for machines and browsers: no progress bars, like JSON.
                other => (Format::Json, Some(other)),
            };
            if export == Some(CheckFormat::Html) {
                let s = sources(common.profiles_dir.clone(), common.templates_dir.clone())?;
                if s.template(crate::evidence::export::HTML_TEMPLATE).is_none() {
                    return Err(InputError::refused(format!(
                        "--format html: template {} not found (--templates-dir)",
                        crate::evidence::export::HTML_TEMPLATE
                    )));
                }
            }
            run_engine_as(Mode::Check, &common, None, base, export, out)
        }
        Command::Apply(mut args) => {
            if args.resume {
                let state_dir = record::default_state_dir();
                let Some(j) = crate::engine::journal::Journal::load(&state_dir)? else {
                    println!(
                        "nothing to resume: no unfinished apply in {}",
                        state_dir.display()
                    );
                    return Ok(Exit::Ok);
                };
                eprintln!(
                    "resuming the apply started {} ({}); every control is checked again",
                    j.started_at,
                    j.progress()
                );
                resume_from(&mut args, j);
            }
            let format = args.format;
            run_engine(Mode::Apply, &args.common.clone(), Some(&args), format, None)
        }
        Command::Render {
            profile,
            site,
            out,
            profiles_dir,
            templates_dir,
        } => {
            let common = Common {
                profile,
                site,
                only: vec![],
                profiles_dir,
                templates_dir,
                user: None,
                kit: None,
                key_passphrase_file: None,
            };
            render(&common, &out)
        }
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
        } => {
            let opts = crate::artifacts::fetch::Options {
                jobs: jobs.max(1),
                retries,
                read_timeout: std::time::Duration::from_secs(timeout.max(1)),
                progress: std::io::stderr().is_terminal(),
                ..Default::default()
            };
            fetch_artifacts(site.as_deref(), profile.as_deref(), cache, &opts)
        }
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
        } => kit_build(&out, &profile, site.as_deref(), cache, &exe, !no_packages),
        Command::Kit {
            action: KitAction::Verify { dir },
        } => kit_verify(&dir),
        Command::Waivers {
            action: WaiversAction::Lint { site },
        } => waivers_lint(site.as_deref()),
        Command::Record { action } => record_action(action),
        Command::Kit {
            action:
                KitAction::Keygen {
                    dir,
                    reseal,
                    key_passphrase_file,
                },
        } => {
            let pass = passphrase(key_passphrase_file);
            if reseal {
                let key = crate::evidence::signing::reseal(&dir, &pass)?;
                println!("sealed {} under your passphrase", key.display());
                return Ok(Exit::Ok);
            }
            let public = crate::evidence::signing::keygen(&dir, &pass)?;
            println!(
                "made {} (sealed under your passphrase) and {}: the record of each run with --kit {} is now signed and copied to the kit",
                crate::evidence::signing::kit_key_path(&dir).display(),
                public.display(),
                dir.display()
            );
            Ok(Exit::Ok)
        }
        Command::Kit {
            action:
                KitAction::Sign {
                    dir,
                    key_passphrase_file,
                },
        } => {
            let results =
                crate::evidence::signing::kit_sign(&dir, &passphrase(key_passphrase_file))?;
            if results.is_empty() {
                println!(
                    "nothing to sign: no record of {} awaits a signature",
                    dir.display()
                );
            }
            let mut refused = false;
            for (device, r) in results {
                match r {
                    Ok(line) => println!("{device}: {line}"),
                    Err(e) => {
                        refused = true;
                        println!("{device}: REFUSED: {e:#}");
                    }
                }
            }
            Ok(if refused {
                Exit::NotCompliant
            } else {
                Exit::Ok
            })
        }
        Command::Report {
            action: ReportAction::Merge { files, format, out },
        } => {
            let rows = crate::evidence::merge::load(&crate::evidence::merge::expand(&files)?)?;
            let text = match format {
                MergeFormat::Csv => crate::evidence::merge::csv(&rows),
                MergeFormat::Html => crate::evidence::merge::html(&rows),
            };
            write_out(out.as_deref(), &text)?;
            Ok(Exit::Ok)
        }
        Command::Schedule { action } => match action {
            ScheduleAction::Install {
                weekly, site, at, ..
            } => {
                let every = if weekly {
                    crate::schedule::Every::Weekly
                } else {
                    crate::schedule::Every::Daily
                };
                print!(
                    "{}",
                    crate::schedule::install(&crate::schedule::InstallOptions { every, at, site })?
                );
                Ok(Exit::Ok)
            }
            ScheduleAction::Remove => {
                print!("{}", crate::schedule::remove()?);
                Ok(Exit::Ok)
            }
            ScheduleAction::Status => {
                let (installed, text) = crate::schedule::status()?;
                print!("{text}");
                Ok(if installed {
                    Exit::Ok
                } else {
                    Exit::NotCompliant
                })
            }
        },
        Command::Lifecycle {
            action: LifecycleAction::Import { file, product, out },
        } => {
            let out = out.unwrap_or_else(crate::inputs::lifecycle::default_override_path);
            let summary = crate::inputs::lifecycle::import(&file, product.as_deref(), &out)?;
            println!("{summary}");
            Ok(Exit::Ok)
        }
        Command::Artifacts {
            action: ArtifactsAction::Lock { from, site, yes },
        } => {
            let site = site.unwrap_or_else(crate::support::dirs::site_file);
            let known = known_artifact_names();
            let code = crate::artifacts::lock::run(&site, &from, yes, &known)?;
            Ok(if code == 0 {
                Exit::Ok
            } else {
                Exit::NotCompliant
            })
        }
        Command::Artifacts {
            action:
                ArtifactsAction::Verify {
                    site,
                    profile,
                    cache,
                },
        } => verify_artifacts(site.as_deref(), profile.as_deref(), cache),
        Command::Profiles {
            action,
            profiles_dir,
            templates_dir,
        } => {
            let sources = sources(profiles_dir, templates_dir)?;
            profiles(&sources, action)
        }
    }
}
