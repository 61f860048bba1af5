{{> macos/_lib.sh}}
need_root 'the root account record'
# ITP07 7.1.2: root disabled as mSCP's os_root_disable defines it since commit 0336fe58 (2026-03-26): no
# AuthenticationAuthority (so no password can log it in) and root not a FileVault user. root's shell is no
# longer part of it: mSCP dropped the /usr/bin/false shell so that `sudo -i` keeps working. And sshd refusing
# root logins, read as sshd resolves its configuration.
n=$(dscl . -read /Users/root AuthenticationAuthority 2>/dev/null | grep -c '^AuthenticationAuthority:')
obs root_authentication_authority "$n"
[ "$n" = 0 ] || problem "root can log in: it has an AuthenticationAuthority (enabled with dsenableroot or Directory Utility)"
# fdesetup list prints "NAME,UUID" for each user that can unlock FileVault (a root once enabled may be one).
if fdesetup list 2>/dev/null | grep -q '^root,'; then
  obsb root_filevault_user true
  problem "root can unlock FileVault (fdesetup list)"
else
  obsb root_filevault_user false
fi
rs=$(user_shell root)
obs root_shell "${rs:-unset}"
# sshd -T needs a host key, which macOS makes only when Remote Login is first turned on: a throwaway one
# lets it print the configuration on a Mac that has none.
if ! out=$(sshd -T 2>&1); then
  tmpk=$(mktemp -d "${TMPDIR:-/tmp}/handover-sshd.XXXXXX")
  ssh-keygen -q -t ed25519 -N '' -f "$tmpk/k" >/dev/null 2>&1 || true
  out=$(sshd -T -h "$tmpk/k" 2>&1) || problem "sshd -T failed: $(printf '%s' "$out" | oneline)"
  rm -rf "$tmpk"
fi
prl=$(printf '%s\n' "$out" | awk '$1 == "permitrootlogin" { print $2 }')
obs sshd_permitrootlogin "${prl:-unknown}"
[ "$prl" = no ] || problem "sshd allows root logins (sshd -T: permitrootlogin ${prl:-unknown})"
finish "root is disabled and sshd refuses root logins"
