{{> linux/_lib.sh}}
{{> linux/_desktop.sh}}
# ITP07 7.1, Cyber Essentials "auto-run disabled". Linux has no AutoRun of its own: the kernel and udisks
# mount removable media and run nothing from them. What could is the desktop's automounter: GNOME (Files and
# gnome-settings-daemon) offers to run a medium's autorun program or open its software unless
# org/gnome/desktop/media-handling autorun-never is true (gsettings-desktop-schemas). So: not-applicable
# without a desktop; with GNOME's settings, autorun-never must be true system-wide and locked.
if ! has_desktop; then
  result false "no desktop is installed: nothing opens or runs software from removable media by itself (no automounter set to open it)" not-applicable
fi
sessions=$(desktop_sessions)
obs desktop_sessions "$sessions"
if ! gnome_schemas; then
  result false "the desktop installed here (sessions: ${sessions:-none}) has no GNOME media handling: its automounter mounts media and at most offers to open them, it runs no software from them by itself" not-applicable
fi
if ! command -v dconf >/dev/null 2>&1; then
  result false "GNOME: dconf is not installed, so autorun-never cannot be in force system-wide"
fi
dconf_db_readable || problem "the dconf system database $DCONF_DB is missing or not readable by users"
never=$(dconf_default /org/gnome/desktop/media-handling/autorun-never)
obs gnome_autorun_never "${never:-unset}"
[ "$never" = true ] || problem "GNOME: autorun-never is ${never:-not set system-wide}"
if dconf_locked /org/gnome/desktop/media-handling/autorun-never; then obsb autorun_never_locked true; else
  obsb autorun_never_locked false
  problem "GNOME: autorun-never is not locked, so each user can turn autorun back on"
fi
finish "GNOME never runs or opens software from removable media (autorun-never, system-wide and locked)"
