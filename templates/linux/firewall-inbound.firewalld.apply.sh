{{> linux/_lib.sh}}
set -e
command -v firewall-cmd >/dev/null 2>&1 || pkg_install firewalld
systemctl enable --now firewalld
zone=$(firewall-cmd --get-default-zone)
set -- {{#each vars.core_services}}{{this}} {{/each}}
core=" $* "
keep=''
# add_rule PROTO PORT FROM: a rich rule scoped to the entry's source, added once.
add_rule() {
  case "$3" in *:*) fam=ipv6 ;; *) fam=ipv4 ;; esac
  rule="rule family=\"$fam\" source address=\"$3\" port port=\"$2\" protocol=\"$1\" accept"
  firewall-cmd --permanent --zone="$zone" --query-rich-rule="$rule" >/dev/null 2>&1 || firewall-cmd --permanent --zone="$zone" --add-rich-rule="$rule"
  keep="$keep$rule
"
}
{{#each firewall.allow}}
add_rule {{proto}} {{port}} {{from}}
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
  printf '%s\n' "$keep" | grep -qxF "$r" && continue
  echo "removing rich rule not in the site: $r"
  firewall-cmd --permanent --zone="$zone" --remove-rich-rule="$r"
done
firewall-cmd --reload
