{{> linux/_lib.sh}}
# ITP07 7.1.3: unattended-upgrades installed, switched on in APT::Periodic, and scheduled by the apt timers
# (wiki.debian.org/UnattendedUpgrades).
pkg_installed unattended-upgrades || problem "unattended-upgrades is not installed"
# APT::Architectures given (any value): apt-config would otherwise start dpkg to list the foreign architectures,
# which these two keys do not depend on (apt-pkg's APT::Configuration::getArchitectures).
eval "$(apt-config -o APT::Architectures::=handover shell UU APT::Periodic::Unattended-Upgrade UPL APT::Periodic::Update-Package-Lists)"
obs unattended_upgrade "${UU:-unset}"
obs update_package_lists "${UPL:-unset}"
[ "${UU:-0}" = 1 ] || problem "APT::Periodic::Unattended-Upgrade is ${UU:-unset}, not 1"
[ "${UPL:-0}" = 1 ] || problem "APT::Periodic::Update-Package-Lists is ${UPL:-unset}, not 1"
for t in apt-daily.timer apt-daily-upgrade.timer; do
  if svc_enabled "$t"; then obs "$t" enabled; else obs "$t" disabled; problem "$t is not enabled"; fi
done
finish "unattended-upgrades installs security updates daily"
