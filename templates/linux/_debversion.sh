    # Debian version comparison in awk (Debian Policy 5.6.12, as dpkg --compare-versions and apt compare):
    # debvercmp(A, B) is -1, 0 or 1. [epoch:]upstream[-revision]: the epoch compares as a number; upstream, then
    # the revision (absent: as "0"), compare as alternating runs of non-digits, character by character, where
    # "~" sorts before everything (even the end of the string) and letters before every other character, and
    # runs of digits, compared as numbers (as strings of digits, so no length overflows the numbers of awk).
    # POSIX awk (mawk, gawk, busybox): no quote characters here, this text sits inside a quoted awk program.
    # tests/debversion.rs checks it against dpkg --compare-versions under every awk it finds.
    function debverord(c) {
      if (c == "") return 0
      if (c == "~") return -1
      if (c ~ /[0-9]/) return 0
      if (DEBVER_ASCII == "") for (DEBVER_I = 32; DEBVER_I < 127; DEBVER_I++) DEBVER_ASCII = DEBVER_ASCII sprintf("%c", DEBVER_I)
      if (c ~ /[A-Za-z]/) return index(DEBVER_ASCII, c) + 31
      return index(DEBVER_ASCII, c) + 31 + 256
    }
    function debverpart(a, b,   oa, ob, na, nb) {
      while (a != "" || b != "") {
        while ((a != "" && substr(a, 1, 1) !~ /[0-9]/) || (b != "" && substr(b, 1, 1) !~ /[0-9]/)) {
          oa = debverord(substr(a, 1, 1)); ob = debverord(substr(b, 1, 1))
          if (oa != ob) return oa < ob ? -1 : 1
          a = substr(a, 2); b = substr(b, 2)
        }
        match(a, /^[0-9]*/); na = substr(a, 1, RLENGTH); a = substr(a, RLENGTH + 1)
        match(b, /^[0-9]*/); nb = substr(b, 1, RLENGTH); b = substr(b, RLENGTH + 1)
        sub(/^0+/, "", na); sub(/^0+/, "", nb)
        if (length(na) != length(nb)) return length(na) < length(nb) ? -1 : 1
        if (na "" != nb "") return na "" < nb "" ? -1 : 1
      }
      return 0
    }
    function debvercmp(a, b,   ea, eb, ra, rb, c) {
      ea = 0; eb = 0; ra = ""; rb = ""
      if (index(a, ":")) { ea = substr(a, 1, index(a, ":") - 1); a = substr(a, index(a, ":") + 1) }
      if (index(b, ":")) { eb = substr(b, 1, index(b, ":") - 1); b = substr(b, index(b, ":") + 1) }
      if (ea + 0 != eb + 0) return ea + 0 < eb + 0 ? -1 : 1
      if (match(a, /-[^-]*$/)) { ra = substr(a, RSTART + 1); a = substr(a, 1, RSTART - 1) }
      if (match(b, /-[^-]*$/)) { rb = substr(b, RSTART + 1); b = substr(b, 1, RSTART - 1) }
      c = debverpart(a, b)
      return c ? c : debverpart(ra, rb)
    }
