#!/bin/bash
# measure.sh OUT CMD [ARG]...: used by `cargo xtask bench` inside the benchmark's device. Runs CMD once
# under GNU time, its stdout to OUT and its stderr to OUT.err, and prints one line:
#   START END EXIT MAXRSS_KB USER_S SYS_S
# START and END are bash's $EPOCHREALTIME (microseconds, no process started to read the clock) taken
# right before GNU time starts and right after it exits, so the wall time includes starting GNU time
# (about a millisecond; `cargo xtask bench` reports it as the harness floor) and not nsenter's cost.
# MAXRSS_KB is GNU time's %M: the peak resident set of the largest single process of CMD's tree (the
# kernel's ru_maxrss of waited-for children), not the sum of the processes.
set -u
out=$1
shift
tf=$(mktemp)
start=$EPOCHREALTIME
/usr/bin/time -f '%M %U %S' -o "$tf" "$@" >"$out" 2>"$out.err"
rc=$?
end=$EPOCHREALTIME
# GNU time writes "Command exited with non-zero status N" before the format line when CMD fails.
printf '%s %s %s %s\n' "$start" "$end" "$rc" "$(tail -n 1 "$tf")"
rm -f "$tf"
