{{> linux/_lib.sh}}
set -e
pkg_installed unattended-upgrades || pkg_install unattended-upgrades
printf '%s\n' '// handover: ITP07 7.1.3' 'APT::Periodic::Update-Package-Lists "1";' 'APT::Periodic::Unattended-Upgrade "1";' \
  | write_file /etc/apt/apt.conf.d/20auto-upgrades 644
systemctl enable --now apt-daily.timer apt-daily-upgrade.timer
