{{> linux/_lib.sh}}
set -e
command -v ufw >/dev/null 2>&1 || pkg_install ufw
ufw default deny incoming
ufw default allow outgoing
ufw --force enable
