{{> macos/_lib.sh}}
set -e
# pwpolicy -setaccountpolicies replaces every global policy (man pwpolicy): keep the other categories
# (authentication, password change) as they are and replace only the password content with the site's.
new=${HANDOVER_FILE_PWPOLICY_PLIST:?the policy plist was not rendered}
work=$(mktemp -d "${TMPDIR:-/tmp}/handover-pwpolicy.XXXXXX")
trap 'rm -rf "$work"' EXIT
pwpolicy -getaccountpolicies 2>/dev/null | sed -n '/<?xml/,$p' >"$work/current.plist" || true
mkdir -p "$HANDOVER_STATE_DIR"
cp "$work/current.plist" "$HANDOVER_STATE_DIR/pwpolicy-before.plist"
if plutil -lint -s "$work/current.plist" >/dev/null 2>&1; then
  PlistBuddy -c 'Delete :policyCategoryPasswordContent' "$work/current.plist" >/dev/null 2>&1 || true
  cp "$new" "$work/new.plist"
  PlistBuddy -c "Merge $work/new.plist" "$work/current.plist"
else
  cp "$new" "$work/current.plist"
fi
pwpolicy -setaccountpolicies "$work/current.plist"
echo "password content policy set; the previous policies are in $HANDOVER_STATE_DIR/pwpolicy-before.plist"
# Passwords set before the policy may be weak: each interactive account must choose a new one at next login.
for name in $(interactive_users); do
  pwpolicy -u "$name" -setpolicy newPasswordRequired=1 && echo "$name must change its password at next login"
done
