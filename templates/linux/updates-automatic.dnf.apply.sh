{{> linux/_lib.sh}}
set -e
pkg={{vars.dnf_automatic_package}}
conf={{vars.dnf_automatic_conf}}
timer={{vars.dnf_automatic_timer}}
pkg_installed "$pkg" || pkg_install "$pkg"
mkdir -p "$(dirname "$conf")"
[ -f "$conf" ] || printf '[commands]\n' >"$conf"
grep -q '^\[commands\]' "$conf" || printf '[commands]\n' >>"$conf"
for kv in apply_updates=yes upgrade_type=security; do
  k=${kv%%=*} v=${kv#*=}
  if grep -Eq "^[[:space:]]*${k}[[:space:]]*=" "$conf"; then
    sed -i -E "s/^[[:space:]]*${k}[[:space:]]*=.*/${k} = ${v}/" "$conf"
  else
    sed -i "/^\[commands\]/a $k = $v" "$conf"
  fi
done
systemctl enable --now "$timer"
