#!/bin/sh
# Installs what `make test` needs on a fresh Debian machine (root), or says what to install.
# Usage: tests/deps.sh [--no-recommends] [base|PKG|PKG:ARCH ...]; each word names a group
# below or a package. PKG:ARCH is a Debian multiarch package (libcmocka-dev:s390x): its
# architecture is added to dpkg first. --no-recommends keeps big tools (qemu) lean.
set -e
need=""
opts=""
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for group in "${@:-base}"; do
  case "$group" in
    --no-recommends) opts="--no-install-recommends"; continue ;;
    # gcc-12-multilib, not the gcc-multilib meta package: the meta package conflicts
    # with Debian's cross compilers (gcc-s390x-linux-gnu ...), which tests/portable needs.
    base) pkgs="libcmocka-dev python3-websockets gcc-12-multilib g++-12-multilib clang" ;;
    *) pkgs="$group" ;;
  esac
  for p in $pkgs; do have_pkg "$p" || need="$need $p"; done
done
[ -z "$need" ] && exit 0
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "missing packages:$need -- install them with: apt-get install -y$need" >&2
  exit 1
fi
echo "installing:$need"
export DEBIAN_FRONTEND=noninteractive
# Test families install side by side (make -j, several checkouts): one apt at a time.
exec 9>/tmp/ws-h-apt.lock
flock 9
# Daemons (nginx, apache2, lighttpd, haproxy) must not start as system services: the
# tests start their own on free ports. With a running init two of them on port 80 would
# fail each other's postinst; even without one, haproxy's postinst "reload" on an upgrade
# starts it. policy-rc.d 101 = "do not start"; one that the machine already has
# (containers ship one) is left as it is.
policy=/usr/sbin/policy-rc.d
if [ ! -e $policy ]; then
  trap 'rm -f $policy' EXIT
  printf '#!/bin/sh\n# tests/deps.sh: no service starts while it installs\nexit 101\n' >$policy
  chmod 755 $policy
fi
for p in $need; do
  case "$p" in
    *:*) arch=${p#*:}
         dpkg --print-foreign-architectures | grep -qx "$arch" || {
           echo "deps.sh: adding dpkg architecture $arch (for $p)"; dpkg --add-architecture "$arch"; } ;;
  esac
done
apt-get -o DPkg::Lock::Timeout=600 update -qq
# A cross compiler cannot be installed beside the gcc-multilib/g++-multilib meta packages
# (an older base group, or a machine set up by hand). Remove them on purpose, keeping the
# -m32 compilers they stood for (gcc-12-multilib and g++-12-multilib, marked manual).
case " $need " in
  *" gcc-"*-linux-gnu*|*" g++-"*-linux-gnu*)
    for m in gcc-multilib g++-multilib; do
      if have_pkg "$m"; then
        echo "deps.sh: removing $m (conflicts with the cross compilers; gcc-12-multilib keeps -m32)"
        apt-get -o DPkg::Lock::Timeout=600 install -y -qq gcc-12-multilib g++-12-multilib >/dev/null
        apt-mark manual gcc-12-multilib g++-12-multilib >/dev/null
        apt-get -o DPkg::Lock::Timeout=600 remove -y -qq "$m" >/dev/null
      fi
    done ;;
esac
apt-get -o DPkg::Lock::Timeout=600 install -y -qq $opts $need >/dev/null
