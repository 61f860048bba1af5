//! Signed records (issue 6, SPEC §7): `handover::evidence::signing` against records written by
//! `handover::evidence::record::write`, and every way a device's administrator could tamper with them: one byte
//! edited, a record removed, two swapped, the newest deleted, a signature removed, and the whole chain
//! recomputed and re-signed with another key.

use std::path::{Path, PathBuf};

use handover::evidence::record::{self, State};
use handover::evidence::report::{ControlReport, ProfileRef, Report, Status, Tool};
use handover::evidence::signing::{self, Level, PubkeyInstall};
use handover::host::facts::{Device, Os};

fn os(version: &str, codename: &str) -> Os {
    Os {
        family: "linux".into(),
        id: "debian".into(),
        version: version.into(),
        name: format!("Debian GNU/Linux {version} ({codename})"),
        id_like: Vec::new(),
    }
}

fn control(id: &str, status: Status) -> ControlReport {
    ControlReport {
        id: id.into(),
        title: id.into(),
        policy: "ITP07 §7.1".into(),
        status,
        changed: status == Status::Fixed,
        reason: String::new(),
        observed: serde_json::Value::Null,
        duration_ms: 1,
        plan: None,
        waiver: None,
        output: None,
        attestation: None,
        since: None,
        frameworks: Vec::new(),
    }
}

fn report(
    mode: &str,
    finished_at: &str,
    os: Os,
    digest: &str,
    controls: Vec<ControlReport>,
) -> Report {
    Report {
        tool: Tool {
            name: "handover".into(),
            version: "0".into(),
        },
        mode: serde_json::from_value(serde_json::json!(mode)).unwrap(),
        scope: handover::evidence::report::Scope::Full,
        profile: ProfileRef {
            name: format!("debian-{}", os.version),
            digest: digest.into(),
        },
        device: Device {
            hostname: "pc1".into(),
            serial: "SERIAL1".into(),
            model: "M".into(),
            os,
        },
        user: Some("ada".into()),
        asset: Some("UNI 00042/b".into()),
        ticket: Some("RITM0012345".into()),
        technician: Some("A. Tech".into()),
        reason: Some("handover".into()),
        started_at: finished_at.into(),
        finished_at: finished_at.into(),
        summary: Report::summarise(&controls, false),
        controls,
        reboot_required: false,
        warnings: Vec::new(),
        untested_release: None,
        time_in_state: None,
    }
}

fn name(p: &Path) -> String {
    p.file_name().unwrap().to_str().unwrap().to_string()
}

/// The technician's passphrase, in a file (as `--key-passphrase-file` reads it).
pub fn pass_file(dir: &Path) -> signing::Passphrase {
    let p = dir.join("passphrase");
    std::fs::write(&p, "correct horse battery staple\n").unwrap();
    signing::Passphrase::File(p)
}

/// The serial of the fixture's device: its directory on the kit is `serial-SN1`.
pub const SERIAL: &str = "SN1";

/// A state directory with three chained records of runs with the kit present, each signed with the
/// kit's key, and the kit.
pub struct Fixture {
    _tmp: tempfile::TempDir,
    pub state: PathBuf,
    pub kit: PathBuf,
    pub pubkey: PathBuf,
    pub records: Vec<PathBuf>,
    pub pass: signing::Passphrase,
    pub key: signing::SigningKey,
}

impl Fixture {
    fn new() -> Fixture {
        let tmp = tempfile::tempdir().unwrap();
        let state = tmp.path().join("state");
        let kit = tmp.path().join("kit");
        std::fs::create_dir_all(&kit).unwrap();
        let pass = pass_file(tmp.path());
        let pubkey = signing::keygen(&kit, &pass).unwrap();
        let key = signing::read_signing_key(&signing::kit_key_path(&kit), &pass).unwrap();
        let provenance = record::Provenance {
            kit_key: Some(handover::support::hashing::hex(
                key.verifying_key().as_bytes(),
            )),
            attestations: vec![],
        };
        let mut st = State::default();
        let mut records = Vec::new();
        for (i, status) in [Status::Fail, Status::Fixed, Status::Pass]
            .into_iter()
            .enumerate()
        {
            let r = report(
                if i == 1 { "apply" } else { "check" },
                &format!("2026-11-25T10:0{i}:00Z"),
                os("12", "bookworm"),
                "sha256:aaaa",
                vec![
                    control("firewall.enabled", status),
                    control("ssh.root_login", Status::Pass),
                ],
            );
            let p = record::write_with(&state, &mut st, &r, Default::default(), provenance.clone())
                .unwrap();
            signing::sign_record(&p, &key).unwrap();
            records.push(p);
        }
        st.save(&state).unwrap();
        Fixture {
            _tmp: tmp,
            state,
            kit,
            pubkey,
            records,
            pass,
            key,
        }
    }

    fn records_dir(&self) -> PathBuf {
        self.state.join("records")
    }

    fn names(&self) -> Vec<String> {
        self.records.iter().map(|p| name(p)).collect()
    }

    fn verify(&self) -> signing::Verification {
        signing::verify(&self.records_dir(), Some(&self.pubkey), None).unwrap()
    }

    fn kit_copy(&self) -> PathBuf {
        let name = signing::device_dir_name(SERIAL, &self.records_dir()).unwrap();
        signing::kit_dir_named(&self.kit, &name).unwrap()
    }

    fn export(&self) -> PathBuf {
        signing::export(&self.records_dir(), &self.kit_copy()).unwrap();
        self.kit_copy()
    }
}

