#!/bin/sh
# Stand-in for the vendor's LsAgent-linux-x64.run installer, for the e2e test.
# Takes the vendor's flags, writes what the real agent's configuration holds,
# installs a service that stays up, and records each run in
# /var/log/lsagent-standin.runs so a test can tell whether (and how often) it ran.
set -eu

usage() {
    echo "usage: $0 --server HOST --port N --agentkey KEY --mode unattended" >&2
    exit 1
}

server=''
port=''
agentkey=''
mode=''
while [ $# -gt 0 ]; do
    case "$1" in
        --server|--port|--agentkey|--mode)
            [ $# -ge 2 ] || usage
            case "$1" in
                --server) server=$2 ;;
                --port) port=$2 ;;
                --agentkey) agentkey=$2 ;;
                --mode) mode=$2 ;;
            esac
            shift 2
            ;;
        *)
            echo "$0: unknown option: $1" >&2
            usage
            ;;
    esac
done

if [ -z "$server" ] || [ -z "$port" ] || [ -z "$agentkey" ] || [ -z "$mode" ]; then
    usage
fi
[ "$mode" = unattended ] || { echo "$0: only --mode unattended is supported" >&2; exit 1; }
case "$port" in
    ''|*[!0-9]*) echo "$0: --port must be a number" >&2; exit 1 ;;
esac

dir=/opt/LansweeperAgent
mkdir -p "$dir"
old_umask=$(umask)
umask 077
printf 'Server=%s\nPort=%s\nAgentKey=%s\n' "$server" "$port" "$agentkey" > "$dir/LsAgent.ini.tmp"
umask "$old_umask"
chmod 0600 "$dir/LsAgent.ini.tmp"
mv -f "$dir/LsAgent.ini.tmp" "$dir/LsAgent.ini"

cat > /etc/systemd/system/LansweeperAgent.service <<'UNIT'
[Unit]
Description=Lansweeper agent (e2e stand-in)
After=network.target

[Service]
ExecStart=/bin/sleep infinity
Restart=always

[Install]
WantedBy=multi-user.target
UNIT

if [ -d /run/systemd/system ]; then
    systemctl daemon-reload
    systemctl enable --now LansweeperAgent.service
else
    systemctl enable LansweeperAgent.service
fi

date -u '+%Y-%m-%dT%H:%M:%SZ' >> /var/log/lsagent-standin.runs
echo "LsAgent (stand-in) installed for $server:$port"
