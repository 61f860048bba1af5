{{> linux/_lib.sh}}
set -e
command -v firewall-cmd >/dev/null 2>&1 || pkg_install firewalld
systemctl enable --now firewalld
zone=$(firewall-cmd --get-default-zone)
case "$(firewall-cmd --permanent --zone="$zone" --get-target)" in
  default | DROP | REJECT | '%%REJECT%%') ;;
  *) firewall-cmd --set-default-zone=public; firewall-cmd --permanent --zone=public --set-target=default; firewall-cmd --reload ;;
esac
