{{> macos/_lib.sh}}
set -e
# A fresh scan first (it also refreshes the cache the check reads).
softwareupdate --list 2>&1 || true
n=$(waiting_updates || true)
[ "${n:-0}" != 0 ] || exit 0
if apple_silicon; then
  # Installing macOS updates on Apple silicon needs a volume owner's password (softwareupdate --user
  # --stdinpass), which handover does not hold.
  needs_person "$n updates waiting: on Apple silicon installing them needs a volume owner's password: the user installs them in System Settings > General > Software Update"
fi
out=$(softwareupdate --install --recommended 2>&1) || { printf '%s\n' "$out"; exit 1; }
printf '%s\n' "$out"
# Updates that finish at restart say so; handover's REBOOT_EXIT makes the control "reboot required".
case "$out" in *[Rr]estart*) exit 194 ;; esac
