{{> linux/_lib.sh}}
{{> linux/_desktop.sh}}
# ITP07 7.1 (controls equivalent to managed devices), Cyber Essentials "device unlocking": the screen locks
# after at most the site's idle minutes and unlocking needs the account's password. Only system-wide,
# locked settings count: a default the user can change is no control. GNOME: the dconf system database's
# org/gnome/desktop/session idle-delay (seconds, 0 = never), screensaver lock-enabled and lock-delay
# (seconds between blanking and locking: 0), lockdown disable-lock-screen false, each locked. KDE Plasma:
# /etc/xdg/kscreenlockerrc [Daemon] marked immutable ([$i], KDE's "Kiosk" marker: user files cannot change
# the group) with Autolock, LockOnResume, Timeout (minutes) and LockGrace 0.
want_min={{site.device_lock.idle_minutes}}
want_s=$((want_min * 60))
obs required "lock after at most $want_min min idle, password at once"
if ! has_desktop; then
  result false "no desktop is installed (no X11 or Wayland session, display manager, GNOME or Plasma shell): there is no screen session to lock" not-applicable
fi
obs desktop_sessions "$(desktop_sessions)"
seen=''
if gnome_schemas; then
  seen=1
  if ! command -v dconf >/dev/null 2>&1; then
    problem "GNOME: dconf is not installed, so no system-wide lock settings are in force"
  else
    dconf_db_readable || problem "GNOME: the dconf system database $DCONF_DB is missing or not readable by users"
    grep -qxs 'system-db:local' "$DCONF_PROFILE_FILE" || problem "GNOME: $DCONF_PROFILE_FILE does not read the local system database"
    idle=$(dconf_default /org/gnome/desktop/session/idle-delay)
    enabled=$(dconf_default /org/gnome/desktop/screensaver/lock-enabled)
    delay=$(dconf_default /org/gnome/desktop/screensaver/lock-delay)
    disabled=$(dconf_default /org/gnome/desktop/lockdown/disable-lock-screen)
    obs gnome_idle_delay "${idle:-unset}"
    obs gnome_lock_enabled "${enabled:-unset}"
    obs gnome_lock_delay "${delay:-unset}"
    obs gnome_disable_lock_screen "${disabled:-unset}"
    n=${idle#uint32 }
    case "$n" in
      '' | *[!0-9]*) problem "GNOME: idle-delay is not set system-wide" ;;
      0) problem "GNOME: idle-delay is 0 (the screen never blanks)" ;;
      *) [ "$n" -le "$want_s" ] || problem "GNOME: idle-delay is $n s, more than $want_s" ;;
    esac
    [ "$enabled" = true ] || problem "GNOME: lock-enabled is ${enabled:-not set system-wide}"
    [ "${delay#uint32 }" = 0 ] || problem "GNOME: lock-delay is ${delay:-not set system-wide} (the lock must come at once)"
    [ "$disabled" = false ] || problem "GNOME: disable-lock-screen is ${disabled:-not set system-wide}"
    unlocked=''
    for k in /org/gnome/desktop/session/idle-delay /org/gnome/desktop/screensaver/lock-enabled /org/gnome/desktop/screensaver/lock-delay /org/gnome/desktop/lockdown/disable-lock-screen; do
      dconf_locked "$k" || unlocked="$unlocked ${k##*/}"
    done
    obs gnome_unlocked_keys "${unlocked# }"
    [ -z "$unlocked" ] || problem "GNOME: not locked, so each user can change:$unlocked"
  fi
fi
if kde_locker; then
  seen=1
  rc=/etc/xdg/kscreenlockerrc
  # The [Daemon] group's keys, and whether the group is marked immutable.
  kv=$(awk '
    /^[[:space:]]*\[/ { g = $0; gsub(/[[:space:]]/, "", g); inside = (g ~ /^\[Daemon\]/); if (inside && g ~ /\[\$i\]$/) print "immutable=true"; next }
    inside && /=/ { k = $0; sub(/=.*/, "", k); v = $0; sub(/^[^=]*=/, "", v); gsub(/[[:space:]]/, "", k); gsub(/[[:space:]]/, "", v); print k "=" v }
  ' "$rc" 2>/dev/null)
  kv_get() { printf '%s\n' "$kv" | sed -n "s/^$1=//p" | tail -n 1; }
  obs kde_kscreenlockerrc "$(printf '%s\n' "$kv" | oneline)"
  [ "$(kv_get immutable)" = true ] || problem "KDE: $rc has no immutable [Daemon][\$i] group, so each user can change the lock"
  [ "$(kv_get Autolock)" = true ] || problem "KDE: Autolock is not true in $rc"
  [ "$(kv_get LockOnResume)" = true ] || problem "KDE: LockOnResume is not true in $rc"
  [ "$(kv_get LockGrace)" = 0 ] || problem "KDE: LockGrace is not 0 in $rc"
  t=$(kv_get Timeout)
  case "$t" in
    '' | *[!0-9]*) problem "KDE: Timeout is not set in $rc" ;;
    0) problem "KDE: Timeout is 0 (never)" ;;
    *) [ "$t" -le "$want_min" ] || problem "KDE: Timeout is $t min, more than $want_min" ;;
  esac
fi
if [ -z "$seen" ]; then
  result false "a desktop is installed (sessions: $(desktop_sessions)) but neither GNOME's settings nor KDE Plasma's screen locker: handover knows how to check only those; set this desktop's screen lock by hand and attest it" manual
fi
finish "the screen locks after at most $want_min min idle and unlocking needs the password (system-wide, locked)"
