#!/bin/bash
# measure.sh OUT CMD [ARG]...: used by `cargo xtask bench` inside the benchmark's device. Runs CMD once
# under GNU time, its stdout to OUT and its stderr to OUT.err, and prints one line:
#   START END EXIT MAXRSS_KB USER_S SYS_S CPU_MS
# START and END are bash's $EPOCHREALTIME (microseconds, no process started to read the clock) taken
# right before GNU time starts and right after it exits, so the wall time includes starting GNU time
# (about a millisecond; `cargo xtask bench` reports it as the harness floor) and not nsenter's cost.
# MAXRSS_KB is GNU time's %M: the peak resident set of the largest single process of CMD's tree (the
# kernel's ru_maxrss of waited-for children), not the sum of the processes.
# USER_S and SYS_S are GNU time's %U and %S (two decimals: 10 ms steps). CPU_MS is the user+sys time of the
# children this script waited for, from bash's `times` before and after (1 ms steps): GNU time and CMD's
# whole tree, so it includes GNU time's own start (the harness floor shows how much).
set -u
out=$1
shift
tf=$(mktemp)
# ms M S: "XmY.ZZZs" (bash's `times`) in milliseconds.
ms() {
  local v=${1%s}
  local m=${v%%m*} sec=${v#*m}
  echo $((10#$m * 60000 + 10#${sec%.*} * 1000 + 10#${sec#*.}))
}
# children_ms FILE: the children's user+sys of a `times` output (its second line).
children_ms() {
  local children
  # The first line is the shell's own time.
  { read -r _ && read -r children; } <"$1"
  echo $(($(ms "${children%% *}") + $(ms "${children#* }")))
}
times >"$tf.t0"
start=$EPOCHREALTIME
/usr/bin/time -f '%M %U %S' -o "$tf" "$@" >"$out" 2>"$out.err"
rc=$?
end=$EPOCHREALTIME
times >"$tf.t1"
cpu=$(($(children_ms "$tf.t1") - $(children_ms "$tf.t0")))
# GNU time writes "Command exited with non-zero status N" before the format line when CMD fails.
printf '%s %s %s %s %s\n' "$start" "$end" "$rc" "$(tail -n 1 "$tf")" "$cpu"
rm -f "$tf" "$tf.t0" "$tf.t1"
