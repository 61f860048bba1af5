//! `cargo xtask dist [--wine] [--no-build]`: the packages a technician installs on a device (issue 17,
//! items 5 and 6), in `target/dist/`:
//!
//! * `handover_<version>_amd64.deb`, built by a small builder (a staged tree and `dpkg-deb
//!   --root-owner-group --build`; no cargo-deb): the stripped release binary as /usr/bin/handover, the
//!   man pages (`handover man`, gzip -9n), the bash, zsh and fish completions, a commented site file
//!   (`handover site init` for Debian 12) and its JSON Schema and the systemd units `schedule install`
//!   writes (rendered by the crate's own code) as examples, left disabled, under
//!   /usr/share/doc/handover/examples/; the copyright and changelog; Depends from dpkg-shlibdeps. The
//!   postinst makes /etc/handover 0700 (a 0700 directory shipped in the package is a lintian warning,
//!   non-standard-dir-perm); the postrm removes it on purge only when it is empty;
//! * `handover-<version>-x64.msi`, built with `wixl` (Debian: msitools) from
//!   `contrib/packaging/handover.wxs`: handover.exe, its PowerShell completion script and the man pages
//!   (man\man1, roff, one per command, as the .deb's; listed into the .wxs at build time) under Program
//!   Files\handover, and %ProgramData%\handover with an ACL of SYSTEM and Administrators only (icacls in
//!   a deferred custom action, as `ensure_private_dir` does it);
//! * `handover.exe` (x86_64-pc-windows-gnu), `handover.ps1` (its PowerShell completions) and `man1/`.
//!
//! Checks it runs, each failing the command: `dpkg-deb -c` and `-I` against the expected contents,
//! `lintian` with no error (warnings printed), `msiinfo export` of the File, Component, CreateFolder,
//! CustomAction and InstallExecuteSequence tables against the expected rows. With `--wine`, the .msi is
//! also installed with `msiexec /i … /qn` in a throwaway Wine prefix and the installed handover.exe run
//! (`--version`); where Wine itself cannot run here, that part prints SKIPPED and why.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{bail, ensure, Context, Result};

use crate::e2e::Phases;
use crate::windows::{self, Wine, TARGET, WINE64};

const USAGE: &str = "\
usage: cargo xtask dist [options]

Builds target/dist/: handover_<version>_amd64.deb (checked with dpkg-deb and lintian),
handover-<version>-x64.msi (wixl; checked with msiinfo), handover.exe and handover.ps1.
Needs dpkg-dev, lintian, binutils, msitools and wixl, gcc-mingw-w64-x86-64 and the rustup target
x86_64-pc-windows-gnu.

options:
  --wine       also install the .msi under Wine (throwaway prefix) and run the installed
               handover.exe --version (SKIPPED, not failed, where Wine cannot run here)
  --no-build   use the existing target/{x86_64-pc-windows-gnu/,}release binaries
";

/// The Debian architecture of the .deb (the release binary's).
const DEB_ARCH: &str = "amd64";
/// Who the .deb names as its maintainer; `HANDOVER_DEB_MAINTAINER` replaces it.
const MAINTAINER: &str = "handover maintainers <handover@packages.invalid>";
/// The profile whose `site init` output is shipped as the example site file.
const EXAMPLE_PROFILE: &str = "debian-12";
const DOC: &str = "usr/share/doc/handover";
const EXAMPLES: &str = "usr/share/doc/handover/examples";

/// Paths every .deb holds (`dpkg-deb -c` here, `dpkg -L` in the e2e), besides one man page per
/// command. Absolute, as `dpkg -L` prints them.
pub const DEB_PATHS: &[&str] = &[
    "/usr/bin/handover",
    "/usr/share/man/man1/handover.1.gz",
    "/usr/share/man/man1/handover-site-init.1.gz",
    "/usr/share/man/man1/handover-schedule-install.1.gz",
    "/usr/share/bash-completion/completions/handover",
    "/usr/share/zsh/vendor-completions/_handover",
    "/usr/share/fish/vendor_completions.d/handover.fish",
    "/usr/share/doc/handover/copyright",
    "/usr/share/lintian/overrides/handover",
    "/usr/share/doc/handover/changelog.gz",
    "/usr/share/doc/handover/examples/site.toml.example",
    "/usr/share/doc/handover/examples/site.schema.json",
    "/usr/share/doc/handover/examples/systemd/README",
    "/usr/share/doc/handover/examples/systemd/handover-check.service",
    "/usr/share/doc/handover/examples/systemd/handover-check.timer",
];

struct Args {
    wine: bool,
    build: bool,
}

fn parse(args: &[String]) -> Result<Option<Args>> {
    let mut parsed = Args {
        wine: false,
        build: true,
    };
    for a in args {
        match a.as_str() {
            "-h" | "--help" => {
                print!("{USAGE}");
                return Ok(None);
            }
            "--wine" => parsed.wine = true,
            "--no-build" => parsed.build = false,
            other => bail!("cargo xtask dist: unknown argument {other:?}\n\n{USAGE}"),
        }
    }
    Ok(Some(parsed))
}