/// Not verified, and `record` is among the records named with an error.
#[track_caller]
fn assert_names(v: &signing::Verification, record: &str) {
    assert!(!v.ok(), "verified, but should not:\n{}", v.text());
    assert!(
        v.failed().contains(record),
        "{record} is not named:\n{}",
        v.text()
    );
    assert!(v.text().contains(record));
}

#[test]
fn keygen_writes_a_private_key_and_a_public_key_and_never_replaces_them() {
    let tmp = tempfile::tempdir().unwrap();
    let pass = pass_file(tmp.path());
    let pubkey = signing::keygen(tmp.path(), &pass).unwrap();
    assert_eq!(pubkey, tmp.path().join("keys/records.pub"));
    let key = signing::kit_key_path(tmp.path());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let text = std::fs::read_to_string(&pubkey).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert!(lines[0].starts_with('#'), "{text}");
    assert_eq!(lines[1].len(), 64);
    assert!(lines[1].bytes().all(|b| b.is_ascii_hexdigit()));
    // The private key names its public key; the public key never holds the seed.
    let secret = std::fs::read_to_string(&key).unwrap();
    assert!(secret.contains(lines[1]));
    let seed = secret.lines().find(|l| !l.starts_with('#')).unwrap();
    assert!(!text.contains(seed));
    let opened = signing::read_signing_key(&key, &pass).unwrap();
    assert!(!secret.contains(&handover::support::hashing::hex(&opened.to_bytes())));

    let again = signing::keygen(tmp.path(), &pass).unwrap_err().to_string();
    assert!(again.contains("records.key"), "{again}");
    assert_eq!(std::fs::read_to_string(&pubkey).unwrap(), text);
    assert_eq!(std::fs::read_to_string(&key).unwrap(), secret);
}

#[test]
fn a_signed_chain_verifies() {
    let f = Fixture::new();
    let v = f.verify();
    assert!(v.ok(), "{}", v.text());
    assert_eq!(v.records, f.names());
    assert!(v.text().contains("VERIFIED"));
    // The state directory above the records works as well, and so does the kit's copy.
    let kit_copy = f.export();
    let v = signing::verify(&f.state, Some(&f.pubkey), Some(&kit_copy)).unwrap();
    assert!(v.ok(), "{}", v.text());
    let v = signing::verify(&kit_copy, Some(&f.pubkey), None).unwrap();
    assert!(v.ok(), "{}", v.text());
    // The signature file's format.
    let sig: serde_json::Value =
        serde_json::from_slice(&std::fs::read(signing::sig_path(&f.records[0])).unwrap()).unwrap();
    assert_eq!(sig["alg"], "ed25519");
    assert_eq!(sig["sig"].as_str().unwrap().len(), 128);
    let pubhex = std::fs::read_to_string(&f.pubkey).unwrap();
    assert!(pubhex.contains(sig["key"].as_str().unwrap()));
    // Signing again with the same key changes nothing.
    let before = std::fs::read(signing::sig_path(&f.records[0])).unwrap();
    signing::sign_record(&f.records[0], &f.key).unwrap();
    assert_eq!(
        std::fs::read(signing::sig_path(&f.records[0])).unwrap(),
        before
    );
}

#[test]
fn without_a_public_key_the_chain_alone_is_not_verified() {
    let f = Fixture::new();
    let v = signing::verify(&f.records_dir(), None, None).unwrap();
    assert!(!v.ok());
    assert!(v.ok_allowing_unsigned(), "{}", v.text());
    assert!(v
        .findings
        .iter()
        .any(|x| x.level == Level::Warning && x.message == signing::UNSIGNED));
    assert!(v
        .text()
        .contains("proves nothing against the device's administrator"));
}

#[test]
fn one_byte_edited_is_named() {
    let f = Fixture::new();
    let target = &f.records[1];
    let mut b = std::fs::read(target).unwrap();
    let at = b.windows(5).position(|w| w == b"fixed").unwrap();
    b[at] = b'F';
    std::fs::write(target, &b).unwrap();
    let v = f.verify();
    assert_names(&v, &name(target));
    assert!(v.text().contains("edited"), "{}", v.text());
    // The next record's `previous` no longer matches either.
    assert_names(&v, &f.names()[2]);
    // And the kit's key refuses to bless the edit.
    let e = signing::sign_record(target, &f.key).unwrap_err();
    assert!(e.to_string().contains("refusing to re-sign"), "{e}");
}

#[test]
fn a_removed_record_is_named() {
    let f = Fixture::new();
    std::fs::remove_file(&f.records[1]).unwrap();
    std::fs::remove_file(signing::sig_path(&f.records[1])).unwrap();
    let v = f.verify();
    assert_names(&v, &f.names()[2]);
    assert!(
        v.text().contains("record 000002 is missing"),
        "{}",
        v.text()
    );
    // Its signature left behind names it too.
    let f = Fixture::new();
    std::fs::remove_file(&f.records[1]).unwrap();
    let v = f.verify();
    assert_names(&v, &f.names()[1]);
}

#[test]
fn two_swapped_records_are_named() {
    let f = Fixture::new();
    let (a, b) = (&f.records[1], &f.records[2]);
    let tmp = a.with_extension("tmp");
    for (x, y) in [
        (a.clone(), b.clone()),
        (signing::sig_path(a), signing::sig_path(b)),
    ] {
        std::fs::rename(&x, &tmp).unwrap();
        std::fs::rename(&y, &x).unwrap();
        std::fs::rename(&tmp, &y).unwrap();
    }
    let v = f.verify();
    assert_names(&v, &name(a));
    assert_names(&v, &name(b));
    assert!(v.text().contains("reordered"), "{}", v.text());
}

