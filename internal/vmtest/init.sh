#!/bin/busybox sh
# PID 1 of the cgroup v2 test VM. Stage 1 runs from the initramfs, where pivot_root is refused
# (the root is rootfs): it copies itself to a tmpfs and switch_roots there. Stage 2 sets up
# cgroup v2 alone, loads overlay and runs the test binaries, then powers off.
/bin/busybox --install -s /bin
export PATH=/bin
if [ "$1" != stage2 ]; then
	mount -t proc proc /proc
	mkdir -p /newroot && mount -t tmpfs -o size=800m tmpfs /newroot
	cp -a /bin /lib /tests /init /newroot/
	mkdir -p /newroot/proc /newroot/sys /newroot/dev /newroot/tmp /newroot/etc
	echo 'root:x:0:0:root:/root:/bin/sh' > /newroot/etc/passwd
	umount /proc
	exec switch_root /newroot /init stage2
fi
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm && mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t cgroup2 cgroup2 /sys/fs/cgroup
insmod /lib/modules/overlay.ko
echo "=== VM kernel $(uname -r), cgroup.controllers: $(cat /sys/fs/cgroup/cgroup.controllers)"
echo "=== BEGIN doctor"
/bin/mydocker doctor
echo "=== END doctor $?"
for t in $(cat /tests/list); do
	name=${t%%:*}; filter=${t#*:}
	echo "=== BEGIN $name"
	MYDOCKER_BINARY=/bin/mydocker MYDOCKER_TEST_NO_BRIDGE=1 /tests/$name -test.v -test.count=1 -test.timeout 15m -test.run "$filter" 2>&1
	echo "=== END $name $?"
done
echo "=== LEFT in /sys/fs/cgroup: $(find /sys/fs/cgroup -mindepth 1 -type d | wc -l)"
poweroff -f
