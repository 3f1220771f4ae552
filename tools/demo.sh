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
mounts=()
cleanup() {
  local rc=$? left=0
  # SIGTERM: qgaorchd stops, a local qga-agent thaws before it exits; then unmount what we mounted.
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do while kill -0 "$p" 2>/dev/null; do sleep 0.1; done; done
  for m in "${mounts[@]}"; do fsfreeze -u "$m" 2>/dev/null || true; umount "$m" 2>/dev/null || true; done
  # The operator's check that nothing is left behind: processes, mounts and their loop devices, the work dir.
  for p in "${pids[@]}"; do kill -0 "$p" 2>/dev/null && { echo "demo: process $p is still running" >&2; left=1; }; done
  for m in "${mounts[@]}"; do mountpoint -q "$m" && { echo "demo: $m is still mounted" >&2; left=1; }; done
  losetup -a 2>/dev/null | grep -F "$work/" >&2 && left=1
  rm -rf "$work"
  [ -e "$work" ] && { echo "demo: $work could not be removed" >&2; left=1; }
  if [ "$left" = 0 ]; then
    echo "demo: cleaned up: ${#pids[@]} processes stopped, ${#mounts[@]} loop mounts unmounted (no loop device left), $work removed"
  fi
  [ "$rc" = 0 ] && [ "$left" = 1 ] && rc=1
  exit "$rc"
}
trap cleanup EXIT

# Real VMs when QEMU can run here; otherwise the same flow against local qga-agent processes, each
# confined to its own loop-mounted ext4 (the "guest disk"), snapshotted by a copy taken while frozen.
why_no_qemu=""
[ -n "${QGA_DEMO_LOCAL:-}" ] && why_no_qemu="QGA_DEMO_LOCAL is set, so no VMs are booted"
if [ -n "$why_no_qemu" ]; then :
elif ! command -v qemu-system-x86_64 >/dev/null; then why_no_qemu="qemu-system-x86_64 is not installed"
elif ! ls /boot/vmlinuz-* >/dev/null 2>&1; then why_no_qemu="no Debian kernel in /boot (package linux-image-amd64)"
elif ! command -v busybox >/dev/null && [ ! -x /bin/busybox ]; then why_no_qemu="busybox-static is not installed"
elif ! qemu-system-x86_64 -machine q35 -accel tcg -display none -nodefaults -S -daemonize -pidfile "$work/qemu-check.pid" >/dev/null 2>&1; then
  why_no_qemu="qemu-system-x86_64 cannot start a q35 machine here"
else kill "$(cat "$work/qemu-check.pid")" 2>/dev/null || true
fi

g() { "$qgaorch" guest --socket "$work/vm$1/qga.sock" "${@:2}"; }
if [ -z "$why_no_qemu" ]; then
  mode=qmp
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
  wait "$apid" 2>/dev/null || true

  "$here/vm/build-guest-image.sh" "$work/image" "$agent"
  for i in $(seq 1 "$count"); do
    "$here/vm/boot-vm.sh" "$work/image" "$work/vm$i" >/dev/null
    pids+=("$(cat "$work/vm$i/qemu.pid")")
  done
  echo "demo: waiting for $count guests to boot..."
else
  if [ -n "${QGA_DEMO_LOCAL:-}" ]; then echo "demo: $why_no_qemu."; else echo "demo: QEMU cannot run here: $why_no_qemu."; fi
  if [ "$(id -u)" != 0 ]; then
    echo "demo: the fallback (local qga-agents on loop-mounted ext4) needs root for mount; run as root." >&2
    exit 2
  fi
  echo "demo: running the same flow against $count local qga-agent processes on loop-mounted ext4 instead."
  mode=command
  for i in $(seq 1 "$count"); do
    d="$work/vm$i"; mkdir -p "$d/mnt" "$d/state"
    truncate -s 64M "$work/vm$i.img" && mkfs.ext4 -q -F "$work/vm$i.img"
    mount -o loop "$work/vm$i.img" "$d/mnt" && mounts+=("$d/mnt")
    echo "data of vm$i" > "$d/mnt/data.txt"
    # Confined: this agent may freeze and trim only its own loop mount, never the machine's filesystems.
    "$bin/qga-agent" -m unix-listen -p "$d/qga.sock" -t "$d/state" --fsfreeze-mountpoints "$d/mnt" >"$d/agent.log" 2>&1 &
    pids+=("$!")
  done
