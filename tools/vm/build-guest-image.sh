#!/usr/bin/env bash
# Builds a small Linux guest for QEMU from Debian packages: the host's Debian kernel, busybox, the
# virtio modules, and a guest agent (our qga-agent, or Debian's qemu-ga for comparison).
#   build-guest-image.sh OUTDIR [AGENT_BINARY]
# Writes OUTDIR/vmlinuz and OUTDIR/initrd.gz. Needs: linux-image-amd64 busybox-static cpio kmod.
# One image serves every channel: the agent's method and path come from the kernel command line
# (qga_method=virtio-serial|isa-serial|vsock-listen qga_path=...; default virtio-serial), and
# probe=1 starts a writer appending a timestamp to /data/probe every 100 ms.
set -euo pipefail
out=${1:?usage: build-guest-image.sh OUTDIR [AGENT_BINARY]}
agent=${2:-$(dirname "$0")/../../artifacts/bin/qga-agent}
[ -x "$agent" ] || { echo "build-guest-image: agent binary '$agent' not found or not executable" >&2; exit 2; }
kver=$(ls /lib/modules | grep -E -- '-amd64$' | sort -V | tail -n 1)
[ -n "$kver" ] && [ -f "/boot/vmlinuz-$kver" ] || { echo "build-guest-image: no Debian kernel (apt-get install linux-image-amd64)" >&2; exit 2; }
command -v busybox >/dev/null || { echo "build-guest-image: busybox-static missing" >&2; exit 2; }

mkdir -p "$out"
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
mkdir -p "$root"/{bin,sbin,dev,proc,sys,run,tmp,data,etc,lib/modules,usr/bin,usr/sbin}
cp "$(command -v busybox)" "$root/bin/busybox"
for tool in sh mount umount insmod ln cat echo sleep mkdir poweroff reboot halt sync date ls rm \
  basename dirname grep sed head tr dd stat kill ps mknod uname hostname mountpoint ifconfig; do
  ln -sf busybox "$root/bin/$tool"
done

# Modules, in dependency order (a bare initramfs has no modprobe database).
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci virtio_console \
  virtio_blk crc16 mbcache jbd2 crc32c_generic ext4 failover net_failover virtio_net \
  vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport; do
  f=$(modinfo -k "$kver" -n "$m" 2>/dev/null || true)
  case "$f" in
    ""|"(builtin)") ;;  # built into this kernel
    *) cp "$f" "$root/lib/modules/"; echo "$(basename "$f")" >> "$root/lib/modules/order" ;;
  esac
done
cd "$root/lib/modules"
for f in *.ko.xz; do [ -e "$f" ] && xz -d "$f"; done
for f in *.ko.zst; do [ -e "$f" ] && zstd -q -d --rm "$f"; done
sed -i -e 's/\.xz$//' -e 's/\.zst$//' order
cd - >/dev/null

# The agent and, for a dynamically linked one, its libraries.
name=$(basename "$agent")
cp "$agent" "$root/usr/sbin/$name"
ldd "$agent" 2>/dev/null | grep -oE '/[^ ]+' | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"; cp -L "$lib" "$root$lib"
done || true

# The agent calls /sbin/shutdown; without an init system, power off directly.
cat > "$root/sbin/shutdown" <<'SH'
#!/bin/sh
sync
case "$*" in *-r*) reboot -f ;; *-H*) halt -f ;; *) poweroff -f ;; esac
SH
chmod +x "$root/sbin/shutdown"

# guest-get-osinfo reads this.
cat > "$root/etc/os-release" <<'OS'
ID=qga-test-guest
NAME="QgaOrchestrator test guest"
PRETTY_NAME="QgaOrchestrator test guest (busybox)"
VERSION_ID=1
OS

cat > "$root/init" <<SH
#!/bin/sh
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs run /run
for m in \$(cat /lib/modules/order); do insmod /lib/modules/\$m 2>/dev/null; done
# No udev: make the /dev/virtio-ports/NAME links the agent expects.
mkdir -p /dev/virtio-ports
for i in 1 2 3 4 5 6 7 8 9 10; do ls /sys/class/virtio-ports/*/name >/dev/null 2>&1 && break; sleep 0.2; done
for d in /sys/class/virtio-ports/*; do [ -f "\$d/name" ] && ln -sf "/dev/\$(basename "\$d")" "/dev/virtio-ports/\$(cat "\$d/name")"; done
for i in 1 2 3 4 5 6 7 8 9 10; do [ -b /dev/vda ] && break; sleep 0.2; done
[ -b /dev/vda ] && mount -t ext4 /dev/vda /data
hostname guest
ifconfig lo 127.0.0.1 up 2>/dev/null
# QEMU's user network (restricted): eth0 gets slirp's default guest address.
ifconfig eth0 10.0.2.15 netmask 255.255.255.0 up 2>/dev/null
method=virtio-serial; path=/dev/virtio-ports/org.qemu.guest_agent.0; probe=0
for arg in \$(cat /proc/cmdline); do
  case "\$arg" in
    qga_method=*) method=\${arg#qga_method=} ;;
    qga_path=*) path=\${arg#qga_path=} ;;
    probe=1) probe=1 ;;
  esac
done
# A probe that appends a timestamp every 100 ms: gaps show how long writes were blocked by a freeze.
if [ "\$probe" = 1 ] && mountpoint -q /data; then
  ( while :; do date +%s%N >> /data/probe; sleep 0.1; done ) &
fi
echo "guest: agent starting (\$method \$path)"
while :; do
  /usr/sbin/$name -m "\$method" -p "\$path" -t /run
  echo "guest: agent exited \$?, restarting"; sleep 1
done
SH
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$out/initrd.gz"
# Also vmlinux, the uncompressed ELF of a PVH-capable kernel: it boots without the real-mode setup and
# the XZ decompression, which under TCG halves the boot (14 s -> 7 s). But a PVH-booted guest resets
# on S3 wakeup (QEMU: SUSPEND, WAKEUP, then SHUTDOWN), so boot-vm.sh takes the bzImage for S3.
cp "/boot/vmlinuz-$kver" "$out/vmlinuz"
rm -f "$out/vmlinux"
if grep -q '^CONFIG_PVH=y' "/boot/config-$kver" 2>/dev/null && command -v xz >/dev/null; then
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ' "/boot/vmlinuz-$kver" | head -n 1 | cut -d: -f1 || true)
  if [ -n "$off" ] && tail -c +$((off + 1)) "/boot/vmlinuz-$kver" > "$out/vmlinux.xz" \
     && xz -dc --single-stream "$out/vmlinux.xz" > "$out/vmlinux" 2>/dev/null \
     && [ "$(head -c 4 "$out/vmlinux" | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]; then
    :
  else
    rm -f "$out/vmlinux"
  fi
  rm -f "$out/vmlinux.xz"
fi
echo "build-guest-image: $out/initrd.gz ($(stat -c %s "$out/initrd.gz") bytes), kernel $kver$([ -f "$out/vmlinux" ] && echo " (+PVH vmlinux)"), agent $name"
