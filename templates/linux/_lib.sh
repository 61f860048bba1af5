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

# file_text FILE: FILE's text into $_ft, from the batch's facts (_facts.sh) when they hold it, else read here by
# the shell (a system call a byte, but no process: the files outside the facts are small); fails when FILE
# cannot be read.
file_text() {
  case "${_fact_files-}" in
    *" $1="*) _ft=${_fact_files#*" $1="} && eval "_ft=\$_fact_file_${_ft%% *}" ;;
    *)
      [ -r "$1" ] || return 1
      _ft=''
      while IFS= read -r _fl || [ -n "$_fl" ]; do _ft="$_ft$_fl$_nl"; done 2>/dev/null <"$1"
      ;;
  esac
}

# each_line FILE FUNCTION: FUNCTION LINE for each line of FILE that is not empty (file_text: no byte-by-byte
# read), in order, with no glob expanded; fails when FILE cannot be read. FUNCTION may change IFS (each call
# starts with the caller's) but not call each_line itself: a POSIX shell has no local variables.
each_line() {
  [ -z "${_el_busy-}" ] || { echo "each_line $1: called from inside each_line $_el_busy" >&2; return 2; }
  file_text "$1" || return 1
  _el_busy=$1
  case $- in *f*) _el_f='' ;; *) _el_f=1 && set -f ;; esac
  _el_ifs=$IFS IFS=$_nl
  # The list is split once, before the first call.
  for _el in $_ft; do
    IFS=$_el_ifs
    "$2" "$_el"
  done
  IFS=$_el_ifs
  [ -z "$_el_f" ] || set +f
  _el_busy=''
}

# login_def KEY DEFAULT: the login.defs value of KEY ("KEY VALUE" lines, the last one wins), or DEFAULT, into
# $_ld.
login_def() {
  _ld_k=$1 _ld=$2 _ld_d=$2
  each_line /etc/login.defs _login_def_line || true
}
_login_def_line() {
  # shellcheck disable=SC2086 # split into fields on purpose (each_line expands no glob)
  set -- $1
  [ "${1-}" != "$_ld_k" ] || _ld=${2:-$_ld_d}
}

# Is SHELL a real login shell (listed in /etc/shells and not nologin/false)?
real_shell() {
  case "$1" in */nologin|*/false|'') return 1 ;; esac
  file_text /etc/shells || return 1
  case "$_nl$_ft$_nl" in *"$_nl$1$_nl"*) return 0 ;; esac
  return 1
}

# conf_value FILE KEY [SEP]: the value of the last "KEY=VALUE" line of FILE (SEP: "=" by default; with " = ",
# blanks around "=" are allowed too) into $_cv, a trailing carriage return dropped; fails when no line sets it.
conf_value() {
  _cv='' _cf=1 _ck=$2 _cs=${3:-=}
  each_line "$1" _conf_line || return 1
  return "$_cf"
}
_conf_line() {
  _cl=$1
  case "$_cs" in
    ' = ')
      _cl=${_cl#"${_cl%%[![:space:]]*}"}
      case "$_cl" in "$_ck"=* | "$_ck"[[:space:]]*=*) ;; *) return 0 ;; esac
      _cn=${_cl%%=*} && _cn=${_cn%"${_cn##*[![:space:]]}"}
      [ "$_cn" = "$_ck" ] || return 0
      _cl=${_cl#*=} && _cv=${_cl#"${_cl%%[![:space:]]*}"} ;;
    *) case "$_cl" in "$_ck="*) _cv=${_cl#"$_ck="} ;; *) return 0 ;; esac ;;
  esac
  _cv=${_cv%[[:cntrl:]]} _cf=0
}

# passwd_entry NAME: NAME's (first) line of /etc/passwd (a local account) into $_pe, or fail when it has none.
passwd_entry() {
  _pe_n=$1 _pe=''
  each_line /etc/passwd _passwd_line || return 1
  [ -n "$_pe" ]
}
_passwd_line() {
  [ -z "$_pe" ] || return 0
  case "$1" in "$_pe_n":*) _pe=$1 ;; esac
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
