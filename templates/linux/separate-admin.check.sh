{{> linux/_lib.sh}}
need_root 'group memberships and sudo rules'
# ITP07 7.1.2 "Do not use an account with administrative privileges for normal working": the named user has
# no effective admin rights (sudo -l, root-equivalent groups), and a separate admin account exists and works.
need_user
u=$HANDOVER_USER
a=$HANDOVER_ADMIN_USER
obs user "$u"
obs admin "$a"
has_sudo() { command -v sudo >/dev/null 2>&1 && sudo -n -l -U "$1" 2>/dev/null | grep -q 'may run the following'; }
if id "$u" >/dev/null 2>&1; then
  groups=" $(id -nG "$u") "
  obs user_groups "$groups"
  set -- {{#each vars.root_groups}}{{this}} {{/each}}
  for g in "$@"; do
    case "$groups" in *" $g "*) problem "$u is in the root-equivalent group $g" ;; esac
  done
  if has_sudo "$u"; then
    problem "$u can run commands with sudo ($(sudo -n -l -U "$u" | sed -n '/may run the following/,$p' | sed 1d | oneline))"
  fi
else
  problem "user $u does not exist on this device"
fi
if id "$a" >/dev/null 2>&1; then
  obsb admin_exists true
  case "$(passwd -S "$a" 2>/dev/null | awk '{ print $2 }')" in
    P | PS) obsb admin_password_set true ;;
    *) obsb admin_password_set false; problem "the admin account $a has no usable password" ;;
  esac
  case " $(id -nG "$a") " in
    *" "{{vars.admin_group}}" "*) ;;
    *) problem "the admin account $a is not in group "{{vars.admin_group}} ;;
  esac
  has_sudo "$a" || problem "sudo does not let $a run commands"
else
  obsb admin_exists false
  problem "no separate admin account $a"
fi
finish "$u has no admin rights; $a is the separate admin account"
