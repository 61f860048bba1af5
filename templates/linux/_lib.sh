# handover: shared helpers of the Linux check and apply scripts (POSIX sh; rendered, never edited by hand).
# A check ends with one JSON line: {"compliant": bool, "reason": "...", "observed": {...}[, "status": "..."]}.
{{> sh/_json.sh}}
{{#if (eq vars.pkg "apt")}}
pkg_installed() { [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ]; }
pkg_install() {
  # An apply killed mid-install (power lost, SIGKILL) leaves dpkg half-configured: finish that first.
  dpkg --configure -a </dev/null >/dev/null 2>&1 || true
  apt-get -q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install "$@" </dev/null
}
{{else}}
pkg_installed() { rpm -q "$1" >/dev/null 2>&1; }
pkg_install() {
  if [ -n "${HANDOVER_KIT_REPO:-}" ]; then
    # apply --kit: the kit's repository is the only one (`kit verify` checked its every byte first).
    dnf -q -y --disablerepo='*' --repofrompath="handover-kit,$HANDOVER_KIT_REPO" --setopt=handover-kit.gpgcheck=0 --enablerepo=handover-kit install "$@" </dev/null
    return
  fi
  dnf -q -y install "$@" </dev/null && return 0
{{#if vars.epel}}
  # ClamAV and openfortivpn come from EPEL on RHEL-family systems (with CRB for their dependencies).
  if ! rpm -q epel-release >/dev/null 2>&1; then
    echo "enabling EPEL and CRB for: $*" >&2
    dnf -q -y install epel-release </dev/null || { echo "epel-release is not installable here: enable EPEL (on RHEL, with subscription-manager) and run apply again" >&2; return 1; }
    dnf config-manager --set-enabled crb 2>/dev/null || true
    dnf -q -y install "$@" </dev/null
  else
    return 1
  fi
{{else}}
  return 1
{{/if}}
}
{{/if}}

svc_active() { systemctl is-active --quiet "$1" 2>/dev/null; }
svc_enabled() { systemctl is-enabled --quiet "$1" 2>/dev/null; }

{{> sh/_files.sh}}

# The login.defs value of KEY, or DEFAULT.
login_def() { awk -v k="$1" '$1 == k { v = $2 } END { print v }' /etc/login.defs 2>/dev/null | grep . || echo "$2"; }

# Is SHELL a real login shell (listed in /etc/shells and not nologin/false)?
real_shell() {
  case "$1" in */nologin|*/false|'') return 1 ;; esac
  grep -qx "$1" /etc/shells 2>/dev/null
}

{{> sh/_need.sh}}
