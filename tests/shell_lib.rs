//! The Linux checks' shell library (templates/linux/_lib.sh) and the facts the batch gathers once
//! (templates/linux/_facts.sh), run under `sh` and `dash` on this host: a file's text is the same whether it
//! comes from the facts' one grep or from the shell's own read, and the helpers built on it (each_line,
//! conf_value, login_def, real_shell, passwd_entry, pw_status) answer as the tools they replace would.

use std::process::Command;

use handover::inputs::profile::Sources;
use handover::plan::render::Renderer;
use serde_json::json;

use crate::support::{have, SITE};

/// The rendered library of the Debian 12 checks: the text of accounts.allowed's check before its own body.
fn library() -> String {
    let (_out, files) = crate::support::render_files("debian-12", SITE, &["sh"]);
    let (_, text) = files
        .into_iter()
        .find(|(n, _)| n == "accounts.allowed.check.sh")
        .expect("debian-12 renders accounts.allowed.check.sh");
    let body = text
        .find("\nneed_root /etc/shadow\n")
        .expect("accounts.allowed's check starts with need_root /etc/shadow");
    text[..body + 1].to_string()
}

fn facts() -> String {
    let sources = Sources::default();
    let profile = sources.load("debian-12").unwrap();
    Renderer::new(&sources)
        .unwrap()
        .render("linux/_facts.sh", &json!({"vars": profile.vars}))
        .unwrap()
}

/// Runs `script` under each shell; its stdout must be "ok".
fn assert_ok(what: &str, script: &str) {
    for shell in ["sh", "dash"].into_iter().filter(|s| have(s)) {
        let out = Command::new(shell).arg("-c").arg(script).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(
            stdout.trim(),
            "ok",
            "{what} under {shell}: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

const ASSERTIONS: &str = r#"
fail() { echo "FAIL: $*"; exit 1; }
dir=$(mktemp -d) || fail mktemp
trap 'rm -rf "$dir"' EXIT
# Outside the facts: the shell's own read. Empty lines are skipped, a glob is not expanded, a carriage
# return stays in the line, the last line needs no newline.
printf 'A=1\n\nB = 2\r\nA=3\n  c  =  x y \n*  = ?\nlast=1' >"$dir/conf"
got=''
collect() { got="$got[$1]"; }
each_line "$dir/conf" collect || fail "each_line of a readable file"
cr=$(printf '\r')
[ "$got" = "[A=1][B = 2$cr][A=3][  c  =  x y ][*  = ?][last=1]" ] || fail "each_line gave $got"
! each_line "$dir/missing" collect || fail "each_line of a missing file"
conf_value "$dir/conf" A && [ "$_cv" = 3 ] || fail "conf_value A: $_cv"
conf_value "$dir/conf" B ' = ' && [ "$_cv" = 2 ] || fail "conf_value B: $_cv"
conf_value "$dir/conf" c ' = ' && [ "$_cv" = 'x y ' ] || fail "conf_value c: [$_cv]"
conf_value "$dir/conf" last && [ "$_cv" = 1 ] || fail "conf_value last: $_cv"
! conf_value "$dir/conf" B || fail "B has blanks around = and the separator is ="
! conf_value "$dir/conf" D || fail "conf_value of a key no line sets"
# A callback may split with its own IFS; the caller's IFS and globbing come back. It may not call each_line.
outer() {
  IFS==
  # shellcheck disable=SC2086
  set -- $1
  keys="$keys$1,"
  ! each_line "$dir/conf" collect 2>/dev/null || fail "each_line inside each_line"
}
keys=''
IFS=' 	
'
each_line "$dir/conf" outer
[ "$keys" = "A,B ,A,  c  ,*  ,last," ] || fail "outer keys $keys"
[ "$IFS" = ' 	
' ] || fail "IFS after each_line"
case $- in *f*) fail "each_line left globbing off" ;; esac
each_line "$dir/conf" collect || fail "each_line after a refused nested call"
# The host's own files, through whichever path this run takes.
for f in /etc/passwd /etc/shells /etc/login.defs; do
  file_text "$f" || fail "file_text $f"
  # (trailing newlines aside, as command substitution drops them)
  [ "$(printf "%s" "$_ft")" = "$(cat "$f")" ] || fail "file_text $f differs from the file"
done
want=$(awk '$1 == "UID_MIN" { v = $2 } END { print (v == "" ? "1000" : v) }' /etc/login.defs 2>/dev/null || echo 1000)
login_def UID_MIN 1000
[ "$_ld" = "$want" ] || fail "login_def UID_MIN: $_ld, awk: $want"
login_def HANDOVER_NO_SUCH_KEY dflt
[ "$_ld" = dflt ] || fail "login_def default"
set_words '  a  *  b
c '
[ "$_words" = 'a * b c' ] || fail "set_words: [$_words]"
[ "$(words ' x  y ')" = 'x y' ] || fail "words"
passwd_entry root && [ "$_pe" = "$(grep -m 1 '^root:' /etc/passwd)" ] || fail "passwd_entry root: $_pe"
! passwd_entry handover-no-such-user || fail "passwd_entry of no account"
real_shell /bin/sh || fail "/bin/sh is a login shell (/etc/shells)"
! real_shell /usr/sbin/nologin || fail nologin
! real_shell /bin/handover-no-such-shell || fail "a shell /etc/shells does not list"
if [ -r /etc/shadow ]; then
  pw_status root || fail "pw_status root"
  want=$(passwd -S root 2>/dev/null | cut -d' ' -f2)
  [ -z "$want" ] || [ "$_ps" = "$want" ] || fail "pw_status root: $_ps, passwd -S: $want"
  ! pw_status handover-no-such-user || fail "pw_status of no account"
fi
echo ok
"#;

#[test]
fn the_library_reads_files_alike_with_and_without_the_facts() {
    let lib = library();
    // Alone, as a check run by itself (the re-check after a change): no facts, the shell reads.
    assert_ok("library alone", &format!("{lib}\n{ASSERTIONS}"));
    // In the batch: the facts first (they write systemctl's answer into the batch's directory, $_dir).
    let facts = facts();
    let batch = format!(
        "_dir=$(mktemp -d) || exit 1\n{facts}\nrm -rf \"$_dir\"\n\
         case \"$_fact_files\" in *' /etc/passwd='*' /etc/login.defs='*) ;; *) echo \"facts: $_fact_files\"; exit 1 ;; esac\n\
         {lib}\n{ASSERTIONS}"
    );
    assert_ok("library after the facts", &batch);
}
