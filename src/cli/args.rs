//! The clap types of SPEC §3's command line, and nothing else: what the technician typed, before
//! [`super::invocation`] validates it.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

#[derive(Parser, Debug)]
#[command(
    name = "handover",
    version,
    about = "Bring a self-managed device to the ITP07 baseline, and prove it"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Show what handover detects about this device.
    Facts {
        /// Output format: text, or one JSON document.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Show what apply would change, without changing anything.
    Plan {
        #[command(flatten)]
        common: Common,
        /// Output format: text, or one JSON document (SPEC §3).
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
        /// Profile name (default: the one that matches this device's OS).
        #[arg(long)]
        profile: Option<String>,
        /// Site file (default: /etc/handover/site.toml).
        #[arg(long)]
        site: Option<PathBuf>,
        /// The directory the scripts are written into.
        #[arg(long)]
        out: PathBuf,
        /// Read profiles from DIR instead of the ones built in.
        #[arg(long)]
        profiles_dir: Option<PathBuf>,
        /// Read templates from DIR instead of the ones built in.
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
    /// The site file: write a commented one to fill in (`init`), validate it (`validate`), print its
    /// JSON Schema for editors (`schema`).
    Site {
        #[command(subcommand)]
        action: SiteAction,
        /// Read profiles from DIR instead of the ones built in.
        #[arg(long, global = true, value_name = "DIR")]
        profiles_dir: Option<PathBuf>,
        /// Read templates from DIR instead of the ones built in.
        #[arg(long, global = true, value_name = "DIR")]
        templates_dir: Option<PathBuf>,
    },
    /// Print a shell completion script (bash, zsh, fish or powershell) on stdout.
    Completions {
        /// The shell the script is for.
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Write a man page per command (handover.1, handover-site-init.1, …) into DIR.
    Man {
        /// The directory the pages go in (created if missing).
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
    },
    /// List, show or validate profiles.
    Profiles {
        #[command(subcommand)]
        action: ProfilesAction,
        /// Read profiles from DIR instead of the ones built in.
        #[arg(long, global = true, value_name = "DIR")]
        profiles_dir: Option<PathBuf>,
        /// Read templates from DIR instead of the ones built in.
        #[arg(long, global = true, value_name = "DIR")]
        templates_dir: Option<PathBuf>,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum CheckFormat {
    Text,
    Json,
    Junit,
    Html,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SheetFormat {
    Md,
    Html,
    Json,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MergeFormat {
    Csv,
    Html,
}

#[derive(Subcommand, Debug)]
pub(crate) enum RecordAction {
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
        /// Output format: text, or one JSON document.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// What changed between two records (paths, sequence numbers or names): statuses, OS, profile.
    Diff {
        /// The older record: a path, a sequence number or a record name.
        a: String,
        /// The newer record: a path, a sequence number or a record name.
        b: String,
        /// Output format: text, or one JSON document.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
    },
    /// Copy this device's records to `KIT/records/<device>/`, signing nothing: only the record of a
    /// run with the kit present (`check --kit`, `apply --kit`) is signed.
    Export {
        /// The technician's kit directory.
        #[arg(long)]
        kit: PathBuf,
        /// The device's directory on the kit (default: `serial-<serial>`, else `chain-<hash>`).
        #[arg(long)]
        asset: Option<String>,
    },
    /// Copy a device's records back from the kit (after a reinstall), so the chain continues; they are
    /// verified against the kit's key first.
    Import {
        /// The technician's kit directory.
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
        /// The record (default: the latest full record of this device).
        file: Option<PathBuf>,
        /// md (Markdown), html (one self-contained page) or json.
        #[arg(long, value_enum, default_value_t = SheetFormat::Md)]
        format: SheetFormat,
        /// Write to FILE instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ReportAction {
    /// One row per device (its newest full run) from JSON reports or records (files or directories).
    Merge {
        /// JSON reports or records, or directories holding them.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// csv (one row per device) or html (one page).
        #[arg(long, value_enum, default_value_t = MergeFormat::Csv)]
        format: MergeFormat,
        /// Write to FILE instead of stdout.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ScheduleAction {
    /// Install the systemd timer (Linux), scheduled task (Windows) or launchd job (macOS): `check`,
    /// then `apply --only` endpoint protection, Lansweeper and the VPN, both writing records.
    Install {
        /// Run once a day (the default).
        #[arg(long, conflicts_with = "weekly")]
        daily: bool,
        /// Run once a week.
        #[arg(long)]
        weekly: bool,
        /// Site file the scheduled runs use (default: /etc/handover/site.toml).
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
pub(crate) enum LifecycleAction {
    /// Update the table's rows of one product from an endoflife.date JSON export (API v0 or v1),
    /// keeping hand-written fields and comments; rows are never deleted.
    Import {
        /// The endoflife.date JSON export.
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
pub(crate) enum WaiversAction {
    /// Validate the site's waivers (errors exit 2 naming file, line and key) and show each one's state
    /// for this device and today: valid (days left), EXPIRED, or for other devices.
    Lint {
        /// Site file (default: /etc/handover/site.toml).
        #[arg(long)]
        site: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum KitAction {
    /// Fill DIR (new or empty) with the binary, the site, every installer, a package repository per
    /// Linux release this machine runs, a README and a MANIFEST.sha256 of it all.
    Build {
        /// The kit directory (new or empty).
        #[arg(long)]
        out: PathBuf,
        /// The profiles the kit serves (default: all); their artifacts and package repositories go in.
        #[arg(long)]
        profile: Vec<String>,
        /// Site file the kit carries (default: /etc/handover/site.toml).
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
    Verify {
        /// The kit directory.
        dir: PathBuf,
    },
    /// Make the ed25519 key pair that signs records (`KIT/keys/records.key`, sealed under a passphrase
    /// you type, and `.pub`): the record of each run with the kit present (`--kit`) is signed and copied
    /// to `KIT/records/<device>/`.
    Keygen {
        /// The kit directory.
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
        /// The kit directory.
        dir: PathBuf,
        /// Read the passphrase from the first line of FILE instead of the terminal (automation only).
        #[arg(long, value_name = "FILE")]
        key_passphrase_file: Option<PathBuf>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum ArtifactsAction {
    /// Download every https artifact into the cache: in parallel, resuming partial downloads, hashing
    /// while downloading; a file enters the cache only once its sha256 matches. Exit 1 if any failed.
    Fetch {
        /// Site file (default: /etc/handover/site.toml).
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
        /// The directory holding the installers downloaded by hand.
        #[arg(long)]
        from: PathBuf,
        /// Site file to write into (default: /etc/handover/site.toml).
        #[arg(long)]
        site: Option<PathBuf>,
        /// Write without asking.
        #[arg(long)]
        yes: bool,
    },
    /// Re-hash every artifact where it is expected (its path, or the download cache); exit 1 on any
    /// missing or mismatching one.
    Verify {
        /// Site file (default: /etc/handover/site.toml).
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
pub(crate) enum SiteAction {
    /// Write a site file for a profile's OS: every key its controls use, each commented with its meaning,
    /// default and rule, and placeholders that `site validate` flags until they are filled. Mode 600.
    Init {
        /// The profile whose controls' keys are written (default: the one that matches this device's OS).
        #[arg(long)]
        profile: Option<String>,
        /// Where to write it (default: /etc/handover/site.toml).
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
        /// Replace an existing file.
        #[arg(long)]
        force: bool,
    },
    /// Run the validation `check` and `apply` run on a site file (keys, types, waivers, artifact pins,
    /// placeholders; with --profile, the keys its controls need), and nothing else: exit 0 or 2.
    Validate {
        /// The site file (default: /etc/handover/site.toml).
        file: Option<PathBuf>,
        /// Also require every key this profile's controls need.
        #[arg(long)]
        profile: Option<String>,
    },
    /// Print the site file's JSON Schema (draft 2020-12), for editors (Taplo, Even Better TOML).
    Schema,
}

#[derive(Subcommand, Debug)]
pub(crate) enum ProfilesAction {
    /// The profiles that can be selected, and the OS each is for.
    List,
    /// A profile with its `extends` chain resolved.
    Show {
        /// The profile's name (see `profiles list`).
        name: String,
    },
    /// Check a profile file: schema, `extends`, every control covered, every template present and valid.
    Validate {
        /// The profile file (TOML).
        file: PathBuf,
    },
}

#[derive(Args, Debug, Clone)]
pub(crate) struct Common {
    /// Profile name (default: the one that matches this device's OS).
    #[arg(long)]
    pub(crate) profile: Option<String>,
    /// Site file (default: /etc/handover/site.toml).
    #[arg(long)]
    pub(crate) site: Option<PathBuf>,
    /// Only these controls (a partial run).
    #[arg(long = "only", value_name = "ID")]
    pub(crate) only: Vec<String>,
    /// Read profiles from DIR instead of the ones built in.
    #[arg(long, value_name = "DIR")]
    pub(crate) profiles_dir: Option<PathBuf>,
    /// Read templates from DIR instead of the ones built in.
    #[arg(long, value_name = "DIR")]
    pub(crate) templates_dir: Option<PathBuf>,
    /// The device's named user (remembered from handover when not given).
    #[arg(long)]
    pub(crate) user: Option<String>,
    /// Work from an offline kit (`handover kit build`): verify it first, then take the site, the
    /// installers and the Linux packages from it, with no network.
    #[arg(long, value_name = "DIR")]
    pub(crate) kit: Option<PathBuf>,
    /// With --kit: read the passphrase of the kit's records key from the first line of FILE instead of
    /// asking on the terminal (automation only: a passphrase kept beside the kit protects nothing).
    #[arg(long, value_name = "FILE", requires = "kit")]
    pub(crate) key_passphrase_file: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct ApplyArgs {
    #[command(flatten)]
    pub(crate) common: Common,
    /// Do not ask for confirmation (needed when not on a terminal).
    #[arg(long)]
    pub(crate) yes: bool,
    /// Why the device is being handed over (recorded).
    #[arg(long, value_enum)]
    pub(crate) reason: Option<Reason>,
    /// The device's asset tag (remembered from handover when not given).
    #[arg(long, value_name = "TAG")]
    pub(crate) asset: Option<String>,
    /// The ticket this work is done under (remembered from handover when not given).
    #[arg(long, value_name = "ID")]
    pub(crate) ticket: Option<String>,
    /// Who does the handover (recorded; needed with --attest).
    #[arg(long, value_name = "NAME")]
    pub(crate) technician: Option<String>,
    /// File holding the separate admin account's password (root-owned, mode 600).
    #[arg(long)]
    pub(crate) admin_password_file: Option<PathBuf>,
    /// Switch on inbound default deny even when it would cut the remote session handover runs over.
    #[arg(long)]
    pub(crate) force_remote: bool,
    /// Apply the newest profile of this device's distribution although the release is newer than
    /// every profile (Debian 14 with debian-13): its scripts were not tested there.
    #[arg(long)]
    pub(crate) allow_untested_release: bool,
    /// Continue the apply that was interrupted (killed, or stopped for a restart), with its options.
    #[arg(long)]
    pub(crate) resume: bool,
    /// When the apply ends needing a restart, keep its journal and register a one-shot
    /// `apply --resume` at the next boot (a systemd unit, or a startup task on Windows).
    #[arg(long)]
    pub(crate) resume_after_reboot: bool,
    /// Confirm a control handover cannot read (it is then `pass` with who and when, for 365 days or
    /// until the OS is reinstalled); needs --technician. On a terminal apply asks instead.
    #[arg(long = "attest", value_name = "ID")]
    pub(crate) attest: Vec<String>,
    /// Output format: text, or one JSON document (SPEC §3).
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub(crate) format: Format,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    Text,
    Json,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
pub(crate) enum Reason {
    Handover,
    Reinstall,
    OsUpgrade,
    Drift,
}

impl Reason {
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Reason::Handover => "handover",
            Reason::Reinstall => "reinstall",
            Reason::OsUpgrade => "os-upgrade",
            Reason::Drift => "drift",
        }
    }
}
