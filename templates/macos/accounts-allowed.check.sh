{{> macos/_lib.sh}}
# ITP07 7.1.2 "Do not provide access to non-QMUL users": interactive local accounts (UID 501 and up, a real
# shell, not disabled) other than the user, its admin account and the site's allowlist. Check only.
set -- {{#each site.accounts.allowed}}{{this}} {{/each}}
ok=" ${HANDOVER_USER:-} ${HANDOVER_ADMIN_USER:-} $* "
stray=''
for name in $(interactive_users); do
  case "$ok" in *" $name "*) continue ;; esac
  stray="$stray $name"
done
obs allowed "$(printf '%s' "$ok" | oneline)"
obs unexpected "${stray# }"
[ -z "$stray" ] || problem "interactive accounts not allowed by the site:$stray (disable or remove them by hand; handover never deletes accounts)"
[ -n "${HANDOVER_USER:-}" ] || problem "no user named: give --user NAME"
finish "only the user, its admin account and the site's allowed accounts can log in"
