{{> linux/_lib.sh}}
# ITP07 7.1.3: no security updates waiting, from dnf's cached metadata (-C: no network on a check).
# `check-update` exits 100 when updates wait and lists them one per line (dnf4 and dnf5 alike); stderr is
# kept apart so that subscription-manager's warnings are not read as packages.
#
# Patch age (Cyber Essentials: high and critical fixes within 14 days, the site's [updates] max_age_days):
# the oldest date of the security advisories that the waiting updates fix, from the same cached metadata.
# `dnf updateinfo info --security` lists the advisories of available updates: dnf4 prints each one's
# "Updated" date (dnf/cli/commands/updateinfo.py, display_info: the only date it shows, the advisory's last
# revision, so never older than its issue), dnf5 (updateinfo is its alias of `advisory`) its "Issued" date
# (libdnf5-cli/output/advisoryinfo.cpp). Both as "YYYY-MM-DD HH:MM:SS" in local time: read in C and UTC.
max_age={{site.updates.max_age_days}}
err=$(mktemp)
out=$(dnf -q -C check-update --security 2>"$err")
rc=$?
msg=$(oneline <"$err")
rm -f "$err"
case "$rc" in
  0) pending='' ;;
  100) pending=$(printf '%s\n' "$out" | awk 'NF >= 3 && $1 !~ /^(Obsoleting|Last|Security:)/ { print $1 }' | sort -u | oneline) ;;
  *) result false "dnf check-update failed ($rc): $msg" error ;;
esac
obs pending "$pending"
obsn max_age_days "$max_age"
if [ -n "$pending" ]; then
  # "EPOCH<TAB>ADVISORY" of the oldest advisory, empty when dnf names no date.
  oldest=$(LC_ALL=C TZ=UTC dnf -q -C updateinfo info --security 2>/dev/null | awk '
    function days(y, m, d) {  # days since 1970-01-01 of a civil date (proleptic Gregorian)
      y -= (m <= 2); era = int((y >= 0 ? y : y - 399) / 400); yoe = y - era * 400
      doy = int((153 * (m + (m > 2 ? -3 : 9)) + 2) / 5) + d - 1
      return era * 146097 + yoe * 365 + int(yoe / 4) - int(yoe / 100) + doy - 719468
    }
    function value(s) { sub(/^[^:]*: */, "", s); return s }
    /^ *(Update ID|Name) *: / { id = value($0) }
    /^ *(Issued|Updated) *: [0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]/ {
      s = value($0); split(substr(s, 1, 10), d, "-"); split(substr(s, 12, 8), t, ":")
      e = days(d[1] + 0, d[2] + 0, d[3] + 0) * 86400 + t[1] * 3600 + t[2] * 60 + t[3]
      if (old == "" || e < old) { old = e; oldid = id }
    }
    END { if (old != "") printf "%d\t%s\n", old, oldid }')
  age=''
  if [ -n "$oldest" ]; then
    age=$(( (HANDOVER_NOW_EPOCH - ${oldest%%	*}) / 86400 ))
    [ "$age" -ge 0 ] || age=0
    obs oldest_pending "${oldest#*	}"
    obs oldest_pending_source "dnf: advisory date (dnf updateinfo info --security)"
  else
    obs oldest_pending_source "unknown: dnf updateinfo lists no dated security advisory for the waiting updates"
  fi
  obsn oldest_pending_days "$age"
  if [ -z "$age" ]; then
    problem "security updates waiting (age unknown): $pending"
  elif [ "$age" -gt "$max_age" ]; then
    problem "security updates waiting, the oldest advisory ${oldest#*	} for $age days: past the $max_age-day window: $pending"
  else
    problem "security updates waiting, the oldest advisory ${oldest#*	} for $age days (within the $max_age-day window): $pending"
  fi
else
  obs oldest_pending_source "nothing pending"
fi
if dnf needs-restarting --help >/dev/null 2>&1; then
  dnf -q needs-restarting -r >/dev/null 2>&1 || problem "reboot required to finish installed updates"
fi
finish "no security updates waiting"