pub fn main(args: &[String]) -> Result<()> {
    let Some(args) = parse(args)? else {
        return Ok(());
    };
    let mut phases = Phases::default();
    let result = run(&args, &mut phases);
    eprint!("{}", phases.report());
    result
}

fn run(args: &Args, phases: &mut Phases) -> Result<()> {
    let root = crate::workspace_root();
    let target = crate::target_dir();
    let version = package_version(
        &fs::read_to_string(root.join("Cargo.toml")).context("reading Cargo.toml")?,
    )?;
    phases.time("tools", preflight)?;
    if args.build {
        phases.time("cargo build --release", || {
            windows::cargo_build(&root, None)
        })?;
        phases.time("cargo build --release (windows)", || {
            windows::cargo_build(&root, Some(TARGET))
        })?;
    }
    let linux_bin = target.join("release/handover");
    let exe = target.join(TARGET).join("release/handover.exe");
    for bin in [&linux_bin, &exe] {
        ensure!(
            bin.is_file(),
            "{} does not exist (run without --no-build to build it)",
            bin.display()
        );
    }
    // Fresh directories: nothing left from an earlier run can end up in a package or pass a check.
    let dist = target.join("dist");
    let work = target.join("dist-work");
    for dir in [&dist, &work] {
        if dir.exists() {
            fs::remove_dir_all(dir).with_context(|| format!("removing {}", dir.display()))?;
        }
        fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }

    let deb = phases.time("deb: stage and build", || {
        build_deb(&root, &linux_bin, &version, &work, &dist)
    })?;
    phases.time("deb: dpkg-deb -c and -I", || inspect_deb(&deb, &version))?;
    let warnings = phases.time("deb: lintian", || lintian(&deb))?;

    fs::copy(&exe, dist.join("handover.exe")).context("copying handover.exe")?;
    let ps1 = dist.join("handover.ps1");
    fs::write(&ps1, output(&linux_bin, &["completions", "powershell"])?)?;
    // The man pages as the .deb has them, but not gzipped (Windows has no man; any roff reader, Git for
    // Windows' or WSL's man, reads them): in dist/man1, where wixl finds them by relative path.
    let man1 = dist.join(MSI_MAN_DIR);
    output(&linux_bin, &["man", "--out", &utf8(&man1)?])?;
    let mut pages: Vec<String> = fs::read_dir(&man1)?
        .map(|e| Ok(e?.file_name().to_string_lossy().into_owned()))
        .collect::<Result<_>>()?;
    pages.sort();
    let msi = dist.join(format!("handover-{version}-x64.msi"));
    phases.time("msi: wixl", || {
        build_msi(&root, &version, &dist, &pages, &work, &msi)
    })?;
    phases.time("msi: msiinfo", || inspect_msi(&msi))?;
    if args.wine {
        phases.time("msi: install under Wine", || {
            wine_install(&root, &msi, &version, &work)
        })?;
    }
    println!("{}", summary(&dist, &warnings)?);
    Ok(())
}

/// The tools the build and its checks need, all named at once when missing.
fn preflight() -> Result<()> {
    let missing: Vec<String> = [
        ("dpkg-deb", "dpkg"),
        ("dpkg-shlibdeps", "dpkg-dev"),
        ("lintian", "lintian"),
        ("strip", "binutils"),
        ("gzip", "gzip"),
        ("md5sum", "coreutils"),
        ("wixl", "wixl"),
        ("msiinfo", "msitools"),
    ]
    .iter()
    .filter(|(tool, _)| !on_path(tool))
    .map(|(tool, package)| format!("{tool} (Debian package {package})"))
    .collect();
    ensure!(
        missing.is_empty(),
        "missing tools: {} (apt-get install lintian binutils wixl msitools dpkg-dev)",
        missing.join(", ")
    );
    Ok(())
}

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()))
}

/// `version` of `[package]` in a Cargo.toml.
pub fn package_version(cargo_toml: &str) -> Result<String> {
    let mut in_package = false;
    for line in cargo_toml.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package {
            if let Some(v) = line
                .strip_prefix("version")
                .map(str::trim_start)
                .and_then(|r| r.strip_prefix('='))
            {
                let v = v.trim().trim_matches('"');
                ensure!(
                    !v.is_empty()
                        && v.chars()
                            .all(|c| c.is_ascii_alphanumeric() || ".+-~".contains(c)),
                    "Cargo.toml: version {v:?} cannot name a package"
                );
                return Ok(v.to_string());
            }
        }
    }
    bail!("Cargo.toml has no version in [package]")
}

/// The Debian version of a Cargo version: a pre-release sorts before its release (`1.0.0-rc.1` →
/// `1.0.0~rc.1`). No Debian revision: the package is native (built from this repository).
pub fn deb_version(version: &str) -> String {
    version.replacen('-', "~", 1)
}

/// The .msi's ProductVersion: Windows Installer takes only `major.minor.build` numbers (each at most
/// 255, 255, 65535), so a pre-release or build suffix is dropped.
pub fn msi_version(version: &str) -> Result<String> {
    let core = version.split(['-', '+']).next().unwrap_or_default();
    let parts: Vec<u32> = core
        .split('.')
        .map(|p| p.parse::<u32>())
        .collect::<Result<_, _>>()
        .with_context(|| format!("version {version:?}: not numbers"))?;
    ensure!(
        parts.len() == 3 && parts[0] <= 255 && parts[1] <= 255 && parts[2] <= 65535,
        "version {version:?} does not fit an MSI ProductVersion (major.minor.build, at most 255.255.65535)"
    );
    Ok(core.to_string())
}

