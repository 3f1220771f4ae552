#!/usr/bin/env bash
# The demo, as far as the project goes today: boots a small fleet of real QEMU VMs (TCG) with a
# guest agent inside, and drives each one through `qgaorch guest` (a real guest channel with the
# 0xFF + guest-sync-delimited handshake): agent info, a freeze of every guest, the freeze status,
# a thaw, the freeze window, and a clean shutdown confirmed by QMP.
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

start=$(date +%s%N)
for i in $(seq 1 "$count"); do echo "  vm$i: frozen filesystems: $(g "$i" --timeout 60 guest-fsfreeze-freeze)"; done
for i in $(seq 1 "$count"); do echo "  vm$i: status $(g "$i" guest-fsfreeze-status)"; done
for i in $(seq 1 "$count"); do echo "  vm$i: thawed filesystems: $(g "$i" --timeout 60 guest-fsfreeze-thaw)"; done
end=$(date +%s%N)
echo "demo: group freeze window $(( (end - start) / 1000000 )) ms for $count VMs"

for i in $(seq 1 "$count"); do
  g "$i" --qmp "$work/vm$i/qmp.sock" --timeout 60 guest-shutdown >/dev/null && echo "  vm$i: shut down (QMP SHUTDOWN seen)"
done
echo "demo: done"
