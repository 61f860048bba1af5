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
  dseditgroup -o edit -d "$u" -t user admin
  echo "removed $u from the admin group; $a (Secure Token holder) is the admin account"
fi
