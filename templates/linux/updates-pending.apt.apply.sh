{{> linux/_lib.sh}}
set -e
apt-get -q update || echo "apt-get update failed; using the package lists already on the device" >&2
pending=$(apt-get -s -o Debug::NoLocking=1 dist-upgrade | awk '/^Inst / && /[-]security|Debian-Security/ { print $2 }')
if [ -n "$pending" ]; then
  # shellcheck disable=SC2086 # one word per package name
  apt-get -q -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install --only-upgrade $pending </dev/null
fi
[ ! -e /var/run/reboot-required ] || exit 194
