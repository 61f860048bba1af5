{{> macos/_lib.sh}}
# ITP07 7.1.6(4): FortiClient VPN installed, with the site's connection. Fortinet documents no way to
# pre-configure a macOS connection without EMS or an MDM, so handover never writes one. FortiClient keeps its
# connections in conf/vpn.plist (undocumented, read only): when a connection there has the site's gateway,
# that is proof; otherwise a technician makes it and attests it (--attest apps.fortinet-vpn).
app=/Applications/FortiClient.app
v=$(app_version "$app")
obs version "${v:-missing}"
[ -n "$v" ] || result false "FortiClient is not installed"
gw={{site.vpn.gateway}}
name={{site.vpn.name}}
conf='/Library/Application Support/Fortinet/FortiClient/conf/vpn.plist'
found=''
if [ -f "$conf" ]; then
  servers=$(plutil -convert xml1 -o - "$conf" 2>/dev/null | sed -n 's/.*<string>\(.*\)<\/string>.*/\1/p')
  if printf '%s\n' "$servers" | grep -qxF "$gw" || printf '%s\n' "$servers" | grep -qF "$gw:"; then found=1; fi
fi
obsb connection_found "$([ -n "$found" ] && echo true || echo false)"
[ -z "$found" ] || result true "FortiClient $v installed, with a connection to $gw"
result false "FortiClient $v installed; the connection \"$name\" to $gw must be set up by a technician in FortiClient (no supported command-line way without EMS or MDM) and attested" manual
