{{> macos/_lib.sh}}
set -e
# Only once the separate admin is verified (handover's guard); admins use sudo, never root's password.
# mSCP os_root_disable's fix since commit 0336fe58: root out of FileVault, then no AuthenticationAuthority. The
# shell is left alone (mSCP no longer sets /usr/bin/false, which broke `sudo -i`).
if fdesetup list 2>/dev/null | grep -q '^root,'; then
  fdesetup remove -user root
  echo "removed root from the FileVault users"
fi
if [ "$(dscl . -read /Users/root AuthenticationAuthority 2>/dev/null | grep -c '^AuthenticationAuthority:')" != 0 ]; then
  dscl . -delete /Users/root AuthenticationAuthority
  echo "removed root's AuthenticationAuthority"
fi
# sshd keeps the first value it reads, and macOS's sshd_config includes sshd_config.d/* before its own
# settings: a drop-in sorted before Apple's 100-macos.conf decides.
grep -Eq '^[[:space:]]*Include[[:space:]]+/etc/ssh/sshd_config\.d/\*' /etc/ssh/sshd_config || {
  echo "/etc/ssh/sshd_config does not include /etc/ssh/sshd_config.d/*: set PermitRootLogin no there by hand" >&2
  exit 1
}
mkdir -p /etc/ssh/sshd_config.d
printf '%s\n' '# handover: ITP07 7.1.2' 'PermitRootLogin no' | write_file /etc/ssh/sshd_config.d/000-handover.conf 644
