#!/usr/bin/env bash
#
# The pg_regress suites and isolation specs against an AddressSanitizer +
# UndefinedBehaviorSanitizer build of omnichannel, as root, holding the
# shared-install lock:
#
#   flock /tmp/omni-install.lock bash test/sanitize.sh [--quick]
#
#   1. build a copy of the tree with clang -fsanitize=address,undefined
#      -fno-sanitize-recover=undefined (any undefined behaviour aborts the
#      backend) and install it into a private copy of the PostgreSQL
#      installation (PostgreSQL finds its share and lib directories
#      relative to its binaries), so the shared installation is not touched;
#   2. start a throwaway cluster from that copy (as the user postgres, its
#      socket in a temporary directory) with the ASan runtime preloaded into
#      the server (LD_PRELOAD, with test/sanitize_preload.c) and reports
#      written to files (ASAN_OPTIONS and UBSAN_OPTIONS log_path;
#      detect_leaks=0, as the postmaster's own allocations live until exit
#      by design);
#   3. run "make installcheck" (every pg_regress suite and isolation spec;
#      --quick: only the suites of QUICK_SUITES below, no isolation specs);
#   4. stop the server and remove the copy.
# Fails when a suite fails or any sanitizer report was written; prints the
# reports.  Ends with the line "sanitize: N suites passed, N failed,
# N sanitizer reports".
set -u
cd "$(dirname "$0")/.." || exit 2
top=$(pwd)
. test/lib.sh

QUICK_SUITES="extension identity_normalize journey journey_sequence journey_funnel suppress timeline fuzz_findings"
quick=0
for arg in "$@"; do
    case "$arg" in
        --quick) quick=1 ;;
        -h|--help) sed -n '2,25p' "$0"; exit 0 ;;
        *) echo "error: unknown option \"$arg\" (known: --quick)" >&2; exit 2 ;;
    esac
done
if [ "$(id -u)" -ne 0 ]; then
    echo "error: test/sanitize.sh runs as root (it installs the extension)" >&2
    exit 2
fi
omni_require_packages || exit 1
omni_require_clang || exit 1

asan_rt=$(omni_asan_runtime)
[ -f "$asan_rt" ] || { echo "error: the ASan runtime $asan_rt was not found" >&2; exit 1; }
tmp=$(mktemp -d /tmp/omni-sanitize.XXXXXX)
chmod 755 "$tmp"
inst="$tmp/inst"
bindir="$inst$(pg_config --bindir)"
reports="$tmp/reports"
data="$tmp/data"

cleanup() {
    if [ -f "$data/postmaster.pid" ]; then
        runuser -u postgres -- "$bindir/pg_ctl" -D "$data" -m immediate stop >/dev/null 2>&1
    fi
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM HUP

echo "== building with -fsanitize=address,undefined"
mkdir -p "$tmp/src" "$reports"
tar -C "$top" --exclude=./.git --exclude=./test/fuzz/build --exclude='*.o' \
    --exclude='*.so' --exclude='*.bc' --exclude=./results --exclude=./output_iso \
    -cf - . | tar -C "$tmp/src" -xf -
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
# PGXS's CFLAGS are gcc's: replace them (keeping -fno-strict-aliasing;
# -fwrapv is left out so that signed overflow in our code is reported).
if ! make -s -C "$tmp/src" -j"$(nproc)" CC=clang with_llvm=no \
        CFLAGS="-O1 -g -fno-strict-aliasing -Wall -Wno-unused-command-line-argument" \
        PG_CFLAGS="$san -Wno-ignored-attributes" PG_LDFLAGS="$san -shared-libasan" \
        >"$tmp/build.log" 2>&1; then
    cat "$tmp/build.log"
    echo "error: the sanitizer build failed" >&2
    exit 1
fi
# the private installation: PostgreSQL's files, then ours over them
for d in "$(dirname "$(pg_config --bindir)")" "$(pg_config --pkglibdir)" "$(pg_config --sharedir)"; do
    [ -d "$inst$d" ] && continue
    mkdir -p "$inst$(dirname "$d")" && cp -a "$d" "$inst$(dirname "$d")/"
done
make -s -C "$tmp/src" install with_llvm=no DESTDIR="$inst" >/dev/null \
    || { echo "error: make install failed" >&2; exit 1; }
clang -shared -fPIC -O0 test/sanitize_preload.c -o "$tmp/sanitize_preload.so" -ldl \
    || { echo "error: building test/sanitize_preload.c failed" >&2; exit 1; }

echo "== starting a server with the ASan runtime preloaded"
chown -R postgres: "$tmp"
runuser -u postgres -- "$bindir/initdb" -D "$data" -A trust -E UTF8 --locale=C.UTF-8 \
    >"$tmp/initdb.log" 2>&1 || { cat "$tmp/initdb.log"; exit 1; }
mkdir -p "$tmp/sock" && chown postgres: "$tmp/sock"
runuser -u postgres -- env LD_PRELOAD="$asan_rt $tmp/sanitize_preload.so" \
    ASAN_OPTIONS="detect_leaks=0:log_path=$reports/asan:halt_on_error=1" \
    UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$reports/ubsan" \
    "$bindir/pg_ctl" -D "$data" -l "$tmp/server.log" -w -t 120 start \
    -o "-c listen_addresses='' -c unix_socket_directories='$tmp/sock' -c fsync=off -c max_prepared_transactions=10 -c jit=off" \
    >/dev/null || { cat "$tmp/server.log"; exit 1; }
runuser -u postgres -- "$bindir/psql" -h "$tmp/sock" -d postgres -Atqc "SELECT 1" >/dev/null \
    || { cat "$tmp/server.log"; exit 1; }

echo "== pg_regress and isolation suites"
args=(TAP_TESTS=)
[ "$quick" -eq 1 ] && args+=(REGRESS="$QUICK_SUITES" ISOLATION=)
PGHOST="$tmp/sock" PGUSER=postgres make -s -C "$tmp/src" installcheck "${args[@]}" \
    >"$tmp/installcheck.log" 2>&1
rc=$?
grep -E '^(test| ) *[^ ]+ +\.\.\. ' "$tmp/installcheck.log"
ok=$(grep -cE '^(test| ) *[^ ]+ +\.\.\. ok' "$tmp/installcheck.log")
bad=$(grep -cE '^(test| ) *[^ ]+ +\.\.\. (FAILED|failed)' "$tmp/installcheck.log")
for d in "$tmp/src/regression.diffs" "$tmp/src/output_iso/regression.diffs"; do
    [ -s "$d" ] && { echo "== $(basename "$(dirname "$d")")/regression.diffs"; head -200 "$d"; }
done
if [ "$rc" -ne 0 ] && [ "$bad" -eq 0 ]; then
    tail -40 "$tmp/installcheck.log"
    bad=1
fi
runuser -u postgres -- "$bindir/pg_ctl" -D "$data" -w stop >/dev/null 2>&1

nreports=0
for r in "$reports"/*; do
    [ -f "$r" ] || continue
    nreports=$((nreports + 1))
    echo "== sanitizer report $(basename "$r")"
    head -80 "$r"
done
if grep -qE 'terminated by signal|was terminated' "$tmp/server.log"; then
    echo "== server log: a backend died"
    grep -E -B2 -A5 'terminated by signal|was terminated' "$tmp/server.log" | head -40
    bad=$((bad + 1))
fi
echo "sanitize: $ok suites passed, $bad failed, $nreports sanitizer reports"
[ "$bad" -eq 0 ] && [ "$nreports" -eq 0 ] && [ "$ok" -gt 0 ]
