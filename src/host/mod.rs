//! Running scripts on a device. [`Host`] is the seam: [`LocalHost`] runs them here; an SSH host could run
//! them elsewhere. Every run has a timeout that kills the script's whole process group, and a failure
//! carries the command, exit status, stdout and stderr (a [`ProcessError`]), which is what an operator
//! needs when an installer fails.

pub mod facts;
#[cfg(unix)]
mod local_unix;
#[cfg(windows)]
mod local_windows;
pub mod process;
pub mod reboot;
pub mod smbios;

use std::path::{Path, PathBuf};

use anyhow::Result;

pub use process::{base_env, program, tail, Outcome, ProcessError, Script, Shell};

/// The device seam: everything handover does to or asks of the device goes through a `Host`, so a
/// host that reaches another device (SSH, WinRM) acts on that device and not on this one.
pub trait Host: Sync {
    /// Run a control's script.
    fn run(&self, script: &Script) -> Result<Outcome>;
    /// What the device is: OS family, release, model and serial.
    fn facts(&self) -> facts::Device;
    /// A reboot the device says is pending, and why.
    fn reboot_pending(&self) -> Option<String>;
    /// Copy an installer onto the device into a new private directory under `work_dir`, and verify the
    /// copy against the site's sha256 (SPEC §6).
    fn stage_artifact(
        &self,
        spec: &crate::artifacts::Spec,
        cache: &Path,
        work_dir: &Path,
    ) -> Result<crate::artifacts::Staged>;
    /// Write rendered files into a new private directory under `work_dir` on the device; the directory
    /// is removed when the returned value is dropped. Returns each file's path, in order.
    fn write_files(
        &self,
        work_dir: &Path,
        files: &[(String, String)],
    ) -> Result<(tempfile::TempDir, Vec<PathBuf>)>;
    /// Show `text` (a generated password) to the person at the console only: never stdout, a log or
    /// a record. An error when there is no console.
    fn show_on_console(&self, text: &str) -> Result<()>;
}

/// This machine.
#[derive(Debug, Default)]
pub struct LocalHost;

impl Host for LocalHost {
    /// On Unix `local_unix::run`, on Windows `local_windows::run`.
    fn run(&self, script: &Script) -> Result<Outcome> {
        #[cfg(unix)]
        return local_unix::run(script);
        #[cfg(windows)]
        return local_windows::run(script);
        #[cfg(not(any(unix, windows)))]
        anyhow::bail!("{}: no script runner for this OS", script.name)
    }

    fn facts(&self) -> facts::Device {
        facts::detect()
    }

    fn reboot_pending(&self) -> Option<String> {
        reboot::pending()
    }

    fn stage_artifact(
        &self,
        spec: &crate::artifacts::Spec,
        cache: &Path,
        work_dir: &Path,
    ) -> Result<crate::artifacts::Staged> {
        crate::artifacts::stage(spec, cache, work_dir)
    }

    fn write_files(
        &self,
        work_dir: &Path,
        files: &[(String, String)],
    ) -> Result<(tempfile::TempDir, Vec<PathBuf>)> {
        write_private_files(work_dir, files)
    }

    fn show_on_console(&self, text: &str) -> Result<()> {
        use std::io::Write;
        let mut tty = crate::support::secrets::open_console()?;
        tty.write_all(text.as_bytes())?;
        Ok(())
    }
}

/// Rendered files in a new private directory under `work_dir`, each under its base name, mode 0600.
pub fn write_private_files(
    work_dir: &Path,
    files: &[(String, String)],
) -> Result<(tempfile::TempDir, Vec<PathBuf>)> {
    crate::support::perms::ensure_private_dir(work_dir)?;
    let dir = tempfile::Builder::new()
        .prefix("files-")
        .tempdir_in(work_dir)?;
    crate::support::perms::ensure_private_dir(dir.path())?;
    let mut paths = Vec::new();
    for (name, text) in files {
        let base = name.rsplit('/').next().unwrap_or(name);
        let path = dir.path().join(base);
        crate::support::fsutil::write_private(&path, text.as_bytes())?;
        paths.push(path);
    }
    Ok((dir, paths))
}