/// DEBIAN/control of the .deb.
pub fn control(version: &str, depends: &str, installed_kib: u64, maintainer: &str) -> String {
    format!(
        "Package: handover\n\
         Version: {}\n\
         Architecture: {DEB_ARCH}\n\
         Maintainer: {maintainer}\n\
         Installed-Size: {installed_kib}\n\
         Depends: {depends}\n\
         Section: admin\n\
         Priority: optional\n\
         Description: applies and checks a university security baseline, with evidence\n \
         handover brings a self-managed device to the ITP07 security baseline: it\n \
         checks each control, makes the changes that are needed (apply), checks\n \
         again, and leaves a report and a signed record.\n \
         .\n \
         Start with `handover site init`, fill in the site file, check it with\n \
         `handover site validate`, then run `handover plan`. The systemd units of\n \
         the recurring check are shipped as examples only: `handover schedule\n \
         install` writes and enables them.\n",
        deb_version(version)
    )
}

/// `changelog.gz` of a native package (before gzip): one entry for this version.
pub fn changelog(version: &str, maintainer: &str, date_rfc2822: &str) -> String {
    format!(
        "handover ({}) unstable; urgency=medium\n\n  \
         * handover {version}, packaged by `cargo xtask dist`; the changes are in the\n    \
         repository's history.\n\n \
         -- {maintainer}  {date_rfc2822}\n",
        deb_version(version)
    )
}

/// `shlibs:Depends=…` out of `dpkg-shlibdeps -O`.
pub fn parse_shlibdeps(out: &str) -> Result<String> {
    let deps = out
        .lines()
        .find_map(|l| l.strip_prefix("shlibs:Depends="))
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .with_context(|| format!("dpkg-shlibdeps printed no shlibs:Depends: {out:?}"))?;
    ensure!(
        deps.contains("libc6"),
        "dpkg-shlibdeps found no libc6 dependency: {deps}"
    );
    Ok(deps.to_string())
}

fn maintainer() -> String {
    std::env::var("HANDOVER_DEB_MAINTAINER").unwrap_or_else(|_| MAINTAINER.to_string())
}

/// Stages the .deb's tree in `work/deb` and builds it into `dist`.
fn build_deb(root: &Path, bin: &Path, version: &str, work: &Path, dist: &Path) -> Result<PathBuf> {
    let stage = work.join("deb");
    let maintainer = maintainer();
    let packaging = root.join("contrib/packaging/debian");

    let usr_bin = stage.join("usr/bin/handover");
    mkdirs(usr_bin.parent().unwrap_or(&stage))?;
    run_ok(
        Command::new("strip")
            .args([
                "--strip-unneeded",
                "--remove-section=.comment",
                "--remove-section=.note",
                "-o",
            ])
            .arg(&usr_bin)
            .arg(bin),
    )?;
    chmod(&usr_bin, 0o755)?;

    // Man pages: one per command, gzip -9n (no name, no time stamp: the same input, the same bytes).
    let man_src = work.join("man");
    output(bin, &["man", "--out", &utf8(&man_src)?])?;
    let man_dir = stage.join("usr/share/man/man1");
    mkdirs(&man_dir)?;
    let mut pages: Vec<PathBuf> = fs::read_dir(&man_src)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    pages.sort();
    ensure!(
        pages.iter().any(|p| p.ends_with("handover.1")),
        "handover man wrote no handover.1"
    );
    for page in &pages {
        let name = page.file_name().context("a man page has no name")?;
        let gz = man_dir.join(format!("{}.gz", name.to_string_lossy()));
        gzip(page, &gz)?;
    }

    for (shell, path) in [
        ("bash", "usr/share/bash-completion/completions/handover"),
        ("zsh", "usr/share/zsh/vendor-completions/_handover"),
        ("fish", "usr/share/fish/vendor_completions.d/handover.fish"),
    ] {
        write(
            &stage.join(path),
            &output(bin, &["completions", shell])?,
            0o644,
        )?;
    }

    // The example site file and its schema: `site init` writes both (the schema beside the file,
    // named by its `#:schema` line), mode 600; shipped 644 as documentation.
    let examples = stage.join(EXAMPLES);
    mkdirs(&examples)?;
    let example = examples.join("site.toml.example");
    output(
        bin,
        &[
            "site",
            "init",
            "--profile",
            EXAMPLE_PROFILE,
            "--out",
            &utf8(&example)?,
        ],
    )?;
    let schema = examples.join("site.schema.json");
    ensure!(
        schema.is_file(),
        "handover site init wrote no site.schema.json beside the example"
    );
    chmod(&example, 0o644)?;
    chmod(&schema, 0o644)?;

    let systemd = examples.join("systemd");
    for (name, text) in systemd_examples()? {
        write(&systemd.join(name), text.as_bytes(), 0o644)?;
    }

    let doc = stage.join(DOC);
    copy(&packaging.join("copyright"), &doc.join("copyright"), 0o644)?;
    copy(
        &packaging.join("lintian-overrides"),
        &stage.join("usr/share/lintian/overrides/handover"),
        0o644,
    )?;
    let changelog_txt = work.join("changelog");
    fs::write(
        &changelog_txt,
        changelog(version, &maintainer, &changelog_date(root)?),
    )?;
    gzip(&changelog_txt, &doc.join("changelog.gz"))?;

    let debian = stage.join("DEBIAN");
    mkdirs(&debian)?;
    for script in ["postinst", "postrm"] {
        copy(&packaging.join(script), &debian.join(script), 0o755)?;
    }
    let depends = shlibdeps(&usr_bin, work)?;
    let installed = installed_size(&stage)?;
    write(
        &debian.join("control"),
        control(version, &depends, installed, &maintainer).as_bytes(),
        0o644,
    )?;
    write(&debian.join("md5sums"), &md5sums(&stage)?, 0o644)?;

    let deb = dist.join(format!("handover_{}_{DEB_ARCH}.deb", deb_version(version)));
    run_ok(
        Command::new("dpkg-deb")
            .args(["--root-owner-group", "-Zxz", "--build"])
            .arg(&stage)
            .arg(&deb),
    )?;
    Ok(deb)
}

