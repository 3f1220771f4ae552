#!/usr/bin/env bash
# The demo: boots a small fleet of real QEMU VMs (TCG) with a guest agent inside, starts qgaorchd on
# them (fleet.json with each VM's QGA and QMP socket and disk), and takes a consistent group snapshot
# through the API: `qgaorch snapshot --mode qmp --wait` freezes every guest, snapshots every disk in
# one QMP transaction per VM, thaws every guest and reports each freeze window, with live progress.
# Then an external-mode `qgaorch freeze -- COMMAND`, and a clean shutdown confirmed by QMP.
#   demo.sh BINDIR [VM_COUNT]
set -euo pipefail
bin=${1:?usage: demo.sh BINDIR [VM_COUNT]}
count=${2:-2}
here=$(cd "$(dirname "$0")" && pwd)
qgaorch="$bin/qgaorch"
work=$(mktemp -d /tmp/qgaorch-demo.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

if ! command -v qemu-system-x86_64 >/dev/null || ! ls /boot/vmlinuz-* >/dev/null 2>&1; then
  echo "demo: QEMU or a Debian kernel is missing (run as root so 'build.ps1 demo' can install them)." >&2
  exit 2
fi

# Our agent goes inside when it answers a ping; otherwise Debian's qemu-ga stands in.
agent="$bin/qga-agent"
probe="$work/probe"; mkdir -p "$probe"
"$agent" -m unix-listen -p "$probe/qga.sock" -t "$probe" >/dev/null 2>&1 & apid=$!
if "$qgaorch" guest --socket "$probe/qga.sock" --timeout 3 guest-ping >/dev/null 2>&1; then
  echo "demo: guest agent = qga-agent"
else
  agent=/usr/sbin/qemu-ga
  echo "demo: guest agent = Debian qemu-ga (qga-agent did not answer a ping)"
fi
kill "$apid" 2>/dev/null || true

"$here/vm/build-guest-image.sh" "$work/image" "$agent"
for i in $(seq 1 "$count"); do
  "$here/vm/boot-vm.sh" "$work/image" "$work/vm$i" >/dev/null
  pids+=("$(cat "$work/vm$i/qemu.pid")")
done

g() { "$qgaorch" guest --socket "$work/vm$1/qga.sock" "${@:2}"; }
echo "demo: waiting for $count guests to boot (TCG)..."
for i in $(seq 1 "$count"); do
  for _ in $(seq 1 60); do g "$i" --timeout 2 guest-ping >/dev/null 2>&1 && break; done
  echo "  vm$i: $(g "$i" guest-info | head -c 60)..."
done

# qgaorchd on the fleet: its own config dir, state dir and a port the kernel picks.
mkdir -p "$work/config" "$work/state"
{
  echo '{ "vms": ['
  for i in $(seq 1 "$count"); do
    sep=$([ "$i" -lt "$count" ] && echo , || true)
    echo "  { \"id\": \"vm$i\", \"qgaSocket\": \"$work/vm$i/qga.sock\", \"qmpSocket\": \"$work/vm$i/qmp.sock\", \"disks\": [\"disk0\"], \"labels\": { \"group\": \"demo\" } }$sep"
  done
  echo '] }'
} > "$work/config/fleet.json"
cat > "$work/config/appsettings.json" <<JSON
{ "Orchestrator": { "StateDir": "$work/state", "Listen": "http://127.0.0.1:0",
    "Snapshot": { "DefaultMode": "qmp", "QmpOverlayDir": "$work/overlays" }, "Logging": { "File": "" } },
  "Serilog": { "MinimumLevel": { "Default": "Warning", "Override": { "Microsoft.Hosting.Lifetime": "Information" } } } }
JSON
"$bin/qgaorchd" --config-dir "$work/config" > "$work/qgaorchd.log" 2>&1 & pids+=("$!")
url=""
for _ in $(seq 1 100); do
  url=$(grep -o 'Now listening on: http://[0-9.:]*' "$work/qgaorchd.log" | head -1 | sed 's/Now listening on: //') || true
  [ -n "$url" ] && break
  sleep 0.2
done
[ -n "$url" ] || { echo "demo: qgaorchd did not start:" >&2; cat "$work/qgaorchd.log" >&2; exit 1; }
api() { "$qgaorch" --server "$url" --token-file "$work/state/api-token" "$@"; }
echo "demo: qgaorchd listening on $url"
for _ in $(seq 1 50); do
  [ "$(api vms --json | grep -c '"agentConnected": true')" -ge "$count" ] && break
  sleep 0.2
done
api vms

echo "demo: consistent group snapshot (freeze all → QMP transaction per VM → thaw all)"
api snapshot --selector group=demo --mode qmp --deadline 30s --name demo --wait
ls "$work/overlays" | sed 's/^/  overlay: /'

echo "demo: external mode: the backup tool's own command runs while every guest is frozen"
api freeze --selector group=demo --deadline 30s -- sh -c 'echo "  (backup tool: the guests are frozen, saga $QGAORCH_SAGA_ID)"'
api sagas

# qgaorchd holds each VM's QGA and QMP socket now (QEMU takes one client each), so the API shuts them down;
# the command completes when QMP reports SHUTDOWN.
for i in $(seq 1 "$count"); do
  api cmd "vm$i" guest-shutdown --timeout 60s >/dev/null && echo "  vm$i: shut down (QMP SHUTDOWN seen)"
done
echo "demo: done"
