{{> macos/_lib.sh}}
# ITP07 7.1 (controls equivalent to managed devices), Cyber Essentials "device unlocking": the screen saver
# starts after at most the site's idle minutes and asks for the password at once. The keys are those of the
# com.apple.screensaver payload that mSCP enforces (rules system_settings_screensaver_password_enforce:
# askForPassword true; system_settings_screensaver_ask_for_password_delay_enforce: askForPasswordDelay;
# system_settings_screensaver_timeout_enforce: idleTime in seconds), and mSCP enforces them only by a
# configuration profile: it has no command that fixes them. Without MDM there is none either: a user's own
# choice in System Settings is the user's to change, and `sysadminctl -screenLock` changes it only for the
# signed-in user with that user's password. So this control is check-only on macOS: it passes when a profile
# (installed by the device-management service, or by a person in System Settings > General > Device
# Management) holds the three values, at computer level or for the named user, and says what is missing.
want_min={{site.device_lock.idle_minutes}}
want_s=$((want_min * 60))
obs required "askForPassword 1, askForPasswordDelay 0, idleTime 1-$want_s"
d=com.apple.screensaver
# The profile's values: computer level first, then the named user's (a user-scoped profile).
pref() {
  _v=$(managed_pref "$d" "$1")
  if [ -z "$_v" ] && [ -n "${HANDOVER_USER:-}" ]; then _v=$(managed_pref "$HANDOVER_USER/$d" "$1"); fi
  printf '%s\n' "$_v"
}
ask=$(pref askForPassword)
delay=$(pref askForPasswordDelay)
idle=$(pref idleTime)
obs askForPassword "${ask:-not set by a profile}"
obs askForPasswordDelay "${delay:-not set by a profile}"
obs idleTime "${idle:-not set by a profile}"
if [ -z "$ask$delay$idle" ]; then
  result false "no configuration profile sets the screen lock: macOS takes a lock the user cannot turn off only from a profile (com.apple.screensaver askForPassword 1, askForPasswordDelay 0, idleTime at most $want_s); install one through the device-management service, or approve one in System Settings > General > Device Management"
fi
wrong=''
case "$ask" in 1 | true) ;; *) wrong="$wrong; askForPassword is ${ask:-not set}" ;; esac
case "$delay" in 0) ;; *) wrong="$wrong; askForPasswordDelay is ${delay:-not set} (must be 0)" ;; esac
case "$idle" in
  '' | *[!0-9]*) wrong="$wrong; idleTime is ${idle:-not set}" ;;
  0) wrong="$wrong; idleTime is 0 (never)" ;;
  *) [ "$idle" -le "$want_s" ] || wrong="$wrong; idleTime is $idle s, more than $want_s" ;;
esac
[ -z "$wrong" ] || result false "managed by a configuration profile ($d): ${wrong#; }; change it there" error
finish "the screen saver starts after $idle s idle and asks for the password at once (configuration profile)"
