{{> linux/_lib.sh}}
set -e
dnf -q -y upgrade --security </dev/null
# needs-restarting exits 1 when a reboot is needed; without the plugin nothing can be said.
if dnf needs-restarting --help >/dev/null 2>&1; then
  dnf -q needs-restarting -r >/dev/null 2>&1 || exit 194
fi
