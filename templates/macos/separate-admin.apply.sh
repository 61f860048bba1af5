{{> macos/_lib.sh}}
set -e
# SPEC 7: the user is demoted only once a separate admin that can stand in for it exists. handover does not
# create that admin: one created by root (sysadminctl, dscl) gets no Secure Token, so it could neither unlock
# FileVault nor approve updates on Apple silicon. A person signed in as a token holder creates it.
[ -n "${HANDOVER_USER:-}" ] || { echo "no user named: give --user NAME" >&2; exit 1; }
u=$HANDOVER_USER
a=$HANDOVER_ADMIN_USER
ready=1
if ! user_exists "$a" || ! is_admin "$a" || user_disabled "$a" || ! has_secure_token "$a"; then ready=''; fi
if [ -z "$ready" ]; then
  needs_person "create $a as an administrator in System Settings > Users & Groups while signed in as an admin with a Secure Token, then run apply again (an admin created by root gets no Secure Token, so it could not unlock FileVault or approve updates on Apple silicon)"
fi
if is_admin "$u"; then
  # SPEC 7, as on Linux (linux/separate-admin.apply.sh): demote only when someone is known to hold the separate
  # admin's password. handover never sets it on macOS, so the engine says so (HANDOVER_ADMIN_PASSWORD_KNOWN=1)
  # only when the technician attested it; a token-holding admin nobody can sign in to would leave the Mac
  # without a usable administrator.
  if [ "${HANDOVER_ADMIN_PASSWORD_KNOWN:-}" != 1 ]; then
    needs_person "not demoting $u: $a exists with a Secure Token, but handover cannot know that its password is known; sign in to $a once, then confirm with --attest accounts.separate-admin"
  fi
  dseditgroup -o edit -d "$u" -t user admin
  echo "removed $u from the admin group; $a (Secure Token holder) is the admin account"
fi
