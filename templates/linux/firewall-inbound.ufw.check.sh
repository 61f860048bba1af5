{{> linux/_lib.sh}}
# ITP07 7.1.5 "only open the appropriate ports and scope access to the smallest possible range of clients":
# the rules ufw keeps (user.rules, user6.rules) are exactly the site's scoped entries. ufw's own before-rules
# (ICMP, DHCP, loopback) are the OS's core networking rules and are not listed there.
{{#each firewall.refused}}
problem {{this}}
{{/each}}
command -v ufw >/dev/null 2>&1 || result false "ufw is not installed"
want=''
want_rule() { want="${want}allow $1 $2 $3 in
"; }
{{#each firewall.allow}}
want_rule {{proto}} {{port}} {{from}}
{{/each}}
# Tuples: "### tuple ### ACTION PROTO DPORT DST SPORT SRC DIRECTION" for port rules; application rules carry
# two app names before the direction, and outbound or routed rules another direction: only inbound counts.
# Read line by line by the shell (each_line), split into fields as awk would.
have='' rules='' apps=''
tuple() {
  case "$1" in '### tuple ### '*) ;; *) return 0 ;; esac
  # shellcheck disable=SC2086 # split into fields on purpose (each_line expands no glob)
  set -- $1
  [ $# -ge 10 ] || return 0
  case "${10}" in
    in) have="$have$4 $5 $6 $9 in$_nl" && rules="$rules $4 $5 $6 $9 in;" ;;
    out | in_* | out_* | route_*) ;;
    *) [ $# -lt 12 ] || case "${12}" in in*) apps="$apps $4 ${10} from $9" ;; esac ;;
  esac
}
for f in /etc/ufw/user.rules /etc/ufw/user6.rules; do
  each_line "$f" tuple || true
done
apps=${apps# }
[ -z "$apps" ] || problem "application rules open to their sources: $apps"
obs rules "${rules# }"
missing='' extra=''
while IFS= read -r w; do
  [ -n "$w" ] || continue
  case "$_nl$have" in *"$_nl$w$_nl"*) ;; *) missing="$missing missing: $w;" ;; esac
done <<EOF
$want
EOF
while IFS= read -r h; do
  [ -n "$h" ] || continue
  case "$_nl$want" in *"$_nl$h$_nl"*) ;; *) extra="$extra not in the site: $h;" ;; esac
done <<EOF
$have
EOF
missing=${missing# } extra=${extra# }
[ -z "$missing$extra" ] || problem "ufw rules differ from the site's [firewall] allow: $missing $extra"
finish "inbound allowed only for the site's scoped entries"
