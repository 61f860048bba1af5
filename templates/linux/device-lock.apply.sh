{{> linux/_lib.sh}}
{{> linux/_desktop.sh}}
set -e
want_min={{site.device_lock.idle_minutes}}
want_s=$((want_min * 60))
# GNOME: system-wide defaults in the dconf local database, each locked, compiled by `dconf update`
# (https://help.gnome.org/admin/system-admin-guide/stable/desktop-lockscreen.html). dconf is installed when
# only the schemas are (dconf-cli on Debian and Ubuntu, dconf on RHEL and Fedora).
if gnome_schemas; then
  {{#if (eq vars.pkg "apt")}}dconf_pkg=dconf-cli{{else}}dconf_pkg=dconf{{/if}}
  command -v dconf >/dev/null 2>&1 || pkg_install "$dconf_pkg"
  dconf_install 90-handover-device-lock "# handover: ITP07 7.1 device.lock (site [device_lock] idle_minutes = $want_min)
[org/gnome/desktop/session]
idle-delay=uint32 $want_s

[org/gnome/desktop/screensaver]
lock-enabled=true
lock-delay=uint32 0

[org/gnome/desktop/lockdown]
disable-lock-screen=false" "/org/gnome/desktop/session/idle-delay
/org/gnome/desktop/screensaver/lock-enabled
/org/gnome/desktop/screensaver/lock-delay
/org/gnome/desktop/lockdown/disable-lock-screen"
  echo "GNOME: locked idle-delay $want_s s, lock-enabled, lock-delay 0 in $DCONF_DB"
fi
# KDE Plasma: the system kscreenlockerrc with the [Daemon] group marked immutable ([$i]: KDE's Kiosk
# framework, https://develop.kde.org/docs/administration/kiosk/keys/), so that a user's own
# ~/.config/kscreenlockerrc cannot change it. An earlier file is kept once as .handover-orig.
if kde_locker; then
  rc=/etc/xdg/kscreenlockerrc
  mkdir -p /etc/xdg
  if [ -f "$rc" ] && [ ! -f "$rc.handover-orig" ] && ! grep -q '^# handover:' "$rc"; then cp -p "$rc" "$rc.handover-orig"; fi
  printf '%s\n' "# handover: ITP07 7.1 device.lock (site [device_lock] idle_minutes = $want_min)" "[Daemon][\$i]" 'Autolock=true' 'LockOnResume=true' "Timeout=$want_min" 'LockGrace=0' | write_file "$rc" 644
  echo "KDE: $rc locks after $want_min min (immutable)"
fi
