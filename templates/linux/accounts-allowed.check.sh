{{> linux/_lib.sh}}
need_root /etc/shadow
# ITP07 7.1.2 "Do not provide access to non-QMUL users": interactive local accounts (UID >= UID_MIN, a real
# login shell, not locked) other than the user, its admin account and the site's allowlist. Check only.
uid_min=$(login_def UID_MIN 1000)
set -- {{#each site.accounts.allowed}}{{this}} {{/each}}
ok=" ${HANDOVER_USER:-} ${HANDOVER_ADMIN_USER:-} $* "
stray=''
for entry in $(getent passwd | awk -F: -v min="$uid_min" '$3 >= min && $3 < 65534 { print $1 ":" $7 }'); do
  name=${entry%%:*} shell=${entry#*:}
  real_shell "$shell" || continue
  case "$(getent shadow "$name" | cut -d: -f2)" in '!'* | '*'*) continue ;; esac
  case "$ok" in *" $name "*) continue ;; esac
  stray="$stray $name"
done
obs allowed "$(printf '%s' "$ok" | oneline)"
obs unexpected "${stray# }"
[ -z "$stray" ] || problem "interactive accounts not allowed by the site:$stray (lock or remove them by hand; handover never deletes accounts)"
[ -n "${HANDOVER_USER:-}" ] || problem "no user named: give --user NAME"
finish "only the user, its admin account and the site's allowed accounts can log in"
