{{> linux/_lib.sh}}
set -e
dnf -q -y upgrade --security </dev/null
dnf -q needs-restarting -r >/dev/null 2>&1 || exit 194
