# handover: is a graphical desktop installed, and which settings system does it read? Shared by the
# device.lock and autorun.disabled scripts (POSIX sh; rendered, never edited by hand).
# Decision: a desktop is installed when a session a display manager can start is installed
# (/usr/share/xsessions/*.desktop or /usr/share/wayland-sessions/*.desktop, the freedesktop.org places every
# desktop package puts its session file), a display manager is enabled (systemd's display-manager.service
# alias, which gdm, sddm and lightdm all set up when enabled), or the GNOME or Plasma shell is installed.
# A server with none of these has no screen to lock and no automounter to open media: not-applicable.
desktop_sessions() {
  _ds=' '
  for _f in /usr/share/xsessions/*.desktop /usr/share/wayland-sessions/*.desktop; do
    [ -f "$_f" ] || continue
    _f=${_f##*/} && _f=${_f%.desktop}
    case "$_ds" in *" $_f "*) ;; *) _ds="$_ds$_f " ;; esac
  done
  # Sorted, as sort -u would; a server has none, and sort then never starts.
  # shellcheck disable=SC2086 # one session name a word
  [ "$_ds" = ' ' ] || _ds=$(printf '%s\n' $_ds | sort)
  words "$_ds"
}
has_desktop() {
  [ -n "$(desktop_sessions)" ] || [ -e /etc/systemd/system/display-manager.service ] ||
    command -v gnome-shell >/dev/null 2>&1 || command -v plasmashell >/dev/null 2>&1
}
# GNOME's settings (and those of desktops built on them) are GSettings schemas from gsettings-desktop-schemas,
# stored by dconf; system-wide defaults and locks live in a dconf system database (the dconf System
# Administrator Guide, https://help.gnome.org/admin/system-admin-guide/stable/dconf.html).
gnome_schemas() { [ -f /usr/share/glib-2.0/schemas/org.gnome.desktop.screensaver.gschema.xml ]; }
# KDE Plasma's screen locker (kscreenlocker) reads kscreenlockerrc, system-wide from /etc/xdg.
kde_locker() {
  command -v plasmashell >/dev/null 2>&1 || ls /usr/lib/*/libexec/kscreenlocker_greet /usr/libexec/kscreenlocker_greet /usr/lib/*/libexec/kf6/kscreenlocker_greet >/dev/null 2>&1
}
# The effective system value of a dconf key for every user: the default the `user` profile's system
# databases give (`dconf read -d` skips the user's own database, which the locks make irrelevant).
dconf_default() { DCONF_PROFILE=user dconf read -d "$1" 2>/dev/null; }
# Whether KEY is locked by a system database of the `user` profile (a user cannot change it).
dconf_locked() { DCONF_PROFILE=user dconf list-locks "${1%/*}/" 2>/dev/null | grep -qx "$1"; }
# The dconf database handover writes to: the profile's `local` system database.
DCONF_DB=/etc/dconf/db/local
DCONF_PROFILE_FILE=/etc/dconf/profile/user
# Make the `user` profile read the `local` system database (create the profile, or add the line to one that
# lacks it), write KEYFILE and LOCKS as NAME in local.d, and compile with `dconf update`. Compiled databases
# must be readable by every user, so this runs under umask 022 whatever the script's.
dconf_install() {
  _name=$1 _keyfile=$2 _locks=$3
  (
    umask 022
    mkdir -p /etc/dconf/profile "$DCONF_DB.d/locks"
    if [ ! -f "$DCONF_PROFILE_FILE" ]; then
      printf '%s\n' 'user-db:user' 'system-db:local' | write_file "$DCONF_PROFILE_FILE" 644
    elif ! grep -qx 'system-db:local' "$DCONF_PROFILE_FILE"; then
      { cat "$DCONF_PROFILE_FILE"; echo 'system-db:local'; } | write_file "$DCONF_PROFILE_FILE" 644
    fi
    printf '%s\n' "$_keyfile" | write_file "$DCONF_DB.d/$_name" 644
    printf '%s\n' "$_locks" | write_file "$DCONF_DB.d/locks/$_name" 644
    dconf update
  )
}
# Check that the compiled database is readable by every user (a database compiled under umask 077 is
# silently ignored by their sessions).
dconf_db_readable() {
  [ -f "$DCONF_DB" ] || return 1
  case "$(stat -c %A "$DCONF_DB" 2>/dev/null)" in ???????r??) return 0 ;; esac
  return 1
}
