{{> linux/_lib.sh}}
# ITP07 7.1.3: no security updates waiting.
#
# Where apt's time goes: `apt-get -s dist-upgrade` spends no time in the kernel; it is CPU in apt itself,
# opening its whole cache (every version of every package in every list) and running the upgrade resolver
# (0.4 s on a device with Debian's full index and nothing to upgrade, more the more there is to upgrade).
# Which installed packages have a newer version in the security archive needs none of that: only the
# security archive's Packages files (a few MB) and dpkg's status, read below in one awk pass
# (source "packages-files"). A package is pending when it is installed (dpkg's state is not
# not-installed or config-files) and not held, and the security archive has it for its architecture (or
# all) at a version greater than the installed one by dpkg's comparison (linux/_debversion.sh). That is
# what `apt-get -s dist-upgrade` calls a security upgrade, its "Inst" line naming a security archive, with
# one more step so that both say the same: apt upgrades to the highest version of all archives, so when
# some package has a newer security version, the other archives' lists are searched (grep, for those
# names only) and a package whose newest version is in a non-security archive alone (a point release
# that superseded the security fix) is not pending, as apt says. apt's answer (source "apt-get", the
# reason in source_detail) is used instead where the lists alone cannot say what apt would do:
#  - apt pinning (Pin-Priority in /etc/apt/preferences or preferences.d) or APT::Default-Release changes
#    which version apt picks: apt-get answers (a hold needs no apt: dpkg's status says "hold", and
#    apt keeps held packages back, so they are not pending either way);
#  - no Packages file of a security archive in the lists, a security archive that is NotAutomatic, a
#    phased update (Ubuntu) that would decide, a compressed list (Acquire::GzipIndexes) without apt's own
#    /usr/lib/apt/apt-helper to read it, a list that cannot be read, or a dpkg journal not yet merged into
#    the status (an interrupted dpkg).
# Not modelled (apt would say more): a package new to the device that an upgrade pulls in from the security
# archive (a kernel update's new linux-image-ABI package is not named, its metapackage is), and an upgrade
# apt keeps back because its dependencies cannot be met. The answer is cached in handover's state
# directory, keyed on what it depends on: the dpkg status, apt's binary cache, the package lists and apt's
# configuration. Any install or `apt update` changes the key.
#
# Patch age (Cyber Essentials: high and critical fixes within 14 days, the site's [updates] max_age_days).
# Debian's and Ubuntu's Packages files carry no date per package, so the age of a waiting update is the
# earliest evidence that its archive held it, earliest wins:
#  - the `Date:` of the Release/InRelease file (in the package lists) of the archive that holds the waiting
#    version: with the Packages files, the Release file of the security Packages file holding it; with
#    apt-get, the archive `apt-get -s` names (its "Label:Version/Suite"). The archive was published
#    holding it at that date. Without a Date, that file's modification time (apt sets it from the server's
#    Last-Modified);
#  - what handover wrote down for that package and version on an earlier check (updates-pending.seen in
#    handover's state directory), so that a later `apt update`, whose Release is newer, never makes the update
#    younger. The first check on a device thus starts from the lists' Date; an update that reached a device
#    whose lists were refreshed long after it was published is younger here than it is (a lower bound).
# All of it in the awk pass below, no process per package.
max_age={{site.updates.max_age_days}}
lists=/var/lib/apt/lists
# One stat, "MTIME SIZE NAME" a line, for the cache's key and for the age of the Packages files (below).
stats=$(stat -c '%Y %s %n' /var/lib/dpkg/status /var/cache/apt/pkgcache.bin "$lists" "$lists"/*_Packages* /etc/apt/sources.list /etc/apt/sources.list.d /etc/apt/sources.list.d/* /etc/apt/preferences /etc/apt/preferences.d /etc/apt/preferences.d/* /etc/apt/apt.conf /etc/apt/apt.conf.d /etc/apt/apt.conf.d/* 2>/dev/null)
set_words "$stats"
key="v4 $_words"
cache="${HANDOVER_STATE_DIR}/cache/updates-pending"

# scan phase=seen SEEN phase=release RELEASE... then either phase=status /var/lib/dpkg/status (the Packages
# files, named in $PACKAGES) or phase=sim - (apt-get -s dist-upgrade's output). Prints the waiting packages
# on one line, then "EPOCH<TAB>PACKAGE VERSION<TAB>SOURCE" of the oldest (empty when nothing waits), then
# what answered; writes what it saw, only what still waits, to $NEW for the next check. With the Packages
# files, prints only "FALLBACK<TAB>why" when apt must answer instead (and writes nothing).
scan() {
  awk '
{{> linux/_debversion.sh}}
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
    # The date of each Release file (fdate, fsrc), and of each archive by the "Label:Version/Suite" apt
    # prints (adate, asrc): two copies of one archive (two mirrors) give the newer one, the lower bound.
    function dates(   i, F, lab, a, e, src, k) {
      dated = 1
      for (i = 1; i <= nf; i++) {
        F = files[i]
        lab = ((F, "Label") in rel) ? rel[F, "Label"] ":" : ""
        a = ((F, "Suite") in rel) ? rel[F, "Suite"] : ""
        if (a != "" && ((F, "Version") in rel)) a = rel[F, "Version"] "/" a
        archive[F] = lab a
        e = ((F, "Date") in rel) ? rfc2822(rel[F, "Date"]) : ""
        src = "Date of " base(F)
        if (e == "" && (F in mtime)) { e = mtime[F]; src = "modification time of " base(F) " (it has no Date)" }
        if (e != "") { fdate[F] = e; fsrc[F] = src }
        if (e == "" || a == "") continue
        k = lab a
        if (!(k in adate) || e > adate[k]) { adate[k] = e; asrc[k] = src }
      }
    }
    # One waiting update: its age from the archive date E (SRC) or what an earlier check saw, earliest wins.
    function waiting(pkg, ver, e, src, why,   id) {
      if (e != "" && e > now) e = now
      id = pkg " " ver
      if ((id in seen) && (e == "" || seen[id] <= e)) { e = seen[id]; src = seensrc[id] }
      if (e == "") { e = now; src = "first seen by handover (" why ")" }
      printf "%s\t%s\t%s\t%s\n", pkg, ver, e, src > ENVIRON["NEW"]
      names = names (names == "" ? "" : " ") pkg
      if (old == "" || e < old) { old = e; oldid = id; oldsrc = src }
    }
    function endstatus() {
      if (sp != "" && sv != "" && ss !~ / (not-installed|config-files)$/) {
        if (ss ~ /^hold /) held[sp ":" sa] = sv; else inst[sp ":" sa] = sv
        if (sp == "dpkg") native = sa
      }
      sp = ""; ss = ""; sa = ""; sv = ""
    }
    # The installed (not held) package a Packages stanza of P for ARCH upgrades, "" if none: "all" is
    # the native architecture, both ways.
    function instkey(p, a) {
      if ((p ":" a) in inst) return p ":" a
      if (a == "all" && ((p ":" native) in inst)) return p ":" native
      if (a == native && ((p ":all") in inst)) return p ":all"
      return ""
    }
    function fallback(why) { fb = why; return 0 }
    # The next line of list F (CMD: a command that prints it) into LINE.
    function rd(F, cmd) { return cmd != "" ? (cmd | getline LINE) : (getline LINE < F) }
    function readable(F) {
      if (F ~ /[^A-Za-z0-9._~%+\/-]/) return fallback("a list with an unexpected file name: " F)
      if (F !~ /_Packages$/ && ENVIRON["HELPER"] == "") return fallback("compressed lists and no /usr/lib/apt/apt-helper to read them: " base(F))
      return 1
    }
    # Reads the stanzas of list F (of Release file R) into cand: the highest security version above the
    # installed one of each installed package.
    function security(F, R,   cmd, r, p, v, a, k, c) {
      if (!readable(F)) return
      cmd = (F ~ /_Packages$/) ? "" : "{ " ENVIRON["HELPER"] " cat-file \"" F "\" 2>/dev/null || echo HANDOVER-UNREADABLE; }"
      p = ""; v = ""; a = ""
      while ((r = rd(F, cmd)) > 0 || p != "") {
        if (r > 0 && LINE == "HANDOVER-UNREADABLE") return fallback("apt-helper cannot read " base(F))
        if (r > 0 && LINE != "") {
          if (substr(LINE, 1, 9) == "Package: ") p = substr(LINE, 10)
          else if (substr(LINE, 1, 9) == "Version: ") v = substr(LINE, 10)
          else if (substr(LINE, 1, 14) == "Architecture: ") a = substr(LINE, 15)
          else if (substr(LINE, 1, 26) == "Phased-Update-Percentage: ") ph[p, v] = substr(LINE, 27) + 0
          continue
        }
        k = instkey(p, a)
        if (k != "" && v != "" && debvercmp(v, inst[k]) > 0) {
          c = (k in cand) ? debvercmp(v, cand[k]) : 1
          if (c > 0 || (c == 0 && fdate[R] > fdate[candrel[k]])) { cand[k] = v; candrel[k] = R; candph[k] = ((p, v) in ph) ? ph[p, v] : 100 }
        }
        p = ""; v = ""; a = ""
        if (r <= 0) break
      }
      if (r < 0) return fallback("cannot read " base(F))
      if (cmd != "") close(cmd); else close(F)
    }
    # apt upgrades to the highest version of every archive that is not NotAutomatic (all at the default
    # priority 500: no pinning here): a candidate that another list has at a higher version is apt upgrade
    # to that version, from a non-security archive, so not a security update (as apt-get -s says).
    function superseded(n, others,   pats, k, i, f, cmd, r, p, v, a, open_, q) {
      pats = ""
      for (k in cand) { q = substr(k, 1, index(k, ":") - 1); if (!(q in pat)) { pat[q] = 1; pats = pats " -e \"Package: " q "\"" } }
      cmd = ""
      for (i = 1; i <= n; i++) {
        f = others[i]
        if (!readable(f)) return
        if (f ~ /_Packages$/) cmd = cmd "{ grep -h -F -x -A 80" pats " \"" f "\" || [ $? = 1 ] || echo HANDOVER-UNREADABLE; }; "
        else cmd = cmd "{ " ENVIRON["HELPER"] " cat-file \"" f "\" 2>/dev/null || echo HANDOVER-UNREADABLE; } | grep -F -x -A 80 -e HANDOVER-UNREADABLE" pats "; "
      }
      if (cmd == "") return
      open_ = 0
      while ((r = (cmd | getline LINE)) > 0 || open_) {
        if (r > 0 && LINE == "HANDOVER-UNREADABLE") return fallback("cannot read the package lists")
        if (r > 0 && open_ && LINE != "" && LINE != "--" && substr(LINE, 1, 9) != "Package: ") {
          if (substr(LINE, 1, 9) == "Version: ") v = substr(LINE, 10)
          else if (substr(LINE, 1, 14) == "Architecture: ") a = substr(LINE, 15)
          else if (substr(LINE, 1, 26) == "Phased-Update-Percentage: ") ph[p, v] = substr(LINE, 27) + 0
          continue
        }
        if (open_) {
          # A stanza ends at its blank line; one cut short by grep cannot be judged.
          if (r <= 0 || LINE != "") return fallback("a stanza of " p " longer than grep showed")
          k = instkey(p, a)
          if ((k in cand) && debvercmp(v, cand[k]) > 0) {
            if (((p, v) in ph) && ph[p, v] < 100) return fallback("a phased update of " p " decides what apt upgrades to")
            delete cand[k]
          }
          open_ = 0
        }
        if (r <= 0) break
        if (substr(LINE, 1, 9) == "Package: " && (substr(LINE, 10) in pat)) { open_ = 1; p = substr(LINE, 10); v = ""; a = "" }
      }
      close(cmd)
    }
    function fast(   n, l, i, j, F, R, pre, best, ns, no, others, k, nk, keys, t, label, labelled, any) {
      if (!dated) dates()
      if (native == "") return fallback("dpkg is not in /var/lib/dpkg/status")
      n = split(ENVIRON["PACKAGES"], l, "\n")
      for (i = 1; i <= n; i++) have[l[i]] = 1
      for (i = 1; i <= n; i++) {
        F = l[i]
        if (F == "" || (F !~ /_Packages$/ && ((substr(F, 1, index(F, "_Packages") + 8)) in have))) continue
        R = ""; best = 0
        for (j = 1; j <= nf; j++) {
          pre = files[j]; sub(/(In)?Release$/, "", pre)
          if (length(pre) > best && substr(F, 1, length(pre)) == pre) { best = length(pre); R = files[j] }
        }
        if (R != "" && archive[R] ~ /[-]security|Debian-Security/) {
          if (rel[R, "NotAutomatic"] == "yes") return fallback("the security archive " archive[R] " is NotAutomatic")
          security(F, R)
          if (fb != "") return
          ns++
          if (!(archive[R] in labelled)) { labelled[archive[R]] = 1; label = label (label == "" ? "" : ", ") archive[R] }
        } else if (R == "" || rel[R, "NotAutomatic"] != "yes") others[++no] = F
      }
      if (!ns) return fallback("no Packages file of a security archive in " ENVIRON["LISTS"])
      for (k in cand) any = 1
      if (any) superseded(no, others)
      if (fb != "") return
      for (k in cand) {
        if (candph[k] < 100) return fallback("a phased update of " k " decides what apt upgrades to")
        keys[++nk] = k
      }
      for (i = 2; i <= nk; i++) { t = keys[i]; for (j = i - 1; j >= 1 && keys[j] > t; j--) keys[j + 1] = keys[j]; keys[j + 1] = t }
      for (i = 1; i <= nk; i++) {
        k = keys[i]; R = candrel[k]; t = substr(k, index(k, ":") + 1)
        waiting((t == native || t == "all") ? substr(k, 1, index(k, ":") - 1) : k, cand[k], fdate[R], fsrc[R], base(R) " has no date")
      }
      how = "dpkg status and " ns " Packages file" (ns == 1 ? "" : "s") " of " label
    }
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
    phase == "status" {
      if ($0 == "") endstatus()
      else if (substr($0, 1, 9) == "Package: ") sp = substr($0, 10)
      else if (substr($0, 1, 8) == "Status: ") ss = substr($0, 9)
      else if (substr($0, 1, 14) == "Architecture: ") sa = substr($0, 15)
      else if (substr($0, 1, 9) == "Version: ") sv = substr($0, 10)
      next
    }
    !dated { dates() }
    /^Inst / && /[-]security|Debian-Security/ {
      split($0, w, " "); pkg = w[2]
      if (pkg in done) next
      done[pkg] = 1
      s = $0; sub(/^[^(]*\(/, "", s); sub(/\)[^)]*$/, "", s); sub(/ \[[^]]*\]$/, "", s)
      ver = s; sub(/ .*/, "", ver); sub(/^[^ ]* */, "", s)
      e = ""; src = ""
      na = split(s, ar, ", ")
      for (i = 1; i <= na; i++) if ((ar[i] in adate) && (e == "" || adate[ar[i]] > e)) { e = adate[ar[i]]; src = asrc[ar[i]] }
      waiting(pkg, ver, e, src, "no Release file names its archive " s)
    }
    END {
      if (phase == "status") {
        endstatus(); fast()
        if (fb != "") { printf "FALLBACK\t%s\n", fb; exit }
      }
      print names
      if (old != "") printf "%s\t%s\t%s\n", old, oldid, oldsrc; else print ""
      print how
    }' "$@"
}

