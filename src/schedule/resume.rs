//! The one-shot resume of `apply --resume-after-reboot` (issue 5): registered by an apply a restart
//! interrupts, started at the next boot only while its journal exists, removed by the apply that finishes it.

use std::path::Path;

use anyhow::{Context, Result};

use super::{require_admin, this_os};

/// Register the one-shot resume at the next boot. Returns what was done.
pub fn register_resume(state_dir: &Path) -> Result<String> {
    require_admin("register a resume")?;
    let exe = std::env::current_exe().context("finding this binary")?;
    crate::support::perms::require_trusted(&exe, "handover binary")?;
    this_os().register_resume(&exe, state_dir)
}

/// Remove the one-shot resume (the journal it was for is finished). Fine when there is none.
pub fn unregister_resume(state_dir: &Path) -> Result<()> {
    this_os().unregister_resume(state_dir)
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)] // tests run the rendered scripts
mod tests {
    use std::path::Path;

    use super::super::{render_resume_plist, render_resume_service, schtasks_resume_args};

    #[test]
    fn the_macos_resume_job_runs_once_at_boot_while_the_journal_exists() {
        let p = render_resume_plist(
            Path::new("/opt/hand over/handover"),
            Path::new("/Library/Application Support/handover/journal.json"),
        )
        .unwrap();
        roxmltree::Document::parse_with_options(
            &p,
            roxmltree::ParsingOptions {
                allow_dtd: true,
                ..Default::default()
            },
        )
        .unwrap();
        for want in [
            "<key>RunAtLoad</key>\n\t<true/>",
            "<key>LaunchOnlyOnce</key>\n\t<true/>",
            "<string>uk.ac.handover.resume</string>",
            "<string>/opt/hand over/handover</string>",
            "<string>/Library/Application Support/handover/journal.json</string>",
        ] {
            assert!(p.contains(want), "{want}\n{p}");
        }
        // The script: nothing without the journal, else the resumed apply with the binary as given.
        let script = "[ -f \"$2\" ] || exit 0; exec \"$1\" apply --resume --yes";
        assert!(p.contains(&crate::plan::render::xml_escape(script)));
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("hand over");
        std::fs::write(&fake, "#!/bin/sh\necho \"ran $*\"\n").unwrap();
        std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let journal = dir.path().join("journal.json");
        let run = || {
            let out = std::process::Command::new("/bin/sh")
                .args(["-c", script, "handover-resume"])
                .arg(&fake)
                .arg(&journal)
                .output()
                .unwrap();
            String::from_utf8_lossy(&out.stdout).into_owned()
        };
        assert_eq!(run(), "");
        std::fs::write(&journal, "{}").unwrap();
        assert_eq!(run(), "ran apply --resume --yes\n");
        // A control character cannot go into a property list.
        assert!(render_resume_plist(Path::new("/a\nb"), Path::new("/j")).is_err());
    }

    #[test]
    fn the_resume_unit_runs_once_while_the_journal_exists() {
        let unit = render_resume_service(
            Path::new("/usr/local/sbin/handover"),
            Path::new("/var/lib/handover/journal.json"),
        )
        .unwrap();
        assert!(unit.contains("ConditionPathExists=/var/lib/handover/journal.json\n"));
        assert!(unit.contains("ExecStart=/usr/local/sbin/handover apply --resume --yes\n"));
        assert!(unit.contains("WantedBy=multi-user.target"));
        assert!(unit.contains("Environment=HANDOVER_RESUME_UNIT=1\n"));
        let spaced = render_resume_service(
            Path::new("/opt/handover e2e/handover"),
            Path::new("/var/lib/handover/journal.json"),
        )
        .unwrap();
        assert!(
            spaced.contains("ExecStart=\"/opt/handover e2e/handover\" apply"),
            "{spaced}"
        );
    }

    #[test]
    fn the_windows_resume_task_starts_at_boot_as_system() {
        let a = schtasks_resume_args(r"C:\ProgramData\handover\resume.cmd").unwrap();
        assert_eq!(
            a.join(" "),
            r#"/Create /F /RU SYSTEM /RL HIGHEST /SC ONSTART /TN handover\resume /TR "C:\ProgramData\handover\resume.cmd""#
        );
        assert!(schtasks_resume_args(r"C:\a&b\resume.cmd").is_err());
    }
}
