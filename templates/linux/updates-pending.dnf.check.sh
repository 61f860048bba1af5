{{> linux/_lib.sh}}
# ITP07 7.1.3: no security updates waiting, from dnf's cached metadata (no network on a check).
if ! out=$(dnf -q --cacheonly updateinfo list --security --available 2>&1); then
  result false "dnf updateinfo failed: $(printf '%s' "$out" | tail -n 3 | oneline)" error
fi
pending=$(printf '%s\n' "$out" | awk 'NF >= 3 { print $3 }' | sort -u | oneline)
obs pending "$pending"
[ -z "$pending" ] || problem "security updates waiting: $pending"
if command -v needs-restarting >/dev/null 2>&1 || dnf needs-restarting --help >/dev/null 2>&1; then
  dnf -q needs-restarting -r >/dev/null 2>&1 || problem "reboot required to finish installed updates"
fi
finish "no security updates waiting"
