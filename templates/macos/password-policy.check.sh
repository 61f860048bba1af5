{{> macos/_lib.sh}}
need_root 'the account policies'
# ITP07 7.1.2: the global password content policy asks at least the site's length and classes. pwpolicy prints
# a banner line, then the policies as a plist; a policy is the regex in its policyContent (mSCP's checks).
want_len={{site.accounts.password_min_length}}
want_cls={{site.accounts.password_min_classes}}
pol=$(pwpolicy -getaccountpolicies 2>/dev/null | sed -n '/<?xml/,$p')
has() { printf '%s\n' "$pol" | grep -qF "policyAttributePassword matches '$1"; }
len=$(printf '%s\n' "$pol" | grep -oE "policyAttributePassword matches '\.\{[0-9]+," | grep -oE '[0-9]+' | sort -n | tail -n 1)
obs min_length "${len:-none}"
[ "${len:-0}" -ge "$want_len" ] || problem "passwords may be shorter than $want_len characters (policy: ${len:-none})"
# The classes a password must have: lower and upper case count as two, any letter as one.
cls=0
if has '(.*[a-z].*)' && has '(.*[A-Z].*)'; then cls=2; elif has '(.*[a-zA-Z].*)' || has '(.*[a-z].*)' || has '(.*[A-Z].*)'; then cls=1; fi
if has '(.*[0-9].*)'; then cls=$((cls + 1)); fi
if has '(.*[^a-zA-Z0-9].*)'; then cls=$((cls + 1)); fi
obs min_classes "$cls"
[ "$cls" -ge "$want_cls" ] || problem "passwords need only $cls character classes, not $want_cls"
# SPEC: no local interactive account with an empty password. macOS keeps salted hashes only, so the one way to
# tell is to try the empty password: dscl -authonly succeeds only for the right password (and with </dev/null
# it cannot prompt). A wrong try counts as one failed login of that account (failedLoginCount in its
# accountPolicyData, which a successful login resets; review macos-2026-12 §3.4). That is acceptable: one try
# per account per check run, and a stock Mac has no lockout policy at all (its only global policy is Apple's
# com.apple.defaultpasswordpolicy.fde content entry). Where a lockout limit is set
# (policyAttributeMaximumFailedAuthentications, pwpolicy(8)'s policyCategoryAuthentication), an account is tried
# only while it keeps two failed logins in hand after the try; otherwise a person must confirm it.
# plist_values KEY: the text of the value after each <key>KEY</key> in the XML plist on stdin, one a line.
plist_values() {
  awk -v k="<key>$1</key>" '
    { s = s $0 "\n" }
    END { while ((p = index(s, k)) > 0) { s = substr(s, p + length(k)); v = s; sub(/^[ \t\r\n]*<[a-z]*>/, "", v); sub(/<.*/, "", v); print v } }'
}
limit=$(printf '%s\n' "$pol" | plist_values policyAttributeMaximumFailedAuthentications | grep -E '^[0-9]+$' | sort -n | head -n 1)
failed_logins() { dscl . -read "/Users/$1" accountPolicyData 2>/dev/null | plist_values failedLoginCount | head -n 1; }
blank=''
untried=''
for name in $(interactive_users); do
  if [ -n "$limit" ]; then
    n=$(failed_logins "$name")
    if [ "${n:-0}" -gt $((limit - 3)) ]; then
      untried="$untried $name"
      continue
    fi
  fi
  if dscl /Local/Default -authonly "$name" '' </dev/null >/dev/null 2>&1; then blank="$blank $name"; fi
done
obs empty_passwords "${blank# }"
[ -z "$untried" ] || obs empty_password_not_tried "${untried# }"
[ -z "$blank" ] || problem "accounts with an empty password:$blank (set a password for each; the content policy only refuses new empty ones)"
if [ -z "$_fails" ] && [ -n "$untried" ]; then
  result false "passwords need $want_len characters and $want_cls classes, but${untried} could not be tried for an empty password without coming within two failed logins of the lockout limit ($limit): a technician must confirm each has a password" manual
fi
finish "passwords need $want_len characters and $want_cls classes; no interactive account has an empty password"
