{{> linux/_lib.sh}}
# ITP07 7.1.3: no security updates waiting, from dnf's cached metadata (-C: no network on a check).
# `check-update` exits 100 when updates wait and lists them one per line (dnf4 and dnf5 alike); stderr is
# kept apart so that subscription-manager's warnings are not read as packages.
err=$(mktemp)
out=$(dnf -q -C check-update --security 2>"$err")
rc=$?
msg=$(oneline <"$err")
rm -f "$err"
case "$rc" in
  0) pending='' ;;
  100) pending=$(printf '%s\n' "$out" | awk 'NF >= 3 && $1 !~ /^(Obsoleting|Last|Security:)/ { print $1 }' | sort -u | oneline) ;;
  *) result false "dnf check-update failed ($rc): $msg" error ;;
esac
obs pending "$pending"
[ -z "$pending" ] || problem "security updates waiting: $pending"
if dnf needs-restarting --help >/dev/null 2>&1; then
  dnf -q needs-restarting -r >/dev/null 2>&1 || problem "reboot required to finish installed updates"
fi
finish "no security updates waiting"
