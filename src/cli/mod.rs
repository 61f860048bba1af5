//! The command line of SPEC §3, in two stages (as ripgrep does): raw arguments parsed by clap, then a
//! validated [`Setup`] that the commands use. Errors are printed once, with their chain, and mapped to
//! exit codes.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{bail, Context, Result};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::engine::{AdminPassword, Engine, Mode, RunOptions};
use crate::evidence::record::{self, State};
use crate::evidence::report::{self, Report};
use crate::host::facts::{self, Device};
use crate::host::LocalHost;
use crate::inputs::profile::{self, Profile, Sources, UntestedRelease};
use crate::inputs::site::Site;
use crate::plan::Resolved;
use crate::support::error::{Exit, InputError};
use crate::support::secrets::{self, Secrets};
use crate::support::{clock, perms};

#[derive(Parser, Debug)]
#[command(
    name = "handover",
    version,
    about = "Bring a self-managed device to the ITP07 baseline, and prove it"
)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Show what handover detects about this device.
    Facts {
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show what apply would change, without changing anything.
    Plan {
        #[command(flatten)]
        common: Common,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Check every control, read-only; exit 1 when the device is not compliant.
    Check {
        #[command(flatten)]
        common: Common,
        /// text, json (SPEC §3), junit (one testcase per control, for CI dashboards) or html (one
        /// self-contained page).
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
        /// Write the report to FILE instead of stdout (a text summary still goes to stderr).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Bring the device to the baseline: change only what fails, then re-check.
    Apply(ApplyArgs),
    /// Write the exact scripts that would run, for review.
    Render {
        #[arg(long)]
        profile: Option<String>,
        #[arg(long)]
        site: Option<PathBuf>,
        #[arg(long)]
        out: PathBuf,
        #[arg(long)]
        profiles_dir: Option<PathBuf>,
        #[arg(long)]
        templates_dir: Option<PathBuf>,
    },
    /// Installers: verify what is cached or on disk against the site's sha256 values.
    Artifacts {
        #[command(subcommand)]
        action: ArtifactsAction,
    },
    /// Records: the handover sheet of one (`record show`).
    Record {
        #[command(subcommand)]
        action: RecordAction,
    },
    /// Fleet summaries: `report merge FILES... --format csv|html`.
    Report {
        #[command(subcommand)]
        action: ReportAction,
    },
    /// Run `check` and the repair of security software on a schedule, as root/SYSTEM.
    Schedule {
        #[command(subcommand)]
        action: ScheduleAction,
    },
    /// The OS lifecycle table: `lifecycle import FILE` refreshes it from an endoflife.date export.
    Lifecycle {
        #[command(subcommand)]
        action: LifecycleAction,
    },
    /// Waivers (ITP07 §10): `waivers lint` lists each with its state; exit 1 if any has expired.
    Waivers {
        #[command(subcommand)]
        action: WaiversAction,
    },
    /// The offline kit: build it on a connected machine, verify it on the device.
    Kit {
        #[command(subcommand)]
        action: KitAction,
    },
    /// List, show or validate profiles.
    Profiles {
        #[command(subcommand)]
        action: ProfilesAction,
        #[arg(long, global = true)]
        profiles_dir: Option<PathBuf>,
        #[arg(long, global = true)]
        templates_dir: Option<PathBuf>,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum CheckFormat {
    Text,
    Json,
    Junit,
    Html,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum SheetFormat {
    Md,
    Html,
    Json,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum MergeFormat {
    Csv,
    Html,
}

#[derive(Subcommand, Debug)]
enum RecordAction {
    /// Check every record's signature, digest and the chain of previous-record hashes (and, with
    /// --kit, against the kit's copy); exit 1 naming each record that was edited, removed, reordered
    /// or re-signed without the kit's key.
    Verify {
        /// The records (or state) directory (default: this device's).
        dir: Option<PathBuf>,
        /// The trusted public key (default: the kit's). The device's own copy is never trusted: its
        /// administrator could replace it along with the records.
        #[arg(long)]
        pubkey: Option<PathBuf>,
        /// The technician's kit: its public key, and its copy of this device's records to compare.
        #[arg(long)]
        kit: Option<PathBuf>,
        /// The device's directory on the kit (default: `serial-<serial>`, else `chain-<hash of the
        /// first record>`).
        #[arg(long)]
        asset: Option<String>,
        /// Exit 0 when no trusted key is at hand but the chain is unbroken (with a warning: the chain
        /// alone proves nothing against the device's administrator).
        #[arg(long)]
        allow_unsigned: bool,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// What changed between two records (paths, sequence numbers or names): statuses, OS, profile.
    Diff {
        a: String,
        b: String,
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Copy this device's records to `KIT/records/<device>/`, signing nothing: only the record of a
    /// run with the kit present (`check --kit`, `apply --kit`) is signed.
    Export {
        #[arg(long)]
        kit: PathBuf,
        /// The device's directory on the kit (default: `serial-<serial>`, else `chain-<hash>`).
        #[arg(long)]
        asset: Option<String>,
    },
    /// Copy a device's records back from the kit (after a reinstall), so the chain continues; they are
    /// verified against the kit's key first.
    Import {
        #[arg(long)]
        kit: PathBuf,
        /// The device's directory on the kit (default: `serial-<serial>`; a device with no serial and
        /// no records must name it).
        #[arg(long)]
        asset: Option<String>,
    },
    /// The handover sheet for the user (device, who, why, each control, attestations, the user's duties
    /// and ITP07 Appendix B's acceptance text) from FILE, by default the latest full record.
    Show {
        file: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = SheetFormat::Md)]
        format: SheetFormat,
        /// Write to FILE instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum ReportAction {
    /// One row per device (its newest full run) from JSON reports or records (files or directories).
    Merge {
        #[arg(required = true)]
        files: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = MergeFormat::Csv)]
        format: MergeFormat,
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum ScheduleAction {
    /// Install the systemd timer (Linux), scheduled task (Windows) or launchd job (macOS): `check`,
    /// then `apply --only` endpoint protection, Lansweeper and the VPN, both writing records.
    Install {
        #[arg(long, conflicts_with = "weekly")]
        daily: bool,
        #[arg(long)]
        weekly: bool,
        #[arg(long)]
        site: Option<PathBuf>,
        /// Time of day (default: any time of the day, spread by systemd; 12:00 elsewhere).
        #[arg(long, value_name = "HH:MM", value_parser = |s: &str| crate::schedule::parse_at(s).map_err(|e| e.to_string()))]
        at: Option<(u8, u8)>,
    },
    /// Remove it (nothing to do when it is not installed).
    Remove,
    /// Whether it is installed, the next and last runs, and the newest record; exit 1 when not installed.
    Status,
}

#[derive(Subcommand, Debug)]
enum LifecycleAction {
    /// Update the table's rows of one product from an endoflife.date JSON export (API v0 or v1),
    /// keeping hand-written fields and comments; rows are never deleted.
    Import {
        file: PathBuf,
        /// The endoflife.date product (required for a v0 export, which does not name it).
        #[arg(long)]
        product: Option<String>,
        /// Where the table goes (default: /etc/handover/lifecycle.toml, which then replaces the
        /// table embedded in this binary).
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum WaiversAction {
    /// Validate the site's waivers (errors exit 2 naming file, line and key) and show each one's state
    /// for this device and today: valid (days left), EXPIRED, or for other devices.
    Lint {
        #[arg(long)]
        site: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum KitAction {
    /// Fill DIR (new or empty) with the binary, the site, every installer, a package repository per
    /// Linux release this machine runs, a README and a MANIFEST.sha256 of it all.
    Build {
        #[arg(long)]
        out: PathBuf,
        /// The profiles the kit serves (default: all); their artifacts and package repositories go in.
        #[arg(long)]
        profile: Vec<String>,
        #[arg(long)]
        site: Option<PathBuf>,
        /// The download cache the installers come from (default: /var/cache/handover).
        #[arg(long)]
        cache: Option<PathBuf>,
        /// Another binary to carry (default: this one, and handover.exe if it was built beside it).
        #[arg(long = "exe", value_name = "FILE")]
        exe: Vec<PathBuf>,
        /// Leave out the Linux package repositories.
        #[arg(long)]
        no_packages: bool,
    },
    /// Re-hash every file of a kit against its MANIFEST.sha256; exit 1 naming what changed.
    Verify { dir: PathBuf },
    /// Make the ed25519 key pair that signs records (`KIT/keys/records.key`, sealed under a passphrase
    /// you type, and `.pub`): the record of each run with the kit present (`--kit`) is signed and copied
    /// to `KIT/records/<device>/`.
    Keygen {
        dir: PathBuf,
        /// Seal an existing unencrypted key (made before keys were sealed) under a passphrase instead.
        #[arg(long)]
        reseal: bool,
        /// Read the passphrase from the first line of FILE instead of the terminal (automation only:
        /// a passphrase kept beside the kit protects nothing).
        #[arg(long, value_name = "FILE")]
        key_passphrase_file: Option<PathBuf>,
    },
    /// On your own machine, after the visit: sign the records that runs with the kit present could not
    /// sign on the device (no passphrase typed there), each after checking that it is its device's
    /// newest record and chains to the kit's newest signed one. Exit 1 if any was refused.
    Sign {
        dir: PathBuf,
        /// Read the passphrase from the first line of FILE instead of the terminal (automation only).
        #[arg(long, value_name = "FILE")]
        key_passphrase_file: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum ArtifactsAction {
    /// Download every https artifact into the cache: in parallel, resuming partial downloads, hashing
    /// while downloading; a file enters the cache only once its sha256 matches. Exit 1 if any failed.
    Fetch {
        #[arg(long)]
        site: Option<PathBuf>,
        /// Only the artifacts this profile's controls use.
        #[arg(long, conflicts_with = "all")]
        profile: Option<String>,
        /// Every artifact the site defines (the default).
        #[arg(long)]
        all: bool,
        /// The download cache (default: /var/cache/handover).
        #[arg(long)]
        cache: Option<PathBuf>,
        /// Downloads at a time.
        #[arg(long, default_value_t = 4)]
        jobs: usize,
        /// Retries of a transient failure (connection lost, stalled server, HTTP 5xx), with backoff.
        #[arg(long, default_value_t = 3)]
        retries: u32,
        /// Seconds without a byte after which a server counts as stalled.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
    },
    /// Hash installers downloaded by hand into DIR and write their `[artifacts.*]` tables into the site
    /// (comments and layout kept); shows the changes and asks first.
    Lock {
        #[arg(long)]
        from: PathBuf,
        #[arg(long)]
        site: Option<PathBuf>,
        /// Write without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Re-hash every artifact where it is expected (its path, or the download cache); exit 1 on any
    /// missing or mismatching one.
    Verify {
        #[arg(long)]
        site: Option<PathBuf>,
        /// Only the artifacts this profile's controls use (default: every artifact of the site).
        #[arg(long)]
        profile: Option<String>,
        /// The download cache (default: /var/cache/handover).
        #[arg(long)]
        cache: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
enum ProfilesAction {
    /// The profiles that can be selected, and the OS each is for.
    List,
    /// A profile with its `extends` chain resolved.
    Show { name: String },
    /// Check a profile file: schema, `extends`, every control covered, every template present and valid.
    Validate { file: PathBuf },
}

#[derive(Args, Debug, Clone)]
struct Common {
    /// Profile name (default: the one that matches this device's OS).
    #[arg(long)]
    profile: Option<String>,
    /// Site file (default: /etc/handover/site.toml).
    #[arg(long)]
    site: Option<PathBuf>,
    /// Only these controls (a partial run).
    #[arg(long = "only", value_name = "ID")]
    only: Vec<String>,
    #[arg(long)]
    profiles_dir: Option<PathBuf>,
    #[arg(long)]
    templates_dir: Option<PathBuf>,
    /// The device's named user (remembered from handover when not given).
    #[arg(long)]
    user: Option<String>,
    /// Work from an offline kit (`handover kit build`): verify it first, then take the site, the
    /// installers and the Linux packages from it, with no network.
    #[arg(long, value_name = "DIR")]
    kit: Option<PathBuf>,
    /// With --kit: read the passphrase of the kit's records key from the first line of FILE instead of
    /// asking on the terminal (automation only: a passphrase kept beside the kit protects nothing).
    #[arg(long, value_name = "FILE", requires = "kit")]
    key_passphrase_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct ApplyArgs {
    #[command(flatten)]
    common: Common,
    /// Do not ask for confirmation (needed when not on a terminal).
    #[arg(long)]
    yes: bool,
    #[arg(long, value_enum)]
    reason: Option<Reason>,
    #[arg(long)]
    asset: Option<String>,
    #[arg(long)]
    ticket: Option<String>,
    #[arg(long)]
    technician: Option<String>,
    /// File holding the separate admin account's password (root-owned, mode 600).
    #[arg(long)]
    admin_password_file: Option<PathBuf>,
    /// Switch on inbound default deny even when it would cut the remote session handover runs over.
    #[arg(long)]
    force_remote: bool,
    /// Apply the newest profile of this device's distribution although the release is newer than
    /// every profile (Debian 14 with debian-13): its scripts were not tested there.
    #[arg(long)]
    allow_untested_release: bool,
    /// Continue the apply that was interrupted (killed, or stopped for a restart), with its options.
    #[arg(long)]
    resume: bool,
    /// When the apply ends needing a restart, keep its journal and register a one-shot
    /// `apply --resume` at the next boot (a systemd unit, or a startup task on Windows).
    #[arg(long)]
    resume_after_reboot: bool,
    /// Confirm a control handover cannot read (it is then `pass` with who and when, for 365 days or
    /// until the OS is reinstalled); needs --technician. On a terminal apply asks instead.
    #[arg(long = "attest", value_name = "ID")]
    attest: Vec<String>,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Text,
    Json,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum Reason {
    Handover,
    Reinstall,
    OsUpgrade,
    Drift,
}

impl Reason {
    fn as_str(self) -> &'static str {
        match self {
            Reason::Handover => "handover",
            Reason::Reinstall => "reinstall",
            Reason::OsUpgrade => "os-upgrade",
            Reason::Drift => "drift",
        }
    }
}

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

fn sources(profiles_dir: Option<PathBuf>, templates_dir: Option<PathBuf>) -> Result<Sources> {
    for (d, what) in [
        (&profiles_dir, "profiles directory"),
        (&templates_dir, "templates directory"),
    ] {
        if let Some(d) = d {
            if !d.is_dir() {
                return Err(InputError::refused(format!(
                    "{what} {}: not a directory",
                    d.display()
                )));
            }
            perms::require_trusted_tree(d, what)?;
        }
    }
    Ok(Sources {
        profiles_dir,
        templates_dir,
    })
}

fn load_site(path: Option<&Path>) -> Result<Site> {
    let (path, required) = match path {
        Some(p) => (p.to_path_buf(), true),
        None => (crate::support::dirs::site_file(), false),
    };
    if path.exists() {
        perms::require_trusted(&path, "site file")?;
    } else if required {
        return Err(InputError::refused(format!(
            "{}: site file not found",
            path.display()
        )));
    }
    Ok(Site::load(&path, required, &profile::control_ids())?)
}

/// The validated setup of `plan`, `check`, `apply` and `render`.
struct Setup {
    device: Device,
    resolved: Resolved,
    matches_device: bool,
    /// Set when this device's release is newer than every profile of its distribution.
    untested: Option<UntestedRelease>,
}

fn setup(common: &Common, mode: Option<Mode>) -> Result<Setup> {
    let sources = sources(common.profiles_dir.clone(), common.templates_dir.clone())?;
    let device = crate::host::Host::facts(&LocalHost);
    let (profile, untested) = match &common.profile {
        Some(name) => {
            let profile = sources.load(name)?;
            let untested = if profile.matches(&device.os) {
                None
            } else {
                sources.untested_for(&profile, &device.os)
            };
            (profile, untested)
        }
        None => sources.select(&device.os).ok_or_else(|| {
            InputError::Refused(format!(
                "no profile matches this device ({} {}, {}); choose one with --profile (see `handover profiles list`)",
                device.os.id, device.os.version, device.os.family
            ))
        })?,
    };
    // An untested release runs its distribution's newest profile against this device (SPEC §3).
    let matches_device = profile.matches(&device.os) || untested.is_some();
    if !matches_device && matches!(mode, Some(Mode::Check | Mode::Apply)) {
        return Err(InputError::refused(format!(
            "profile {} is for {} {}, but this device runs {} {}: refusing to {}",
            profile.name,
            profile.os_match.family,
            profile.os_match.ids.join("/"),
            device.os.id,
            device.os.version,
            mode.map_or("", Mode::as_str)
        )));
    }
    for id in &common.only {
        if profile::control_info(id).is_none() {
            return Err(InputError::refused(format!(
                "--only {id}: unknown control (known: {})",
                profile::control_ids().join(", ")
            )));
        }
    }
    let site_path = match (&common.site, &common.kit) {
        (Some(s), _) => Some(s.clone()),
        (None, Some(kit)) => Some(kit.join(crate::artifacts::kit::SITE)),
        (None, None) => None,
    };
    if let Some(kit) = &common.kit {
        // Every byte, every time: a kit that changed since it was built is refused before anything runs.
        perms::require_trusted(kit, "kit")?;
        let v = crate::artifacts::kit::verify(kit)?;
        if !v.problems.is_empty() {
            let list: Vec<String> = v.problems.iter().map(ToString::to_string).collect();
            return Err(InputError::refused(format!(
                "the kit {} does not match its MANIFEST.sha256 ({}); run `handover kit verify {}`; nothing was changed",
                kit.display(),
                list.join("; "),
                kit.display()
            )));
        }
    }
    let site = load_site(site_path.as_deref())?;
    let resolved = Resolved::new(&sources, profile, site)?;
    Ok(Setup {
        device,
        resolved,
        matches_device,
        untested,
    })
}

/// Windows takes local account names of at most 20 characters (learn.microsoft.com, "User Name"
/// policy and `net user`; New-LocalUser fails beyond it): the separate admin USER + suffix must fit.
fn windows_name_fits(user: &str, family: &str, suffix: &str) -> Result<()> {
    let admin = format!("{user}{suffix}");
    if family == "windows" && admin.chars().count() > 20 {
        return Err(InputError::refused(format!(
            "--user {user:?}: the separate admin would be {admin:?}, {} characters; Windows account names take at most 20 (shorten the user name or the site's accounts.admin_suffix); nothing was changed",
            admin.chars().count()
        )));
    }
    Ok(())
}

fn valid_account_name(name: &str, flag: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 32
        && !name.starts_with('-')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(InputError::refused(format!(
            "{flag} {name:?}: not a valid account name (lower-case letters, digits, . _ -)"
        )))
    }
}

fn one_line(value: &Option<String>, flag: &str) -> Result<()> {
    if let Some(v) = value {
        if v.chars().any(char::is_control) || v.len() > 200 {
            return Err(InputError::refused(format!(
                "{flag}: must be one line of at most 200 characters"
            )));
        }
    }
    Ok(())
}

/// `apply --resume`: the interrupted run's options, where the command line does not give them.
fn resume_from(args: &mut ApplyArgs, j: crate::engine::journal::Journal) {
    let c = &mut args.common;
    c.profile = c.profile.take().or(Some(j.profile));
    c.site = c.site.take().or(j.site);
    c.kit = c.kit.take().or(j.kit);
    if c.only.is_empty() {
        c.only = j.only;
    }
    c.user = c.user.take().or(j.user);
    args.asset = args.asset.take().or(j.asset);
    args.ticket = args.ticket.take().or(j.ticket);
    args.technician = args.technician.take().or(j.technician);
    if args.reason.is_none() {
        args.reason = j
            .reason
            .as_deref()
            .and_then(|r| Reason::from_str(r, true).ok());
    }
}

fn run_engine(
    mode: Mode,
    common: &Common,
    apply: Option<&ApplyArgs>,
    format: Format,
    out: Option<PathBuf>,
) -> Result<Exit> {
    run_engine_as(mode, common, apply, format, None, out)
}

fn run_engine_as(
    mode: Mode,
    common: &Common,
    apply: Option<&ApplyArgs>,
    format: Format,
    export: Option<CheckFormat>,
    out: Option<PathBuf>,
) -> Result<Exit> {
    let setup = setup(common, Some(mode))?;
    if let (Some(u), Some(a)) = (&setup.untested, apply) {
        if !a.allow_untested_release {
            return Err(InputError::refused(format!(
                "this device runs {}, newer than every profile of its distribution; the newest, {}, has not \
                 been tested on it. Check the plan, then rerun with --allow-untested-release to apply {}; \
                 nothing was changed",
                u.os, u.profile, u.profile
            )));
        }
    }
    let state_dir = record::default_state_dir();
    let mut state = State::load(&state_dir).unwrap_or_default();
    let user = common.user.clone().or_else(|| state.user.clone());
    if let Some(u) = &user {
        valid_account_name(u, "--user")?;
        windows_name_fits(
            u,
            &setup.resolved.profile.os_match.family,
            setup
                .resolved
                .site
                .get("accounts.admin_suffix")
                .and_then(serde_json::Value::as_str)
                .unwrap_or("-admin"),
        )?;
    }
    let (asset, ticket, technician) = match apply {
        Some(a) => (a.asset.clone(), a.ticket.clone(), a.technician.clone()),
        None => (None, None, None),
    };
    for (v, flag) in [
        (&asset, "--asset"),
        (&ticket, "--ticket"),
        (&technician, "--technician"),
    ] {
        one_line(v, flag)?;
    }
    let asset = asset.or_else(|| state.asset.clone());
    let ticket = ticket.or_else(|| state.ticket.clone());
    let technician = technician.or_else(|| state.technician.clone());

    // Attestations: those still honoured on this installation, and the ones given now.
    let install_id = facts::install_id();
    let attest_now = clock::now()?;
    // Once records are signed (a kit key is known: the kit's, else the one the device was given), an
    // attestation counts only from a signed record: one added to state.json alone is not honoured (F2).
    let record_key =
        crate::evidence::signing::default_pubkey(common.kit.as_deref()).or_else(|| {
            Some(crate::evidence::signing::device_pubkey_path(&state_dir)).filter(|p| p.is_file())
        });
    let remembered = match &record_key {
        Some(key) => crate::evidence::signing::signed_attestations(
            &state_dir.join("records"),
            key,
            &install_id,
        )
        .unwrap_or_default(),
        None => state.attestations.clone(),
    };
    let mut attestations: Vec<record::Attestation> = remembered
        .into_iter()
        .filter(|a| a.valid(attest_now, &install_id))
        .collect();
    if let Some(a) = apply {
        for id in &a.attest {
            let Some(info) = profile::control_info(id) else {
                return Err(InputError::refused(format!(
                    "--attest {id}: unknown control (known: {})",
                    profile::control_ids().join(", ")
                )));
            };
            let Some(by) = &technician else {
                return Err(InputError::refused(
                    "--attest needs --technician NAME: an attestation says who confirmed it",
                ));
            };
            attestations.retain(|x| &x.control != id);
            attestations.push(record::Attestation {
                control: id.clone(),
                by: by.clone(),
                at: clock::rfc3339(attest_now),
                text: format!("confirmed by the technician: {}", info.title),
                install_id: install_id.clone(),
            });
        }
    }

    let mut admin_password = AdminPassword::None;
    if let Some(a) = apply {
        if !perms::is_root() {
            return Err(InputError::refused(
                "apply changes the system and must run as root (sudo handover apply …)",
            ));
        }
        let selected = |id: &str| common.only.is_empty() || common.only.iter().any(|o| o == id);
        if user.is_none()
            && (selected("accounts.separate-admin") || selected("accounts.admin-builtin"))
        {
            return Err(InputError::refused(
                "apply needs --user NAME, the device's named user, at handover (later runs remember it); nothing changed",
            ));
        }
        // SPEC §3: a key that a selected control needs and the site lacks stops apply before any change.
        let missing: Vec<String> = setup
            .resolved
            .controls
            .iter()
            .filter(|p| common.only.is_empty() || common.only.contains(&p.control.id))
            .flat_map(|p| {
                p.missing
                    .iter()
                    .map(move |k| format!("{} needs `{k}`", p.control.id))
            })
            .collect();
        if !missing.is_empty() {
            return Err(InputError::refused(format!(
                "{}: site keys missing, nothing changed: {}",
                setup.resolved.site.describe(),
                missing.join("; ")
            )));
        }
        admin_password = match &a.admin_password_file {
            Some(f) => AdminPassword::Given(
                secrets::read_password_file(f)
                    .map_err(|e| InputError::Refused(format!("{e:#}")))?,
            ),
            None if std::io::stdin().is_terminal() && std::io::stderr().is_terminal() => {
                AdminPassword::GenerateOnTty
            }
            None => AdminPassword::None,
        };
        if !a.yes {
            if !std::io::stdin().is_terminal() {
                return Err(InputError::refused(
                    "apply needs --yes when it is not run on a terminal",
                ));
            }
            eprint!(
                "Apply profile {} to {} (user {})? Only controls that fail are changed. [y/N] ",
                setup.resolved.profile.name,
                setup.device.hostname,
                user.as_deref().unwrap_or("not named")
            );
            std::io::stderr().flush().ok();
            let mut answer = String::new();
            std::io::stdin().read_line(&mut answer)?;
            if !matches!(answer.trim(), "y" | "Y" | "yes") {
                eprintln!("nothing changed");
                return Ok(Exit::Error);
            }
        }
    }

    // The kit's package repository, through a private apt configuration that lives for this run.
    let kit_work = tempfile::Builder::new().prefix("handover-kit-").tempdir()?;
    let apply_env = match &common.kit {
        Some(kit) if setup.matches_device => {
            crate::artifacts::kit::package_env(kit, &setup.resolved.profile, kit_work.path())?
        }
        _ => vec![],
    };
    let now = clock::now()?;
    let mut secrets = Secrets::default();
    for (k, v) in &setup.resolved.site.secrets {
        crate::evidence::redact::add_secret(&mut secrets, k, v);
    }
    let opts = RunOptions {
        mode,
        only: common.only.clone(),
        user: user.clone(),
        asset: asset.clone(),
        ticket: ticket.clone(),
        technician: technician.clone(),
        // The first apply on a device is its handover; later ones repair drift, unless told otherwise.
        reason: apply.map(|a| {
            a.reason.map_or_else(
                || {
                    if state.last_apply.is_some() {
                        "drift"
                    } else {
                        "handover"
                    }
                    .to_string()
                },
                |r| r.as_str().to_string(),
            )
        }),
        force_remote: apply.is_some_and(|a| a.force_remote),
        admin_password,
        ssh_connection: facts::ssh_connection(),
        now,
        state_dir: state_dir.clone(),
        cache_dir: common
            .kit
            .as_ref()
            .map_or_else(crate::artifacts::default_cache_dir, |k| k.join("artifacts")),
        apply_env,
        attestations: attestations.clone(),
        journal_dir: (mode == Mode::Apply).then(|| state_dir.clone()),
        detect_reboot: setup.matches_device,
        admin_passwords_set: state
            .admin_passwords_set
            .iter()
            .map(|a| a.account.clone())
            .collect(),
        profile_matches_device: setup.matches_device,
        progress: format == Format::Text,
    };
    // One run at a time: a second check or apply refuses rather than interleaving (held until exit).
    let mut lock_warning = None;
    let _lock = match mode {
        Mode::Plan => None,
        Mode::Apply => Some(crate::engine::journal::RunLock::acquire(
            &state_dir, "apply",
        )?),
        // A check by a user who cannot write the state directory still checks (no record then).
        Mode::Check => match crate::engine::journal::RunLock::acquire(&state_dir, "check") {
            Ok(l) => Some(l),
            Err(e) if e.downcast_ref::<InputError>().is_some() => return Err(e),
            Err(e) => {
                lock_warning = Some(format!("{e:#}"));
                None
            }
        },
    };
    let mut early_warnings = Vec::new();
    let mut reboot_before = None;
    if mode == Mode::Apply {
        let previous = crate::engine::journal::Journal::load(&state_dir)?;
        let resume_registered = previous.as_ref().is_some_and(|j| j.resume_registered);
        if let Some(j) = previous {
            if !apply.is_some_and(|a| a.resume) {
                early_warnings.push(format!(
                    "an earlier apply (started {}) did not finish ({}); this run checks every control again",
                    j.started_at,
                    j.progress()
                ));
            }
        }
        if setup.matches_device {
            reboot_before = crate::host::Host::reboot_pending(&LocalHost);
        }
        // The pre-flight write: a read-only or full state directory stops here, before any change.
        let only: Vec<String> = common.only.clone();
        let journal = crate::engine::journal::Journal {
            started_at: clock::rfc3339(now),
            profile: setup.resolved.profile.name.clone(),
            site: setup.resolved.site.path.clone(),
            kit: common.kit.clone(),
            only: only.clone(),
            user: opts.user.clone(),
            asset: opts.asset.clone(),
            ticket: opts.ticket.clone(),
            technician: opts.technician.clone(),
            reason: opts.reason.clone(),
            state: "running".into(),
            controls: setup
                .resolved
                .controls
                .iter()
                .filter(|p| only.is_empty() || only.contains(&p.control.id))
                .map(|p| (p.control.id.clone(), "pending".to_string()))
                .collect(),
            resume_registered,
        };
        journal
            .save(&state_dir)
            .map_err(|e| InputError::Refused(format!("{e:#}; nothing was changed")))?;
    }
    let engine = Engine {
        resolved: &setup.resolved,
        device: &setup.device,
        host: &LocalHost,
        opts,
        secrets,
    };
    let (mut report, outcome) = match mode {
        Mode::Apply => {
            let o = engine.apply();
            (o.report.clone().expect("apply reports"), Some(o))
        }
        _ => (engine.check(), None),
    };
    // On a terminal, the technician confirms each control handover could not read.
    if let Some(a) = apply {
        let ask = !a.yes
            && format == Format::Text
            && std::io::stdin().is_terminal()
            && std::io::stderr().is_terminal();
        let manual: Vec<usize> = (0..report.controls.len())
            .filter(|&i| report.controls[i].status == report::Status::Manual)
            .collect();
        if ask && !manual.is_empty() {
            match &technician {
                None => report.warnings.push(
                    "give --technician NAME to confirm the controls handover cannot read".into(),
                ),
                Some(by) => {
                    for i in manual {
                        let c = &mut report.controls[i];
                        eprint!(
                            "{} ({}): {}\nConfirm, as {by}, that this is in place? [y/N] ",
                            c.id,
                            c.title,
                            crate::support::textsafe::one_line(&c.reason)
                        );
                        let mut answer = String::new();
                        std::io::stdin().read_line(&mut answer)?;
                        if matches!(answer.trim(), "y" | "Y" | "yes") {
                            let at = attest_now;
                            let att = record::Attestation {
                                control: c.id.clone(),
                                by: by.clone(),
                                at: clock::rfc3339(at),
                                text: format!("confirmed by the technician: {}", c.title),
                                install_id: install_id.clone(),
                            };
                            c.status = report::Status::Pass;
                            c.reason =
                                format!("attested by {} on {}: {}", att.by, att.at, att.text);
                            c.attestation = Some(
                                serde_json::json!({"by": att.by, "at": att.at, "text": att.text}),
                            );
                            attestations.retain(|x| x.control != att.control);
                            attestations.push(att);
                        }
                    }
                    report.summary =
                        report::Report::summarise(&report.controls, report.scope == "partial");
                }
            }
        }
    }
    if let Some(u) = &setup.untested {
        report.warnings.push(format!(
            "untested release: this device runs {}, newer than every profile; profile {} (its distribution's newest) was used",
            u.os, u.profile
        ));
        report.untested_release = Some(u.clone());
    }
    report.warnings.extend(early_warnings);
    report.warnings.extend(lock_warning);
    if let Some(why) = &reboot_before {
        report.reboot_required = true;
        report.warnings.push(format!(
            "a reboot was already pending before this apply ({why}): restart, then run check"
        ));
    }
    if mode == Mode::Apply {
        let journal = crate::engine::journal::Journal::load(&state_dir)
            .ok()
            .flatten();
        let restarting = journal.as_ref().is_some_and(|j| j.state == "restarting");
        let wants_resume = apply.is_some_and(|a| a.resume_after_reboot) && report.reboot_required;
        if restarting || wants_resume {
            // The journal stays for `apply --resume`; with --resume-after-reboot the boot runs it.
            if let (true, Some(mut j)) = (wants_resume, journal) {
                match crate::schedule::register_resume(&state_dir) {
                    Ok(msg) => {
                        j.resume_registered = true;
                        if !restarting {
                            j.state = "awaiting-reboot".into();
                        }
                        if let Err(e) = j.save(&state_dir) {
                            report.warnings.push(format!("{e:#}"));
                        }
                        report.warnings.push(format!("restart the device: {}", msg.trim()));
                    }
                    Err(e) => report.warnings.push(format!(
                        "no resume at the next boot: {e:#}; after the restart run `handover apply --resume`"
                    )),
                }
            }
        } else {
            if journal.as_ref().is_some_and(|j| j.resume_registered) {
                if let Err(e) = crate::schedule::unregister_resume(&state_dir) {
                    report
                        .warnings
                        .push(format!("the one-shot resume could not be removed: {e:#}"));
                }
            }
            if let Err(e) = crate::engine::journal::Journal::remove(&state_dir) {
                report
                    .warnings
                    .push(format!("the journal could not be removed: {e:#}"));
            }
        }
    }
    if setup.resolved.site.path.is_none() {
        report.warnings.push(format!(
            "no site file at {}: controls that need site values fail naming them",
            crate::support::dirs::site_file().display()
        ));
    }

    // Remember what was said at handover, and write the record.
    if mode != Mode::Plan {
        if let Some(a) = apply {
            if common.user.is_some() {
                state.user = user.clone();
            }
            if a.asset.is_some() {
                state.asset = asset.clone();
            }
            if a.ticket.is_some() {
                state.ticket = ticket.clone();
            }
            if a.technician.is_some() {
                state.technician = technician.clone();
            }
        }
        if mode == Mode::Apply {
            state.last_apply = Some(report.finished_at.clone());
            // Keep what is honoured (old and new); expired ones and other installations' go.
            state.attestations = attestations.clone();
        }
        if let Some(o) = &outcome {
            for account in &o.admin_passwords_set {
                state.admin_passwords_set.retain(|x| &x.account != account);
                state.admin_passwords_set.push(record::AdminPasswordSet {
                    account: account.clone(),
                    at: clock::rfc3339(now),
                });
            }
        }
        let artifacts = outcome
            .as_ref()
            .map(|o| o.artifacts.clone())
            .unwrap_or_default();
        // The chain continues from the newest record on disk (read under the run lock), not from the
        // state loaded before the lock was taken.
        if let Ok(now_on_disk) = State::load(&state_dir) {
            state.last_record = now_on_disk.last_record;
        }
        let provenance = record::Provenance {
            kit_key: common
                .kit
                .as_deref()
                .and_then(|k| {
                    crate::evidence::signing::read_pubkeys(
                        &crate::evidence::signing::kit_pubkey_path(k),
                    )
                    .ok()
                })
                .filter(|_| {
                    common
                        .kit
                        .as_deref()
                        .is_some_and(|k| crate::evidence::signing::kit_key_path(k).exists())
                })
                .and_then(|keys| {
                    keys.first()
                        .map(|k| crate::support::hashing::hex(k.as_bytes()))
                }),
            attestations: attestations.clone(),
        };
        match record::write_with(&state_dir, &mut state, &report, artifacts, provenance)
            .and_then(|p| state.save(&state_dir).map(|_| p))
        {
            Ok(present) => {
                if let Some(kit) = &common.kit {
                    let pass = passphrase(common.key_passphrase_file.clone());
                    match crate::evidence::signing::after_record(
                        &state_dir,
                        kit,
                        &present,
                        &report.device.serial,
                        &pass,
                    ) {
                        Ok(Some(f)) => {
                            if f.pubkey == crate::evidence::signing::PubkeyInstall::Differs {
                                report.warnings.push(format!(
                                    "this device trusts another record key than {}'s: its records do not verify against the kit",
                                    kit.display()
                                ));
                            }
                            if let Some(why) = &f.not_signed {
                                report.warnings.push(format!(
                                    "this run's record is copied to {} unsigned ({why}): sign it on your own machine with `handover kit sign {}`",
                                    f.kit_dir.display(),
                                    kit.display()
                                ));
                            }
                            if !f.unsigned.is_empty() {
                                report.warnings.push(format!(
                                    "{} record(s) written while the kit was away are copied unsigned, as the device's word only: {}",
                                    f.unsigned.len(),
                                    f.unsigned.join(", ")
                                ));
                            }
                        }
                        Ok(None) => {}
                        Err(e) => report
                            .warnings
                            .push(format!("records not signed or copied to the kit: {e:#}")),
                    }
                }
            }
            Err(e) => {
                let msg = format!("no record written: {e:#}");
                if mode == Mode::Apply {
                    bail!(msg);
                }
                report.warnings.push(msg);
            }
        }
    }

    let rendered = match (export, format) {
        (Some(CheckFormat::Junit), _) => crate::evidence::export::junit(&report),
        (Some(CheckFormat::Html), _) => crate::evidence::export::html(
            &report,
            &sources(common.profiles_dir.clone(), common.templates_dir.clone())?,
        )?,
        (_, Format::Json) => serde_json::to_string_pretty(&report)? + "\n",
        (_, Format::Text) => report::text(&report),
    };
    match &out {
        Some(path) => {
            std::fs::write(path, &rendered)
                .with_context(|| format!("writing {}", path.display()))?;
            eprint!("{}", report::text_with(&report, false));
        }
        None => print!("{rendered}"),
    }
    Ok(exit_of(&report, mode))
}

/// SPEC §3's exit code for a report.
fn exit_of(report: &Report, mode: Mode) -> Exit {
    let mut exit = Exit::Ok;
    if report.any_blocking() {
        exit = exit.worst(Exit::NotCompliant);
    }
    if mode == Mode::Plan && report.controls.iter().any(|c| c.plan.is_some()) {
        exit = exit.worst(Exit::NotCompliant);
    }
    if report.reboot_required {
        exit = exit.worst(Exit::Reboot);
    }
    exit
}

fn render(common: &Common, out: &Path) -> Result<Exit> {
    let setup = setup(common, None)?;
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let mut index = Vec::new();
    for p in &setup.resolved.controls {
        let mut entry = serde_json::json!({"id": p.control.id, "kind": p.control.kind, "missing_site_keys": p.missing});
        for (what, text, name) in [
            ("check", &p.check, &p.control.check),
            ("apply", &p.apply, &p.control.apply),
        ] {
            if let (Some(text), Some(name)) = (text, name) {
                let ext = name.rsplit('.').next().unwrap_or("txt");
                let file = format!("{}.{what}.{ext}", p.control.id);
                std::fs::write(out.join(&file), text).with_context(|| format!("writing {file}"))?;
                entry[what] = serde_json::json!(file);
            }
        }
        for (name, text) in &p.files {
            let file = format!(
                "{}.{}",
                p.control.id,
                name.rsplit('/').next().unwrap_or(name)
            );
            std::fs::write(out.join(&file), text).with_context(|| format!("writing {file}"))?;
            entry["files"] = serde_json::json!(p.files.iter().map(|(n, _)| n).collect::<Vec<_>>());
        }
        if let Some(e) = &p.render_error {
            entry["render_error"] = serde_json::json!(e);
        }
        if let Some(r) = &p.control.reason {
            entry["reason"] = serde_json::json!(r);
        }
        index.push(entry);
    }
    let doc = serde_json::json!({
        "profile": setup.resolved.profile.name,
        "digest": setup.resolved.digest,
        "site": setup.resolved.site.describe(),
        "environment": "scripts read runtime values from HANDOVER_USER, HANDOVER_ADMIN_USER, HANDOVER_TODAY (YYYYMMDD), HANDOVER_NOW_EPOCH, HANDOVER_STATE_DIR, HANDOVER_MODE, HANDOVER_ARTIFACT_<NAME> and secrets from HANDOVER_SECRET_<KEY>",
        "controls": index,
    });
    std::fs::write(
        out.join("index.json"),
        serde_json::to_string_pretty(&doc)? + "\n",
    )?;
    let failed: Vec<String> = setup
        .resolved
        .controls
        .iter()
        .filter_map(|p| {
            p.render_error
                .as_ref()
                .map(|e| format!("{}: {e}", p.control.id))
        })
        .collect();
    if !failed.is_empty() {
        return Err(anyhow::anyhow!(
            "templates failed to render (the rest is in {}):\n{}",
            out.display(),
            failed.join("\n")
        ));
    }
    println!(
        "rendered profile {} ({}) into {}",
        setup.resolved.profile.name,
        setup.resolved.digest,
        out.display()
    );
    Ok(Exit::Ok)
}

/// The artifacts a command works on: those `profile`'s controls use (`site:KEY` entries through the
/// site), or every artifact the site defines.
fn artifact_names(site: &Site, profile: Option<&str>) -> Result<Vec<String>> {
    Ok(match profile {
        Some(p) => {
            let profile = Sources::default().load(p)?;
            let mut names: Vec<String> = profile
                .controls
                .iter()
                .flat_map(|c| c.artifacts.iter())
                .map(|a| a.trim_end_matches('?'))
                .filter_map(|a| match a.strip_prefix("site:") {
                    Some(key) => site
                        .get(key)
                        .and_then(serde_json::Value::as_str)
                        .map(str::to_string),
                    None => Some(a.to_string()),
                })
                .collect();
            names.sort();
            names.dedup();
            names
        }
        None => site.file.artifacts.keys().cloned().collect(),
    })
}

/// The artifact names of SPEC §6 (every shipped profile uses some of them).
const SPEC_ARTIFACTS: &[&str] = &[
    "lsagent-linux",
    "lsagent-windows",
    "lsagent-macos",
    "office-odt",
    "office-source",
    "teams-bootstrapper",
    "teams-msix",
    "forticlient-vpn-msi",
    "office-pkg",
    "teams-pkg",
    "forticlient-pkg",
];

/// Every artifact name the shipped profiles use (for `artifacts lock` to recognise a file by name).
fn known_artifact_names() -> Vec<String> {
    let sources = Sources::default();
    let mut names: Vec<String> = sources
        .profile_names()
        .iter()
        .filter_map(|p| sources.load(p).ok())
        .flat_map(|p| p.controls.into_iter().flat_map(|c| c.artifacts))
        .map(|a| a.trim_end_matches('?').to_string())
        .filter(|a| !a.starts_with("site:"))
        .chain(SPEC_ARTIFACTS.iter().map(|a| a.to_string()))
        .collect();
    names.sort();
    names.dedup();
    names
}

fn fetch_artifacts(
    site: Option<&Path>,
    profile: Option<&str>,
    cache: Option<PathBuf>,
    opts: &crate::artifacts::fetch::Options,
) -> Result<Exit> {
    use crate::artifacts::fetch::Outcome;
    use crate::artifacts::Spec;
    let site = load_site(site)?;
    let cache = cache.unwrap_or_else(crate::artifacts::default_cache_dir);
    let mut exit = Exit::Ok;
    let mut specs = Vec::new();
    for name in artifact_names(&site, profile)? {
        match Spec::from_site(&site, &name) {
            Some(s) => specs.push(s),
            None => {
                println!("MISSING   {name:<22} the site has no [artifacts.{name}]");
                exit = Exit::NotCompliant;
            }
        }
    }
    let (jobs, local) = crate::artifacts::fetch::jobs_of(&specs);
    for name in local {
        println!("local     {name:<22} a path: nothing to download (`artifacts verify` hashes it)");
    }
    for j in jobs.iter().filter(|j| j.url.starts_with("http://")) {
        eprintln!(
            "warning: {}: {} is not https; its integrity rests on the site's sha256 alone",
            j.label(),
            j.url
        );
    }
    let outcomes = crate::artifacts::fetch::fetch_all(&jobs, &cache, opts);
    for (job, outcome) in jobs.iter().zip(outcomes) {
        let label = job.label();
        match outcome {
            Outcome::Cached => println!("cached    {label:<22} sha256 ok"),
            Outcome::Fetched {
                bytes,
                resumed_from,
                attempts,
                secs,
            } => {
                let mut extra = String::new();
                if resumed_from > 0 {
                    extra += &format!(", resumed at {resumed_from} bytes");
                }
                if attempts > 1 {
                    extra += &format!(", {attempts} attempts");
                }
                println!("fetched   {label:<22} {bytes} bytes in {secs:.1} s, sha256 ok{extra}");
            }
            Outcome::Failed(why) => {
                println!("FAILED    {label:<22} {why}");
                exit = Exit::NotCompliant;
            }
        }
    }
    if jobs.is_empty() {
        println!("nothing to download in {}", site.describe());
    }
    Ok(exit)
}

fn kit_build(
    out: &Path,
    profiles: &[String],
    site: Option<&Path>,
    cache: Option<PathBuf>,
    exes: &[PathBuf],
    packages: bool,
) -> Result<Exit> {
    let site = load_site(site)?;
    if site.path.is_none() {
        return Err(InputError::refused(format!(
            "a kit carries the site, and {}; give --site FILE",
            site.describe()
        )));
    }
    let sources = Sources::default();
    let names: Vec<String> = if profiles.is_empty() {
        sources.profile_names()
    } else {
        profiles.to_vec()
    };
    let loaded: Vec<Profile> = names
        .iter()
        .map(|n| sources.load(n))
        .collect::<Result<_, _>>()?;
    let mut wanted: Vec<String> = if profiles.is_empty() {
        site.file.artifacts.keys().cloned().collect()
    } else {
        let mut v = Vec::new();
        for p in profiles {
            v.extend(artifact_names(&site, Some(p))?);
        }
        v
    };
    wanted.sort();
    wanted.dedup();
    let mut specs = Vec::new();
    for name in wanted {
        match crate::artifacts::Spec::from_site(&site, &name) {
            Some(s) => specs.push(s),
            None => eprintln!(
                "warning: the profiles use artifact {name}, which the site does not define: it is not in the kit"
            ),
        }
    }
    let me = std::env::current_exe().context("finding this binary")?;
    let mut binaries = vec![(
        if cfg!(windows) {
            "handover.exe"
        } else {
            "handover"
        }
        .to_string(),
        me.clone(),
    )];
    let mut extra: Vec<PathBuf> = exes.to_vec();
    if extra.is_empty() && !cfg!(windows) {
        // `cargo build --target x86_64-pc-windows-gnu` puts it beside target/<profile>/.
        if let (Some(dir), Some(kind)) = (
            me.parent().and_then(Path::parent),
            me.parent().and_then(Path::file_name),
        ) {
            let exe = dir
                .join("x86_64-pc-windows-gnu")
                .join(kind)
                .join("handover.exe");
            if exe.is_file() {
                extra.push(exe);
            }
        }
    }
    for e in extra {
        let name = e
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| InputError::Refused(format!("--exe {}: not a file", e.display())))?;
        if !e.is_file() {
            return Err(InputError::refused(format!(
                "--exe {}: not a file",
                e.display()
            )));
        }
        binaries.push((name, e));
    }
    let host = crate::host::Host::facts(&LocalHost).os;
    let cache = cache.unwrap_or_else(crate::artifacts::default_cache_dir);
    let built = crate::artifacts::kit::build(&crate::artifacts::kit::BuildOptions {
        out,
        site: &site,
        profiles: &loaded,
        artifacts: &specs,
        cache: &cache,
        binaries: &binaries,
        host: &host,
        packages,
    })?;
    println!(
        "kit built in {}: {} files, {:.1} MiB",
        out.display(),
        built.files,
        built.bytes as f64 / 1048576.0
    );
    for (name, _) in &binaries {
        println!("binary    {name}");
    }
    for s in &specs {
        println!("artifact  {:<22} {}", s.name, s.sha256);
    }
    for (p, n) in &built.repos {
        println!("packages  {p:<22} {n} packages with their dependencies");
    }
    for (p, why) in &built.skipped_repos {
        println!("packages  {p:<22} none: {why}");
    }
    Ok(Exit::Ok)
}

/// This device's directory on the kit: the one named with `--asset`, else found by the device's identity
/// (its serial, else its first record's hash), never by the asset in `state.json` (F2).
fn kit_device_dir(kit: &Path, given: Option<String>, records: &Path) -> Result<PathBuf> {
    let name = match given {
        Some(a) => a,
        None => crate::evidence::signing::device_dir_name(
            &crate::host::Host::facts(&LocalHost).serial,
            records,
        )?,
    };
    crate::evidence::signing::kit_dir_named(kit, &name)
}

/// Where the kit key's passphrase comes from.
fn passphrase(file: Option<PathBuf>) -> crate::evidence::signing::Passphrase {
    file.map_or(
        crate::evidence::signing::Passphrase::Prompt,
        crate::evidence::signing::Passphrase::File,
    )
}

fn record_action(action: RecordAction) -> Result<Exit> {
    let state_dir = record::default_state_dir();
    let state = State::load(&state_dir).unwrap_or_default();
    match action {
        RecordAction::Show { file, format, out } => record_show(file, format, out.as_deref()),
        RecordAction::Verify {
            dir,
            pubkey,
            kit,
            asset,
            allow_unsigned,
            format,
        } => {
            let dir = dir.unwrap_or_else(|| state_dir.join("records"));
            let key = pubkey.or_else(|| crate::evidence::signing::default_pubkey(kit.as_deref()));
            let kit_copy = match &kit {
                Some(k) => Some(kit_device_dir(
                    k,
                    asset,
                    &crate::evidence::signing::records_dir_of(&dir),
                )?),
                None => None,
            };
            let mut v =
                crate::evidence::signing::verify(&dir, key.as_deref(), kit_copy.as_deref())?;
            if key.is_none() && crate::evidence::signing::device_pubkey_path(&state_dir).is_file() {
                // F5: the device's own key proves nothing against the device's administrator.
                v.device_key_only = true;
                for f in &mut v.findings {
                    if f.message == crate::evidence::signing::UNSIGNED {
                        f.message = crate::evidence::signing::DEVICE_KEY.into();
                    }
                }
            }
            match format {
                Format::Json => println!("{}", serde_json::to_string_pretty(&v)?),
                Format::Text => {
                    match &key {
                        Some(k) => println!("trusted key: {}", k.display()),
                        None if v.device_key_only => println!(
                            "trusted key: none (the device's own {} is not trusted)",
                            crate::evidence::signing::device_pubkey_path(&state_dir).display()
                        ),
                        None => println!("trusted key: none"),
                    }
                    print!("{}", crate::support::textsafe::terminal_safe(&v.text()));
                }
            }
            let ok = if allow_unsigned {
                v.ok_allowing_unsigned()
            } else {
                v.ok()
            };
            Ok(if ok { Exit::Ok } else { Exit::NotCompliant })
        }
        RecordAction::Diff { a, b, format } => {
            let records = state_dir.join("records");
            let a = crate::evidence::signing::resolve_record(&records, &a)?;
            let b = crate::evidence::signing::resolve_record(&records, &b)?;
            match format {
                Format::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&crate::evidence::signing::diff_json(&a, &b)?)?
                ),
                Format::Text => print!(
                    "{}",
                    crate::support::textsafe::terminal_safe(&crate::evidence::signing::diff(
                        &a, &b
                    )?)
                ),
            }
            Ok(Exit::Ok)
        }
        RecordAction::Export { kit, asset } => {
            let records = state_dir.join("records");
            let dst = kit_device_dir(&kit, asset, &records)?;
            let n = crate::evidence::signing::export(&records, &dst)?;
            println!(
                "copied {n} file(s) to {}, signing nothing: only the record of a run with the kit present (`check --kit`, `apply --kit`) is signed",
                dst.display()
            );
            Ok(Exit::Ok)
        }
        RecordAction::Import { kit, asset } => {
            let records = state_dir.join("records");
            perms::ensure_private_dir(&state_dir)?;
            perms::ensure_private_dir(&records)?;
            let src = kit_device_dir(&kit, asset, &records)?;
            let n = crate::evidence::signing::import(
                &src,
                &records,
                crate::evidence::signing::default_pubkey(Some(&kit)).as_deref(),
            )?;
            let mut state = state;
            if state.last_record.is_none() {
                state.last_record = crate::evidence::signing::chain_head(&records)?;
                state.save(&state_dir)?;
            }
            println!(
                "copied {n} file(s) from the kit into {}; the next record continues the chain",
                records.display()
            );
            Ok(Exit::Ok)
        }
    }
}

/// Write to FILE, or stdout.
fn write_out(out: Option<&Path>, text: &str) -> Result<()> {
    match out {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display())),
        None => {
            print!("{text}");
            Ok(())
        }
    }
}

/// The newest record of a full run in the state directory.
fn latest_full_record(state_dir: &Path) -> Result<PathBuf> {
    let dir = state_dir.join("records");
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .with_context(|| format!("no records in {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().ends_with("-full.json"))
        .collect();
    names.sort();
    names
        .pop()
        .ok_or_else(|| InputError::Refused(format!("no full record in {}", dir.display())).into())
}

fn record_show(file: Option<PathBuf>, format: SheetFormat, out: Option<&Path>) -> Result<Exit> {
    let path = match file {
        Some(f) => f,
        None => latest_full_record(&record::default_state_dir())?,
    };
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let rec: record::Record = serde_json::from_slice(&bytes)
        .with_context(|| format!("{}: not a handover record", path.display()))?;
    let site = Site::load(
        &crate::support::dirs::site_file(),
        false,
        &profile::control_ids(),
    )
    .ok();
    let ctx = crate::evidence::sheet::Context {
        organisation: site.as_ref().and_then(|s| s.file.organisation.name.clone()),
        service_desk: site
            .as_ref()
            .and_then(|s| s.file.organisation.service_desk.clone()),
        record_name: path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
        record_sha256: crate::support::hashing::sha256_bytes(&bytes),
    };
    let text = match format {
        SheetFormat::Md => crate::evidence::sheet::markdown(&rec, &ctx),
        SheetFormat::Html => crate::evidence::sheet::html(&rec, &ctx),
        SheetFormat::Json => serde_json::to_string_pretty(&rec)? + "\n",
    };
    write_out(out, &text)?;
    Ok(Exit::Ok)
}

fn waivers_lint(site: Option<&Path>) -> Result<Exit> {
    let site = load_site(site)?;
    let today = clock::date(clock::now()?);
    let device = crate::host::Host::facts(&LocalHost);
    if site.waivers.is_empty() {
        println!("no waivers in {}", site.describe());
        return Ok(Exit::Ok);
    }
    let mut exit = Exit::Ok;
    for (w, expires) in &site.waivers {
        let days = days_between(&today, expires);
        let here = w.devices.as_ref().is_none_or(|ds| {
            ds.iter()
                .any(|d| *d == device.serial || *d == device.hostname)
        });
        let state = if days < 0 {
            exit = Exit::NotCompliant;
            format!("EXPIRED on {expires}")
        } else {
            format!("valid until {expires} ({days} days left)")
        };
        let scope = match (&w.devices, here) {
            (None, _) => "every device".to_string(),
            (Some(ds), true) => format!("this device (of {})", ds.join(", ")),
            (Some(ds), false) => format!("other devices: {}", ds.join(", ")),
        };
        println!(
            "{:<26} {state}; {scope}; {} ({}, approved by {})",
            w.control, w.reason, w.ticket, w.approved_by
        );
    }
    Ok(exit)
}

/// Whole days from `a` to `b`, both `YYYY-MM-DD`.
fn days_between(a: &str, b: &str) -> i64 {
    fn days(d: &str) -> i64 {
        let t = humantime::parse_rfc3339(&format!("{d}T00:00:00Z"))
            .map(|t| clock::epoch(t) as i64)
            .unwrap_or(0);
        t.div_euclid(86_400)
    }
    days(b) - days(a)
}

fn kit_verify(dir: &Path) -> Result<Exit> {
    use crate::artifacts::kit::Problem;
    let v = crate::artifacts::kit::verify_on_device(dir, &record::default_state_dir())?;
    let names = Site::load(
        &dir.join(crate::artifacts::kit::SITE),
        false,
        &profile::control_ids(),
    )
    .map(|s| crate::artifacts::kit::artifact_names(&s))
    .unwrap_or_default();
    let named = |p: &str| match names.get(p) {
        Some(n) => format!("{p} (artifact {n})"),
        None => p.to_string(),
    };
    for p in &v.problems {
        match p {
            Problem::Missing(path) => println!("MISSING   {}", named(path)),
            Problem::Mismatch {
                path,
                expected,
                got,
            } => println!(
                "MISMATCH  {}: MANIFEST.sha256 says {expected}, the file has {got}",
                named(path)
            ),
            Problem::Extra(path) => println!("EXTRA     {path}: not in MANIFEST.sha256"),
            other => println!("{:<9} {other}", other.tag()),
        }
    }
    if v.problems.is_empty() {
        println!(
            "kit ok: {} files, {:.1} MiB, every byte matches MANIFEST.sha256",
            v.files,
            v.bytes as f64 / 1048576.0
        );
        Ok(Exit::Ok)
    } else {
        println!(
            "kit NOT ok: {} problem(s) in {}",
            v.problems.len(),
            dir.display()
        );
        Ok(Exit::NotCompliant)
    }
}

fn verify_artifacts(
    site: Option<&Path>,
    profile: Option<&str>,
    cache: Option<PathBuf>,
) -> Result<Exit> {
    use crate::artifacts::{Spec, Verified};
    let site = load_site(site)?;
    let cache = cache.unwrap_or_else(crate::artifacts::default_cache_dir);
    let names = artifact_names(&site, profile)?;
    if names.is_empty() {
        println!("no artifacts to verify in {}", site.describe());
        return Ok(Exit::Ok);
    }
    let specs: Vec<(String, Option<Spec>)> = names
        .into_iter()
        .map(|n| {
            let s = Spec::from_site(&site, &n);
            (n, s)
        })
        .collect();
    let results =
        crate::support::par::par_map(&specs, crate::support::par::cores(), |(_, spec)| {
            spec.as_ref()
                .map(|s| crate::artifacts::verify(s, &cache, crate::support::par::cores()))
        });
    let mut exit = Exit::Ok;
    for ((name, spec), result) in specs.iter().zip(results) {
        let (Some(spec), Some(result)) = (spec, result) else {
            println!("MISSING   {name:<22} the site has no [artifacts.{name}]");
            exit = Exit::NotCompliant;
            continue;
        };
        let kind = match &spec.files {
            Some(f) => format!(" ({} files)", f.len()),
            None => String::new(),
        };
        match result {
            Verified::Ok(path) => println!("ok        {name:<22} {}{kind}", path.display()),
            Verified::Missing(path) => {
                println!(
                    "MISSING   {name:<22} {} (from {})",
                    path.display(),
                    spec.url
                );
                exit = Exit::NotCompliant;
            }
            Verified::Mismatch {
                path,
                expected,
                got,
            } => {
                println!(
                    "MISMATCH  {name:<22} {}: the site expects {expected}, the file has {got}",
                    path.display()
                );
                exit = Exit::NotCompliant;
            }
            Verified::Refused(why) => {
                println!("REFUSED   {name:<22} {why}");
                exit = Exit::NotCompliant;
            }
        }
    }
    Ok(exit)
}

fn profiles(sources: &Sources, action: ProfilesAction) -> Result<Exit> {
    match action {
        ProfilesAction::List => {
            for (p, newest) in sources.listing()? {
                let m = &p.os_match;
                let tested = m
                    .versions
                    .as_ref()
                    .map_or_else(|| "every release".to_string(), |v| v.join(", "));
                let newer = if newest {
                    "; newer releases run it untested (apply needs --allow-untested-release)"
                } else {
                    ""
                };
                println!(
                    "{:<14} {} {}: made for {tested}{newer}: {}",
                    p.name,
                    m.family,
                    m.ids.join("/"),
                    p.description
                );
            }
            Ok(Exit::Ok)
        }
        ProfilesAction::Show { name } => {
            let p = sources.load(&name)?;
            let resolved = Resolved::new(
                sources,
                p.clone(),
                Site::load(
                    Path::new("/nonexistent/site.toml"),
                    false,
                    &profile::control_ids(),
                )?,
            )?;
            let doc = serde_json::json!({"digest": resolved.digest, "profile": p});
            println!("{}", serde_json::to_string_pretty(&doc)?);
            Ok(Exit::Ok)
        }
        ProfilesAction::Validate { file } => {
            let p = sources.load_file(&file)?;
            let renderer = crate::plan::render::Renderer::new(sources)?;
            let _ = renderer;
            for c in &p.controls {
                for t in c.check.iter().chain(c.apply.iter()) {
                    if sources.template(t).is_none() {
                        return Err(InputError::refused(format!(
                            "{}: control {}: template {t} not found",
                            file.display(),
                            c.id
                        )));
                    }
                }
            }
            println!(
                "{}: ok (profile {}, {} controls)",
                file.display(),
                p.name,
                p.controls.len()
            );
            Ok(Exit::Ok)
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_windows_separate_admin_name_fits_in_20_characters() {
        let fits = |u: &str, fam: &str, suf: &str| super::windows_name_fits(u, fam, suf).is_ok();
        assert!(fits("jdoe", "windows", "-admin"));
        assert!(fits("abcdefghijklmn", "windows", "-admin")); // exactly 20
        assert!(!fits("abcdefghijklmno", "windows", "-admin"));
        // Linux and macOS take longer names.
        assert!(fits("jane.longname-smith", "linux", "-admin"));
        let e = super::windows_name_fits("jane.longname-smith", "windows", "-admin")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("\"jane.longname-smith-admin\", 25 characters") && e.contains("at most 20"),
            "{e}"
        );
    }
}
