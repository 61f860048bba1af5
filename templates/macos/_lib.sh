# handover: shared helpers of the macOS check and apply scripts (POSIX sh, run by /bin/sh; rendered, never
# edited by hand). A check ends with one JSON line: {"compliant": bool, "reason": "...", "observed": {...}}.
{{> sh/_json.sh}}
# PlistBuddy lives in /usr/libexec, socketfilterfw in /usr/libexec/ApplicationFirewall and Microsoft Defender's
# mdatp in /usr/local/bin, which neither sudo's nor launchd's PATH has.
PATH=${PATH:-/usr/bin:/bin:/usr/sbin:/sbin}:/usr/libexec:/usr/libexec/ApplicationFirewall:/usr/local/bin
export PATH

{{> sh/_files.sh}}

{{> sh/_need.sh}}

# Apple silicon: hw.optional.arm64 is 1 there, also for a process under Rosetta (uname -m would say x86_64).
apple_silicon() { [ "$(sysctl -n hw.optional.arm64 2>/dev/null)" = 1 ]; }

# The value a configuration profile (MDM) sets for DOMAIN KEY, and the local machine preference.
managed_pref() { defaults read "/Library/Managed Preferences/$1" "$2" 2>/dev/null; }
local_pref() { defaults read "/Library/Preferences/$1" "$2" 2>/dev/null; }

# Local accounts: existence, admin group membership as dseditgroup resolves it (nested groups too; it prints
# "yes NAME is a member of admin"), and the ";DisabledUser;" mark in AuthenticationAuthority.
user_exists() { dscl . -read "/Users/$1" UniqueID >/dev/null 2>&1; }
is_admin() { dseditgroup -o checkmember -m "$1" admin 2>/dev/null | grep -q '^yes '; }
user_disabled() { dscl . -read "/Users/$1" AuthenticationAuthority 2>/dev/null | grep -q ';DisabledUser;'; }
user_shell() { dscl . -read "/Users/$1" UserShell 2>/dev/null | awk '{ print $2 }'; }
# sysadminctl writes "... Secure token is ENABLED for user NAME" to stderr.
has_secure_token() { sysadminctl -secureTokenStatus "$1" 2>&1 | grep -q 'Secure token is ENABLED'; }

# Interactive local accounts: UID 501 and up (macOS gives people 501+), not a service account (_name), a
# real shell, not disabled.
interactive_users() {
  dscl . -list /Users UniqueID | awk '$2 >= 501 && $1 !~ /^_/ { print $1 }' | while IFS= read -r _u; do
    case "$(user_shell "$_u")" in */false | */nologin | '') continue ;; esac
    user_disabled "$_u" && continue
    printf '%s\n' "$_u"
  done
}

# The running release's major version (sw_vers -productVersion: 15.1.1 -> 15).
os_major() { _v=$(sw_vers -productVersion 2>/dev/null) || _v=''; printf '%s\n' "${_v%%.*}"; }

# Software Update's cache of its last scan (RecommendedUpdates as defaults prints it), one line per item:
# "update<TAB>NAME" for an update of this release (Safari, RSR/BSI, a point release) or "upgrade<TAB>NAME" for
# a major OS upgrade, which the cache lists as recommended too (Macjutsu/super#151: the Product Key of
# "macOS Sonoma 14.0" on a Ventura Mac is MSU_UPDATE_23A344_patch_14.0_major). An upgrade is a Product Key
# ending in _major, or a "macOS <Name> <N>" title whose major N is not this release's.
recommended_updates() {
  defaults read /Library/Preferences/com.apple.SoftwareUpdate RecommendedUpdates 2>/dev/null | M=$(os_major) awk '
    function val(s) { sub(/^[^=]*= */, "", s); sub(/; *$/, "", s); gsub(/^"|"$/, "", s); return s }
    function other_major(n,   f, c, i) {
      if (n !~ /^macOS / || ENVIRON["M"] == "") return 0
      c = split(n, f, " ")
      for (i = 2; i <= c; i++) if (f[i] ~ /^[0-9]/) return int(f[i]) != int(ENVIRON["M"])
      return 0
    }
    function flush() {
      if (key != "" || name != "") print ((key ~ /_major$/ || other_major(name)) ? "upgrade" : "update") "\t" (name != "" ? name : key)
      key = ""; name = ""
    }
    /^[ \t]*\{/ { flush() }
    /"Display Name" = / { name = val($0) }
    /"Product Key" = / { key = val($0) }
    END { flush() }'
}
# How many of them are updates of this release (not upgrades).
waiting_updates() { recommended_updates | grep -c '^update' || true; }

# An app bundle's version (CFBundleShortVersionString), empty when it is not there.
app_version() { PlistBuddy -c 'Print :CFBundleShortVersionString' "$1/Contents/Info.plist" 2>/dev/null; }
app_id() { PlistBuddy -c 'Print :CFBundleIdentifier' "$1/Contents/Info.plist" 2>/dev/null; }

# Is the launchd job LABEL (system domain) loaded and running?
job_running() { launchctl print "system/$1" 2>/dev/null | grep -q 'state = running'; }

# attach_image IMAGE NAME: attach a verified .dmg read-only and unseen (-nobrowse) at a new mount point
# /tmp/handover-NAME.XXXXXX, and print that; detach_image MOUNT detaches it and removes the mount point.
attach_image() {
  detach_stale
  _mnt=$(mktemp -d "/tmp/handover-$2.XXXXXX") || return 1
  if ! hdiutil attach -nobrowse -readonly -noautoopen -mountpoint "$_mnt" "$1" >/dev/null; then
    rmdir "$_mnt"
    return 1
  fi
  printf '%s\n' "$_mnt"
}
detach_image() {
  hdiutil detach "$1" -force >/dev/null 2>&1 || true
  rmdir "$1" 2>/dev/null || true
}

# A run killed at its timeout (SIGKILL: no trap runs) can leave a disk image attached; handover runs one at a
# time, so any image still mounted at one of its mount points is stale: detach it first.
detach_stale() {
  for _m in /tmp/handover-dmg.* /tmp/handover-lsagent.*; do
    [ -d "$_m" ] || continue
    detach_image "$_m"
  done
}

# install_pkg FILE: install a verified .pkg, or the first .pkg/.mpkg inside a verified .dmg, on the boot
# volume. The image is always detached again.
install_pkg() {
  case "$1" in
    *.dmg | *.DMG)
      _img=$(attach_image "$1" dmg) || return 1
      _rc=0
      _pkg=$(find "$_img" -maxdepth 1 \( -name '*.pkg' -o -name '*.mpkg' \) | sort | head -n 1)
      if [ -n "$_pkg" ]; then installer -pkg "$_pkg" -target / || _rc=$?; else
        echo "no .pkg or .mpkg at the top of $1" >&2
        _rc=1
      fi
      detach_image "$_img"
      return "$_rc"
      ;;
    *) installer -pkg "$1" -target / ;;
  esac
}

# needs_person REASON: end an apply with "this change needs a person" (handover's MANUAL_EXIT): the control is
# then manual with REASON, and nothing was changed.
needs_person() {
  printf '%s\n' "$1" >&2
  exit 196
}
