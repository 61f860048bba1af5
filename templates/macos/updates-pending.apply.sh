{{> macos/_lib.sh}}
set -e
# A fresh scan first (it also refreshes the cache the check reads). softwareupdate --list prints each item as
# "* Label: LABEL" and a tab-indented "Title: TITLE, Version: V, Size: …, Recommended: YES, Action: restart,"
# (Macjutsu/super#151, macOS 13).
list=$(softwareupdate --list 2>&1 || true)
printf '%s\n' "$list"
n=$(waiting_updates)
[ "${n:-0}" != 0 ] || exit 0
names=$(recommended_updates | sed -n 's/^update	\(.*\)$/\1;/p' | oneline)
if apple_silicon; then
  # Installing macOS updates on Apple silicon needs a volume owner's password (softwareupdate --user
  # --stdinpass), which handover does not hold.
  needs_person "$n updates waiting ($names): on Apple silicon installing them needs a volume owner's password: the user installs them in System Settings > General > Software Update (a major macOS upgrade offered there is not required)"
fi
# Intel: install by label the recommended items of this release, one at a time; a major upgrade (a "macOS …"
# title whose version's major is not this release's) is never started: it is not a security update, and
# handover's profile for the next release would have to be applied after it. Never --recommended, which
# would include it.
work=$(mktemp -d /tmp/handover-su.XXXXXX)
trap 'rm -rf "$work"' EXIT
printf '%s\n' "$list" | M=$(os_major) awk '
  /^\* Label: / { label = substr($0, 10); next }
  /^[ \t]*Title: / && label != "" {
    t = $0; sub(/^[ \t]*Title: /, "", t)
    title = t; sub(/, Version: .*/, "", title)
    v = t; sub(/^.*, Version: /, "", v); sub(/,.*/, "", v)
    if (title ~ /^macOS / && ENVIRON["M"] != "" && int(v) != int(ENVIRON["M"])) print "skip\t" label
    else if (t ~ /Recommended: YES/) print "install\t" label
    label = ""
  }' >"$work/labels"
rc=0 out=''
while IFS='	' read -r what label; do
  case "$what" in
    skip) echo "not installing $label: a major macOS upgrade is not a security update of this release" ;;
    install)
      echo "installing $label"
      o=$(softwareupdate --install "$label" 2>&1) || rc=1
      printf '%s\n' "$o"
      out="$out$o"
      ;;
  esac
done <"$work/labels"
[ "$rc" = 0 ] || exit 1
# Updates that finish at restart say so; handover's REBOOT_EXIT makes the control "reboot required".
case "$out" in *[Rr]estart*) exit 194 ;; esac
