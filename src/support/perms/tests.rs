//! The Unix permission checks against real files and directories.

use super::*;
use std::os::unix::fs::PermissionsExt;

#[test]
fn group_writable_site_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("site.toml");
    std::fs::write(&f, "").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o664)).unwrap();
    let e = require_trusted(&f, "site file").unwrap_err().to_string();
    assert!(e.contains("writable by group or others"), "{e}");
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    require_trusted(&f, "site file").unwrap();
}

#[test]
fn world_writable_directory_above_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let sub = dir.path().join("open");
    std::fs::create_dir(&sub).unwrap();
    std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o777)).unwrap();
    let f = sub.join("site.toml");
    std::fs::write(&f, "").unwrap();
    assert!(require_trusted(&f, "site file").is_err());
}

#[test]
fn f12_read_trusted_reads_what_it_checked_and_refuses_what_it_cannot_trust() {
    let dir = tempfile::tempdir().unwrap();
    let site = dir.path().join("site.toml");
    std::fs::write(&site, "x = 1\n").unwrap();
    std::fs::set_permissions(&site, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert_eq!(read_trusted(&site, "site file").unwrap(), b"x = 1\n");
    // Through a link of ours, in a directory of ours: the same file.
    let link = dir.path().join("link.toml");
    std::os::unix::fs::symlink(&site, &link).unwrap();
    assert_eq!(read_trusted(&link, "site file").unwrap(), b"x = 1\n");
    // A FIFO neither blocks nor is read; a directory is no file.
    let fifo = dir.path().join("fifo.toml");
    let c = std::ffi::CString::new(fifo.to_str().unwrap()).unwrap();
    // SAFETY: a valid NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let e = read_trusted(&fifo, "site file").unwrap_err().to_string();
    assert!(e.contains("not a regular file"), "{e}");
    assert!(read_trusted(dir.path(), "site file").is_err());
    // A link through a directory others can write is refused, wherever it points.
    let open = dir.path().join("open");
    std::fs::create_dir(&open).unwrap();
    std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
    std::os::unix::fs::symlink(&site, open.join("site.toml")).unwrap();
    let e = read_trusted(&open.join("site.toml"), "site file")
        .unwrap_err()
        .to_string();
    assert!(e.contains("writable by group or others"), "{e}");
    // A link into such a directory too (its target's directory is looked in).
    std::fs::rename(&site, open.join("real.toml")).unwrap();
    std::fs::remove_file(&link).unwrap();
    std::os::unix::fs::symlink(open.join("real.toml"), &link).unwrap();
    assert!(read_trusted(&link, "site file").is_err());
    if is_root() {
        let mine = dir.path().join("mine.toml");
        std::fs::write(&mine, "").unwrap();
        let theirs = dir.path().join("theirs.toml");
        std::os::unix::fs::symlink(&mine, &theirs).unwrap();
        std::os::unix::fs::lchown(&theirs, Some(65534), Some(65534)).unwrap();
        let e = read_trusted(&theirs, "site file").unwrap_err().to_string();
        assert!(e.contains("symbolic link owned by another user"), "{e}");
        std::os::unix::fs::chown(&mine, Some(65534), Some(65534)).unwrap();
        let e = read_trusted(&mine, "site file").unwrap_err().to_string();
        assert!(e.contains("owned by another user"), "{e}");
    }
}

#[test]
fn f6_a_tree_is_checked_file_by_file() {
    let dir = tempfile::tempdir().unwrap();
    let deep = dir.path().join("a/b/c");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::write(deep.join("t.sh"), "").unwrap();
    std::fs::set_permissions(deep.join("t.sh"), std::fs::Permissions::from_mode(0o644)).unwrap();
    require_trusted_tree(dir.path(), "templates directory").unwrap();
    std::fs::set_permissions(deep.join("t.sh"), std::fs::Permissions::from_mode(0o664)).unwrap();
    let e = require_trusted_tree(dir.path(), "templates directory")
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("a/b/c/t.sh") && e.contains("writable by group or others"),
        "{e}"
    );
    std::fs::set_permissions(deep.join("t.sh"), std::fs::Permissions::from_mode(0o644)).unwrap();
    std::os::unix::fs::symlink("/etc", deep.join("etc")).unwrap();
    let e = require_trusted_tree(dir.path(), "templates directory")
        .unwrap_err()
        .to_string();
    assert!(e.contains("symbolic link"), "{e}");
}

#[test]
fn readable_password_file_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("pw");
    std::fs::write(&f, "Correct-horse-42\n").unwrap();
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o644)).unwrap();
    assert!(require_private_file(&f).is_err());
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
    require_private_file(&f).unwrap();
}

#[test]
fn private_writes_are_0600() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("state.json");
    crate::support::fsutil::write_private(&f, b"{}").unwrap();
    assert_eq!(
        std::fs::metadata(&f).unwrap().permissions().mode() & 0o777,
        0o600
    );
}
