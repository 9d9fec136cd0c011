#!/usr/bin/env bash
# Builds the .deb from a build directory, installs it, checks the installed
# binary and configuration, then removes and purges it and checks that its
# files are gone. Needs root and dpkg; exits 77 (skipped) otherwise, and when
# a larder package is already installed (it is never touched).
# Usage: deb_test.sh BUILD_DIR
set -euo pipefail
build=${1:?usage: deb_test.sh BUILD_DIR}
skip() { echo "SKIP: $*"; exit 77; }

[ "$(id -u)" -eq 0 ] || skip "needs root"
command -v dpkg >/dev/null && command -v cpack >/dev/null || skip "needs dpkg and cpack"
if dpkg-query -W -f='${Status}' larder 2>/dev/null | grep -q "installed"; then
  skip "a larder package is already installed here"
fi
[ -x "$build/larder" ] || { echo "FAIL: $build/larder is not built"; exit 1; }

work=$(mktemp -d)
installed=0
cleanup() {
  if [ $installed -eq 1 ]; then dpkg -P larder >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT
fail() { echo "FAIL: $*"; exit 1; }

echo "== cpack"
(cd "$build" && cpack -G DEB -B "$work" >"$work/cpack.log" 2>&1) || { cat "$work/cpack.log"; fail "cpack"; }
deb=$(ls "$work"/larder_*.deb)
echo "built $deb"
dpkg-deb --info "$deb"
fields=$(dpkg-deb --field "$deb" Depends)
for lib in libuv1 libhiredis libyaml-cpp libfmt; do
  grep -q "$lib" <<<"$fields" || fail "Depends lacks $lib: $fields"
done
contents=$(dpkg-deb --contents "$deb")
for path in ./usr/bin/larder ./etc/larder/larder.yaml ./lib/systemd/system/larder.service \
            ./usr/share/man/man1/larder.1.gz ./usr/share/doc/larder/README.md \
            ./usr/share/larder/grafana/larder-dashboard.json; do
  grep -q " $path\$" <<<"$contents" || fail "$path missing from the package"
done
control=$(dpkg-deb --ctrl-tarfile "$deb" | tar -t)
grep -q conffiles <<<"$control" || fail "no conffiles"

echo "== dpkg -i"
installed=1
dpkg -i "$deb" || fail "dpkg -i"
/usr/bin/larder --version | grep -q "^larder " || fail "larder --version"
out=$(larder --check-config -c /etc/larder/larder.yaml) || fail "check-config: $out"
[ "$out" = "ok" ] || fail "check-config said: $out"
getent passwd larder >/dev/null || fail "no larder user"
[ "$(stat -c %G /etc/larder)" = "larder" ] || fail "/etc/larder is not group larder"
dpkg-query -W -f='${Conffiles}\n' larder | grep -q /etc/larder/larder.yaml || fail "larder.yaml is not a conffile"

echo "== dpkg -r"
dpkg -r larder || fail "dpkg -r"
[ ! -e /usr/bin/larder ] || fail "/usr/bin/larder left after remove"
[ ! -e /lib/systemd/system/larder.service ] || fail "unit left after remove"
[ -e /etc/larder/larder.yaml ] || fail "conffile removed by remove (only purge may)"

echo "== dpkg -P"
dpkg -P larder || fail "dpkg -P"
installed=0
[ ! -e /etc/larder/larder.yaml ] || fail "conffile left after purge"
[ ! -d /etc/larder ] || fail "/etc/larder left after purge"
! dpkg-query -W larder >/dev/null 2>&1 || dpkg-query -W -f='${Status}' larder | grep -q "not-installed" \
  || fail "package still known to dpkg"
echo "PASS"
