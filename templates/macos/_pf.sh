# The pf rules handover keeps in its own file (/etc/pf.anchors/handover), loaded as a sub-anchor of Apple's own
# anchor: Apple's stock /etc/pf.conf has `anchor "com.apple/*"`, which evaluates every anchor attached under
# com.apple (Apple's own com.apple/250.ApplicationFirewall is one), so `pfctl -a com.apple/250.handover -f FILE`
# takes effect with no edit to /etc/pf.conf, and survives the pf.conf rewrite macOS updates do (iyanmv, "Setting
# up correctly Packet Filter (pf) firewall on any macOS"; pf.conf(5) on anchors; the same sub-anchor use in
# public tools, e.g. a "com.apple/calport" rdr anchor whose comment says pf.conf is never edited). handover's
# launchd job reloads Apple's ruleset, then this anchor, at boot. The application firewall decides which
# programs may listen; these rules scope the site's ports to the site's sources: each entry passes its source,
# and every other source is blocked on that port.
anchor_file=/etc/pf.anchors/handover
pf_anchor=com.apple/250.handover
job=uk.ac.handover.pf
job_plist=/Library/LaunchDaemons/uk.ac.handover.pf.plist
want_rules() {
  printf '%s\n' '# handover: ITP07 7.1.5 inbound scoping (rendered from the site; edits are undone by apply)'
  printf '%s\n' 'pass in quick on lo0 all'
  _ports=''
{{#each firewall.allow}}
  printf 'pass in quick proto %s from %s to any port %s\n' {{proto}} {{from}} {{port}}
  _ports="$_ports "{{proto}}/{{port}}
{{/each}}
  for _p in $(printf '%s\n' $_ports | sort -u); do
    printf 'block in quick proto %s from any to any port %s\n' "${_p%/*}" "${_p#*/}"
  done
}
# allowed PROTO/PORT...: the site has a scoped entry for each.
allowed() {
  for _pp in "$@"; do
    want_rules | grep -q "^pass in quick proto ${_pp#*/} from .* to any port ${_pp%/*}\$" || return 1
  done
}

# What listens for other machines, besides the site's entries: the Sharing services (each with the ports it
# opens) and the application firewall's "Allow incoming connections" exceptions. exposure prints one line per
# finding, "on<TAB>NAME<TAB>PORTS<TAB>HOW TO TURN IT OFF" or "off<TAB>NAME", and "app<TAB>PATH<TAB>PORTS" for
# each allowed app (PORTS empty: no site entry can allow it).
# launchctl print-disabled prints "com.openssh.sshd" => enabled|disabled (older releases false|true): mSCP's
# system_settings_ssh_disable, ..._smbd_disable (com.apple.smbd), ..._rae_disable (com.apple.AEServer), and
# screen sharing; Remote Management from `mdmclient QuerySecurityInfo` (RemoteDesktopEnabled = 1/0, mSCP
# system_settings_remote_management_disable); Printer Sharing from cupsctl's _share_printers (mSCP
# system_settings_printer_sharing_disable); AirPlay Receiver from the console user's com.apple.controlcenter
# AirplayRecieverEnabled (Apple's own spelling), on by default since macOS 12, listening on 7000/tcp and
# 5000/tcp.
exposure() {
  _dis=$(launchctl print-disabled system 2>/dev/null)
  _svc() {
    printf '%s\n' "$_dis" | grep -Eq "\"$1\" => (enabled|false)" && return 0
    printf '%s\n' "$_dis" | grep -Eq "\"$1\" => (disabled|true)" && return 1
    launchctl print "system/$1" >/dev/null 2>&1
  }
  _say() { if [ "$1" = on ]; then printf 'on\t%s\t%s\t%s\n' "$2" "$3" "$4"; else printf 'off\t%s\n' "$2"; fi; }
  _on() { if "$@"; then echo on; else echo off; fi; }
  _say "$(_on _svc com.openssh.sshd)" remote_login 22/tcp 'System Settings > General > Sharing > Remote Login'
  _say "$(_on _svc com.apple.screensharing)" screen_sharing 5900/tcp 'System Settings > General > Sharing > Screen Sharing'
  _say "$(_on _svc com.apple.smbd)" file_sharing 445/tcp 'System Settings > General > Sharing > File Sharing'
  _say "$(_on _svc com.apple.AEServer)" remote_apple_events 3031/tcp 'System Settings > General > Sharing > Remote Apple Events'
  case "$(mdmclient QuerySecurityInfo 2>/dev/null)" in
    *'RemoteDesktopEnabled = 1'*) _rd=on ;;
    *'RemoteDesktopEnabled = 0'*) _rd=off ;;
    *) _rd=$(_on pgrep -qx ARDAgent) ;;
  esac
  _say "$_rd" remote_management '3283/tcp 5900/tcp' 'System Settings > General > Sharing > Remote Management'
  _say "$(_on eval 'cupsctl 2>/dev/null | grep -qx "_share_printers=1"')" printer_sharing 631/tcp 'System Settings > General > Sharing > Printer Sharing'
  _cu=$(stat -f %Su /dev/console 2>/dev/null || true)
  # (stat -f %Su /dev/console: the user at the login window's session; root when nobody is logged in.)
  if [ -n "$_cu" ] && [ "$_cu" != root ]; then
    _ap=''
    for _f in "/Users/$_cu/Library/Preferences/ByHost/com.apple.controlcenter."*.plist; do
      [ -f "$_f" ] && _ap=$(defaults read "${_f%.plist}" AirplayRecieverEnabled 2>/dev/null) && break
    done
    [ -n "$_ap" ] || _ap=$(defaults read "/Users/$_cu/Library/Preferences/com.apple.controlcenter" AirplayRecieverEnabled 2>/dev/null || true)
    case "$_ap" in 0 | false | NO) _say off airplay_receiver ;; *) _say on airplay_receiver '7000/tcp 5000/tcp' "System Settings > General > AirDrop & Handoff > AirPlay Receiver ($_cu)" ;; esac
  fi
  # socketfilterfw --listapps: "Total number of apps = N" (older: "ALF: total number of apps = N"), then
  # "N : PATH" and, on the next line, "(Allow incoming connections)" or "(Block incoming connections)"
  # (nix-darwin/nix-darwin#1705).
  socketfilterfw --listapps 2>/dev/null | awk '
    /^[ \t]*[0-9]+ : / { p = $0; sub(/^[ \t]*[0-9]+ : */, "", p); sub(/[ \t]+$/, "", p); next }
    /Allow incoming connections/ && p != "" { print p; p = "" }
    /Block incoming connections/ { p = "" }' | while IFS= read -r _app; do
    # Apple's binaries for a Sharing service are allowed when the site allows that service's port.
    case "$_app" in
      */sshd-keygen-wrapper | */sshd-session | */sshd-auth | */sbin/sshd) _pp=22/tcp ;;
      */sbin/smbd) _pp=445/tcp ;;
      */sbin/cupsd) _pp=631/tcp ;;
      */screensharingd) _pp=5900/tcp ;;
      */ARDAgent | */ARDAgent.app) _pp='3283/tcp 5900/tcp' ;;
      */AEServer) _pp=3031/tcp ;;
      *) _pp='' ;;
    esac
    printf 'app\t%s\t%s\n' "$_app" "$_pp"
  done
}

# The site's [firewall] apps: applications the application firewall may let accept incoming connections.
site_app() {
  _want=$1
  set -- {{#each site.firewall.apps}}{{this}} {{/each}}
  for _a in "$@"; do [ "$_a" = "$_want" ] && return 0; done
  return 1
}
