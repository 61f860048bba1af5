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
tuples=$(cat /etc/ufw/user.rules /etc/ufw/user6.rules 2>/dev/null | awk '/^### tuple ### / { print }')
have=$(printf '%s\n' "$tuples" | awk '$10 == "in" { print $4, $5, $6, $9, $10 }')
apps=$(printf '%s\n' "$tuples" | awk '$10 != "in" && $10 != "out" && $10 !~ /^(in|out|route)_/ && $12 ~ /^in/ { print $4, $10, "from", $9 }' | oneline)
[ -z "$apps" ] || problem "application rules open to their sources: $apps"
obs rules "$(printf '%s\n' "$have" | sed '/^$/d' | sed 's/$/;/' | oneline)"
missing=$(printf '%s\n' "$want" | while IFS= read -r w; do
  [ -n "$w" ] || continue
  printf '%s\n' "$have" | grep -qxF "$w" || echo "missing: $w;"
done | oneline)
extra=$(printf '%s\n' "$have" | while IFS= read -r h; do
  [ -n "$h" ] || continue
  printf '%s\n' "$want" | grep -qxF "$h" || echo "not in the site: $h;"
done | oneline)
[ -z "$missing$extra" ] || problem "ufw rules differ from the site's [firewall] allow: $missing $extra"
finish "inbound allowed only for the site's scoped entries"
