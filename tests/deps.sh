#!/bin/sh
# Installs what `make test` needs on a fresh Debian machine (root), or says what to install.
# Usage: tests/deps.sh [base|...]; each word names a group below.
set -e
need=""
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
for group in "${@:-base}"; do
  case "$group" in
    base) pkgs="libcmocka-dev python3-websockets gcc-multilib g++-multilib clang" ;;
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
apt-get -o DPkg::Lock::Timeout=600 update -qq
apt-get -o DPkg::Lock::Timeout=600 install -y -qq $need >/dev/null