/// The units `handover schedule install` writes (daily, the default site, /usr/bin/handover),
/// rendered by the crate's own code, and a README that says they are not enabled.
pub fn systemd_examples() -> Result<Vec<(&'static str, String)>> {
    use handover::schedule::{render_service, render_timer, Every, SERVICE, TIMER};
    let service = render_service(Path::new("/usr/bin/handover"), None)?;
    let timer = render_timer(Every::Daily, None);
    let readme = format!(
        "These are the units `handover schedule install` writes into /etc/systemd/system\n\
         (daily, the default site file /etc/handover/site.toml). The package does not install\n\
         or enable them: run `sudo handover schedule install` (see its man page), which\n\
         checks the binary and site first, writes them and enables {TIMER}.\n\
         `handover schedule remove` deletes them.\n"
    );
    Ok(vec![("README", readme), (SERVICE, service), (TIMER, timer)])
}

/// The date of the changelog entry: the commit's (so a rebuild of the same commit writes the same
/// changelog), or now outside a git checkout.
fn changelog_date(root: &Path) -> Result<String> {
    let git = Command::new("git")
        .args(["log", "-1", "--format=%cD"])
        .current_dir(root)
        .output();
    if let Ok(out) = git {
        let date = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if out.status.success() && !date.is_empty() {
            return Ok(date);
        }
    }
    Ok(
        String::from_utf8_lossy(&run_ok(Command::new("date").arg("-R"))?)
            .trim()
            .to_string(),
    )
}

/// Depends of the binary: `dpkg-shlibdeps` needs a `debian/control` naming the package, so it runs in
/// a directory holding only that stub.
fn shlibdeps(bin: &Path, work: &Path) -> Result<String> {
    let dir = work.join("shlibdeps");
    mkdirs(&dir.join("debian"))?;
    fs::write(
        dir.join("debian/control"),
        format!(
            "Source: handover\nMaintainer: {}\n\nPackage: handover\nArchitecture: {DEB_ARCH}\n",
            maintainer()
        ),
    )?;
    let out = run_ok(
        Command::new("dpkg-shlibdeps")
            .arg("-O")
            .arg(format!("-e{}", utf8(bin)?))
            .current_dir(&dir),
    )?;
    parse_shlibdeps(&String::from_utf8_lossy(&out))
}

/// Installed-Size in KiB, as dpkg-gencontrol counts it: each file rounded up to a KiB, each
/// directory one.
fn installed_size(stage: &Path) -> Result<u64> {
    let mut kib = 0;
    for (rel, md) in walk(stage)? {
        if rel.starts_with("DEBIAN") {
            continue;
        }
        kib += if md.is_dir() {
            1
        } else {
            md.len().div_ceil(1024)
        };
    }
    Ok(kib)
}

/// DEBIAN/md5sums: every regular file outside DEBIAN/, sorted.
fn md5sums(stage: &Path) -> Result<Vec<u8>> {
    let files: Vec<String> = walk(stage)?
        .into_iter()
        .filter(|(rel, md)| md.is_file() && !rel.starts_with("DEBIAN"))
        .map(|(rel, _)| rel)
        .collect();
    run_ok(Command::new("md5sum").args(&files).current_dir(stage))
}

