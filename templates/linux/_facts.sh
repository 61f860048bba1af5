# handover: facts several Linux checks read, gathered once at the top of the batch of checks (_batch.sh) and
# seen by every check as shell variables. A check run on its own (`handover render`, the re-check after a
# change) finds them unset, and the helpers of _lib.sh then ask the device themselves.
# They are read side by side: `systemctl show` (the slowest) in the background into the batch's private
# directory ($_dir, made before this runs), while dpkg-query runs and the shell reads its own uid.
# _fact_units: " ID:ACTIVE-STATE:UNIT-FILE-STATE ..." of the units the checks ask about, and of any loaded unit
# named like Lansweeper's agent (svc_active, svc_enabled; the Lansweeper check), from one `systemctl show`.
# systemctl prints one block of KEY=VALUE lines per unit, blocks apart by an empty line.
systemctl show -p Id,ActiveState,UnitFileState -- \
  {{#each vars.clamav_services}}{{this}}.service {{/each}}{{vars.ssh_service}}.service \
  {{#if (eq vars.pkg "apt")}}ufw.service apt-daily.timer apt-daily-upgrade.timer{{else}}firewalld.service {{vars.dnf_automatic_timer}}{{/if}} \
  'ltsagent*' 'lsagent*' 'LansweeperAgent*' >"$_dir/.units" 2>/dev/null &
_units_pid=$!
# _fact_uid: who runs the checks (need_root): the effective uid, the second of /proc/self/status's "Uid:"
# line (the shell's own; no process).
while read -r _k _ _e _; do
  case "$_k" in Uid:) _fact_uid=$_e && break ;; esac
done </proc/self/status
# _fact_files and _fact_file_N: the text of the configuration files several checks parse (file_text,
# each_line), from one awk: dash's `read` takes a byte at a time, a system call a byte (0.45 µs each on the
# bench device), and these files are about 25 KB together. " FILE=N ..." names the variable _fact_file_N that
# holds FILE's text; a file that cannot be read is not named. awk writes each file as "<RS>FILE", a newline
# and its lines (RS: the ASCII record separator, 036), and the shell's field splitting cuts the files apart in
# one pass (pattern removal such as ${v#*X} is quadratic in dash: it is kept to short strings). Files that
# hold secrets (the VPN's, LsAgent's) are not read here.
_nl='
'
set --
for _p in /etc/passwd /etc/shells /etc/login.defs /etc/security/pwquality.conf /etc/security/pwquality.conf.d/*.conf \
  {{#each vars.pam_password_files}}{{this}} {{/each}}{{#if (eq vars.pkg "apt")}}/etc/default/ufw /etc/ufw/ufw.conf /etc/ufw/user.rules /etc/ufw/user6.rules{{/if}}; do
  # Only readable files: awk (mawk) stops at the first it cannot open.
  [ ! -f "$_p" ] || [ ! -r "$_p" ] || set -- "$@" "$_p"
done
if [ $# -gt 0 ] && _f=$(awk 'FNR == 1 { printf "\036%s\n", FILENAME } { print }' "$@" 2>/dev/null); then
  _fact_files=' '
  _n=0
  set -f
  # The separator is the first character awk wrote.
  _ifs=$IFS IFS=${_f%"${_f#?}"}
  # shellcheck disable=SC2086 # split at each separator on purpose
  set -- $_f
  IFS=$_ifs
  set +f
  for _p in "$@"; do
    [ -n "$_p" ] || continue
    _n=$((_n + 1))
    _fact_files="$_fact_files${_p%%"$_nl"*}=$_n "
    eval "_fact_file_$_n=\${_p#*\"\$_nl\"}"
  done
  unset _f
fi
set --
# _fact_pw: every account's password status (_pw_load, which pw_status reads), from one read of /etc/shadow
# rather than a `passwd -S` for each account the checks ask about.
{{> linux/_pwstatus.sh}}
_pw_load || true
{{#if (eq vars.pkg "apt")}}
# _fact_dpkg: every package dpkg knows, one "STATUS-ABBREV NAME" line each ("ii  ufw"), between newlines
# (pkg_installed). One dpkg-query reads the status database once instead of once per package.
if _f=$(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' 2>/dev/null); then
  _fact_dpkg="
$_f
"
fi
{{/if}}
# systemctl's answer, once it has given one (a failed or empty `systemctl show` leaves _fact_units unset).
if wait "$_units_pid" && [ -s "$_dir/.units" ]; then
  _fact_units=' '
  _i='' _a='' _u=''
  while IFS= read -r _l || [ -n "$_l" ]; do
    case "$_l" in
      Id=*) _i=${_l#Id=} ;;
      ActiveState=*) _a=${_l#ActiveState=} ;;
      UnitFileState=*) _u=${_l#UnitFileState=} ;;
      '') [ -z "$_i" ] || _fact_units="$_fact_units$_i:$_a:$_u "; _i='' _a='' _u='' ;;
    esac
  done <"$_dir/.units"
  [ -z "$_i" ] || _fact_units="$_fact_units$_i:$_a:$_u "
fi