#[test]
fn the_newest_deleted_on_the_device_is_caught_against_the_kit() {
    let f = Fixture::new();
    let kit_copy = f.export();
    let newest = &f.records[2];
    std::fs::remove_file(newest).unwrap();
    std::fs::remove_file(signing::sig_path(newest)).unwrap();
    let v = signing::verify(&f.records_dir(), Some(&f.pubkey), Some(&kit_copy)).unwrap();
    assert_names(&v, &name(newest));
    assert!(v.text().contains("the newest record"), "{}", v.text());
    // Without the kit, state.json's last record still gives it away (a hint: the admin can edit it).
    let v = f.verify();
    assert!(!v.ok(), "{}", v.text());
    assert!(v.text().contains("state.json"), "{}", v.text());
}

#[test]
fn a_chain_recomputed_and_re_signed_without_the_kit_key_fails() {
    let f = Fixture::new();
    let other_kit = tempfile::tempdir().unwrap();
    let other_pass = pass_file(other_kit.path());
    signing::keygen(other_kit.path(), &other_pass).unwrap();
    let forged_key =
        signing::read_signing_key(&signing::kit_key_path(other_kit.path()), &other_pass).unwrap();
    // The admin rewrites record 2 (the apply's fix becomes a pass), fixes every later `previous`, and
    // signs the lot with a key of their own.
    let mut previous: Option<String> = None;
    for (i, p) in f.records.iter().enumerate() {
        let mut doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
        if i == 1 {
            doc["report"]["controls"][0]["status"] = "pass".into();
        }
        doc["previous"] = previous.clone().into();
        let bytes = serde_json::to_vec_pretty(&doc).unwrap();
        std::fs::write(p, &bytes).unwrap();
        previous = Some(format!(
            "sha256:{}",
            handover::support::hashing::sha256_bytes(&bytes)
        ));
        std::fs::remove_file(signing::sig_path(p)).unwrap();
        signing::sign_record(p, &forged_key).unwrap();
    }
    // And the state file's newest record, which they can edit too.
    let mut st = State::load(&f.state).unwrap();
    st.last_record = previous;
    st.save(&f.state).unwrap();
    // The chain alone is whole again: that is why it proves nothing.
    let unsigned = signing::verify(&f.records_dir(), None, None).unwrap();
    assert!(unsigned.ok_allowing_unsigned(), "{}", unsigned.text());
    assert!(!unsigned.ok());
    // Against the kit's public key every record fails, as re-signed.
    let v = f.verify();
    for n in f.names() {
        assert_names(&v, &n);
    }
    assert!(v.text().contains("not the trusted key"), "{}", v.text());
}

#[test]
fn a_missing_signature_is_named() {
    let f = Fixture::new();
    std::fs::remove_file(signing::sig_path(&f.records[1])).unwrap();
    let v = f.verify();
    assert_names(&v, &f.names()[1]);
    assert!(v.text().contains("signature was removed"), "{}", v.text());
    assert_eq!(v.failed().len(), 1, "{}", v.text());
}

#[test]
fn export_and_import_never_replace_a_different_file() {
    let f = Fixture::new();
    let kit_copy = f.export();
    assert_eq!(kit_copy, f.kit.join("records/serial-SN1"));
    assert_eq!(std::fs::read_dir(&kit_copy).unwrap().count(), 6);
    // Again: nothing new to copy.
    assert_eq!(signing::export(&f.records_dir(), &kit_copy).unwrap(), 0);
    // A device record edited after export is refused, by name.
    let mut b = std::fs::read(&f.records[0]).unwrap();
    b.push(b'\n');
    std::fs::write(&f.records[0], &b).unwrap();
    let e = signing::export(&f.records_dir(), &kit_copy)
        .unwrap_err()
        .to_string();
    assert!(e.contains(&f.names()[0]), "{e}");

    // A reinstalled device gets its history back from the kit, and continues the chain.
    let new_state = tempfile::tempdir().unwrap();
    let new_records = new_state.path().join("records");
    assert_eq!(
        signing::import(&kit_copy, &new_records, Some(&f.pubkey)).unwrap(),
        6
    );
    assert_eq!(
        signing::import(&kit_copy, &new_records, Some(&f.pubkey)).unwrap(),
        0
    );
    let head = signing::chain_head(&new_records).unwrap().unwrap();
    let mut st = State {
        last_record: Some(head),
        ..State::default()
    };
    let r = report(
        "check",
        "2026-12-01T09:00:00Z",
        os("13", "trixie"),
        "sha256:bbbb",
        vec![control("firewall.enabled", Status::Pass)],
    );
    let p = record::write(new_state.path(), &mut st, &r, Default::default()).unwrap();
    assert!(name(&p).starts_with("000004-"));
    let filed = signing::after_record(new_state.path(), &f.kit, &p, SERIAL, &f.pass)
        .unwrap()
        .unwrap();
    assert_eq!(filed.signed, Some(signing::sig_path(&p)));
    assert!(filed.unsigned.is_empty(), "{:?}", filed.unsigned);
    assert_eq!(filed.exported, 2);
    assert_eq!(filed.pubkey, PubkeyInstall::Installed);
    let device_pub = signing::device_pubkey_path(new_state.path());
    let v = signing::verify(&new_records, Some(&device_pub), Some(&kit_copy)).unwrap();
    assert!(v.ok(), "{}", v.text());
    assert_eq!(
        signing::install_device_pubkey(&f.kit, new_state.path()).unwrap(),
        PubkeyInstall::Present
    );

    // A device that started a new chain instead is refused rather than mixed into the kit's.
    let fresh = tempfile::tempdir().unwrap();
    let p = record::write(fresh.path(), &mut State::default(), &r, Default::default()).unwrap();
    let e = signing::export(p.parent().unwrap(), &kit_copy)
        .unwrap_err()
        .to_string();
    assert!(e.contains("diverged"), "{e}");
}

