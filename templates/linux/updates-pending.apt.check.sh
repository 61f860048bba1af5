{{> linux/_lib.sh}}
# ITP07 7.1.3: no security updates waiting. Simulating an upgrade loads apt's whole cache (0.2-0.4 s with a
# full package index), so the answer is cached in handover's state directory, keyed on what it depends on:
# the dpkg status, apt's binary cache and the package lists. Any install or `apt update` changes the key.
#
# Patch age (Cyber Essentials: high and critical fixes within 14 days, the site's [updates] max_age_days).
# Debian's and Ubuntu's Packages files carry no date per package, so the age of a waiting update is the
# earliest evidence that its archive held it, earliest wins:
#  - the `Date:` of the Release/InRelease file (in the package lists) of the archive `apt-get -s` names for the
#    waiting version (its "Label:Version/Suite"): the archive was published holding it at that date. Without
#    a Date, that file's modification time (apt sets it from the server's Last-Modified);
#  - what handover wrote down for that package and version on an earlier check (updates-pending.seen in
#    handover's state directory), so that a later `apt update`, whose Release is newer, never makes the update
#    younger. The first check on a device thus starts from the lists' Date; an update that reached a device
#    whose lists were refreshed long after it was published is younger here than it is (a lower bound).
# All of it in the one awk pass below, no process per package.
max_age={{site.updates.max_age_days}}
lists=/var/lib/apt/lists
key=$(stat -c '%n %Y %s' /var/lib/dpkg/status /var/cache/apt/pkgcache.bin "$lists" /etc/apt/sources.list /etc/apt/sources.list.d /etc/apt/sources.list.d/* 2>/dev/null | oneline)
key="v2 $key"
cache="${HANDOVER_STATE_DIR}/cache/updates-pending"
if [ -r "$cache" ] && [ "$(head -n 1 "$cache")" = "$key" ]; then
  pending=$(sed -n 2p "$cache")
  oldest=$(sed -n 3p "$cache")
  obs source cache
else
  if ! sim=$(apt-get -s -o Debug::NoLocking=1 dist-upgrade 2>&1); then
    result false "apt-get -s dist-upgrade failed: $(printf '%s' "$sim" | tail -n 3 | oneline)" error
  fi
  set --
  for f in "$lists"/*Release; do [ -f "$f" ] && set -- "$@" "$f"; done
  mtimes=$( [ $# -gt 0 ] && stat -c '%Y	%n' "$@" 2>/dev/null)
  seen="${HANDOVER_STATE_DIR}/updates-pending.seen"
  [ -r "$seen" ] || seen=/dev/null
  # Prints the waiting packages on one line, then "EPOCH<TAB>PACKAGE VERSION<TAB>SOURCE" of the oldest
  # (empty when nothing waits); writes what it saw, only what still waits, to NEW for the next check.
  new=/dev/null
  [ -w "${HANDOVER_STATE_DIR}" ] && new="${HANDOVER_STATE_DIR}/updates-pending.seen.$$"
  found=$(printf '%s\n' "$sim" | NEW="$new" MTIMES="$mtimes" NOW="$HANDOVER_NOW_EPOCH" awk '
    function days(y, m, d) {  # days since 1970-01-01 of a civil date (proleptic Gregorian)
      y -= (m <= 2); era = int((y >= 0 ? y : y - 399) / 400); yoe = y - era * 400
      doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
      return era * 146097 + yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy - 719468
    }
    function rfc2822(s,   f, n, i, mon, t, z, e) {  # "Sat, 05 Dec 2026 10:12:33 UTC" -> epoch, "" if unreadable
      n = split(s, f, " "); i = 1
      if (f[1] ~ /,$/) i = 2
      if (n < i + 3) return ""
      mon = index("JanFebMarAprMayJunJulAugSepOctNovDec", f[i + 1])
      if (f[i] !~ /^[0-9]+$/ || f[i + 2] !~ /^[0-9][0-9][0-9][0-9]$/ || mon == 0 || (mon - 1) % 3) return ""
      if (split(f[i + 3], t, ":") < 2) return ""
      e = days(f[i + 2] + 0, (mon - 1) / 3 + 1, f[i] + 0) * 86400 + t[1] * 3600 + t[2] * 60 + t[3]
      z = f[i + 4]
      if (z ~ /^[+-][0-9][0-9][0-9][0-9]$/) e -= (substr(z, 1, 1) "1") * (substr(z, 2, 2) * 3600 + substr(z, 4, 2) * 60)
      return e
    }
    function base(p) { sub(/.*\//, "", p); return p }
    BEGIN {
      now = ENVIRON["NOW"] + 0
      n = split(ENVIRON["MTIMES"], l, "\n")
      for (i = 1; i <= n; i++) { split(l[i], f, "\t"); if (f[2] != "") mtime[f[2]] = f[1] }
    }
    phase == "seen" {
      split($0, f, "\t")
      if (f[3] ~ /^[0-9]+$/) { seen[f[1] " " f[2]] = f[3]; seensrc[f[1] " " f[2]] = f[4] }
      next
    }
    phase == "release" {
      if (FNR == 1) files[++nf] = FILENAME
      if (/^-----BEGIN PGP SIGNATURE/) signed[FILENAME] = 1
      if (/^[A-Za-z-]+: / && !(FILENAME in signed)) {
        k = substr($0, 1, index($0, ":") - 1); v = substr($0, index($0, ":") + 2)
        if (!((FILENAME, k) in rel)) rel[FILENAME, k] = v
      }
      next
    }
    !archives {
      archives = 1
      for (i = 1; i <= nf; i++) {
        F = files[i]
        lab = ((F, "Label") in rel) ? rel[F, "Label"] ":" : ""
        a = ((F, "Suite") in rel) ? rel[F, "Suite"] : ""
        if (a != "" && ((F, "Version") in rel)) a = rel[F, "Version"] "/" a
        e = ((F, "Date") in rel) ? rfc2822(rel[F, "Date"]) : ""
        src = "Date of " base(F)
        if (e == "" && (F in mtime)) { e = mtime[F]; src = "modification time of " base(F) " (it has no Date)" }
        if (e == "" || a == "") continue
        k = lab a
        # Two copies of one archive (two mirrors): the newer one, the lower bound.
        if (!(k in adate) || e > adate[k]) { adate[k] = e; asrc[k] = src }
      }
    }
    /^Inst / && /[-]security|Debian-Security/ {
      split($0, w, " "); pkg = w[2]
      if (pkg in done) next
      done[pkg] = 1; names = names (names == "" ? "" : " ") pkg
      s = $0; sub(/^[^(]*\(/, "", s); sub(/\)[^)]*$/, "", s); sub(/ \[[^]]*\]$/, "", s)
      ver = s; sub(/ .*/, "", ver); sub(/^[^ ]* */, "", s)
      e = ""; src = ""
      na = split(s, ar, ", ")
      for (i = 1; i <= na; i++) if ((ar[i] in adate) && (e == "" || adate[ar[i]] > e)) { e = adate[ar[i]]; src = asrc[ar[i]] }
      if (e != "" && e > now) e = now
      id = pkg " " ver
      if ((id in seen) && (e == "" || seen[id] <= e)) { e = seen[id]; src = seensrc[id] }
      if (e == "") { e = now; src = "first seen by handover (no Release file names its archive " s ")" }
      printf "%s\t%s\t%s\t%s\n", pkg, ver, e, src > ENVIRON["NEW"]
      if (old == "" || e < old) { old = e; oldid = id; oldsrc = src }
    }
    END {
      print names
      if (old != "") printf "%s\t%s\t%s\n", old, oldid, oldsrc
    }' phase=seen "$seen" phase=release "$@" phase=sim -)
  if [ "$new" != /dev/null ] && [ -f "$new" ]; then
    mv -f "$new" "${HANDOVER_STATE_DIR}/updates-pending.seen" 2>/dev/null || rm -f "$new"
  elif [ "$new" != /dev/null ]; then
    rm -f "${HANDOVER_STATE_DIR}/updates-pending.seen"
  fi
  pending=$(printf '%s\n' "$found" | sed -n 1p)
  oldest=$(printf '%s\n' "$found" | sed -n 2p)
  obs source apt-get
  if mkdir -p "${HANDOVER_STATE_DIR}/cache" 2>/dev/null; then
    printf '%s\n%s\n%s\n' "$key" "$pending" "$oldest" >"$cache.$$" 2>/dev/null && mv -f "$cache.$$" "$cache" 2>/dev/null || rm -f "$cache.$$"
  fi
