{{> linux/_lib.sh}}
set -e
command -v firewall-cmd >/dev/null 2>&1 || pkg_install firewalld
systemctl enable --now firewalld
zone=$(firewall-cmd --get-default-zone)
set -- {{#each vars.core_services}}{{this}} {{/each}}
core=" $* "
{{#each firewall.allow}}
rule="rule family=\"$(case {{from}} in *:*) echo ipv6 ;; *) echo ipv4 ;; esac)\" source address=\"$(printf '%s' {{from}})\" port port=\"$(printf '%s' {{port}})\" protocol=\"$(printf '%s' {{proto}})\" accept"
firewall-cmd --permanent --zone="$zone" --query-rich-rule="$rule" >/dev/null 2>&1 || firewall-cmd --permanent --zone="$zone" --add-rich-rule="$rule"
keep="${keep:-}
$rule"
{{/each}}
for s in $(firewall-cmd --permanent --zone="$zone" --list-services); do
  case "$core" in *" $s "*) ;; *) echo "removing service $s from zone $zone"; firewall-cmd --permanent --zone="$zone" --remove-service="$s" ;; esac
done
for p in $(firewall-cmd --permanent --zone="$zone" --list-ports); do
  echo "removing port $p from zone $zone"
  firewall-cmd --permanent --zone="$zone" --remove-port="$p"
done
firewall-cmd --permanent --zone="$zone" --list-rich-rules | while IFS= read -r r; do
  case "$r" in *accept*) ;; *) continue ;; esac
  printf '%s\n' "${keep:-}" | grep -qxF "$r" && continue
  echo "removing rich rule not in the site: $r"
  firewall-cmd --permanent --zone="$zone" --remove-rich-rule="$r"
done
firewall-cmd --reload