/// Every file and directory under `dir` by its path relative to it, sorted.
fn walk(dir: &Path) -> Result<Vec<(String, fs::Metadata)>> {
    fn go(base: &Path, dir: &Path, out: &mut Vec<(String, fs::Metadata)>) -> Result<()> {
        for entry in fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
            let path = entry?.path();
            let md = fs::symlink_metadata(&path)?;
            let rel = path
                .strip_prefix(base)
                .unwrap_or(&path)
                .to_string_lossy()
                .into_owned();
            if md.is_dir() {
                go(base, &path, out)?;
            }
            out.push((rel, md));
        }
        Ok(())
    }
    let mut out = Vec::new();
    go(dir, dir, &mut out)?;
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// `dpkg-deb -I` (the control fields) and `-c` (the files, owners and modes) against what the package
/// must hold.
fn inspect_deb(deb: &Path, version: &str) -> Result<()> {
    let info =
        String::from_utf8_lossy(&run_ok(Command::new("dpkg-deb").arg("-I").arg(deb))?).into_owned();
    print!("{info}");
    for field in [
        "Package: handover".to_string(),
        format!("Version: {}", deb_version(version)),
        format!("Architecture: {DEB_ARCH}"),
        "Depends: ".to_string(),
        "postinst".to_string(),
        "postrm".to_string(),
    ] {
        ensure!(
            info.contains(&field),
            "dpkg-deb -I {}: no {field:?}",
            deb.display()
        );
    }
    let list =
        String::from_utf8_lossy(&run_ok(Command::new("dpkg-deb").arg("-c").arg(deb))?).into_owned();
    let problems = check_deb_listing(&list);
    ensure!(
        problems.is_empty(),
        "dpkg-deb -c {}:\n  {}\n{list}",
        deb.display(),
        problems.join("\n  ")
    );
    println!(
        "dpkg-deb -c: {} entries, every expected path present, owned by root",
        list.lines().count()
    );
    Ok(())
}

/// What is wrong with a `dpkg-deb -c` listing: an expected path missing, an entry not owned by
/// root:root, /usr/bin/handover not 0755, a unit under /etc or /lib/systemd (they must stay
/// disabled examples).
pub fn check_deb_listing(list: &str) -> Vec<String> {
    let mut problems = Vec::new();
    // "-rwxr-xr-x root/root 9712936 2026-12-06 09:23 ./usr/bin/handover"
    let entries: BTreeMap<String, (String, String)> = list
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let path = f.get(5)?.trim_start_matches('.').trim_end_matches('/');
            Some((path.to_string(), (f[0].to_string(), f[1].to_string())))
        })
        .collect();
    for want in DEB_PATHS {
        if !entries.contains_key(*want) {
            problems.push(format!("{want} is missing"));
        }
    }
    for (path, (mode, owner)) in &entries {
        if owner != "root/root" {
            problems.push(format!("{path} is owned by {owner}, not root/root"));
        }
        if path == "/usr/bin/handover" && mode != "-rwxr-xr-x" {
            problems.push(format!("{path} has mode {mode}, not -rwxr-xr-x"));
        }
        if path.starts_with("/etc/systemd")
            || path.starts_with("/lib/systemd")
            || path.starts_with("/usr/lib/systemd")
        {
            problems.push(format!(
                "{path}: a unit the package would install; the units are examples, left disabled"
            ));
        }
    }
    problems
}

/// `lintian` on the .deb: any error (`E:`) fails; warnings are printed and returned for the summary.
fn lintian(deb: &Path) -> Result<Vec<String>> {
    let out = Command::new("lintian")
        .args(["--tag-display-limit", "0", "--display-info"])
        .arg(deb)
        .output()
        .context("running lintian")?;
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    print!("{text}");
    let (errors, warnings) = lintian_findings(&text);
    ensure!(
        errors.is_empty(),
        "lintian found errors in {}:\n  {}",
        deb.display(),
        errors.join("\n  ")
    );
    // lintian exits 1 for errors (handled above) and 2 when it could not run at all.
    ensure!(
        out.status.code() != Some(2),
        "lintian could not run ({}): {stderr}",
        out.status
    );
    println!(
        "lintian: no error, {} warning(s){}",
        warnings.len(),
        if stderr.trim().is_empty() {
            String::new()
        } else {
            format!(" (stderr: {})", stderr.trim())
        }
    );
    Ok(warnings)
}

/// lintian's error (`E:`) and warning (`W:`) lines.
pub fn lintian_findings(text: &str) -> (Vec<String>, Vec<String>) {
    let pick = |p: &str| -> Vec<String> {
        text.lines()
            .filter(|l| l.starts_with(p))
            .map(str::to_string)
            .collect()
    };
    (pick("E: "), pick("W: "))
}

/// The arguments of `wixl` for the kept .wxs. wixl finds a `Source` only by a relative path (from
/// the directory it runs in), so the .exe and .ps1 are named by their file names in `dir`.
pub fn wixl_args(
    version: &str,
    dir: &Path,
    exe: &str,
    ps1: &str,
    wxs: &Path,
    out: &Path,
) -> Result<Vec<String>> {
    for name in [exe, ps1] {
        ensure!(
            !name.contains(['/', '\\']),
            "{name:?}: wixl takes a file name in {}, not a path",
            dir.display()
        );
    }
    Ok(vec![
        "-a".into(),
        "x64".into(),
        "-D".into(),
        format!("Version={}", msi_version(version)?),
        "-D".into(),
        format!("ExeSource={exe}"),
        "-D".into(),
        format!("CompletionSource={ps1}"),
        "-o".into(),
        utf8(out)?,
        utf8(wxs)?,
    ])
}

/// The folder of `target/dist/` (and of Program Files\\handover\\man) that holds the man pages.
pub const MSI_MAN_DIR: &str = "man1";