#[test]
fn after_record_does_nothing_without_a_kit_key() {
    let f = Fixture::new();
    let empty_kit = tempfile::tempdir().unwrap();
    assert!(
        signing::after_record(&f.state, empty_kit.path(), &f.records[2], SERIAL, &f.pass)
            .unwrap()
            .is_none()
    );
}

#[test]
fn asset_names_are_sanitised() {
    assert_eq!(
        signing::sanitize_asset("UNI 00042/b").unwrap(),
        "UNI_00042_b"
    );
    assert_eq!(signing::sanitize_asset("a.b-c_d").unwrap(), "a.b-c_d");
    assert!(signing::sanitize_asset("..").is_err());
    assert!(signing::sanitize_asset("").is_err());
    assert_eq!(signing::sanitize_asset("../x").unwrap(), ".._x");
}

#[test]
fn diff_shows_a_fixed_control_and_an_os_upgrade() {
    let tmp = tempfile::tempdir().unwrap();
    let a = report(
        "check",
        "2026-11-25T10:00:00Z",
        os("12", "bookworm"),
        "sha256:aaaa",
        vec![
            control("firewall.enabled", Status::Fail),
            control("ssh.root_login", Status::Pass),
            control("legacy.only", Status::Pass),
        ],
    );
    let b = report(
        "apply",
        "2027-06-01T10:00:00Z",
        os("13", "trixie"),
        "sha256:bbbb",
        vec![
            control("firewall.enabled", Status::Fixed),
            control("ssh.root_login", Status::Pass),
            control("new.control", Status::Manual),
        ],
    );
    let mut st = State::default();
    let pa = record::write(tmp.path(), &mut st, &a, Default::default()).unwrap();
    let pb = record::write(tmp.path(), &mut st, &b, Default::default()).unwrap();
    let text = signing::diff(&pa, &pb).unwrap();
    for want in [
        "OS: Debian GNU/Linux 12 (bookworm) → Debian GNU/Linux 13 (trixie)",
        "profile: debian-12 sha256:aaaa → debian-13 sha256:bbbb",
        "  firewall.enabled: fail → fixed",
        "added:\n  new.control: manual",
        "removed:\n  legacy.only: was pass",
        "summary before: 2 pass, 0 fixed, 1 fail",
        "summary after:  1 pass, 1 fixed, 0 fail, 0 error, 1 manual",
    ] {
        assert!(text.contains(want), "{want:?} not in:\n{text}");
    }
    assert!(!text.contains("ssh.root_login"), "{text}");

    let j = signing::diff_json(&pa, &pb).unwrap();
    assert_eq!(j["os_changed"], true);
    assert_eq!(
        j["changed"],
        serde_json::json!([{"id": "firewall.enabled", "before": "fail", "after": "fixed"}])
    );
    assert_eq!(j["before"]["os"]["version"], "12");
    assert_eq!(j["after"]["summary"]["fixed"], 1);

    // Records are named by number too.
    assert_eq!(
        signing::resolve_record(&tmp.path().join("records"), "2").unwrap(),
        pb
    );
    // The same record twice: nothing changed.
    let same = signing::diff(&pa, &pa).unwrap();
    assert!(same.contains("no control changed status"), "{same}");
    assert!(same.contains("(unchanged)"), "{same}");
}

#[test]
fn an_empty_directory_is_not_verified() {
    let f = Fixture::new();
    let empty = tempfile::tempdir().unwrap();
    let v = signing::verify(empty.path(), Some(&f.pubkey), None).unwrap();
    assert!(!v.ok(), "{}", v.text());
    assert!(v.text().contains("no records"), "{}", v.text());
}

// ---------------------------------------------------------------------------------------------
// The red team's forgeries (../shared/reviews/security-2026-12.md, F2, F3, F5, F14): each is caught.

/// Rewrite `p` through `edit`, keeping it a chain link after `previous`; returns the new file's hash.
fn rewrite(p: &Path, previous: Option<String>, edit: impl Fn(&mut serde_json::Value)) -> String {
    let mut doc: serde_json::Value = serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap();
    edit(&mut doc);
    doc["previous"] = previous.into();
    let bytes = serde_json::to_vec_pretty(&doc).unwrap();
    std::fs::write(p, &bytes).unwrap();
    format!(
        "sha256:{}",
        handover::support::hashing::sha256_bytes(&bytes)
    )
}

/// The technician's run on the device: its record, written after whatever the device holds.
fn technicians_run(state: &Path, kit_key: &str) -> PathBuf {
    let records = state.join("records");
    let mut st = State {
        last_record: signing::chain_head(&records).unwrap(),
        ..State::default()
    };
    let r = report(
        "check",
        "2026-12-01T09:00:00Z",
        os("12", "bookworm"),
        "sha256:aaaa",
        vec![control("firewall.enabled", Status::Pass)],
    );
    record::write_with(
        state,
        &mut st,
        &r,
        Default::default(),
        record::Provenance {
            kit_key: Some(kit_key.into()),
            attestations: vec![],
        },
    )
    .unwrap()
}

