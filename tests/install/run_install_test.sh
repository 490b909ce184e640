#!/bin/sh
# What a server author does with an installed libstore (ctest: install_pkgconfig):
#
#   run_install_test.sh BUILD_DIR SOURCE_DIR CC [EXTRA_CFLAGS...]
#
# 1. `cmake --install BUILD_DIR --prefix P` into a fresh temporary P, and
#    again into a second prefix Q: each libstore.pc names its own prefix
#    (not the configured one), and pkg-config finds the headers and the
#    library there;
# 2. libstore.pc written for other libdirs (multiarch, absolute) still
#    points pkg-config at the right directories;
# 3. docs/examples/mini_server.c is built exactly as docs/api.md says
#    (cc mini_server.c $(pkg-config --cflags --libs libstore) -pthread),
#    with PKG_CONFIG_PATH into P only, is linked to P's libstore.so (not
#    libstore.a, not the build tree), and runs: it plays its whole IMAP
#    session on a store it creates, and exits 0.
# EXTRA_CFLAGS are the sanitizer flags of a sanitizer build (a program using
# an instrumented libstore.so must load the sanitizer runtime first).
set -eu
[ $# -ge 3 ] || { echo "usage: $0 BUILD_DIR SOURCE_DIR CC [EXTRA_CFLAGS...]" >&2; exit 2; }
build=$1 src=$2 cc=$3
shift 3

tmp=$(mktemp -d "${TMPDIR:-/tmp}/ls-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

# install_into PREFIX: install, then print the directory holding libstore.pc
install_into() {
    cmake --install "$build" --prefix "$1" >"$tmp/install.log" 2>&1 ||
        { cat "$tmp/install.log" >&2; fail "cmake --install --prefix $1 failed"; }
    pcs=$(find "$1" -name libstore.pc)
    [ "$(printf '%s\n' "$pcs" | grep -c .)" = 1 ] || fail "expected one libstore.pc below $1, found: $pcs"
    dirname "$pcs"
}

# check_pc PCDIR PREFIX: libstore.pc in PCDIR names PREFIX, and its libdir and
# includedir hold the library and the headers.
check_pc() {
    pcdir=$1 prefix=$2
    got=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=prefix libstore) || fail "pkg-config cannot read $pcdir/libstore.pc"
    [ "$got" = "$prefix" ] || fail "$pcdir/libstore.pc: prefix=$got, expected the install prefix $prefix"
    libdir=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=libdir libstore)
    incdir=$(PKG_CONFIG_PATH="$pcdir" pkg-config --variable=includedir libstore)
    [ "$libdir/pkgconfig" -ef "$pcdir" ] || fail "libdir $libdir is not the directory of $pcdir"
    [ -f "$libdir/libstore.so" ] || fail "no libstore.so in libdir $libdir"
    [ -f "$incdir/libstore/libstore.h" ] || fail "no libstore/libstore.h in includedir $incdir"
    case "$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags --libs libstore)" in
        *"-I$incdir"*"-L$libdir"*) ;;
        *) fail "pkg-config --cflags --libs libstore does not name $incdir and $libdir" ;;
    esac
}

# 1. two prefixes, neither the configured one
P=$tmp/p
Q=$tmp/second/prefix
pcP=$(install_into "$P")
check_pc "$pcP" "$P"
pcQ=$(install_into "$Q/")     # a trailing '/' names the same prefix
check_pc "$pcQ" "$Q"
echo "ok: libstore.pc follows --prefix ($P, $Q)"

# 2. libdirs as GNUInstallDirs may configure them
for libdir in lib lib64 lib/x86_64-linux-gnu "$tmp/abs/lib"; do
    case $libdir in /*) want=$libdir ;; *) want=/opt/ls/$libdir ;; esac
    mkdir -p "$tmp/pc"
    cmake -DLS_PC_IN="$src/libstore/libstore.pc.in" -DLS_PC_OUT="$tmp/pc/libstore.pc" \
        -DLS_PC_LIBDIR="$libdir" -DLS_PC_INCLUDEDIR=include -DLS_PC_VERSION=0 \
        -DCMAKE_INSTALL_PREFIX=/opt/ls -P "$src/libstore/libstore_pc.cmake" || fail "libstore_pc.cmake failed"
    got=$(PKG_CONFIG_PATH="$tmp/pc" pkg-config --variable=libdir libstore)
    [ "$got" = "$want" ] || fail "libdir $libdir: libstore.pc has libdir=$got, expected $want"
    got=$(PKG_CONFIG_PATH="$tmp/pc" pkg-config --variable=includedir libstore)
    [ "$got" = /opt/ls/include ] || fail "libdir $libdir: includedir=$got"
done
echo "ok: libdir lib, lib64, multiarch and absolute"

# 3. the example, against the installed shared library only
libdir=$(PKG_CONFIG_PATH="$pcP" pkg-config --variable=libdir libstore)
flags=$(PKG_CONFIG_PATH="$pcP" pkg-config --cflags --libs libstore)
# shellcheck disable=SC2086  # the flags are words
"$cc" "$@" -o "$tmp/mini_server" "$src/docs/examples/mini_server.c" $flags -pthread ||
    fail "building mini_server.c with: $cc $* mini_server.c $flags -pthread"
readelf -d "$tmp/mini_server" | grep -q 'NEEDED.*\[libstore\.so\.0\]' ||
    fail "mini_server is not linked to the shared libstore.so.0"
resolved=$(LD_LIBRARY_PATH="$libdir" ldd "$tmp/mini_server" | awk '$1 == "libstore.so.0" { print $3 }')
[ -n "$resolved" ] && [ "$(dirname "$resolved")" -ef "$libdir" ] ||
    fail "libstore.so.0 resolves to '$resolved', not to the installed $libdir"
mkdir "$tmp/run"
LD_LIBRARY_PATH="$libdir" TMPDIR="$tmp/run" "$tmp/mini_server" >"$tmp/mini_server.log" 2>&1 ||
    { tail -20 "$tmp/mini_server.log" >&2; fail "mini_server (installed build) failed"; }
grep -q "all steps passed" "$tmp/mini_server.log" || fail "mini_server did not finish its steps"
echo "ok: mini_server built with pkg-config against $libdir/libstore.so and ran"
