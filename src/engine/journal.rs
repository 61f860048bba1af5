//! One apply at a time, and where an apply got to (issue 5).
//!
//! - [`RunLock`]: `STATE/run.lock`, held (an OS file lock, released by the kernel when the process dies,
//!   even by SIGKILL) for the whole of a `check` or `apply`, so a second run refuses instead of
//!   interleaving its changes and records with the first.
//! - [`Journal`]: `STATE/journal.json`, written atomically (temp file, fsync, rename) before the first
//!   change and after each control, removed when the apply finishes. It is the pre-flight write too: a
//!   read-only or full state directory fails here, before anything on the device changes. It keeps the
//!   run's options, so `apply --resume` continues an apply that was killed or stopped for a restart.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};

use crate::evidence::report::Status;
use crate::support::error::InputError;
use crate::support::perms;

pub const LOCK: &str = "run.lock";
pub const JOURNAL: &str = "journal.json";

/// The lock of one run; dropping it (or the process dying) releases it.
#[derive(Debug)]
pub struct RunLock {
    _file: std::fs::File,
}

impl RunLock {
    /// Take the lock or refuse (exit 2) naming the run that holds it.
    pub fn acquire(state_dir: &Path, what: &str) -> Result<RunLock> {
        perms::ensure_private_dir(state_dir).with_context(|| {
            format!(
                "the state directory {} is not usable; nothing was changed",
                state_dir.display()
            )
        })?;
        let path = state_dir.join(LOCK);
        let mut options = std::fs::OpenOptions::new();
        options.create(true).truncate(false).read(true).write(true);
        // Never through a symbolic link, and never blocking on a FIFO planted there (F13): the lock
        // is truncated below, which would empty whatever a link pointed at.
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
        }
        #[cfg(windows)]
        {
            use std::os::windows::fs::OpenOptionsExt;
            // FILE_FLAG_OPEN_REPARSE_POINT: a link is opened as itself, then refused below.
            options.custom_flags(0x0020_0000);
        }
        let mut file = options.open(&path).map_err(|e| {
            #[cfg(unix)]
            let link = e.raw_os_error() == Some(libc::ELOOP);
            #[cfg(not(unix))]
            let link = false;
            if link {
                InputError::refused(format!(
                    "refusing {}: it is a symbolic link; remove it and run again",
                    path.display()
                ))
            } else {
                anyhow::Error::new(e).context(format!(
                    "cannot open {} (is the state directory read-only?); nothing was changed",
                    path.display()
                ))
            }
        })?;
        let md = file
            .metadata()
            .with_context(|| format!("reading {}", path.display()))?;
        if !md.is_file() || md.file_type().is_symlink() {
            return Err(InputError::refused(format!(
                "refusing {}: not a regular file; remove it and run again",
                path.display()
            )));
        }
        match file.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                let mut holder = String::new();
                let _ = std::io::Read::read_to_string(&mut file, &mut holder);
                return Err(InputError::refused(format!(
                    "another handover run holds {} ({}); refusing to {what} at the same time",
                    path.display(),
                    holder.trim()
                )));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(e).with_context(|| format!("locking {}", path.display()))
            }
        }
        file.set_len(0)?;
        let _ = writeln!(
            file,
            "pid {} ({what}) since {}",
            std::process::id(),
            crate::support::clock::now()
                .map(crate::support::clock::rfc3339)
                .unwrap_or_default()
        );
        Ok(RunLock { _file: file })
    }
}

/// Where an apply is: its options, and each control's progress.
/// Where an unfinished apply stands, as `journal.json` says it (kebab-case on disk).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum RunState {
    /// Changes are being made.
    #[default]
    Running,
    /// An installer is restarting the device (Windows exit code 1641).
    Restarting,
    /// Every change is made; the device must reboot to finish.
    AwaitingReboot,
}

/// Where one control of an unfinished apply stands in `journal.json`: not yet reached (`pending`), or
/// the status its turn left (`fixed`, `fail`, `error`, ..., the report's status strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum Phase {
    Pending,
    Done(Status),
}

impl From<Phase> for String {
    fn from(p: Phase) -> String {
        match p {
            Phase::Pending => "pending".into(),
            Phase::Done(s) => s.as_str().into(),
        }
    }
}

impl TryFrom<String> for Phase {
    type Error = String;