fn kit_key_hex(f: &Fixture) -> String {
    handover::support::hashing::hex(f.key.verifying_key().as_bytes())
}

/// B2: a fabricated "compliant" record appended with its chain fixed is never signed at the next
/// visit: only the technician's own run is, and the fabricated one is reported as the device's word.
#[test]
fn f2_a_fabricated_record_appended_before_a_visit_is_reported_never_signed() {
    let f = Fixture::new();
    let kit_copy = f.export();
    let fabricated = f
        .records_dir()
        .join("000004-20261130T000000Z-apply-full.json");
    std::fs::copy(&f.records[2], &fabricated).unwrap();
    let head = format!(
        "sha256:{}",
        handover::support::hashing::sha256_bytes(&std::fs::read(&f.records[2]).unwrap())
    );
    rewrite(&fabricated, Some(head), |d| {
        d["report"]["mode"] = "apply".into();
        d["report"]["reason"] = "COMPLIANT: 18 pass".into();
        d.as_object_mut().unwrap().remove("kit_key");
    });
    let present = technicians_run(&f.state, &kit_key_hex(&f));
    let filed = signing::after_record(&f.state, &f.kit, &present, SERIAL, &f.pass)
        .unwrap()
        .unwrap();
    assert_eq!(filed.signed, Some(signing::sig_path(&present)));
    assert_eq!(filed.unsigned, vec![name(&fabricated)]);
    assert!(!signing::sig_path(&fabricated).exists());
    assert!(!kit_copy.join(format!("{}.sig", name(&fabricated))).exists());
    let v = signing::verify(&f.records_dir(), Some(&f.pubkey), Some(&kit_copy)).unwrap();
    assert!(v
        .findings
        .iter()
        .any(|x| x.record.as_deref() == Some(name(&fabricated).as_str())
            && x.message == signing::UNSIGNED_RECORD));
    assert!(v.text().contains("device's word only"), "{}", v.text());
}

/// B: every record rewritten, signatures deleted and state.json's asset pointed at a fresh kit
/// directory. The kit copy is found by the serial, so the rewrite is seen and nothing is signed.
#[test]
fn f2_records_rewritten_and_the_asset_redirected_are_not_signed() {
    let f = Fixture::new();
    let kit_copy = f.export();
    let mut previous = None;
    for p in &f.records {
        previous = Some(rewrite(p, previous.clone(), |d| {
            d["report"]["technician"] = "Someone Else".into();
        }));
        std::fs::remove_file(signing::sig_path(p)).unwrap();
    }
    let mut st = State::load(&f.state).unwrap();
    st.last_record = previous;
    st.asset = Some("vm-2".into());
    st.save(&f.state).unwrap();
    let present = technicians_run(&f.state, &kit_key_hex(&f));
    let e = signing::after_record(&f.state, &f.kit, &present, SERIAL, &f.pass)
        .unwrap_err()
        .to_string();
    assert!(e.contains("differs from the kit's copy"), "{e}");
    assert!(!signing::sig_path(&present).exists());
    assert!(!f.kit.join("records/vm-2").exists());
    let v = signing::verify(&f.records_dir(), Some(&f.pubkey), Some(&kit_copy)).unwrap();
    assert!(!v.ok(), "{}", v.text());
    assert_names(&v, &f.names()[0]);
}

/// B on a device with no serial: rewriting the first record gives the chain a new directory on the
/// kit, but the rewritten records are still never signed, and the signed originals stay on the kit.
#[test]
fn f2_a_rewritten_chain_of_a_device_without_serial_is_never_signed() {
    let f = Fixture::new();
    let original = signing::device_dir_name("unknown", &f.records_dir()).unwrap();
    assert!(original.starts_with("chain-"), "{original}");
    let original = signing::kit_dir_named(&f.kit, &original).unwrap();
    signing::export(&f.records_dir(), &original).unwrap();
    let mut previous = None;
    for p in &f.records {
        previous = Some(rewrite(p, previous.clone(), |d| {
            d["report"]["controls"][0]["status"] = "pass".into();
        }));
        std::fs::remove_file(signing::sig_path(p)).unwrap();
    }
    let present = technicians_run(&f.state, &kit_key_hex(&f));
    let filed = signing::after_record(&f.state, &f.kit, &present, "unknown", &f.pass)
        .unwrap()
        .unwrap();
    assert_ne!(filed.kit_dir, original);
    assert_eq!(filed.unsigned, f.names());
    for p in &f.records {
        assert!(!signing::sig_path(p).exists());
    }
    let v = signing::verify(&f.records_dir(), Some(&f.pubkey), Some(&filed.kit_dir)).unwrap();
    for n in f.names() {
        assert!(
            v.findings
                .iter()
                .any(|x| x.record.as_deref() == Some(n.as_str())
                    && x.message.contains("written with the kit")),
            "{n}: {}",
            v.text()
        );
    }
    assert!(!v.ok(), "{}", v.text());
    // The kit still holds the signed originals.
    assert!(signing::verify(&original, Some(&f.pubkey), None)
        .unwrap()
        .ok());
}

