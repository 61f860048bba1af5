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
tuples=$(cat /etc/ufw/user.rules /etc/ufw/user6.rules 2>/dev/null | awk '/^### tuple ### / { print }')
printf '%s\n' "$tuples" | awk '$10 == "in" { print $4, $5, $6, $9, $10 }' | while read -r action proto port from dir; do
  [ -n "$action" ] || continue
  printf '%s\n' "$want" | grep -qxF "$action $proto $port $from $dir" && continue
  echo "removing inbound rule not in the site: $action $proto $port from $from"
  if [ "$proto" = any ]; then
    ufw delete "$action" from "$from" to any port "$port"
  else
    ufw delete "$action" proto "$proto" from "$from" to any port "$port"
  fi
done
# Application rules (ufw allow OpenSSH): removed by their application name and source.
printf '%s\n' "$tuples" | awk '$10 != "in" && $10 != "out" && $10 !~ /^(in|out|route)_/ && $12 ~ /^in/ { print $4, $10, $9 }' | while read -r action app from; do
  [ -n "$action" ] || continue
  echo "removing application rule not in the site: $action $app from $from"
  case "$from" in
    0.0.0.0/0 | ::/0) ufw delete "$action" "$app" ;;
    *) ufw delete "$action" from "$from" to any app "$app" ;;
  esac
done