/// The kept .wxs with the man pages in: at `<!--@MANPAGES@-->` (in INSTALLDIR) the folders man\\man1 and
/// one 64-bit component holding a File per page (its source `man1/PAGE`, relative, as wixl needs), and at
/// `<!--@MANPAGES_REF@-->` (in the feature) that component. The list comes from `handover man`, so a new
/// command's page is in the .msi without an edit here.
pub fn wxs_with_man_pages(wxs: &str, pages: &[String]) -> Result<String> {
    const AT: &str = "<!--@MANPAGES@-->";
    const REF_AT: &str = "<!--@MANPAGES_REF@-->";
    ensure!(
        wxs.matches(AT).count() == 1 && wxs.matches(REF_AT).count() == 1,
        "the .wxs must hold {AT} and {REF_AT} once each"
    );
    ensure!(
        pages.iter().any(|p| p == "handover.1"),
        "handover man wrote no handover.1"
    );
    let mut files = String::new();
    for (i, page) in pages.iter().enumerate() {
        ensure!(
            page.ends_with(".1")
                && page
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.'),
            "{page:?}: not a man page name"
        );
        let key = if i == 0 { " KeyPath=\"yes\"" } else { "" };
        files.push_str(&format!(
            "\n                <File Id=\"ManPage{i}\" Name=\"{page}\" Source=\"{MSI_MAN_DIR}/{page}\"{key} />"
        ));
    }
    let dirs = format!(
        "<Directory Id=\"MANDIR\" Name=\"man\">\n            <Directory Id=\"MAN1DIR\" Name=\"{MSI_MAN_DIR}\">\n              \
         <Component Id=\"ManPages\" Guid=\"168ca067-6960-4f86-a650-332713700684\" Win64=\"yes\">{files}\n              \
         </Component>\n            </Directory>\n          </Directory>"
    );
    Ok(wxs
        .replace(AT, &dirs)
        .replace(REF_AT, "<ComponentRef Id=\"ManPages\" />"))
}

/// Builds `msi` from the kept .wxs (with the man pages in, written to `work`), with handover.exe,
/// handover.ps1 and man1/*.1 from `dir`.
fn build_msi(
    root: &Path,
    version: &str,
    dir: &Path,
    pages: &[String],
    work: &Path,
    msi: &Path,
) -> Result<()> {
    let kept = fs::read_to_string(root.join("contrib/packaging/handover.wxs"))?;
    let wxs = work.join("handover.wxs");
    fs::write(&wxs, wxs_with_man_pages(&kept, pages)?)?;
    let args = wixl_args(version, dir, "handover.exe", "handover.ps1", &wxs, msi)?;
    println!("(in {}) $ wixl {}", dir.display(), args.join(" "));
    let out = Command::new("wixl")
        .args(&args)
        .current_dir(dir)
        .output()
        .context("running wixl")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    // wixl prints GLib warnings for attributes it ignores, and still writes the .msi: an ignored
    // attribute of a custom action would lose the ACL, so a CRITICAL fails the build.
    ensure!(
        out.status.success() && !stderr.contains("CRITICAL") && msi.is_file(),
        "wixl failed ({}):\n{stderr}",
        out.status
    );
    for line in stderr.lines().filter(|l| l.contains("WARNING")) {
        println!("wixl: {line}");
    }
    Ok(())
}

/// The tables `msiinfo export` is asked for.
pub const MSI_TABLES: &[&str] = &[
    "File",
    "Component",
    "CreateFolder",
    "CustomAction",
    "InstallExecuteSequence",
    "Directory",
];

fn inspect_msi(msi: &Path) -> Result<()> {
    let mut tables = BTreeMap::new();
    for table in MSI_TABLES {
        let out = run_ok(Command::new("msiinfo").arg("export").arg(msi).arg(table))?;
        let text = String::from_utf8_lossy(&out).into_owned();
        println!(
            "== msiinfo export {} {table}\n{}",
            msi.display(),
            text.trim_end()
        );
        tables.insert(*table, text);
    }
    let problems = check_msi_tables(&tables);
    ensure!(
        problems.is_empty(),
        "{}:\n  {}",
        msi.display(),
        problems.join("\n  ")
    );
    println!(
        "msiinfo: files, components, the ProgramData folder and its ACL action are as expected"
    );
    Ok(())
}

/// The rows of an `msiinfo export` table (tab-separated, after the three header lines).
fn msi_rows(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .skip(3)
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.trim_end_matches('\r').split('\t').collect())
        .collect()
}