/// C: an attestation added to state.json is not honoured: only one carried by a signed record is.
#[test]
fn f2_an_attestation_added_to_state_json_is_not_honoured() {
    let f = Fixture::new();
    let att = record::Attestation {
        control: "firmware.password".into(),
        by: "A. Tech (Service Desk)".into(),
        at: "2026-11-25T10:00:00Z".into(),
        text: "confirmed".into(),
        install_id: "machine-1".into(),
    };
    let mut st = State::load(&f.state).unwrap();
    st.attestations.push(att.clone());
    st.save(&f.state).unwrap();
    let honoured = signing::signed_attestations(&f.records_dir(), &f.pubkey, "machine-1").unwrap();
    assert!(honoured.is_empty(), "{honoured:?}");
    // Given in a run with the kit present, it is in that run's signed record, and honoured later.
    let r = report(
        "apply",
        "2026-12-01T09:00:00Z",
        os("12", "bookworm"),
        "sha256:aaaa",
        vec![control("firewall.enabled", Status::Pass)],
    );
    let p = record::write_with(
        &f.state,
        &mut st,
        &r,
        Default::default(),
        record::Provenance {
            kit_key: Some(kit_key_hex(&f)),
            attestations: vec![att.clone()],
        },
    )
    .unwrap();
    let unsigned = signing::signed_attestations(&f.records_dir(), &f.pubkey, "machine-1").unwrap();
    assert!(
        unsigned.is_empty(),
        "an unsigned record's attestation counts"
    );
    signing::sign_record(&p, &f.key).unwrap();
    let honoured = signing::signed_attestations(&f.records_dir(), &f.pubkey, "machine-1").unwrap();
    assert_eq!(honoured, vec![att]);
}

/// F3: the key on the kit signs nothing without the passphrase, and a key left in clear is refused.
#[test]
fn f3_the_kit_key_copied_from_the_stick_signs_nothing_without_the_passphrase() {
    let f = Fixture::new();
    let key_file = signing::kit_key_path(&f.kit);
    let text = std::fs::read_to_string(&key_file).unwrap();
    assert!(!text.contains(&handover::support::hashing::hex(&f.key.to_bytes())));
    let tmp = tempfile::tempdir().unwrap();
    let wrong = tmp.path().join("wrong");
    std::fs::write(&wrong, "correct horse battery stapler\n").unwrap();
    let e = signing::read_signing_key(&key_file, &signing::Passphrase::File(wrong))
        .unwrap_err()
        .to_string();
    assert!(e.contains("wrong passphrase"), "{e}");
    // A key made before keys were sealed: refused until resealed.
    let old = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(old.path().join("keys")).unwrap();
    std::fs::write(
        signing::kit_key_path(old.path()),
        format!(
            "# old\n{}\n",
            handover::support::hashing::hex(&f.key.to_bytes())
        ),
    )
    .unwrap();
    let e = signing::read_signing_key(&signing::kit_key_path(old.path()), &f.pass)
        .unwrap_err()
        .to_string();
    assert!(e.contains("kit keygen --reseal"), "{e}");
    signing::reseal(old.path(), &f.pass).unwrap();
    let k = signing::read_signing_key(&signing::kit_key_path(old.path()), &f.pass).unwrap();
    assert_eq!(k.to_bytes(), f.key.to_bytes());
}

/// F3: with no passphrase on the device, the run's record waits on the kit, and `kit sign` on the
/// technician's machine signs it (and only it), after checking its chain.
#[test]
fn f3_kit_sign_signs_the_pending_record_on_the_technicians_machine() {
    let f = Fixture::new();
    let kit_copy = f.export();
    let present = technicians_run(&f.state, &kit_key_hex(&f));
    let none = signing::Passphrase::File(f.state.join("no-such-file"));
    let filed = signing::after_record(&f.state, &f.kit, &present, SERIAL, &none)
        .unwrap()
        .unwrap();
    assert!(filed.signed.is_none());
    assert!(filed.not_signed.is_some());
    assert_eq!(
        std::fs::read_to_string(kit_copy.join(signing::PENDING))
            .unwrap()
            .trim(),
        name(&present)
    );
    let v = signing::verify(&f.records_dir(), Some(&f.pubkey), Some(&kit_copy)).unwrap();
    assert!(!v.ok(), "pending is not verified: {}", v.text());
    let out = signing::kit_sign(&f.kit, &f.pass).unwrap();
    assert_eq!(out.len(), 1);
    assert!(out[0].1.as_ref().unwrap().starts_with("signed"), "{out:?}");
    assert!(!kit_copy.join(signing::PENDING).exists());
    // The device's copy verifies with the kit's signature.
    let v = signing::verify(&f.records_dir(), Some(&f.pubkey), Some(&kit_copy)).unwrap();
    assert!(v.ok(), "{}", v.text());
    // A pending record that is not the newest of its directory is refused.
    let present2 = technicians_run(&f.state, &kit_key_hex(&f));
    signing::after_record(&f.state, &f.kit, &present2, SERIAL, &none).unwrap();
    std::fs::write(
        kit_copy.join(signing::PENDING),
        format!("{}\n", name(&f.records[1])),
    )
    .unwrap();
    let out = signing::kit_sign(&f.kit, &f.pass).unwrap();
    assert!(out[0].1.is_err(), "{out:?}");
}

