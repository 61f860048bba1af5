{{> macos/_lib.sh}}
need_root 'group memberships, sudo rules and Secure Token status'
# ITP07 7.1.2 "Do not use an account with administrative privileges for normal working": the named user is
# not an admin (admin group, sudo rules) and a separate admin account exists, is enabled, is an admin and holds
# a Secure Token (without one it cannot unlock FileVault or, on Apple silicon, approve updates).
need_user
u=$HANDOVER_USER
a=$HANDOVER_ADMIN_USER
obs user "$u"
obs admin "$a"
if user_exists "$u"; then
  if is_admin "$u"; then obsb user_is_admin true; problem "$u is in the admin group"; else obsb user_is_admin false; fi
  # A sudoers rule of its own (not through the admin group) is admin rights too.
  rules=$(sudo -n -l -U "$u" 2>/dev/null | sed -n '/may run the following/,$p' | sed 1d | oneline)
  if [ -n "$rules" ] && ! is_admin "$u"; then problem "$u can run commands with sudo ($rules)"; fi
else
  problem "user $u does not exist on this device"
fi
if user_exists "$a"; then
  obsb admin_exists true
  is_admin "$a" || problem "the admin account $a is not in the admin group"
  if user_disabled "$a"; then problem "the admin account $a is disabled"; fi
  if has_secure_token "$a"; then obsb admin_secure_token true; else
    obsb admin_secure_token false
    problem "the admin account $a has no Secure Token (an account created by root gets none): recreate it in System Settings while signed in as a Secure Token holder"
  fi
else
  obsb admin_exists false
  problem "no separate admin account $a"
fi
finish "$u has no admin rights; $a is the separate admin account, with a Secure Token"
