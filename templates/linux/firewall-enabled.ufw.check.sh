{{> linux/_lib.sh}}
# ITP07 7.1.5: ufw on with inbound default deny. `ufw status` costs about 80 ms (it is a Python program), so
# this reads ufw's own settings and the live netfilter rules (iptables -S: a few ms).
command -v ufw >/dev/null 2>&1 || result false "ufw is not installed"
enabled=$(sed -n 's/^ENABLED=//p' /etc/ufw/ufw.conf 2>/dev/null)
policy=$(sed -n 's/^DEFAULT_INPUT_POLICY="\{0,1\}\([A-Z]*\)"\{0,1\}/\1/p' /etc/default/ufw 2>/dev/null)
ipv6=$(sed -n 's/^IPV6=//p' /etc/default/ufw 2>/dev/null)
obs ufw_enabled "${enabled:-unset}"
obs default_input_policy "${policy:-unset}"
[ "$enabled" = yes ] || problem "ufw is not enabled"
case "$policy" in DROP | REJECT) ;; *) problem "ufw's default inbound policy is ${policy:-unset}, not deny" ;; esac
live() {
  rules=$("$1" -S INPUT 2>&1) || { problem "$1 -S INPUT failed: $(printf '%s' "$rules" | oneline)"; return; }
  p=$(printf '%s\n' "$rules" | awk '$1 == "-P" { print $3 }')
  obs "$1 INPUT policy" "$p"
  case "$p" in DROP | REJECT) ;; *) problem "live $1 INPUT policy is $p" ;; esac
  printf '%s\n' "$rules" | grep -Eq -- '-j ufw6?-before-input' || problem "ufw's rules are not loaded in $1"
}
live iptables
[ "$ipv6" != yes ] || ! command -v ip6tables >/dev/null 2>&1 || live ip6tables
finish "ufw active, inbound default deny"
