#!/bin/sh
# Makes a fresh copy of the e2e base system non-compliant in every way the
# baseline can fix. Run by `cargo xtask e2e` in a chroot of the copy, before
# boot (so no service is running; systemctl works offline).
set -eu

# root has a password.
echo 'root:Fixture-root-1' | chpasswd

# sshd lets root log in. Debian 12's and 13's sshd_config start with
# `Include /etc/ssh/sshd_config.d/*.conf`; the line goes right after it, so a
# drop-in in sshd_config.d still wins (sshd keeps the first value it reads).
grep -q '^Include /etc/ssh/sshd_config.d/\*\.conf' /etc/ssh/sshd_config
sed -i '/^Include \/etc\/ssh\/sshd_config.d\/\*\.conf/a PermitRootLogin yes' /etc/ssh/sshd_config
grep -qx 'PermitRootLogin yes' /etc/ssh/sshd_config
ssh-keygen -A
systemctl enable ssh.service

# The device's user, an administrator.
useradd --create-home --uid 1000 --shell /bin/bash --groups sudo,adm jdoe
echo 'jdoe:Fixture-jdoe-1' | chpasswd

# A stray interactive account.
useradd --create-home --uid 1001 --shell /bin/bash mallory
echo 'mallory:Fixture-mallory-1' | chpasswd

# An unlocked local guest account.
useradd --create-home --uid 1002 --shell /bin/bash guest
echo 'guest:Fixture-guest-1' | chpasswd

# Identity.
echo e2e-device > /etc/hostname
if grep -q '^127\.0\.1\.1' /etc/hosts 2>/dev/null; then
    sed -i 's/^127\.0\.1\.1.*/127.0.1.1\te2e-device/' /etc/hosts
else
    printf '127.0.1.1\te2e-device\n' >> /etc/hosts
fi
rm -f /etc/machine-id
systemd-machine-id-setup
test -s /etc/machine-id

# A security update waiting: the probe package at 1.0, its 1.1 in /srv/security (put there by xtask,
# labelled like Debian's security archive). Only that list is refreshed: /srv/repo is not mounted here.
dpkg -i /srv/e2e/handover-e2e-probe_1.0_all.deb >/dev/null
echo 'deb [trusted=yes] file:/srv/security ./' > /etc/apt/sources.list.d/e2e-security.list
apt-get -qq update -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/e2e-security.list \
    -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0
apt-get -s -o Debug::NoLocking=1 dist-upgrade | grep -q '^Inst handover-e2e-probe .*Debian-Security'

# None of what the baseline installs is there.
for pkg in ufw unattended-upgrades libpam-pwquality openfortivpn clamav clamav-daemon clamav-freshclam; do
    if dpkg-query -W -f '${db:Status-Status}' "$pkg" 2>/dev/null | grep -qx installed; then
        echo "fixture: $pkg is installed in the base" >&2
        exit 1
    fi
done

echo "fixture applied"