# The cache: the key, then the waiting packages, the oldest of them and what answered, a line each (read by the
# shell: no process).
cached_key='' pending='' oldest='' how=''
[ ! -r "$cache" ] || { IFS= read -r cached_key && IFS= read -r pending && IFS= read -r oldest && IFS= read -r how; } <"$cache" 2>/dev/null || true
if [ -n "$cached_key" ] && [ "$cached_key" = "$key" ]; then
  obs source cache
  obs source_detail "$how"
else
  set --
  for f in "$lists"/*Release; do [ -f "$f" ] && set -- "$@" "$f"; done
  mtimes=$( [ $# -gt 0 ] && stat -c '%Y	%n' "$@" 2>/dev/null)
  seen="${HANDOVER_STATE_DIR}/updates-pending.seen"
  [ -r "$seen" ] || seen=/dev/null
  new=/dev/null
  [ -w "${HANDOVER_STATE_DIR}" ] && new="${HANDOVER_STATE_DIR}/updates-pending.seen.$$"
  # Why apt-get must answer (empty: the Packages files can).
  why=''
  for f in /etc/apt/preferences /etc/apt/preferences.d/*; do
    if [ -f "$f" ] && grep -qi '^[[:space:]]*Pin-Priority:' "$f" 2>/dev/null; then why="apt pinning in $f"; break; fi
  done
  if [ -z "$why" ] && grep -rqsi 'Default-Release' /etc/apt/apt.conf /etc/apt/apt.conf.d; then why="APT::Default-Release is set"; fi
  for f in /var/lib/dpkg/updates/[0-9]*; do
    [ -z "$why" ] && [ -e "$f" ] && why="dpkg's journal is not merged into its status (an interrupted dpkg)"
    break
  done
  packages=''
  for f in "$lists"/*_Packages "$lists"/*_Packages.*; do [ -f "$f" ] && packages="$packages$f
"; done
  helper=/usr/lib/apt/apt-helper
  [ -x "$helper" ] || helper=''
  found=''
  if [ -z "$why" ]; then
    if ! found=$(NEW="$new" MTIMES="$mtimes" NOW="$HANDOVER_NOW_EPOCH" PACKAGES="$packages" HELPER="$helper" LISTS="$lists" \
      scan phase=seen "$seen" phase=release "$@" phase=status /var/lib/dpkg/status); then
      why="reading the package lists failed"
    fi
    case "$found" in
      "FALLBACK	"*) why=${found#FALLBACK	} ;;
      *) [ -n "$why" ] || src='packages-files' ;;
    esac
  fi
  if [ -n "$why" ]; then
    [ "$new" = /dev/null ] || rm -f "$new"
    if ! sim=$(apt-get -s -o Debug::NoLocking=1 dist-upgrade 2>&1); then
      rm -f "$new"
      result false "apt-get -s dist-upgrade failed: $(printf '%s' "$sim" | tail -n 3 | oneline)" error
    fi
    found=$(printf '%s\n' "$sim" | NEW="$new" MTIMES="$mtimes" NOW="$HANDOVER_NOW_EPOCH" \
      scan phase=seen "$seen" phase=release "$@" phase=sim -)
    src=apt-get
  fi
  if [ "$new" != /dev/null ] && [ -f "$new" ]; then
    mv -f "$new" "${HANDOVER_STATE_DIR}/updates-pending.seen" 2>/dev/null || rm -f "$new"
  elif [ "$new" != /dev/null ]; then
    rm -f "${HANDOVER_STATE_DIR}/updates-pending.seen"
  fi
  pending='' oldest='' how=''
  { IFS= read -r pending && IFS= read -r oldest && IFS= read -r how; } <<EOF || true
$found
EOF
  [ "$src" = apt-get ] && how="apt-get -s dist-upgrade: $why"
  obs source "$src"
  obs source_detail "$how"
  if mkdir -p "${HANDOVER_STATE_DIR}/cache" 2>/dev/null; then
    printf '%s\n%s\n%s\n%s\n' "$key" "$pending" "$oldest" "$how" >"$cache.$$" 2>/dev/null && mv -f "$cache.$$" "$cache" 2>/dev/null || rm -f "$cache.$$"
  fi
fi
obs pending "$pending"
obsn max_age_days "$max_age"
# A Packages file changed in the last 7 days (the stat above): the lists are current.
lists_new=''
week_ago=$((HANDOVER_NOW_EPOCH - 7 * 86400))
set -f
_ifs=$IFS IFS=$_nl
for l in $stats; do
  case "$l" in *" $lists/"*_Packages*) [ "${l%% *}" -le "$week_ago" ] || lists_new=${l#* * } ;; esac
done
IFS=$_ifs
set +f
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
