{{> macos/_lib.sh}}
# ITP07 7.1.5: the application firewall on, stealth mode on, and signed software not let in without being
# asked. Read only through socketfilterfw: macOS 15 has no com.apple.alf plist. A configuration profile
# (com.apple.security.firewall) locks these settings, and socketfilterfw then refuses to change them.
fw=socketfilterfw
command -v "$fw" >/dev/null 2>&1 || result false "/usr/libexec/ApplicationFirewall/socketfilterfw is missing" error
g=$("$fw" --getglobalstate 2>&1 | oneline)
s=$("$fw" --getstealthmode 2>&1 | oneline)
a=$("$fw" --getallowsigned 2>&1 | oneline)
obs global_state "$g"
obs stealth_mode "$s"
obs allow_signed "$a"
case "$g" in *'State = 1'* | *'State = 2'*) ;; *) problem "the firewall is off ($g)" ;; esac
# "Firewall stealth mode is on" (older releases: "Stealth mode enabled").
case "$s" in *'mode is on'* | *'mode enabled'*) ;; *) problem "stealth mode is off ($s)" ;; esac
# socketfilterfw --getallowsigned prints "Automatically allow signed built-in software ENABLED" and
# "Automatically allow downloaded signed software DISABLED" (ParetoSecurity/pareto-mac#139, macOS 13).
case "$a" in *'signed built-in software ENABLED'* | *'built-in signed software ENABLED'*) problem "built-in signed software is let in without asking" ;; esac
case "$a" in *'downloaded signed software ENABLED'*) problem "downloaded signed software is let in without asking" ;; esac
if [ -n "$_fails" ] && [ -f '/Library/Managed Preferences/com.apple.security.firewall.plist' ]; then
  result false "managed by a configuration profile (com.apple.security.firewall): $_fails" error
fi
finish "firewall on with stealth mode; signed software is not let in silently"
