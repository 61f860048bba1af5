{{> linux/_lib.sh}}
need_root /etc/shadow
# ITP07 7.1.2: pwquality at least the site's minimum length and classes, pam_pwquality in the password
# stack, and no account with an empty password. libpwquality reads pwquality.conf and the .d drop-ins, and
# PAM module arguments override both, so every place that sets a value must meet the minimum.
want_len={{site.accounts.password_min_length}}
want_cls={{site.accounts.password_min_classes}}
obs required "minlen $want_len, minclass $want_cls"
vals=$( { cat /etc/security/pwquality.conf /etc/security/pwquality.conf.d/*.conf 2>/dev/null
          set -- {{#each vars.pam_password_files}}{{this}} {{/each}}
          for f in "$@"; do
            grep -Es '^[[:space:]]*password[[:space:]].*pam_pwquality\.so' "$f" | tr ' \t' '\n\n'
          done; } | sed -n -E 's/^[[:space:]]*(minlen|minclass)[[:space:]]*=[[:space:]]*([0-9-]+).*/\1 \2/p')
len_ok='' cls_ok=''
for kv in $(printf '%s\n' "$vals" | tr ' ' '='); do
  k=${kv%%=*} v=${kv#*=}
  case "$k" in
    minlen) if [ "$v" -ge "$want_len" ]; then len_ok=1; else problem "minlen $v is below $want_len"; fi ;;
    minclass) if [ "$v" -ge "$want_cls" ]; then cls_ok=1; else problem "minclass $v is below $want_cls"; fi ;;
  esac
done
obs pwquality "$(printf '%s\n' "$vals" | oneline)"
[ -n "$len_ok" ] || problem "no pwquality minlen of at least $want_len"
[ -n "$cls_ok" ] || problem "no pwquality minclass of at least $want_cls"
set -- {{#each vars.pam_password_files}}{{this}} {{/each}}
for f in "$@"; do
  if grep -Eqs '^[[:space:]]*password[[:space:]]+[^#]*pam_pwquality\.so' "$f"; then obs "pam $f" pam_pwquality; else problem "pam_pwquality is not in $f"; fi
done
empty=$(awk -F: '$2 == "" { print $1 }' /etc/shadow | oneline)
obs empty_passwords "${empty:-none}"
[ -z "$empty" ] || problem "accounts with an empty password: $empty"
finish "passwords need $want_len characters and $want_cls classes; no empty passwords"
