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
for s in $(firewall-cmd --permanent --zone="$zone" --list-services 2>/dev/null); do
  case "$core" in *" $s "*) ;; *) problem "service $s is open to any source in zone $zone" ;; esac
done
ports=$(firewall-cmd --permanent --zone="$zone" --list-ports 2>/dev/null)
[ -z "$ports" ] || problem "ports open to any source in zone $zone: $ports"
rules=$(firewall-cmd --permanent --zone="$zone" --list-rich-rules 2>/dev/null)
obs rich_rules "$(printf '%s\n' "$rules" | sed 's/$/;/' | oneline)"
# want_rule PROTO PORT FROM: the site's entry must be a rich rule scoped to its source.
want_rule() {
  printf '%s\n' "$rules" | grep -F "source address=\"$3\"" | grep -F "port port=\"$2\" protocol=\"$1\" accept" >/dev/null \
    || problem "missing rich rule: $1 $2 from $3"
}
{{#each firewall.allow}}
want_rule {{proto}} {{port}} {{from}}
{{/each}}
n_want={{firewall.allow.length}}
n_have=$(printf '%s\n' "$rules" | grep -c 'accept' || true)
[ "$n_have" -le "$n_want" ] || problem "$n_have accepting rich rules, the site lists $n_want"
finish "inbound allowed only for the site's scoped entries"