/// What is wrong with the .msi's tables: handover.exe and handover.ps1 in 64-bit components under
/// Program Files\handover, ProgramData\handover created, and icacls giving it to SYSTEM and
/// Administrators only, as a deferred, non-impersonated (SYSTEM) action right after CreateFolders.
pub fn check_msi_tables(tables: &BTreeMap<&str, String>) -> Vec<String> {
    let mut problems = Vec::new();
    let rows = |t: &str| msi_rows(tables.get(t).map_or("", String::as_str));
    let dirs = rows("Directory");
    let dir_is = |id: &str, parent: &str, name: &str| {
        dirs.iter()
            .any(|r| r.len() >= 3 && r[0] == id && r[1] == parent && r[2] == name)
    };
    if !dir_is("INSTALLDIR", "ProgramFiles64Folder", "handover") {
        problems.push("Directory: no INSTALLDIR handover under ProgramFiles64Folder".into());
    }
    if !dir_is("DATADIR", "CommonAppDataFolder", "handover") {
        problems.push("Directory: no DATADIR handover under CommonAppDataFolder".into());
    }
    let components = rows("Component");
    let component_dir = |id: &str| {
        components
            .iter()
            .find(|r| r.len() >= 4 && r[0] == id)
            .map(|r| (r[2], r[3].parse::<u32>().unwrap_or(0)))
    };
    for file in ["handover.exe", "handover.ps1"] {
        let row = rows("File")
            .into_iter()
            .find(|r| r.len() >= 3 && r[2].rsplit('|').next() == Some(file));
        let Some(row) = row else {
            problems.push(format!("File: no {file}"));
            continue;
        };
        match component_dir(row[1]) {
            // 256: msidbComponentAttributes64bit (installed in the 64-bit Program Files).
            Some(("INSTALLDIR", attrs)) if attrs & 256 != 0 => {}
            other => problems.push(format!(
                "Component {} of {file}: {other:?}, not a 64-bit component in INSTALLDIR",
                row[1]
            )),
        }
    }
    if !dir_is("MANDIR", "INSTALLDIR", "man") || !dir_is("MAN1DIR", "MANDIR", MSI_MAN_DIR) {
        problems.push("Directory: no man\\man1 under INSTALLDIR".into());
    }
    for page in ["handover.1", "handover-site-init.1"] {
        let row = rows("File")
            .into_iter()
            .find(|r| r.len() >= 3 && r[2].rsplit('|').next() == Some(page));
        match row.and_then(|r| component_dir(r[1])) {
            Some(("MAN1DIR", attrs)) if attrs & 256 != 0 => {}
            other => problems.push(format!(
                "File {page}: {other:?}, not in a 64-bit component in man\\man1"
            )),
        }
    }
    let creates = rows("CreateFolder")
        .iter()
        .any(|r| r.len() >= 2 && r[0] == "DATADIR");
    if !creates {
        problems.push("CreateFolder: DATADIR (ProgramData\\handover) is not created".into());
    }
    let actions = rows("CustomAction");
    let protect = actions
        .iter()
        .find(|r| r.len() >= 4 && r[3].contains("[CommonAppDataFolder]handover"));
    match protect {
        None => {
            problems.push("CustomAction: none runs icacls on [CommonAppDataFolder]handover".into())
        }
        Some(r) => {
            let ty: u32 = r[1].parse().unwrap_or(0);
            let target = r[3];
            for want in [
                "/inheritance:r",
                "/grant:r *S-1-5-18:(OI)(CI)F",
                "/grant:r *S-1-5-32-544:(OI)(CI)F",
            ] {
                if !target.contains(want) {
                    problems.push(format!("CustomAction {}: no {want:?} in {target:?}", r[0]));
                }
            }
            // 50: run the executable a property names; 1024 deferred (in the script); 2048 not
            // impersonated (as SYSTEM).
            if ty & 0x3f != 50 || ty & 1024 == 0 || ty & 2048 == 0 {
                problems.push(format!(
                    "CustomAction {}: type {ty}, not a deferred, non-impersonated type 50",
                    r[0]
                ));
            }
            let sets_exe = actions.iter().any(|a| {
                a.len() >= 4
                    && a[2] == r[2]
                    && a[1].parse::<u32>().unwrap_or(0) & 0x3f == 51
                    && a[3].ends_with("icacls.exe")
            });
            if !sets_exe {
                problems.push(format!("CustomAction: nothing sets {} to icacls.exe", r[2]));
            }
            let seq = rows("InstallExecuteSequence");
            let at = |name: &str| {
                seq.iter()
                    .find(|s| s.len() >= 3 && s[0] == name)
                    .and_then(|s| s[2].parse::<u32>().ok())
            };
            match (at("CreateFolders"), at(r[0]), at("InstallFiles")) {
                (Some(c), Some(p), Some(i)) if c < p && p < i => {}
                other => problems.push(format!(
                    "InstallExecuteSequence: {} not between CreateFolders and InstallFiles: {other:?}",
                    r[0]
                )),
            }
        }
    }
    problems
}

