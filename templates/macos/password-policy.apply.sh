{{> macos/_lib.sh}}
set -e
# pwpolicy -setaccountpolicies replaces every global policy (man pwpolicy): handover writes back the current
# policies with its own password content entries (policyIdentifier uk.ac.handover.*) replaced, and every other
# entry, of this category or another, kept. A copy of the policies before goes to the state directory.
new=${HANDOVER_FILE_PWPOLICY_PLIST:?the policy plist was not rendered}
work=$(mktemp -d /tmp/handover-pwpolicy.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp "$new" "$work/new.plist"
pwpolicy -getaccountpolicies 2>/dev/null | sed -n '/<?xml/,$p' >"$work/current.plist" || true
mkdir -p "$HANDOVER_STATE_DIR"
cp "$work/current.plist" "$HANDOVER_STATE_DIR/pwpolicy-before.plist"
pb() { PlistBuddy -c "$1" "$work/current.plist"; }
c=':policyCategoryPasswordContent'
if ! plutil -lint -s "$work/current.plist" >/dev/null 2>&1; then
  # No global policies yet: the site's are the policy.
  cp "$work/new.plist" "$work/current.plist"
elif ! pb "Print $c" >/dev/null 2>&1; then
  pb "Merge $work/new.plist"
else
  # Drop handover's earlier entries (from the end, so indexes stay valid), then append the site's: PlistBuddy
  # merges the new policy under a scratch key and copies each entry to the end of the array.
  n=0
  while pb "Print $c:$n" >/dev/null 2>&1; do n=$((n + 1)); done
  i=$n
  while [ "$i" -gt 0 ]; do
    i=$((i - 1))
    case "$(pb "Print $c:$i:policyIdentifier" 2>/dev/null || true)" in
      uk.ac.handover.*)
        pb "Delete $c:$i"
        n=$((n - 1))
        ;;
    esac
  done
  pb 'Add :handoverNew dict'
  pb "Merge $work/new.plist :handoverNew"
  j=0
  while pb "Print :handoverNew$c:$j" >/dev/null 2>&1; do
    pb "Copy :handoverNew$c:$j $c:$n"
    j=$((j + 1))
    n=$((n + 1))
  done
  pb 'Delete :handoverNew'
fi
pwpolicy -setaccountpolicies "$work/current.plist"
echo "password content policy set; the policies before are in $HANDOVER_STATE_DIR/pwpolicy-before.plist"
# Passwords set before the policy may be weak: each interactive account must choose a new one at next login.
failed=''
for name in $(interactive_users); do
  if pwpolicy -u "$name" -setpolicy newPasswordRequired=1; then
    echo "$name must change its password at next login"
  else
    failed="$failed $name"
  fi
done
[ -z "$failed" ] || { echo "could not require a new password of:$failed" >&2; exit 1; }
