{{> linux/_lib.sh}}
need_root /etc/shadow
# ITP07 7.1.2: pwquality at least the site's minimum length and classes, pam_pwquality in the password
# stack, and no account with an empty password. libpwquality reads pwquality.conf and the .d drop-ins, and
# PAM module arguments override both, so every place that sets a value must meet the minimum.
want_len={{site.accounts.password_min_length}}
want_cls={{site.accounts.password_min_classes}}
obs required "minlen $want_len, minclass $want_cls"
# Read line by line by the shell (each_line: from the batch's facts, no process per file).
vals=''
# setting WORD: a "minlen = N" or "minclass = N" (blanks around = allowed) into vals as "minlen N".
setting() {
  _t=${1#"${1%%[![:space:]]*}"}
  _k=${_t%%=*} && _k=${_k%"${_k##*[![:space:]]}"}
  case "$_t" in *=*) ;; *) return 0 ;; esac
  case "$_k" in minlen | minclass) ;; *) return 0 ;; esac
  _v=${_t#*=} && _v=${_v#"${_v%%[![:space:]]*}"} && _v=${_v%%[!0-9-]*}
  [ -z "$_v" ] || vals="$vals$_k $_v$_nl"
}
for f in /etc/security/pwquality.conf /etc/security/pwquality.conf.d/*.conf; do
  each_line "$f" setting || true
done
# A PAM password line that calls pam_pwquality (before any comment): its arguments override the files.
set -- {{#each vars.pam_password_files}}{{this}} {{/each}}
pam_with=''
# pam_line LINE: a line of PAM file $f.
pam_line() {
  _l=${1#"${1%%[![:space:]]*}"} && _l=${_l%%#*}
  case "$_l" in password[[:space:]]*pam_pwquality.so*) ;; *) return 0 ;; esac
  pam_with="$pam_with $f "
  for w in $_l; do setting "$w"; done
}
for f in "$@"; do
  each_line "$f" pam_line || true
done
len_ok='' cls_ok=''
while read -r k v; do
  case "$k" in
    minlen) if [ "$v" -ge "$want_len" ]; then len_ok=1; else problem "minlen $v is below $want_len"; fi ;;
    minclass) if [ "$v" -ge "$want_cls" ]; then cls_ok=1; else problem "minclass $v is below $want_cls"; fi ;;
  esac
done <<EOF
$vals
EOF
set_words "$vals"
obs pwquality "$_words"
[ -n "$len_ok" ] || problem "no pwquality minlen of at least $want_len"
[ -n "$cls_ok" ] || problem "no pwquality minclass of at least $want_cls"
for f in "$@"; do
  case "$pam_with" in *" $f "*) obs "pam $f" pam_pwquality ;; *) problem "pam_pwquality is not in $f" ;; esac
done
# Accounts whose password status is NP (an empty password field in /etc/shadow).
[ -n "${_fact_pw+set}" ] || _pw_load || problem "cannot read /etc/shadow"
empty=''
set -f
for e in ${_fact_pw-}; do case "$e" in *:NP) empty="$empty ${e%:NP}" ;; esac; done
set +f
empty=${empty# }
obs empty_passwords "${empty:-none}"
[ -z "$empty" ] || problem "accounts with an empty password: $empty"
finish "passwords need $want_len characters and $want_cls classes; no empty passwords"
