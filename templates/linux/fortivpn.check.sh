{{> linux/_lib.sh}}
# ITP07 7.1.6(4): openfortivpn (FortiClient's Linux counterpart) with the site's gateway, in a config file
# only root can read (it may hold credentials).
conf=/etc/openfortivpn/config
pkg_installed openfortivpn || problem "openfortivpn is not installed"
if [ -f "$conf" ]; then
  mode=$(stat -c '%a %U' "$conf")
  obs config_mode "$mode"
  [ "$mode" = "600 root" ] || problem "$conf is $mode, not 600 root"
  conf_value "$conf" host ' = '; host=$_cv
  conf_value "$conf" port ' = '; port=$_cv
  conf_value "$conf" trusted-cert ' = '; cert=$_cv
  obs host "$host"
  obs port "$port"
  [ "$host" = {{site.vpn.gateway}} ] || problem "VPN gateway is ${host:-unset}, not "{{site.vpn.gateway}}
  [ "$port" = {{site.vpn.port}} ] || problem "VPN port is ${port:-unset}, not "{{site.vpn.port}}
  [ "$cert" = {{site.vpn.trusted_cert}} ] || problem "trusted-cert is not the site's gateway certificate"
else
  problem "$conf is missing"
fi
finish "openfortivpn configured for "{{site.vpn.gateway}}
