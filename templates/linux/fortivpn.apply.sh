{{> linux/_lib.sh}}
set -e
pkg_installed openfortivpn || pkg_install openfortivpn
mkdir -p /etc/openfortivpn
{
  printf '# handover: ITP07 7.1.6(4)%s\n' {{#if site.vpn.name}}' '{{site.vpn.name}}{{else}}''{{/if}}
  printf 'host = %s\n' {{site.vpn.gateway}}
  printf 'port = %s\n' {{site.vpn.port}}
  printf 'trusted-cert = %s\n' {{site.vpn.trusted_cert}}
  printf '%s\n' 'set-dns = 1' 'set-routes = 1'
} | write_file /etc/openfortivpn/config 600
chown root:root /etc/openfortivpn/config
