//! Where profiles and templates come from: the copies embedded in the binary, or the directories given
//! with `--profiles-dir` and `--templates-dir`.

use std::path::{Path, PathBuf};

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/embedded.rs"));
}

/// Where profiles and templates come from: the embedded copies, or override directories.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    pub profiles_dir: Option<PathBuf>,
    pub templates_dir: Option<PathBuf>,
}

impl Sources {
    fn read(
        dir: &Option<PathBuf>,
        embedded: &'static [(&'static str, &'static str)],
        name: &str,
    ) -> Option<(String, String)> {
        match dir {
            Some(d) => {
                // The tree was checked file by file when the directory was accepted
                // (perms::require_trusted_tree); a link that appeared since is not followed (F6).
                let p = d.join(name);
                let mut options = std::fs::OpenOptions::new();
                options.read(true);
                #[cfg(unix)]
                {
                    use std::os::unix::fs::OpenOptionsExt;
                    options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
                }
                let mut f = options.open(&p).ok()?;
                if !f.metadata().ok()?.is_file() {
                    return None;
                }
                let mut text = String::new();
                std::io::Read::read_to_string(&mut f, &mut text).ok()?;
                Some((p.display().to_string(), text))
            }
            None => embedded
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(n, s)| (format!("<embedded>/{n}"), s.to_string())),
        }
    }

    fn list(
        dir: &Option<PathBuf>,
        embedded: &'static [(&'static str, &'static str)],
    ) -> Vec<String> {
        match dir {
            Some(d) => {
                let mut out = Vec::new();
                walk(d, d, &mut out);
                out.sort();
                out
            }
            None => embedded.iter().map(|(n, _)| n.to_string()).collect(),
        }
    }

    /// Text of `profiles/NAME`, with the path to show in errors.
    pub fn profile_file(&self, name: &str) -> Option<(String, String)> {
        Self::read(&self.profiles_dir, embedded::PROFILES, name)
    }

    /// Text of `templates/NAME`.
    pub fn template(&self, name: &str) -> Option<String> {
        Self::read(&self.templates_dir, embedded::TEMPLATES, name).map(|(_, s)| s)
    }

    /// All template names (relative paths with `/`).
    pub fn template_names(&self) -> Vec<String> {
        Self::list(&self.templates_dir, embedded::TEMPLATES)
    }

    /// Every file under `profiles/` (relative paths with `/`).
    pub(crate) fn profile_files(&self) -> Vec<String> {
        Self::list(&self.profiles_dir, embedded::PROFILES)
    }
}

fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(root, &p, out);
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}
