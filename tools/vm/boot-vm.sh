#!/usr/bin/env bash
# Boots one test VM under QEMU TCG with a QGA chardev socket, a QMP socket and a qcow2 disk.
#   boot-vm.sh IMAGEDIR VMDIR   (IMAGEDIR from build-guest-image.sh)
# Leaves VMDIR/{qga.sock,qmp.sock,disk.qcow2,qemu.pid,console.log}; stop it with `kill $(cat VMDIR/qemu.pid)`.
set -euo pipefail
img=${1:?usage: boot-vm.sh IMAGEDIR VMDIR}
dir=${2:?usage: boot-vm.sh IMAGEDIR VMDIR}
mkdir -p "$dir"
if [ ! -f "$dir/disk.qcow2" ]; then
  truncate -s 64M "$dir/disk.raw"
  mkfs.ext4 -q -F "$dir/disk.raw"
  qemu-img convert -O qcow2 "$dir/disk.raw" "$dir/disk.qcow2"
  rm -f "$dir/disk.raw"
fi
qemu-system-x86_64 -machine q35,accel=tcg -cpu max -m 256 -smp 1 -no-reboot \
  -kernel "$img/vmlinuz" -initrd "$img/initrd.gz" -append "console=ttyS0 quiet panic=-1 probe=1" \
  -drive file="$dir/disk.qcow2",if=none,id=d0,format=qcow2,node-name=disk0 -device virtio-blk-pci,drive=d0 \
  -device virtio-serial-pci \
  -chardev socket,path="$dir/qga.sock",server=on,wait=off,id=qga0 \
  -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0 \
  -qmp unix:"$dir/qmp.sock",server=on,wait=off \
  -serial file:"$dir/console.log" -monitor none -display none -daemonize -pidfile "$dir/qemu.pid"
echo "boot-vm: started pid $(cat "$dir/qemu.pid") in $dir"
