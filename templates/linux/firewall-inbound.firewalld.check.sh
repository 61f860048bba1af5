{{> linux/_lib.sh}}
# ITP07 7.1.5: in the default zone, inbound is open only through the site's entries (rich rules scoped to
# their source) and the OS's core networking services (vars.core_services of the profile).
{{#each firewall.refused}}
problem {{this}}
{{/each}}
command -v firewall-cmd >/dev/null 2>&1 || result false "firewalld is not installed"
zone=$(firewall-cmd --get-default-zone 2>/dev/null || echo public)
obs zone "$zone"
set -- {{#each vars.core_services}}{{this}} {{/each}}
core=" $* "
# Every active zone counts, as it runs now and as it is saved: an interface or source bound to a zone such
# as trusted or home is let in by that zone.
zones=$( { echo "$zone"; firewall-cmd --get-active-zones 2>/dev/null | awk '!/^[[:space:]]/ { print $1 }'; } | sort -u)
obs zones "$(printf '%s\n' "$zones" | oneline)"
for z in $zones; do
  for mode in '' --permanent; do
    # shellcheck disable=SC2086 # $mode is empty or one flag
    for s in $(firewall-cmd $mode --zone="$z" --list-services 2>/dev/null); do
      case "$core" in *" $s "*) ;; *) problem "service $s is open to any source in zone $z${mode:+ (saved)}" ;; esac
    done
    # shellcheck disable=SC2086
    ports=$(firewall-cmd $mode --zone="$z" --list-ports 2>/dev/null)
    [ -z "$ports" ] || problem "ports open to any source in zone $z${mode:+ (saved)}: $ports"
  done
  [ "$z" = "$zone" ] || case "$(firewall-cmd --permanent --zone="$z" --get-target 2>/dev/null)" in
    ACCEPT) problem "active zone $z accepts all inbound traffic (target ACCEPT)" ;;
  esac
done
rules=$(firewall-cmd --permanent --zone="$zone" --list-rich-rules 2>/dev/null)
obs rich_rules "$(printf '%s\n' "$rules" | sed 's/$/;/' | oneline)"
# want_rule PROTO PORT FROM: the site's entry must be a rich rule scoped to its source.
n_want=0
want_rule() {
  n_want=$((n_want + 1))
  printf '%s\n' "$rules" | grep -F "source address=\"$3\"" | grep -F "port port=\"$2\" protocol=\"$1\" accept" >/dev/null \
    || problem "missing rich rule: $1 $2 from $3"
}
{{#each firewall.allow}}
want_rule {{proto}} {{port}} {{from}}
{{/each}}
n_have=$(printf '%s\n' "$rules" | grep -c 'accept' || true)
[ "$n_have" -le "$n_want" ] || problem "$n_have accepting rich rules, the site lists $n_want"
finish "inbound allowed only for the site's scoped entries"
