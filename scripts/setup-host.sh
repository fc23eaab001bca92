#!/usr/bin/env bash
# Prepares a Debian 12 host (as root) to build and test frr-ha: Debian's
# source index for frr, the packages the build and the tests use, and FRR's
# user, groups and folders. Safe to run again.
set -euo pipefail

[ "$(id -u)" = 0 ] || { echo "setup-host: run as root" >&2; exit 1; }
export DEBIAN_FRONTEND=noninteractive

# deb-src, derived from the machine's own apt sources (same mirrors, suites
# and keys), so `apt-get source frr` works without naming any host here.
enable_deb_src() {
    local out=/etc/apt/sources.list.d/frr-ha-deb-src.sources
    local list=/etc/apt/sources.list.d/frr-ha-deb-src.list
    local f
    : > "$out.new"
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -e "$f" ] && [ "$f" != "$out" ] || continue
        grep -q '^Types:.*\bdeb\b' "$f" || continue
        sed -e 's/^Types:.*/Types: deb-src/' "$f" >> "$out.new"
        echo >> "$out.new"
    done
    if [ -s "$out.new" ]; then mv "$out.new" "$out"; else rm -f "$out.new"; fi
    if [ -f /etc/apt/sources.list ]; then
        sed -n -e 's/^deb \(.*\)$/deb-src \1/p' /etc/apt/sources.list > "$list"
        [ -s "$list" ] || rm -f "$list"
    fi
}
enable_deb_src
apt-get update -qq

packages=(
    # FRR's build (the subset of Debian's Build-Depends our configure uses)
    bison flex gawk install-info texinfo pkg-config autoconf automake libtool make
    dpkg-dev patch libc-ares-dev libcap-dev libelf-dev libjson-c-dev libpcre2-dev
    libpython3-dev python3-dev libreadline-dev libyang2-dev
    # our build, unit tests and fuzz target
    cmake ccache g++ catch2 libyang2-tools libprotobuf-dev protobuf-compiler
    libssl-dev libnftables-dev libnftnl-dev libmnl-dev libnetfilter-queue-dev
    clang libclang-rt-14-dev
    # topotests (FRR's topotest library runs on Debian's python3)
    python3-pytest iproute2 iputils-ping procps psmisc gdb jq
    tshark
    # a second BGP implementation as graceful-restart peer (topotests/gr_tf_mixed)
    bird2
    # bench/run.py: GoBGP as the peers, plots of the results
    gobgpd python3-matplotlib
    # the Debian packages (scripts/build-debs.sh) and their test
    # (tests/packaging): Debian's packaging tools, debootstrap for a clean
    # Debian 12 root; frr's own build dependencies follow below
    dpkg-dev debhelper fakeroot build-essential lintian debootstrap
    debian-archive-keyring
)
apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
# Everything Debian's frr source package needs to build (sphinx, net-snmp,
# rtrlib, ...); build-debs.sh adds only what our modules need (above).
apt-get build-dep -y -qq frr >/dev/null

# FRR runs as frr:frr; vtysh users are in frrvty.
getent group frr >/dev/null || groupadd --system frr
getent group frrvty >/dev/null || groupadd --system frrvty
getent passwd frr >/dev/null ||
    useradd --system --gid frr --groups frrvty --home-dir /nonexistent \
            --shell /usr/sbin/nologin frr
id -nG frr | grep -qw frrvty || usermod -a -G frrvty frr
install -d -o frr -g frr -m 0755 /etc/frr /var/run/frr /var/log/frr
echo "setup-host: ready"
