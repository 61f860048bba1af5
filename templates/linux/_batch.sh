# handover: every Linux check in one shell process (the profile's `batch`; src/engine/check.rs check_batch).
# The facts several checks need are gathered once (_facts.sh); then each check runs in a subshell of its own,
# the checks in lanes side by side (the engine puts check n in lane n % SH_BATCH_LANES), each check with its own
# timeout. Each check leaves its output in files of the batch's private directory, which handover makes (0700)
# before the batch starts, reads when it ends and then removes: N.out and N.err (its stdout and stderr),
# N.timeout (the timeout it was killed at, if it was), and last N.done ("STATUS T0 T1": its exit status and
# /proc/uptime before and after). So the batch starts no mktemp, awk or rm of its own.
set -u
umask 077
_dir=${HANDOVER_BATCH_DIR:?is set by handover}
# A check sees the environment it would see alone.
unset HANDOVER_BATCH_DIR
{{> linux/_facts.sh}}
{{#if lib}}
# The helpers every check begins with, defined once for all of them: the engine gave each check its text
# without them only where its text began with exactly these lines (render_batch).
{{> linux/_lib.sh}}
{{/if}}
# _run N ID TIMEOUT SCRIPT: one check in a subshell (a syntax error or an `exit` ends that check alone), its
# output kept in files; its pid and timeout are left for the watchdog.
_run() {
  # The check's own duration: /proc/uptime before and after (10 ms steps; read by the shell, no process).
  _t0=''
  read -r _t0 _ 2>/dev/null </proc/uptime || true
  (
    HANDOVER_CONTROL=$2
    export HANDOVER_CONTROL
    eval "$4"
  ) >"$_dir/$1.out" 2>"$_dir/$1.err" </dev/null &
  echo "$! $3" >"$_dir/$1.run"
  wait "$!"
  _st=$?
  _t1=''
  read -r _t1 _ 2>/dev/null </proc/uptime || true
  # Written last: the watchdog leaves a check with this file alone, and handover takes a check without it
  # for one the batch did not finish.
  echo "$_st $_t0 $_t1" >"$_dir/$1.done"
}
# _kill_tree PID: stop PID (so that it starts nothing more), kill its descendants, then PID itself.
_kill_tree() (
  kill -STOP "$1" 2>/dev/null || exit 0
  for _t in /proc/"$1"/task/*/children; do
    _k=''
    read -r _k <"$_t" 2>/dev/null || true
    for _c in $_k; do _kill_tree "$_c"; done
  done
  kill -KILL "$1" 2>/dev/null
)
# The watchdog: once a second, a check running longer than its timeout is killed with all it started, and
# marked timed out. A check's time runs from when the watchdog first sees it (at most a second late).
_watch() {
  _tick=0 _sl=''
  trap 'kill "$_sl" 2>/dev/null; exit 0' TERM
  while :; do
    sleep 1 &
    _sl=$!
    wait "$_sl"
    _tick=$((_tick + 1))
    for _f in "$_dir"/*.run; do
      [ -f "$_f" ] || continue
      _n=${_f##*/} && _n=${_n%.run}
      [ ! -e "$_dir/$_n.done" ] || continue
      read -r _pid _limit <"$_f" || continue
      eval "_start=\${_start_$_n:-}"
      [ -n "$_start" ] || { _start=$_tick && eval "_start_$_n=$_tick"; }
      if [ $((_tick - _start)) -ge "$_limit" ] && [ ! -e "$_dir/$_n.timeout" ]; then
        echo "$_limit" >"$_dir/$_n.timeout"
        _kill_tree "$_pid"
      fi
    done
  done
}
_watch >/dev/null 2>&1 </dev/null &
_watchdog=$!
_lanes=''
{{#each lanes}}
(
{{#each this}}
  _run {{n}} {{id}} {{timeout}} {{text}}
{{/each}}
) &
_lanes="$_lanes $!"
{{/each}}
# shellcheck disable=SC2086 # the lanes' pids
wait $_lanes
# The watchdog is gone before the batch ends, so that nothing writes to the directory handover then reads.
kill "$_watchdog" 2>/dev/null
wait "$_watchdog" || true