fi
obs pending "$pending"
obsn max_age_days "$max_age"
lists_new=$(find "$lists" -maxdepth 1 -name '*_Packages*' -newermt "@$((HANDOVER_NOW_EPOCH - 7 * 86400))" 2>/dev/null | head -n 1)
[ -n "$lists_new" ] || obs package_lists "older than 7 days: run apt-get update (or let apt-daily.timer) for a current answer"
if [ -n "$pending" ]; then
  age=''
  case "$oldest" in
    [0-9]*)
      t=${oldest%%	*}
      age=$(( (HANDOVER_NOW_EPOCH - t) / 86400 ))
      [ "$age" -ge 0 ] || age=0
      rest=${oldest#*	}
      obs oldest_pending "${rest%%	*}"
      obs oldest_pending_source "apt: ${rest#*	}"
      ;;
    *) obs oldest_pending_source "unknown: no evidence of when the waiting updates were published" ;;
  esac
  obsn oldest_pending_days "$age"
  set -- $pending
  n=$#
  shift $(( n > 8 ? 8 : n ))
  names="$(printf '%s\n' "$pending" | cut -d' ' -f1-8)${1:+ …}"
  if [ -z "$age" ]; then
    problem "$n security updates waiting (age unknown): $names"
  elif [ "$age" -gt "$max_age" ]; then
    problem "$n security updates waiting, the oldest for $age days: past the $max_age-day window: $names"
  else
    problem "$n security updates waiting, the oldest for $age days (within the $max_age-day window): $names"
  fi
else
  obs oldest_pending_source "nothing pending"
fi
if [ -e /var/run/reboot-required ]; then problem "reboot required to finish installed updates"; fi
finish "no security updates waiting"
