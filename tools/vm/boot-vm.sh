#!/usr/bin/env bash
# Boots one test VM under QEMU with a guest agent channel, a QMP socket and a qcow2 disk.
#   boot-vm.sh IMAGEDIR VMDIR   (IMAGEDIR from build-guest-image.sh)
# Leaves VMDIR/{qga.sock,qmp.sock,disk.qcow2,qemu.pid,console.log}; stop it with `kill $(cat VMDIR/qemu.pid)`.
# Environment (all optional):
#   QGA_VM_ACCEL=auto|kvm|tcg  auto: KVM when /dev/kvm opens and the CPU shows vmx/svm (nested KVM
#                              without them hangs the guest kernel), else TCG
#   QGA_VM_CHANNEL=virtio|isa|vsock:CID   how the agent reaches the host (default virtio); the agent's
#                              method and path go to the guest on the kernel command line.
#                              isa: VMDIR/qga.sock on the second COM port (guest /dev/ttyS1);
#                              vsock: vhost-vsock-pci with guest-cid CID, agent on CID:QGA_VM_VSOCK_PORT (default 1234)
#   QGA_VM_MAC=52:54:00:..     MAC of the guest's virtio-net eth0 (restricted user network)
#   QGA_VM_SUSPEND=1           boot the bzImage even when IMAGEDIR has a PVH vmlinux: only it survives
#                              S3 (guest-suspend-ram + system_wakeup); the PVH vmlinux boots twice as fast
#   QGA_VM_PROBE=0|1           the guest's 100 ms probe writer on /data (default 1)
#   QGA_VM_FOREGROUND=1        exec QEMU instead of daemonizing (the caller owns the PID); the guest
#                              console goes to stdout and VMDIR/console.log
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

accel=${QGA_VM_ACCEL:-auto}
if [ "$accel" = auto ]; then
  accel=tcg
  if { : <>/dev/kvm; } 2>/dev/null && grep -qwE 'vmx|svm' /proc/cpuinfo; then accel=kvm; fi
fi
case "$accel" in
  kvm) machine="q35,accel=kvm"; cpu=host ;;
  tcg) machine="q35,accel=tcg"; cpu=max ;;
  *) echo "boot-vm: QGA_VM_ACCEL must be auto, kvm or tcg" >&2; exit 2 ;;
esac

kernel="$img/vmlinuz"
[ -f "$img/vmlinux" ] && [ "${QGA_VM_SUSPEND:-0}" != 1 ] && kernel="$img/vmlinux"
append="console=ttyS0 quiet panic=-1"
[ "${QGA_VM_PROBE:-1}" = 1 ] && append+=" probe=1"
channel=(-device virtio-serial-pci)
case "${QGA_VM_CHANNEL:-virtio}" in
  virtio)
    channel+=(-chardev socket,path="$dir/qga.sock",server=on,wait=off,id=qga0
      -device virtserialport,chardev=qga0,name=org.qemu.guest_agent.0) ;;
  isa)
    channel+=(-chardev socket,path="$dir/qga.sock",server=on,wait=off,id=qgaisa -device isa-serial,chardev=qgaisa)
    append+=" qga_method=isa-serial qga_path=/dev/ttyS1" ;;
  vsock:*)
    cid=${QGA_VM_CHANNEL#vsock:}
    channel+=(-device vhost-vsock-pci,guest-cid="$cid")
    append+=" qga_method=vsock-listen qga_path=$cid:${QGA_VM_VSOCK_PORT:-1234}" ;;
  *) echo "boot-vm: QGA_VM_CHANNEL must be virtio, isa or vsock:CID" >&2; exit 2 ;;
esac

args=(-machine "$machine" -cpu "$cpu" -m 256 -smp 1 -no-reboot
  # S3 for guest-suspend-ram (query-current-machine then reports wakeup-suspend-support).
  -global ICH9-LPC.disable_s3=0
  -kernel "$kernel" -initrd "$img/initrd.gz" -append "$append"
  -drive file="$dir/disk.qcow2",if=none,id=d0,format=qcow2,node-name=disk0 -device virtio-blk-pci,drive=d0
  "${channel[@]}"
  -netdev user,id=n0,restrict=on -device virtio-net-pci,netdev=n0,romfile=,mac="${QGA_VM_MAC:-52:54:00:12:34:56}"
  -qmp unix:"$dir/qmp.sock",server=on,wait=off
  # No VGA, floppy, CD-ROM or option ROMs: less for SeaBIOS and the kernel to probe under TCG.
  -nodefaults -vga none -monitor none -display none -pidfile "$dir/qemu.pid")

if [ "${QGA_VM_FOREGROUND:-0}" = 1 ]; then
  exec qemu-system-x86_64 "${args[@]}" -chardev stdio,id=con0,signal=off,logfile="$dir/console.log" -serial chardev:con0
fi
qemu-system-x86_64 "${args[@]}" -serial file:"$dir/console.log" -daemonize
echo "boot-vm: started pid $(cat "$dir/qemu.pid") in $dir ($accel)"