/// F5: without --kit or --pubkey, the device's own records.pub verifies nothing; --allow-unsigned
/// passes an unbroken chain with a warning, and still fails an edited one.
#[test]
fn f5_the_device_held_key_verifies_nothing() {
    use crate::support::Handover;
    let f = Fixture::new();
    std::fs::copy(&f.pubkey, signing::device_pubkey_path(&f.state)).unwrap();
    let state = f.state.to_str().unwrap();
    let run = Handover::new(&["record", "verify"])
        .env("HANDOVER_STATE_DIR", state)
        .run();
    run.expect_code(1);
    assert!(
        run.stdout()
            .contains("not verified: key held by the device"),
        "{}",
        run.stdout()
    );
    assert!(!run.stdout().contains("\nVERIFIED"), "{}", run.stdout());
    let run = Handover::new(&["record", "verify", "--allow-unsigned"])
        .env("HANDOVER_STATE_DIR", state)
        .run();
    run.expect_code(0);
    assert!(run
        .stdout()
        .contains("NOT VERIFIED: key held by the device"));
    // With the kit's key given, it verifies.
    Handover::new(&["record", "verify", "--pubkey", f.pubkey.to_str().unwrap()])
        .env("HANDOVER_STATE_DIR", state)
        .run()
        .expect_code(0);
    // An edited record fails even with --allow-unsigned.
    let mut b = std::fs::read(&f.records[0]).unwrap();
    b.push(b' ');
    std::fs::write(&f.records[0], &b).unwrap();
    Handover::new(&["record", "verify", "--allow-unsigned"])
        .env("HANDOVER_STATE_DIR", state)
        .run()
        .expect_code(1);
}

/// F5, the unsigned path: a chain no kit ever signed passes --allow-unsigned with the warning; a
/// reordered one does not.
#[test]
fn f5_allow_unsigned_passes_an_unbroken_unsigned_chain_only() {
    use crate::support::Handover;
    let tmp = tempfile::tempdir().unwrap();
    let mut st = State::default();
    let mut paths = vec![];
    for i in 0..3 {
        let r = report(
            "check",
            &format!("2026-11-25T10:0{i}:00Z"),
            os("12", "bookworm"),
            "sha256:aaaa",
            vec![control("firewall.enabled", Status::Pass)],
        );
        paths.push(record::write(tmp.path(), &mut st, &r, Default::default()).unwrap());
    }
    st.save(tmp.path()).unwrap();
    let state = tmp.path().to_str().unwrap();
    let run = Handover::new(&["record", "verify", "--allow-unsigned"])
        .env("HANDOVER_STATE_DIR", state)
        .run();
    run.expect_code(0);
    assert!(run.stdout().contains("proves nothing"), "{}", run.stdout());
    Handover::new(&["record", "verify"])
        .env("HANDOVER_STATE_DIR", state)
        .run()
        .expect_code(1);
    let tmpf = paths[1].with_extension("x");
    std::fs::rename(&paths[1], &tmpf).unwrap();
    std::fs::rename(&paths[2], &paths[1]).unwrap();
    std::fs::rename(&tmpf, &paths[2]).unwrap();
    Handover::new(&["record", "verify", "--allow-unsigned"])
        .env("HANDOVER_STATE_DIR", state)
        .run()
        .expect_code(1);
}

/// F14: a `.sig` on the kit that links elsewhere (to /etc/shadow) is refused on import, never copied;
/// a kit directory that is a link is refused on export.
#[cfg(unix)]
#[test]
fn f14_record_import_and_export_follow_no_symbolic_link() {
    let f = Fixture::new();
    let kit_copy = f.export();
    let secret = f.state.join("secret.txt");
    std::fs::write(&secret, "root-only secret").unwrap();
    let sig = kit_copy.join(format!("{}.sig", f.names()[0]));
    std::fs::remove_file(&sig).unwrap();
    std::os::unix::fs::symlink(&secret, &sig).unwrap();
    let new_state = tempfile::tempdir().unwrap();
    let new_records = new_state.path().join("records");
    let e = signing::import(&kit_copy, &new_records, None).unwrap_err();
    assert!(e.to_string().contains("not a regular file"), "{e}");
    // Nothing was copied: the check comes before the first copy.
    assert!(!new_records.exists() || std::fs::read_dir(&new_records).unwrap().count() == 0);
    // Export into a kit directory that is a link elsewhere.
    let other = tempfile::tempdir().unwrap();
    let kit2 = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(kit2.path().join("records")).unwrap();
    std::os::unix::fs::symlink(other.path(), kit2.path().join("records/serial-SN1")).unwrap();
    let e = signing::kit_dir_named(kit2.path(), "serial-SN1").unwrap_err();
    assert!(e.to_string().contains("symbolic link"), "{e}");
    assert_eq!(std::fs::read_dir(other.path()).unwrap().count(), 0);
}

/// F14: import verifies the kit's copy against the kit's key first: a record edited on the kit is not
/// brought onto a reinstalled device.
#[test]
fn f14_record_import_verifies_the_kit_copy_first() {
    let f = Fixture::new();
    let kit_copy = f.export();
    let edited = kit_copy.join(&f.names()[1]);
    let mut b = std::fs::read(&edited).unwrap();
    b.push(b' ');
    std::fs::write(&edited, &b).unwrap();
    let new_state = tempfile::tempdir().unwrap();
    let new_records = new_state.path().join("records");
    let e = signing::import(&kit_copy, &new_records, Some(&f.pubkey)).unwrap_err();
    assert!(e.to_string().contains("does not verify"), "{e}");
    assert!(!new_records.exists() || std::fs::read_dir(&new_records).unwrap().count() == 0);
}

/// SPEC §2 time in state: the run stamps each control's `since` from the newest record, then writes its
/// own record, as `check` and `apply` do (src/commands/run.rs).
fn run_and_record(state_dir: &Path, state: &mut State, r: &mut Report) -> PathBuf {
    handover::evidence::timeline::stamp_from(r, state_dir, state.last_record.as_deref());
    record::write(state_dir, state, r, Default::default()).unwrap()
}

fn since_of(r: &Report, id: &str) -> String {
    r.controls
        .iter()
        .find(|c| c.id == id)
        .and_then(|c| c.since.clone())
        .unwrap_or_else(|| panic!("{id} has no since"))
}

