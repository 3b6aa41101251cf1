#!/bin/sh
# Read-only host diagnostics. $1 is how many recent log lines to show.
lines=${1:-50}
case "$lines" in ''|*[!0-9]*) lines=50 ;; esac
section() { printf '\n=== %s ===\n' "$1"; }
section "host"
uname -a
uptime
section "memory"
free -m 2>/dev/null || cat /proc/meminfo | head -n 5
section "disks"
df -hP -x tmpfs -x devtmpfs 2>/dev/null || df -h
section "top processes by CPU"
ps -eo pid,ppid,pcpu,pmem,etime,comm --sort=-pcpu 2>/dev/null | head -n 15
section "failed units"
systemctl --failed --no-pager 2>/dev/null || echo "(systemd not available)"
section "kernel messages"
dmesg 2>/dev/null | tail -n "$lines" || echo "(dmesg not readable)"
section "journal errors"
journalctl -p err --no-pager -n "$lines" 2>/dev/null || echo "(journal not available)"
exit 0
