{{> linux/_lib.sh}}
need_root 'group memberships and sudo rules'
# ITP07 7.1.2 "Do not use an account with administrative privileges for normal working": the named user has
# no effective admin rights (sudo -l, root-equivalent groups), and a separate admin account exists and works.
need_user
u=$HANDOVER_USER
a=$HANDOVER_ADMIN_USER
obs user "$u"
obs admin "$a"
# has_sudo NAME: sudo lets NAME run commands (sudo -l lists them after "may run the following"); the list
# goes into $_rules.
has_sudo() {
  command -v sudo >/dev/null 2>&1 || return 1
  _rules=$(sudo -n -l -U "$1" 2>/dev/null) || return 1
  case "$_rules" in *'may run the following'*) ;; *) return 1 ;; esac
  _rules=${_rules#*'may run the following'} && _rules=${_rules#*"$_nl"}
}
# groups(1) prints "NAME : GROUP..." for each account that exists, its groups as NSS resolves them (what
# `id -nG NAME` lists): one process for both accounts. An account with no line does not exist.
ugroups='' agroups='' u_exists='' a_exists=''
all=$(groups -- "$u" "$a" 2>/dev/null) || true
set -f
_ifs=$IFS IFS=$_nl
for l in $all; do
  case "$l" in
    "$u : "*) u_exists=1 ugroups=${l#"$u : "} ;;
  esac
  case "$l" in
    "$a : "*) a_exists=1 agroups=${l#"$a : "} ;;
  esac
done
IFS=$_ifs
set +f
if [ -n "$u_exists" ]; then
  groups=" $ugroups "
  obs user_groups "$groups"
  set -- {{#each vars.root_groups}}{{this}} {{/each}}
  for g in "$@"; do
    case "$groups" in *" $g "*) problem "$u is in the root-equivalent group $g" ;; esac
  done
  if has_sudo "$u"; then
    problem "$u can run commands with sudo ($(words "$_rules"))"
  fi
else
  problem "user $u does not exist on this device"
fi
if [ -n "$a_exists" ]; then
  groups=$agroups
  obsb admin_exists true
  pw_status "$a" || true
  st=$_ps
  case "$st" in
    P) obsb admin_password_set true ;;
    *) obsb admin_password_set false; problem "the admin account $a has no usable password" ;;
  esac
  case " $groups " in
    *" "{{vars.admin_group}}" "*) ;;
    *) problem "the admin account $a is not in group "{{vars.admin_group}} ;;
  esac
  has_sudo "$a" || problem "sudo does not let $a run commands"
else
  obsb admin_exists false
  problem "no separate admin account $a"
fi
finish "$u has no admin rights; $a is the separate admin account"
