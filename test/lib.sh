# Shared by test/check.sh, test/demo.sh and the benchmarks: install what a
# fresh Debian bookworm machine with only the PostgreSQL 15 server lacks, then
# build and install the extension.  Source it; it defines functions only.

# Packages the build and the test suites need, with a command proving each is there.
omni_require_packages() {
    local missing=()
    [ -f "$(pg_config --includedir-server 2>/dev/null)/postgres.h" ] || missing+=(postgresql-server-dev-15)
    pkg-config --exists icu-uc icu-i18n 2>/dev/null || missing+=(libicu-dev pkg-config)
    perl -MIPC::Run -e 1 2>/dev/null || missing+=(libipc-run-perl)
    command -v pg_virtualenv >/dev/null 2>&1 || missing+=(postgresql-common)
    command -v make >/dev/null 2>&1 || missing+=(make)
    command -v gcc >/dev/null 2>&1 || missing+=(gcc)
    [ -d /usr/share/postgresql/15/extension ] && [ -f /usr/share/postgresql/15/extension/postgres_fdw.control ] \
        || missing+=(postgresql-contrib)
    if [ ${#missing[@]} -gt 0 ]; then
        if [ "$(id -u)" -ne 0 ]; then
            echo "error: missing packages: ${missing[*]}; run as root or install them with apt-get" >&2
            return 1
        fi
        echo "== installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq >/dev/null || { echo "error: apt-get update failed" >&2; return 1; }
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
            || { echo "error: apt-get install ${missing[*]} failed" >&2; return 1; }
    fi
}

# Build (warnings as errors when $1 is "strict") and install into the server.
omni_build_install() {
    local cflags="-Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare"
    [ "${1:-}" = strict ] && cflags="$cflags -Werror"
    make -s clean >/dev/null 2>&1
    make -s -j"$(nproc)" PG_CFLAGS="$cflags" || { echo "error: the build failed" >&2; return 1; }
    make -s install >/dev/null || { echo "error: make install failed (run as root)" >&2; return 1; }
}

# Exit with a clear message unless $2 is an integer in [$3, $4]; $1 names the
# option in the message.  For the command-line parsing of the scripts.
need_int() {
    if ! [[ "$2" =~ ^[0-9]+$ ]] || [ "${#2}" -gt 9 ] || [ "$2" -lt "$3" ] || [ "$2" -gt "$4" ]; then
        echo "error: $1 must be an integer between $3 and $4, not \"$2\"" >&2
        exit 2
    fi
}

# apt-get install the packages named, as root, quietly.
omni_apt_install() {
    if [ "$(id -u)" -ne 0 ]; then
        echo "error: missing packages: $*; run as root or install them with apt-get" >&2
        return 1
    fi
    echo "== installing $*"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null || { echo "error: apt-get update failed" >&2; return 1; }
    apt-get install -y -qq --no-install-recommends "$@" >/dev/null \
        || { echo "error: apt-get install $* failed" >&2; return 1; }
}

# The clang toolchain of the fuzzing harnesses and the sanitizer build:
# clang, its linker lld, and the sanitizer and libFuzzer runtimes.
omni_require_clang() {
    local missing=()
    command -v clang >/dev/null 2>&1 || missing+=(clang)
    command -v ld.lld >/dev/null 2>&1 || missing+=(lld)
    compgen -G "/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a" >/dev/null \
        || missing+=(libclang-rt-14-dev)
    [ ${#missing[@]} -eq 0 ] || omni_apt_install "${missing[@]}"
}

# The AddressSanitizer runtime that clang links against (for LD_PRELOAD).
omni_asan_runtime() {
    clang -print-file-name=libclang_rt.asan-x86_64.so
}
