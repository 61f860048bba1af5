{{> linux/_lib.sh}}
need_root 'password status'
# ITP07 7.1.2: no guest account and no guest sessions. Only LightDM offers guest sessions (GDM has none).
if passwd_entry guest; then
  shell=${_pe##*:}
  pw_status guest || true
  st=$_ps
  obs guest_account "status ${st:-unknown}, shell $shell"
  case "$st" in
    L) real_shell "$shell" && problem "local account guest is locked but keeps a login shell ($shell)" ;;
    *) problem "local account guest is usable (password status: ${st:-unknown})" ;;
  esac
else
  obs guest_account none
fi
if [ -d /etc/lightdm ]; then
  v=$(cat /etc/lightdm/lightdm.conf /etc/lightdm/lightdm.conf.d/*.conf 2>/dev/null | sed -n 's/^[[:space:]]*allow-guest[[:space:]]*=[[:space:]]*//p' | tail -n 1)
  obs lightdm_allow_guest "${v:-unset}"
  [ "$v" = false ] || problem "LightDM allows guest sessions (allow-guest=${v:-unset})"
fi
finish "no guest account or guest session"
