{{> linux/_lib.sh}}
need_root /etc/shadow
# ITP07 7.1.2 "Do not provide access to non-QMUL users": interactive local accounts (UID >= UID_MIN, a real
# login shell, not locked) other than the user, its admin account and the site's allowlist. Check only.
uid_min=$(login_def UID_MIN 1000)
set -- {{#each site.accounts.allowed}}{{this}} {{/each}}
ok=" ${HANDOVER_USER:-} ${HANDOVER_ADMIN_USER:-} $* "
stray=''
# Local accounts: /etc/passwd read by the shell itself, and each one's password status (pw_status).
while IFS=: read -r name _ uid _ _ _ shell; do
  case "$uid" in '' | *[!0-9]*) continue ;; esac
  [ "$uid" -ge "$uid_min" ] && [ "$uid" -lt 65534 ] || continue
  real_shell "$shell" || continue
  ! pw_status "$name" || [ "$_ps" != L ] || continue
  case "$ok" in *" $name "*) continue ;; esac
  stray="$stray $name"
done </etc/passwd
obs allowed "$(words "$ok")"
obs unexpected "${stray# }"
[ -z "$stray" ] || problem "interactive accounts not allowed by the site:$stray (lock or remove them by hand; handover never deletes accounts)"
[ -n "${HANDOVER_USER:-}" ] || problem "no user named: give --user NAME"
finish "only the user, its admin account and the site's allowed accounts can log in"
