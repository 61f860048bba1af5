{{> linux/_lib.sh}}
set -e
command -v ufw >/dev/null 2>&1 || pkg_install ufw
want=''
want_rule() { want="${want}allow $1 $2 $3 in
"; }
{{#each firewall.allow}}
want_rule {{proto}} {{port}} {{from}}
{{/each}}
# Add the site's entries first, then take away what the site does not list (recorded in the output).
printf '%s\n' "$want" | while read -r action proto port from _; do
  [ -n "$action" ] || continue
  ufw allow proto "$proto" from "$from" to any port "$port" comment 'handover site entry'
done
cat /etc/ufw/user.rules /etc/ufw/user6.rules 2>/dev/null | awk '/^### tuple ### / { print $4, $5, $6, $9, $10 }' | while read -r action proto port from dir; do
  printf '%s\n' "$want" | grep -qxF "$action $proto $port $from $dir" && continue
  echo "removing inbound rule not in the site: $action $proto $port from $from"
  if [ "$proto" = any ]; then
    ufw delete "$action" from "$from" to any port "$port"
  else
    ufw delete "$action" proto "$proto" from "$from" to any port "$port"
  fi
done
