set -u
umask 077

_obs=''
_fails=''

# obs KEY VALUE: an observed string (one line); obsb KEY true|false: an observed boolean.
obs() { _obs="${_obs}s	$1	$2
"; }
obsb() { _obs="${_obs}b	$1	$2
"; }
# obsn KEY INTEGER: an observed JSON integer; anything but 1 to 15 digits (after an optional minus) is null,
# so that no value can break the JSON line. Leading zeros are dropped (JSON has no 007).
obsn() {
  case "$2" in
    '' | *[!0-9-]* | ?*-* | - | ????????????????*) _n=null ;;
    *) _n=$(printf '%s' "$2" | sed 's/^\(-\{0,1\}\)0*\([0-9]\)/\1\2/') ;;
  esac
  _obs="${_obs}n	$1	$_n
"
}

# problem REASON: the control fails for this reason (several are joined with "; ").
problem() { _fails="${_fails:+$_fails; }$1"; }

# result true|false REASON [STATUS]: print the JSON line and end the check.
result() {
  printf '%s' "$_obs" | C="$1" R="$2" S="${3:-}" awk -F '	' '
    function esc(x,   out, i, c) {
      out = ""
      for (i = 1; i <= length(x); i++) {
        c = substr(x, i, 1)
        if (c == "\\") out = out "\\\\"
        else if (c == "\"") out = out "\\\""
        else if (c == "\n") out = out "\\n"
        else if (c < " ") out = out " "
        else out = out c
      }
      return out
    }
    { v = ($1 == "b" || $1 == "n") ? $3 : "\"" esc($3) "\""; o = o (n++ ? "," : "") "\"" esc($2) "\":" v }
    END {
      s = ENVIRON["S"]
      printf "{\"compliant\":%s,\"reason\":\"%s\",\"observed\":{%s}%s}\n", ENVIRON["C"], esc(ENVIRON["R"]), o, (s == "" ? "" : ",\"status\":\"" s "\"")
    }'
  exit 0
}

# finish REASON: pass with REASON unless a problem was recorded.
finish() {
  if [ -n "$_fails" ]; then result false "$_fails"; else result true "$1"; fi
}

# A one-line version of a command's output.
oneline() { tr '\n\t' '  ' | sed 's/  */ /g; s/^ //; s/ $//'; }

