set -u
umask 077

# The JSON line is built by the shell itself as observations come (no awk, sed or other process per check):
# _obs holds the observed members, comma-separated, already escaped.
_obs=''
_fails=''
_nl='
'

# _esc STRING: STRING as the inside of a JSON string, into $_je: backslash and quote escaped, a newline as \n,
# any other control character as a space. Only the special characters cost a loop turn.
_esc() {
  _js=$1 _je=''
  while :; do
    case "$_js" in
      *[\\\"[:cntrl:]]*) ;;
      *) _je="$_je$_js"; return 0 ;;
    esac
    _jp=${_js%%[\\\"[:cntrl:]]*}
    _js=${_js#"$_jp"}
    _jc=${_js%"${_js#?}"}
    _js=${_js#?}
    case "$_jc" in
      \\ | \") _je="$_je$_jp\\$_jc" ;;
      "$_nl") _je="$_je$_jp\\n" ;;
      *) _je="$_je$_jp " ;;
    esac
  done
}

# _member KEY JSON-VALUE: add one observed member.
_member() { _esc "$1"; _obs="$_obs${_obs:+,}\"$_je\":$2"; }

# obs KEY VALUE: an observed string (one line); obsb KEY true|false: an observed boolean.
obs() { _esc "$2"; _member "$1" "\"$_je\""; }
obsb() { _member "$1" "$2"; }
# obsn KEY INTEGER: an observed JSON integer; anything but 1 to 15 digits (after an optional minus) is null,
# so that no value can break the JSON line. Leading zeros are dropped (JSON has no 007).
obsn() {
  case "$2" in
    '' | *[!0-9-]* | ?*-* | - | ????????????????*) _jn=null ;;
    -*) _jn=${2#-}; while case "$_jn" in 0?*) true ;; *) false ;; esac; do _jn=${_jn#0}; done; _jn="-$_jn" ;;
    *) _jn=$2; while case "$_jn" in 0?*) true ;; *) false ;; esac; do _jn=${_jn#0}; done ;;
  esac
  _member "$1" "$_jn"
}

# problem REASON: the control fails for this reason (several are joined with "; ").
problem() { _fails="${_fails:+$_fails; }$1"; }

# result true|false REASON [STATUS]: print the JSON line and end the check.
result() {
  _esc "$2"
  printf '{"compliant":%s,"reason":"%s","observed":{%s}%s}\n' "$1" "$_je" "$_obs" "${3:+,\"status\":\"$3\"}"
  exit 0
}

# finish REASON: pass with REASON unless a problem was recorded.
finish() {
  if [ -n "$_fails" ]; then result false "$_fails"; else result true "$1"; fi
}

# set_words TEXT: TEXT's words on one line, single spaces between them, into $_words (no glob is expanded; no
# subshell, where "$(words TEXT)" forks one).
set_words() {
  case $- in *f*) set -- "$1" '' ;; *) set -f; set -- "$1" f ;; esac
  _jw=$2
  # shellcheck disable=SC2086 # split on purpose
  set -- $1
  [ -z "$_jw" ] || set +f
  _words="$*"
}
# words TEXT: the same, printed.
words() {
  set_words "$1"
  printf '%s' "$_words"
}
# A one-line version of a command's output (stdin), as `words`.
oneline() {
  _jo=''
  while IFS= read -r _jl || [ -n "$_jl" ]; do _jo="$_jo $_jl"; done
  words "$_jo"
}
