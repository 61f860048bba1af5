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
# An empty password cannot be told from the salted hash macOS keeps without a login attempt, which would
# count against the account's lockout: say so rather than pass it silently.
obs empty_passwords "not read: macOS keeps salted hashes only; the content policy refuses new empty ones"
finish "passwords need $want_len characters and $want_cls classes"