    fn try_from(s: String) -> Result<Phase, String> {
        if s == "pending" {
            return Ok(Phase::Pending);
        }
        let text = serde::de::value::StrDeserializer::<serde::de::value::Error>::new(&s);
        Status::deserialize(text)
            .map(Phase::Done)
            .map_err(|_| format!("{s:?} is neither `pending` nor a control's status"))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Journal {
    /// When the run started (RFC 3339).
    pub started_at: String,
    pub profile: String,
    pub site: Option<PathBuf>,
    pub kit: Option<PathBuf>,
    pub only: Vec<String>,
    pub user: Option<String>,
    pub asset: Option<String>,
    pub ticket: Option<String>,
    pub technician: Option<String>,
    pub reason: Option<String>,
    /// `running`, or `restarting` when an installer restarts the device (Windows 1641).
    pub state: RunState,
    /// Control id → `pending`, or its status once its turn came (`fixed`, `fail`, `error`, ...).
    pub controls: BTreeMap<String, Phase>,
    /// Whether a one-shot resume at the next boot was registered (`--resume-after-reboot`).
    pub resume_registered: bool,
}

impl Journal {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(JOURNAL)
    }

    /// The journal of an unfinished apply, if any. A journal that cannot be parsed is an error naming
    /// it (it is never silently ignored: it says an apply did not finish).
    pub fn load(state_dir: &Path) -> Result<Option<Journal>> {
        let p = Journal::path(state_dir);
        match std::fs::read(&p) {
            Ok(b) => serde_json::from_slice(&b)
                .map(Some)
                .with_context(|| format!("{}: not a handover journal", p.display())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
        }
    }

    /// Write atomically; the first write of a run is its pre-flight check of the state directory.
    pub fn save(&self, state_dir: &Path) -> Result<()> {
        crate::support::fsutil::write_private(
            &Journal::path(state_dir),
            &serde_json::to_vec_pretty(self)?,
        )
        .with_context(|| {
            format!(
                "cannot write the journal in {} (read-only or full?)",
                state_dir.display()
            )
        })
    }

    /// Record one control's outcome (load, change, save: the journal is small).
    pub fn mark(state_dir: &Path, id: &str, status: Status) -> Result<()> {
        let mut j = Journal::load(state_dir)?.unwrap_or_default();
        j.controls.insert(id.to_string(), Phase::Done(status));
        j.save(state_dir)
    }

    pub fn set_state(state_dir: &Path, state: RunState) -> Result<()> {
        let mut j = Journal::load(state_dir)?.unwrap_or_default();
        j.state = state;
        j.save(state_dir)
    }

    pub fn remove(state_dir: &Path) -> Result<()> {
        match std::fs::remove_file(Journal::path(state_dir)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// "3 of 7 controls done".
    pub fn progress(&self) -> String {
        let done = self
            .controls
            .values()
            .filter(|p| **p != Phase::Pending)
            .count();
        format!("{done} of {} controls done", self.controls.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_state_is_written_as_before_it_was_typed() {
        for (state, text) in [
            (RunState::Running, "\"running\""),
            (RunState::Restarting, "\"restarting\""),
            (RunState::AwaitingReboot, "\"awaiting-reboot\""),
        ] {
            assert_eq!(serde_json::to_string(&state).unwrap(), text);
            assert_eq!(serde_json::from_str::<RunState>(text).unwrap(), state);
        }
    }

    /// A journal as the code before [`Phase`] wrote it (serde_json's pretty form): read typed, and
    /// written back byte for byte, so an apply interrupted across an upgrade still resumes.
    const OLD_JOURNAL: &str = r#"{
  "started_at": "2026-11-25T10:00:00Z",
  "profile": "debian-12",
  "site": "/etc/handover/site.toml",
  "kit": null,
  "only": [],
  "user": "jdoe",
  "asset": "A123",
  "ticket": null,
  "technician": "T. Nician",
  "reason": "handover",
  "state": "awaiting-reboot",
  "controls": {
    "accounts.guest": "fixed",
    "accounts.separate-admin": "pass",
    "apps.lansweeper": "error",
    "apps.teams": "not-applicable",
    "disk.encryption": "manual",
    "firewall.enabled": "fail",
    "firewall.inbound": "waived",
    "updates.pending": "pending"
  },
  "resume_registered": true
}"#;

    #[test]
    fn a_journal_written_before_phases_were_typed_reads_and_writes_the_same() {
        let j: Journal = serde_json::from_str(OLD_JOURNAL).unwrap();
        assert_eq!(j.state, RunState::AwaitingReboot);
        for (id, phase) in [
            ("accounts.guest", Phase::Done(Status::Fixed)),
            ("accounts.separate-admin", Phase::Done(Status::Pass)),
            ("apps.lansweeper", Phase::Done(Status::Error)),
            ("apps.teams", Phase::Done(Status::NotApplicable)),
            ("disk.encryption", Phase::Done(Status::Manual)),
            ("firewall.enabled", Phase::Done(Status::Fail)),
            ("firewall.inbound", Phase::Done(Status::Waived)),
            ("updates.pending", Phase::Pending),
        ] {
            assert_eq!(j.controls[id], phase, "{id}");
        }
        assert_eq!(j.progress(), "7 of 8 controls done");
        assert_eq!(serde_json::to_string_pretty(&j).unwrap(), OLD_JOURNAL);
        // A value no handover wrote is an error naming it, not a silently pending control.
        let bad = OLD_JOURNAL.replace("\"fail\"", "\"failed\"");
        let e = serde_json::from_str::<Journal>(&bad)
            .unwrap_err()
            .to_string();
        assert!(e.contains("\"failed\" is neither `pending` nor"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn f13_a_run_lock_symlink_is_not_followed_nor_truncated() {
        let dir = tempfile::tempdir().unwrap();
        let victim = dir.path().join("victim.conf");
        std::fs::write(&victim, "keep me\n").unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        std::os::unix::fs::symlink(&victim, state.join(LOCK)).unwrap();
        let e = RunLock::acquire(&state, "check").unwrap_err().to_string();
        assert!(e.contains("symbolic link"), "{e}");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "keep me\n");
        // A FIFO there neither blocks nor is used.
        std::fs::remove_file(state.join(LOCK)).unwrap();
        let fifo = std::ffi::CString::new(state.join(LOCK).to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let e = RunLock::acquire(&state, "check").unwrap_err().to_string();
        assert!(e.contains("not a regular file"), "{e}");
    }

    #[cfg(unix)]
    #[test]
    fn f13_a_state_directory_owned_by_another_user_is_refused() {
        if !crate::support::perms::is_root() {
            eprintln!("skipped: needs root to give the directory away");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("state");
        std::fs::create_dir(&state).unwrap();
        std::os::unix::fs::chown(&state, Some(65534), Some(65534)).unwrap();
        let e = format!("{:#}", RunLock::acquire(&state, "check").unwrap_err());
        assert!(e.contains("owned by uid 65534"), "{e}");
        assert!(!state.join(LOCK).exists());
        // Its records are not written there either.
        let e = format!(
            "{:#}",
            crate::evidence::record::State::default()
                .save(&state)
                .unwrap_err()
        );
        assert!(e.contains("owned by uid 65534"), "{e}");
    }

    #[test]
    fn a_second_run_is_refused_while_the_first_holds_the_lock() {
        let dir = tempfile::tempdir().unwrap();
        let first = RunLock::acquire(dir.path(), "apply").unwrap();
        let e = RunLock::acquire(dir.path(), "apply")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("another handover run holds")
                && e.contains(&format!("pid {}", std::process::id())),
            "{e}"
        );
        drop(first);
        RunLock::acquire(dir.path(), "apply").unwrap();
    }

    #[test]
    fn the_journal_round_trips_and_marks_progress() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(Journal::load(dir.path()).unwrap(), None);
        let j = Journal {
            started_at: "2026-11-25T10:00:00Z".into(),
            profile: "debian-12".into(),
            only: vec!["apps.lansweeper".into()],
            state: RunState::Running,
            controls: [
                ("apps.lansweeper".to_string(), Phase::Pending),
                ("firewall.enabled".to_string(), Phase::Pending),
            ]
            .into(),
            ..Journal::default()
        };
        j.save(dir.path()).unwrap();
        Journal::mark(dir.path(), "firewall.enabled", Status::Fixed).unwrap();
        let back = Journal::load(dir.path()).unwrap().unwrap();
        assert_eq!(
            back.controls["firewall.enabled"],
            Phase::Done(Status::Fixed)
        );
        assert_eq!(back.progress(), "1 of 2 controls done");
        Journal::remove(dir.path()).unwrap();
        Journal::remove(dir.path()).unwrap();
        assert_eq!(Journal::load(dir.path()).unwrap(), None);
        std::fs::write(Journal::path(dir.path()), "{half").unwrap();
        assert!(Journal::load(dir.path())
            .unwrap_err()
            .to_string()
            .contains("not a handover journal"));
    }
}
