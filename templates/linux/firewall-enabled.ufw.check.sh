{{> linux/_lib.sh}}
# ITP07 7.1.5: ufw on with inbound default deny. `ufw status` costs about 80 ms (it is a Python program), so
# this reads ufw's own settings and the live netfilter rules (iptables -S: a few ms).
command -v ufw >/dev/null 2>&1 || result false "ufw is not installed"
conf_value /etc/ufw/ufw.conf ENABLED; enabled=$_cv
conf_value /etc/default/ufw DEFAULT_INPUT_POLICY; policy=${_cv#\"} && policy=${policy%\"}
conf_value /etc/default/ufw IPV6; ipv6=$_cv
obs ufw_enabled "${enabled:-unset}"
obs default_input_policy "${policy:-unset}"
[ "$enabled" = yes ] || problem "ufw is not enabled"
case "$policy" in DROP | REJECT) ;; *) problem "ufw's default inbound policy is ${policy:-unset}, not deny" ;; esac
live() {
  rules=$("$1" -S INPUT 2>&1) || { problem "$1 -S INPUT failed: $(words "$rules")"; return; }
  # "-P INPUT DROP" is the chain's policy; ufw's rules hang off it as "-A INPUT -j ufw-before-input".
  p=$_nl$rules
  case "$p" in *"${_nl}-P INPUT "*) p=${p#*"${_nl}-P INPUT "} && p=${p%%[[:space:]]*} ;; *) p='' ;; esac
  obs "$1 INPUT policy" "$p"
  case "$p" in DROP | REJECT) ;; *) problem "live $1 INPUT policy is $p" ;; esac
  case "$rules" in *"-j ufw-before-input"* | *"-j ufw6-before-input"*) ;; *) problem "ufw's rules are not loaded in $1" ;; esac
}
live iptables
[ "$ipv6" != yes ] || ! command -v ip6tables >/dev/null 2>&1 || live ip6tables
finish "ufw active, inbound default deny"
