#!/bin/sh
# mkrootfs-busybox.sh DIR - build a minimal busybox root filesystem in DIR.
#
# DIR/bin/busybox is a copy of the host's static busybox ($BUSYBOX, default
# /bin/busybox from Debian's busybox-static) with one symlink per applet in
# DIR/bin, plus the usual mount points and a tiny /etc/passwd and /etc/group.
# Safe to run again on an existing DIR.
set -eu

usage() {
	echo "usage: $0 DIR" >&2
	exit 2
}
[ $# -eq 1 ] && [ -n "$1" ] || usage
dir=$1
busybox=${BUSYBOX:-/bin/busybox}

if [ ! -x "$busybox" ]; then
	echo "mkrootfs-busybox.sh: $busybox not found; install it with:" >&2
	echo "  sudo apt-get install -y busybox-static" >&2
	exit 1
fi

umask 022
mkdir -p "$dir"
cd "$dir"
mkdir -p bin etc proc dev sys tmp root home/user usr/bin
chmod 1777 tmp
chmod 0700 root

# Copy via a temporary name so that re-running while a container uses the
# old binary cannot fail with "text file busy".
cp "$busybox" bin/.busybox.new
chmod 0755 bin/.busybox.new
mv -f bin/.busybox.new bin/busybox

for applet in $("$busybox" --list); do
	case $applet in
	busybox | */*) continue ;;
	esac
	ln -sfn busybox "bin/$applet"
done
ln -sfn busybox bin/sh
# for "#!/usr/bin/env ..." scripts
ln -sfn ../../bin/busybox usr/bin/env

cat >etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
user:x:1000:1000:user:/home/user:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat >etc/group <<'GROUP'
root:x:0:
user:x:1000:
nogroup:x:65534:
GROUP
chmod 0644 etc/passwd etc/group
