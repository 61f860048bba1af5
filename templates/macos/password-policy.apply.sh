{{> macos/_lib.sh}}
set -e
# pwpolicy -setaccountpolicies replaces every global policy (pwpolicy(8)): handover writes back the policies in
# place with its own password content entries (policyIdentifier uk.ac.handover.*) replaced by the site's, and
# every other entry, of this category or another, kept as it was. A stock Mac already carries Apple's
# com.apple.defaultpasswordpolicy.fde content entry (policyAttributePassword matches '.{4,}+'), so this merge is
# the path every Mac takes. The merge works on the XML text, in awk, so that it runs as tests/macos.rs runs it.
new=${HANDOVER_FILE_PWPOLICY_PLIST:?the policy plist was not rendered}
work=$(mktemp -d /tmp/handover-pwpolicy.XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$HANDOVER_STATE_DIR"
pending="$HANDOVER_STATE_DIR/pwpolicy-expiry-pending"

# pwpolicy prints a banner line ("Getting global account policies"), then the policies as an XML plist, or a
# sentence when there are none. Anything else (no XML, no such sentence) stops the apply: writing the site's
# entries alone would drop every policy handover cannot read.
rc=0
pwpolicy -getaccountpolicies >"$work/out" 2>&1 || rc=$?
sed -n '/<?xml/,$p' "$work/out" >"$work/current.plist"
if ! grep -q '<plist' "$work/current.plist"; then
  if ! grep -qi 'no global.*polic' "$work/out"; then
    echo "could not read the global account policies (pwpolicy -getaccountpolicies exit $rc): $(oneline <"$work/out")" >&2
    exit 1
  fi
  : >"$work/current.plist"
fi

# merge_policies NEW CURRENT: print CURRENT with every policyCategoryPasswordContent entry whose policyIdentifier
# starts with uk.ac.handover. taken out and NEW's content entries appended to that array (the category is made
# when CURRENT has none); everything else is printed as it was. Writes "changed" or "same" to $STATUS: same when
# CURRENT already holds exactly NEW's entries, compared without the whitespace between elements (Apple's store
# prints its own indentation).
merge_policies() {
  awk '
    function bad(m) { print "merge: " m > "/dev/stderr"; failed = 1; exit 1 }
    # Split s into tokens: T[i] the text, K[i] its kind (t text, s start tag, e end tag, m empty element,
    # o declaration, comment or processing instruction) and N[i] the element name.
    function tok(s,   n, p, q, t) {
      n = 0
      while (length(s) > 0) {
        p = index(s, "<")
        if (p == 0) { T[++n] = s; K[n] = "t"; break }
        if (p > 1) { T[++n] = substr(s, 1, p - 1); K[n] = "t" }
        s = substr(s, p)
        if (substr(s, 1, 4) == "<!--") { q = index(s, "-->"); if (q == 0) bad("an unterminated comment"); q += 2 }
        else { q = index(s, ">"); if (q == 0) bad("an unterminated tag") }
        t = substr(s, 1, q)
        s = substr(s, q + 1)
        T[++n] = t
        if (t ~ /^<[!?]/) K[n] = "o"
        else if (t ~ /^<\//) K[n] = "e"
        else if (t ~ /\/>$/) K[n] = "m"
        else K[n] = "s"
        N[n] = t
        sub(/^<\/?/, "", N[n])
        sub(/[^A-Za-z].*$/, "", N[n])
      }
      return n
    }
    function blank(s) { return s ~ /^[ \t\r\n]*$/ }
    function out(s) { if (mode == "cur") printf "%s", s }
    function ours(   j) { for (j = 1; j <= nn; j++) out("\n\t\t" ntext[j]) }
    # Walk the tokens of one document. mode "new": collect its content entries. mode "cur": print the merge.
    # d counts the open elements: the top dict opens at 1, its keys and values sit at 2, the content array
    # entries at 3 and their keys at 4.
    function walk(n,   i, d, k, t, topkey, rk, incontent, inentry, buf, canon, ws, ek, kname, lastkey, rid, id) {
      d = 0
      for (i = 1; i <= n; i++) {
        k = K[i]; t = T[i]
        if (k == "e") d--
        if (inentry) {
          buf = buf t
          if (!(k == "t" && blank(t))) canon = canon t
          if (k == "s" && d == 4 && N[i] == "key") { ek = 1; kname = "" }
          else if (k == "t" && ek) kname = kname t
          else if (k == "e" && d == 4 && N[i] == "key") { ek = 0; lastkey = kname }
          else if (k == "s" && d == 4 && N[i] == "string" && lastkey == "policyIdentifier") { rid = 1; id = "" }
          else if (k == "t" && rid) id = id t
          else if (k == "e" && d == 4 && N[i] == "string") rid = 0
          else if (k == "e" && d == 3 && N[i] == "dict") {
            inentry = 0
            if (mode == "new") {
              if (id !~ /^uk\.ac\.handover\./) bad("an entry of the site policy is not handover'\''s: " id)
              ntext[++nn] = substr(buf, length(ws) + 1); ncanon[nn] = canon
            } else if (id ~ /^uk\.ac\.handover\./) curh[++ch] = canon
            else out(buf)
            ws = ""
          }
          if (k == "s") d++
          continue
        }
        if (incontent && k == "e" && d == 2 && N[i] == "array") { incontent = 0; if (mode == "cur") ours(); out(ws t); ws = ""; continue }
        if (incontent && d == 3) {
          if (k == "t" && blank(t)) { ws = ws t; continue }
          if (k == "s" && N[i] == "dict") { inentry = 1; buf = ws t; canon = t; id = ""; lastkey = ""; ek = 0; rid = 0; d++; continue }
          out(ws t); ws = ""
          if (k == "s") d++
          continue
        }
        if (k == "s" && d == 2 && N[i] == "key") { rk = 1; topkey = "" }
        else if (k == "t" && rk) topkey = topkey t
        else if (k == "e" && d == 2 && N[i] == "key") rk = 0
        else if (d == 1 && N[i] == "dict" && (k == "s" || k == "m")) topdict = 1
        if (k == "s" && d == 2 && N[i] == "array" && topkey == "policyCategoryPasswordContent") { seen = 1; incontent = 1 }
        if (k == "m" && d == 2 && N[i] == "array" && topkey == "policyCategoryPasswordContent") {
          seen = 1; out("<array>"); if (mode == "cur") ours(); out("\n\t</array>"); continue
        }
        if (mode == "cur" && !seen && ((k == "e" && d == 1 && N[i] == "dict") || (k == "m" && d == 1 && N[i] == "dict"))) {
          seen = 1
          if (k == "m") out("<dict>")
          out("\n\t<key>policyCategoryPasswordContent</key>\n\t<array>"); ours(); out("\n\t</array>\n</dict>")
          continue
        }
        out(t)
        if (k == "s") d++
      }
    }
    { if (FNR == 1) f++; if (f == 1) a = a $0 "\n"; else b = b $0 "\n" }
    END {
      if (failed) exit 1
      mode = "new"; split("", T); split("", K); split("", N); walk(tok(a))
      if (nn == 0) bad("the site policy has no password content entries")
      mode = "cur"; seen = 0; topdict = 0; split("", T); split("", K); split("", N); walk(tok(b))
      if (!topdict) bad("the policies in place are not a dictionary")
      same = (ch == nn)
      for (j = 1; j <= nn && same; j++) if (curh[j] != ncanon[j]) same = 0
      print (same ? "same" : "changed") > ENVIRON["STATUS"]
    }' "$1" "$2"
}

if [ -s "$work/current.plist" ]; then
  STATUS="$work/status" merge_policies "$new" "$work/current.plist" >"$work/merged.plist"
  status=$(cat "$work/status")
else
  # No global policies at all: the site's are the policy.
  cp "$new" "$work/merged.plist"
  status=changed
fi

if [ "$status" = changed ]; then
  cp "$work/current.plist" "$HANDOVER_STATE_DIR/pwpolicy-before.plist"
  pwpolicy -setaccountpolicies "$work/merged.plist"
  # Passwords set before this moment were set without the site's policy. The marker holds the moment until
  # every account below has been asked for a new password, so a run cut short finishes the job next time and
  # later runs, which change nothing, expire nobody.
  printf '%s\n' "${HANDOVER_NOW_EPOCH:-$(date +%s)}" >"$pending"
  echo "password content policy set; the policies before are in $HANDOVER_STATE_DIR/pwpolicy-before.plist"
else
  echo "the site's password content policy is already in place"
fi
[ -f "$pending" ] || exit 0
changed_at=$(sed -n '1{s/[^0-9].*//;p;}' "$pending")
[ -n "$changed_at" ] || changed_at=0

# password_set_at USER: when USER's password was last set, in seconds since 1970, or nothing when the record
# does not say. dscl prints accountPolicyData as an XML plist after the attribute name; passwordLastSetTime is a
# <real> of seconds since 1970 (captures in the public code: jamf/Current-User-Password-Age reads it from
# accountPolicyData, chilcote/unearth artifacts/password_age.py as a POSIX timestamp); accounts from 10.9 and
# before kept a <date> (franton/Extension-Attributes LastAdminPWChange.sh strips <date> tags).
password_set_at() {
  _v=$(dscl . -read "/Users/$1" accountPolicyData 2>/dev/null | awk '
    { s = s $0 "\n" }
    END {
      p = index(s, "<key>passwordLastSetTime</key>"); if (p == 0) exit
      s = substr(s, p + 30); sub(/^[ \t\r\n]*/, "", s)
      if (s ~ /^<(real|integer)>/) { sub(/^<[a-z]*>/, "", s); sub(/[.<].*$/, "", s); print "epoch " s }
      else if (s ~ /^<date>/) { sub(/^<date>/, "", s); sub(/<.*$/, "", s); print "date " s }
    }')
  case "$_v" in
    epoch\ *) printf '%s\n' "${_v#epoch }" ;;
    date\ *) TZ=UTC date -j -f '%Y-%m-%dT%H:%M:%SZ' "${_v#date }" +%s 2>/dev/null || true ;;
  esac
}

# Who must choose a new password: interactive accounts whose password was set before the policy changed, except
# the separate admin (HANDOVER_ADMIN_USER, which separate-admin.check.sh also reads), the technician running
# handover (SUDO_USER) and the site's allowed accounts (service accounts: accounts.allowed, as
# accounts-allowed.check.sh renders it). An account whose record has no passwordLastSetTime is asked too: nothing
# says its password meets the policy.
# pwpolicy(8) marks -setpolicy DEPRECATED, and names no account-policy replacement for newPasswordRequired; mSCP's
# pwpolicy_force_password_change rule (usnistgov/macos_security, main and tahoe, macOS 14-26) still gives
# /usr/bin/pwpolicy -u USER -setpolicy "newPasswordRequired=1", so handover does what mSCP does.
set -- {{#each site.accounts.allowed}}{{this}} {{/each}}
spared=" ${HANDOVER_ADMIN_USER:-} ${SUDO_USER:-} $* "
failed=''
for name in $(interactive_users); do
  case "$spared" in *" $name "*)
    echo "$name keeps its password (the separate admin, the technician or an account the site allows)"
    continue
    ;;
  esac
  set_at=$(password_set_at "$name")
  if [ -n "$set_at" ] && [ "$set_at" -ge "$changed_at" ]; then
    echo "$name keeps its password (set after the policy changed)"
    continue
  fi
  if pwpolicy -u "$name" -setpolicy "newPasswordRequired=1"; then
    echo "$name must change its password at next login"
  else
    failed="$failed $name"
  fi
done
if [ -n "$failed" ]; then
  echo "could not require a new password of:$failed (run: sudo pwpolicy -u NAME -setpolicy \"newPasswordRequired=1\"; the next apply tries again)" >&2
  exit 1
fi
rm -f "$pending"