fi
boot_start=$SECONDS
for i in $(seq 1 "$count"); do
  for _ in $(seq 1 60); do g "$i" --timeout 2 guest-ping >/dev/null 2>&1 && break; done
  info=$(g "$i" guest-info 2>&1) || { echo "demo: vm$i's agent does not answer: $info" >&2; exit 1; }
  echo "  vm$i: agent $(grep -o '"version": *"[^"]*"' <<<"$info" | head -1 | cut -d'"' -f4), $(grep -o '"name":' <<<"$info" | wc -l) commands, answering after $((SECONDS - boot_start)) s"
done
boot_secs=$SECONDS

# qgaorchd on the fleet: its own config dir, state dir and a port the kernel picks.
mkdir -p "$work/config" "$work/state"
{
  echo '{ "vms": ['
  for i in $(seq 1 "$count"); do
    sep=$([ "$i" -lt "$count" ] && echo , || true)
    if [ "$mode" = qmp ]; then qmp=", \"qmpSocket\": \"$work/vm$i/qmp.sock\", \"disks\": [\"disk0\"]"; else qmp=""; fi
    echo "  { \"id\": \"vm$i\", \"qgaSocket\": \"$work/vm$i/qga.sock\"$qmp, \"labels\": { \"group\": \"demo\" } }$sep"
  done
  echo '] }'
} > "$work/config/fleet.json"
cat > "$work/config/appsettings.json" <<JSON
{ "Orchestrator": { "StateDir": "$work/state", "Listen": "http://127.0.0.1:0",
    "Snapshot": { "DefaultMode": "$mode", "QmpOverlayDir": "$work/snapshots",
      "Command": "cp --sparse=always $work/{vm}.img $work/snapshots/{vm}-{name}.img" }, "Logging": { "File": "" } },
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

mkdir -p "$work/snapshots"
if [ "$mode" = qmp ]; then
  echo "demo: consistent group snapshot (freeze all → QMP transaction per VM → thaw all)"
else
  echo "demo: consistent group snapshot (freeze all → a copy of each loop image while frozen → thaw all)"
fi
api snapshot --selector group=demo --mode "$mode" --deadline 30s --name demo --wait
echo "demo: snapshot files"
[ "$mode" = qmp ] && echo "  (each VM now writes to its new overlay; the overlay's backing file is the consistent point-in-time image)"
for f in "$work"/snapshots/*; do
  if [ "$mode" = qmp ]; then
    echo "  $(basename "$f") ($(du -h "$f" | cut -f1)): $(qemu-img info -U "$f" | grep -m1 '^backing file:' || echo 'no backing file?')"
  else
    echo "  $(basename "$f"): $(e2fsck -fn "$f" >/dev/null 2>&1 && echo 'clean ext4 (e2fsck -fn)' || echo 'e2fsck found errors')"
  fi
done

echo "demo: external mode: the backup tool's own command runs while every guest is frozen"
api freeze --selector group=demo --deadline 30s -- sh -c 'echo "  (backup tool: the guests are frozen, saga $QGAORCH_SAGA_ID)"'
api sagas

# qgaorchd holds each VM's QGA and QMP socket now (QEMU takes one client each), so the API shuts them down;
# the command completes when QMP reports SHUTDOWN.
if [ "$mode" = qmp ]; then
  echo "demo: shutdown saga (guest-shutdown, confirmed by QEMU's SHUTDOWN event; ACPI powerdown after the grace)"
  api shutdown --selector group=demo --mode powerdown --grace 60s --fallback --wait
else
  echo "demo: local agents are stopped (they are not VMs to power off); every loop mount is thawed and unmounted"
fi
if [ "$mode" = qmp ]; then ready="guest image built and VMs booted"; else ready="loop mounts made and agents started"; fi
echo "demo: done in $SECONDS s ($ready, every agent answering, after ${boot_secs} s)"
