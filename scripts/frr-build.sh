#!/usr/bin/env bash
# Builds FRR from Debian's source with our patches, out of tree, with ccache.
#
#   scripts/frr-build.sh [--install] WORKDIR [CLI_SOURCE ...]
#
# With --install, also installs FRR (prefix /usr, daemons in /usr/lib/frr).
# WORKDIR/src is prepared by frr-source.sh, WORKDIR/build is the build tree.
# CLI_SOURCE files are our modules' CLI files, each in a folder named after
# its daemon, handed to vtysh's command extraction (patches/0001).
# Every step is redone only when its input changed: keep WORKDIR stable so
# ccache (which hashes the build path when building with -g) stays warm.
set -euo pipefail

top="$(cd "$(dirname "$0")/.." && pwd)"
install=no
if [ "${1:-}" = --install ]; then install=yes; shift; fi
work="${1:?usage: frr-build.sh [--install] WORKDIR [CLI_SOURCE ...]}"
shift
extra_scan="$*"

"$top/scripts/frr-source.sh" "$work"

src="$work/src"
build="$work/build"
mkdir -p "$build"

# Reconfigure when the source was prepared anew (new patches, new version).
if ! cmp -s "$src/.frr-ha-stamp" "$build/.frr-ha-stamp"; then
    echo "frr-build: configuring FRR in $build"
    # configure by a relative path: extract.pl builds its include paths as
    # vtysh/@top_srcdir@, which only works when top_srcdir is relative.
    (cd "$build" && ../src/configure \
        CC="${CC:-ccache gcc}" CFLAGS="${FRR_CFLAGS:--g -O2}" \
        --prefix=/usr --sysconfdir=/etc/frr --localstatedir=/var/run/frr \
        --sbindir=/usr/lib/frr \
        --libdir=/usr/lib/x86_64-linux-gnu/frr \
        --with-moduledir=/usr/lib/x86_64-linux-gnu/frr/modules \
        LIBTOOLFLAGS="-rpath /usr/lib/x86_64-linux-gnu/frr" \
        --with-pkg-extra-version=-frr-ha \
        --enable-user=frr --enable-group=frr --enable-vty-group=frrvty \
        --enable-configfile-mask=0640 --enable-logfile-mask=0640 \
        --enable-multipath=256 \
        --disable-doc --disable-snmp --disable-rpki --disable-scripting \
        --disable-zeromq --disable-protobuf --disable-grpc \
        --disable-ripd --disable-ripngd --disable-ospfd --disable-ospf6d \
        --disable-ldpd --disable-nhrpd --disable-eigrpd --disable-babeld \
        --disable-isisd --disable-fabricd --disable-pimd --disable-pim6d \
        --disable-pbrd --disable-sharpd --disable-bfdd --disable-vrrpd \
        --disable-pathd \
        > "$build/configure.out" 2>&1) || {
            tail -30 "$build/configure.out" >&2
            echo "frr-build: configure failed (full log: $build/configure.out)" >&2
            exit 1; }
    cp "$src/.frr-ha-stamp" "$build/.frr-ha-stamp"
fi

# Run under CMake's make, FRR's make cannot reach the outer jobserver (it
# would fall back to -j1): give it its own job count instead.
unset MAKEFLAGS MFLAGS MAKELEVEL
make -C "$build" -j"$(nproc)" V=0 VTYSH_EXTRA_SCAN="$extra_scan"
if [ "$install" = yes ]; then
    make -C "$build" V=0 VTYSH_EXTRA_SCAN="$extra_scan" install >/dev/null
    ldconfig
fi
