# write_file PATH MODE: write stdin to PATH atomically with MODE; nothing happens when the content is the same.
write_file() {
  _tmp="$1.handover-new"
  cat >"$_tmp" || return 1
  chmod "$2" "$_tmp" || return 1
  if [ -f "$1" ] && cmp -s "$_tmp" "$1"; then rm -f "$_tmp"; chmod "$2" "$1"; return 0; fi
  mv -f "$_tmp" "$1"
}
