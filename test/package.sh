#!/usr/bin/env bash
#
# Build the Debian package postgresql-15-omnichannel from a copy of the tree
# (dpkg-buildpackage -us -uc -b, with pg_buildext; its build-time check runs
# the pg_regress and isolation suites), install it with dpkg, create the
# extension from it in a throwaway cluster, and run the package's autopkgtest
# (debian/tests/installcheck: the same suites against the installed package).
# Run as root.
#
#   bash test/package.sh [--keep]     (--keep: leave the package installed)
set -u
cd "$(dirname "$0")/.." || exit 2
top=$(pwd)
keep=0
for arg in "$@"; do
    case "$arg" in
        --keep) keep=1 ;;
        *) echo "error: unknown option \"$arg\" (known: --keep)" >&2; exit 2 ;;
    esac
done
[ "$(id -u)" -eq 0 ] || { echo "error: test/package.sh runs as root" >&2; exit 2; }

need=()
for p in debhelper dpkg-dev postgresql-server-dev-all libicu-dev pkg-config; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
    echo "== installing ${need[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null ||
        { echo "error: apt-get install ${need[*]} failed" >&2; exit 1; }
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/src"
tar -C "$top" --exclude=.git --exclude=./test/fuzz/build --exclude='*.o' --exclude='*.so' --exclude='*.bc' -cf - . | tar -C "$work/src" -xf -
echo "== dpkg-buildpackage -us -uc -b"
if ! (cd "$work/src" && make -s clean >/dev/null 2>&1; dpkg-buildpackage -us -uc -b >"$work/build.log" 2>&1); then
    grep -E '\.\.\. |error|Error' "$work/build.log" | tail -30
    echo "error: the package did not build" >&2
    exit 1
fi
deb=$(ls "$work"/postgresql-15-omnichannel_*.deb)
echo "built $(basename "$deb")"
dpkg -i "$deb" >/dev/null 2>&1 || { echo "error: dpkg -i failed" >&2; exit 1; }
dpkg -L postgresql-15-omnichannel | grep -E 'omnichannel(\.so|\.control|--.*\.sql)$'
out=$(pg_virtualenv psql -X -At -v ON_ERROR_STOP=1 \
        -c "CREATE EXTENSION omnichannel" \
        -c "SELECT extversion FROM pg_extension WHERE extname = 'omnichannel'" 2>&1)
rc=$?
if [ $rc -ne 0 ] || ! grep -qx '0.1.0' <<<"$out"; then
    [ "$keep" -eq 1 ] || dpkg -r postgresql-15-omnichannel >/dev/null 2>&1
    echo "$out" | tail -20
    echo "error: CREATE EXTENSION from the package failed" >&2
    exit 1
fi
echo "CREATE EXTENSION omnichannel from the package: version 0.1.0"
echo "== autopkgtest: debian/tests/installcheck against the installed package"
(cd "$work/src" && bash debian/tests/installcheck >"$work/autopkgtest.log" 2>&1)
rc=$?
[ "$keep" -eq 1 ] || dpkg -r postgresql-15-omnichannel >/dev/null 2>&1
grep -E '^(test |     [a-z]| All [0-9]| [0-9]+ of [0-9]+ tests)' "$work/autopkgtest.log"
if [ $rc -ne 0 ]; then
    tail -40 "$work/autopkgtest.log"
    echo "error: the autopkgtest failed" >&2
    exit 1
fi