/// `msiexec /i … /qn` in a throwaway Wine prefix, then the installed handover.exe's `--version`.
fn wine_install(root: &Path, msi: &Path, version: &str, work: &Path) -> Result<()> {
    if !Path::new(WINE64).is_file() {
        println!("SKIPPED: the .msi under Wine: {WINE64} is not installed (Debian package wine64)");
        return Ok(());
    }
    let wine = Wine {
        prefix: work.join("wine-prefix"),
        logs: work.join("wine-logs"),
    };
    mkdirs(&wine.logs)?;
    if let Err(e) = wine.ensure_prefix(true) {
        println!("SKIPPED: the .msi under Wine: Wine cannot make a prefix here: {e:#}");
        return Ok(());
    }
    let mut cmd = wine.command(WINE64);
    cmd.args(["msiexec", "/i"])
        .arg(msi)
        .args(["/qn", "/l*v"])
        .arg(wine.logs.join("msiexec.log"));
    let run = wine.run(cmd, "msiexec", Duration::from_secs(300))?;
    ensure!(
        run.status.success(),
        "wine msiexec /i {} /qn failed ({}):\n{}",
        msi.display(),
        run.status,
        run.output_text()
    );
    let drive_c = wine.prefix.join("drive_c");
    let installed = drive_c.join("Program Files/handover");
    for file in ["handover.exe", "handover.ps1", "man/man1/handover.1"] {
        ensure!(
            installed.join(file).is_file(),
            "after msiexec, {} is missing",
            installed.join(file).display()
        );
    }
    ensure!(
        drive_c.join("ProgramData/handover").is_dir(),
        "after msiexec, C:\\ProgramData\\handover was not created"
    );
    let log = fs::read(wine.logs.join("msiexec.log")).unwrap_or_default();
    let log = String::from_utf8_lossy(&log).replace('\0', "");
    ensure!(
        log.contains("ProtectDataDir. Return value 1"),
        "the msiexec log does not show the icacls action succeeding"
    );
    // Debian 12's Wine 8 lacks ProcessPrng, which Rust's std imports: the test-only shim of `cargo
    // xtask windows` goes beside the installed .exe (never into the .msi).
    windows::build_shim(&root.join("e2e/wine"), &installed)?;
    let exe = installed.join("handover.exe");
    let out = wine.run_exe(
        &exe,
        work,
        &["--version"],
        "version",
        Duration::from_secs(120),
    )?;
    ensure!(
        out.trim() == format!("handover {version}"),
        "the installed handover.exe --version printed {out:?}"
    );
    println!(
        "wine: msiexec /i /qn installed C:\\Program Files\\handover\\handover.exe, handover.ps1 and man\\man1, \
         created C:\\ProgramData\\handover, ran the icacls action; handover.exe --version: {}",
        out.trim()
    );
    println!(
        "(Wine keeps no Windows ACLs: the folder's SYSTEM/Administrators ACL is checked in the .msi's \
         tables above, not on a Windows device)"
    );
    Ok(())
}

/// What `target/dist/` holds: name, size, sha256, and lintian's warnings.
fn summary(dist: &Path, warnings: &[String]) -> Result<String> {
    let mut s = format!("{}:\n", dist.display());
    let mut names: Vec<PathBuf> = fs::read_dir(dist)?
        .map(|e| e.map(|e| e.path()))
        .collect::<Result<_, _>>()?;
    names.sort();
    for p in names {
        if p.is_dir() {
            let _ = writeln!(
                s,
                "  {:<32} {:>10} files (the man pages the .msi holds)",
                format!("{}/", p.file_name().unwrap_or_default().to_string_lossy()),
                fs::read_dir(&p)?.count()
            );
            continue;
        }
        let sha = String::from_utf8_lossy(&run_ok(Command::new("sha256sum").arg(&p))?)
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
        let _ = writeln!(
            s,
            "  {:<32} {:>10} bytes  sha256 {sha}",
            p.file_name().unwrap_or_default().to_string_lossy(),
            fs::metadata(&p)?.len()
        );
    }
    let _ = writeln!(s, "lintian warnings: {}", warnings.len());
    for w in warnings {
        let _ = writeln!(s, "  {w}");
    }
    Ok(s)
}

/// Runs `bin args`; its stdout, or an error with its output.
fn output(bin: &Path, args: &[&str]) -> Result<Vec<u8>> {
    run_ok(Command::new(bin).args(args))
}

fn run_ok(cmd: &mut Command) -> Result<Vec<u8>> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().with_context(|| format!("running {shown}"))?;
    ensure!(
        out.status.success(),
        "{shown} failed ({}):\n--- stdout ---\n{}\n--- stderr ---\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout).trim_end(),
        String::from_utf8_lossy(&out.stderr).trim_end()
    );
    Ok(out.stdout)
}

fn gzip(src: &Path, dest: &Path) -> Result<()> {
    let gz = run_ok(Command::new("gzip").args(["-9n", "-c"]).arg(src))?;
    write(dest, &gz, 0o644)
}

fn mkdirs(dir: &Path) -> Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    // Every directory of the package 755, whatever the umask.
    chmod(dir, 0o755)
}

fn write(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    if let Some(parent) = path.parent() {
        mkdirs(parent)?;
    }
    fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))?;
    chmod(path, mode)
}

fn copy(src: &Path, dest: &Path, mode: u32) -> Result<()> {
    let bytes = fs::read(src).with_context(|| format!("reading {}", src.display()))?;
    write(dest, &bytes, mode)
}

fn chmod(path: &Path, mode: u32) -> Result<()> {
    fs::set_permissions(path, fs::Permissions::from_mode(mode))
        .with_context(|| format!("chmod {mode:o} {}", path.display()))
}

fn utf8(path: &Path) -> Result<String> {
    path.to_str()
        .map(str::to_string)
        .with_context(|| format!("{} is not UTF-8", path.display()))
}

#[cfg(test)]
mod tests;