fn chain_of(r: &Report) -> String {
    serde_json::to_value(r).unwrap()["time_in_state"]["chain"]
        .as_str()
        .unwrap()
        .to_string()
}

#[test]
fn since_is_carried_across_records_and_restarts_when_the_status_changes() {
    use Status::{Fail, Fixed, Pass};
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut state = State::default();
    let at = |day: &str| format!("2026-11-{day}T10:00:00Z");
    let run = |state: &mut State, day: &str, mode: &str, controls: Vec<(&str, Status)>| {
        let controls = controls.into_iter().map(|(i, s)| control(i, s)).collect();
        let mut r = report(mode, &at(day), os("12", "bookworm"), "sha256:ab", controls);
        run_and_record(dir, state, &mut r);
        r
    };

    // The first run: no chain yet, every control's state starts now.
    let r1 = run(
        &mut state,
        "02",
        "check",
        vec![("firewall.enabled", Fail), ("os.supported", Pass)],
    );
    assert_eq!(chain_of(&r1), "missing");
    assert_eq!(since_of(&r1, "firewall.enabled"), at("02"));
    assert!(
        r1.warnings.is_empty(),
        "a first run is no warning: {:?}",
        r1.warnings
    );

    // Same statuses: carried, and the text says since when it fails.
    let r2 = run(
        &mut state,
        "10",
        "check",
        vec![("firewall.enabled", Fail), ("os.supported", Pass)],
    );
    assert_eq!(chain_of(&r2), "unbroken");
    assert_eq!(since_of(&r2, "firewall.enabled"), at("02"));
    assert_eq!(since_of(&r2, "os.supported"), at("02"));
    let text = handover::evidence::report::text_with(&r2, false);
    assert!(
        text.contains("(failing since 2026-11-02, 8 days)"),
        "{text}"
    );

    // apply fixes the firewall: its passing state starts with this record; a later pass carries it.
    let r3 = run(
        &mut state,
        "20",
        "apply",
        vec![("firewall.enabled", Fixed), ("os.supported", Pass)],
    );
    assert_eq!(since_of(&r3, "firewall.enabled"), at("20"));
    assert_eq!(since_of(&r3, "os.supported"), at("02"));
    let r4 = run(
        &mut state,
        "21",
        "check",
        vec![("firewall.enabled", Pass), ("os.supported", Pass)],
    );
    assert_eq!(since_of(&r4, "firewall.enabled"), at("20"));

    // A partial run counts for its controls only; the next full run steps back past it for the others.
    let mut r5 = report(
        "check",
        &at("22"),
        os("12", "bookworm"),
        "sha256:ab",
        vec![control("os.supported", Fail)],
    );
    r5.scope = handover::evidence::report::Scope::Partial;
    run_and_record(dir, &mut state, &mut r5);
    assert_eq!(since_of(&r5, "os.supported"), at("22"));
    let r6 = run(
        &mut state,
        "23",
        "check",
        vec![("firewall.enabled", Pass), ("os.supported", Fail)],
    );
    assert_eq!(since_of(&r6, "firewall.enabled"), at("20"));
    assert_eq!(since_of(&r6, "os.supported"), at("22"));

    // The since values are in the record, under its hash (and so under its signature).
    let newest = std::fs::read_dir(dir.join("records"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .max()
        .unwrap();
    let rec: serde_json::Value = serde_json::from_slice(&std::fs::read(&newest).unwrap()).unwrap();
    assert_eq!(rec["report"]["controls"][0]["since"], at("20"));
}

#[test]
fn a_broken_chain_restarts_since_and_says_so() {
    use Status::Fail;
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let mut state = State::default();
    let mk = |day: &str| {
        report(
            "check",
            &format!("2026-11-{day}T10:00:00Z"),
            os("12", "bookworm"),
            "sha256:ab",
            vec![control("firewall.enabled", Fail)],
        )
    };
    run_and_record(dir, &mut state, &mut mk("02"));
    let newest = run_and_record(dir, &mut state, &mut mk("03"));

    // The newest record edited on the device: its hash is no longer the one state.json keeps.
    let mut bytes = std::fs::read(&newest).unwrap();
    bytes.push(b'\n');
    std::fs::write(&newest, &bytes).unwrap();
    let mut r = mk("10");
    run_and_record(dir, &mut state, &mut r);
    assert_eq!(chain_of(&r), "broken");
    assert_eq!(since_of(&r, "firewall.enabled"), "2026-11-10T10:00:00Z");
    let note = r.time_in_state.as_ref().unwrap().note.clone();
    assert!(
        note.contains(&name(&newest)) && note.contains("restarts with this run"),
        "{note}"
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.starts_with("time in state:") && w.contains("broken")),
        "{:?}",
        r.warnings
    );
    let text = handover::evidence::report::text_with(&r, false);
    assert!(
        text.contains("failing since this run") && text.contains("WARNING: time in state:"),
        "{text}"
    );

    // From there the chain holds again: the next run carries the restarted since.
    let mut r = mk("11");
    run_and_record(dir, &mut state, &mut r);
    assert_eq!(chain_of(&r), "unbroken");
    assert_eq!(since_of(&r, "firewall.enabled"), "2026-11-10T10:00:00Z");

    // state.json lost (records still there): broken too.
    let mut lost = State::default();
    let mut r = mk("12");
    run_and_record(dir, &mut lost, &mut r);
    assert_eq!(chain_of(&r), "broken");
    assert_eq!(since_of(&r, "firewall.enabled"), "2026-11-12T10:00:00Z");
}
