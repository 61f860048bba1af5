# handover: shared helpers of the Linux check and apply scripts (POSIX sh; rendered, never edited by hand).
# A check ends with one JSON line: {"compliant": bool, "reason": "...", "observed": {...}[, "status": "..."]}.
{{> sh/_json.sh}}
# Facts the batch of checks gathered once (_facts.sh) are used when set; a check run alone asks the device.
{{#if (eq vars.pkg "apt")}}
pkg_installed() {
  case "${_fact_dpkg-unset}" in
    unset) [ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null)" = "ii " ] ;;
    *"
ii  $1
"*) return 0 ;;
    *) return 1 ;;
  esac
}
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

# _unit NAME: the unit's "ID:ACTIVE:ENABLED" fact into $_unit (a name without a type is a .service), or fail.
_unit() {
  case "$1" in *.*) _unit=$1 ;; *) _unit=$1.service ;; esac
  case "${_fact_units-}" in
    *" $_unit:"*) _unit=${_fact_units#*" $_unit:"} && _unit=${_unit%% *} ;;
    *) return 1 ;;
  esac
}
# Active as `systemctl is-active` counts it (active, or reloading); enabled as `systemctl is-enabled` does
# (its exit status 0: enabled, enabled-runtime, static, alias, indirect, generated, transient).
svc_active() {
  _unit "$1" || { systemctl is-active --quiet "$1" 2>/dev/null; return; }
  case "$_unit" in active:* | reloading:*) return 0 ;; *) return 1 ;; esac
}
svc_enabled() {
  _unit "$1" || { systemctl is-enabled --quiet "$1" 2>/dev/null; return; }
  case "${_unit#*:}" in enabled | enabled-runtime | static | alias | indirect | generated | transient) return 0 ;; *) return 1 ;; esac
}

{{> sh/_files.sh}}

# The login.defs value of KEY, or DEFAULT.
login_def() { awk -v k="$1" -v d="$2" '$1 == k { v = $2 } END { print (v == "" ? d : v) }' /etc/login.defs 2>/dev/null || echo "$2"; }

# Is SHELL a real login shell (listed in /etc/shells and not nologin/false)?
real_shell() {
  case "$1" in */nologin|*/false|'') return 1 ;; esac
  while IFS= read -r _sh; do [ "$_sh" != "$1" ] || return 0; done 2>/dev/null </etc/shells
  return 1
}

# conf_value FILE KEY [SEP]: the value of the last "KEY=VALUE" line of FILE (SEP: "=" by default; with " = ",
# blanks around "=" are allowed too) into $_cv, a trailing carriage return dropped; fails when no line sets it.
# Read by the shell itself: these are small files.
conf_value() {
  _cv='' _cf=1
  [ -r "$1" ] || return 1
  while IFS= read -r _cl || [ -n "$_cl" ]; do
    case "${3:-=}" in
      ' = ')
        _cl=${_cl#"${_cl%%[![:space:]]*}"}
        case "$_cl" in "$2"=* | "$2"[[:space:]]*=*) ;; *) continue ;; esac
        _ck=${_cl%%=*} && _ck=${_ck%"${_ck##*[![:space:]]}"}
        [ "$_ck" = "$2" ] || continue
        _cl=${_cl#*=} && _cv=${_cl#"${_cl%%[![:space:]]*}"} ;;
      *) case "$_cl" in "$2="*) _cv=${_cl#"$2="} ;; *) continue ;; esac ;;
    esac
    _cv=${_cv%[[:cntrl:]]} _cf=0
  done <"$1"
  return "$_cf"
}

# passwd_entry NAME: NAME's line of /etc/passwd (a local account) into $_pe, or fail when it has none.
passwd_entry() {
  while IFS= read -r _pe; do case "$_pe" in "$1":*) return 0 ;; esac; done 2>/dev/null </etc/passwd
  return 1
}

{{> linux/_pwstatus.sh}}
# pw_status NAME: NAME's password status into $_ps (L locked, NP empty, P set; see _pw_load), from the batch's
# facts or read here; fails, $_ps empty, when NAME has no entry in /etc/shadow or it cannot be read.
pw_status() {
  _ps=''
  [ -n "${_fact_pw+set}" ] || _pw_load || return 1
  case "$_fact_pw" in *" $1:"*) _ps=${_fact_pw#*" $1:"} && _ps=${_ps%% *} ;; *) return 1 ;; esac
}

{{> sh/_need.sh}}
