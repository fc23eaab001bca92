#!/usr/bin/env bash
# Builds frr-ha's Debian packages: Debian bookworm's frr source package with
# our patch series added to its quilt series and one more binary package,
# frr-ha (the modules, the YANG model, the route-processor service, docs).
#
#   scripts/build-debs.sh [--dbgsym] [--lintian] OUTDIR
#
# OUTDIR receives the source package (.dsc, .debian.tar.xz, Debian's
# .orig.tar.xz), the architecture-dependent .debs (frr, frr-snmp,
# frr-rpki-rtrlib, frr-ha), the .changes and the .buildinfo; OUTDIR/work
# holds the source tree and the build log, and is reused by the next run
# (ccache, when installed, keeps the second build short).
# --lintian runs lintian on the result and fails on any error or warning
# that is not overridden (each override says why).
# How and why: docs/packaging.md. The host needs scripts/setup-host.sh.
set -euo pipefail

FRR_DEB_VERSION="${FRR_DEB_VERSION:-8.4.4-1.1~deb12u2}"
top="$(cd "$(dirname "$0")/.." && pwd)"
dbgsym=no
lintian=no
while [ $# -gt 0 ]; do
    case "$1" in
        --dbgsym) dbgsym=yes; shift ;;
        --lintian) lintian=yes; shift ;;
        -*) echo "build-debs: unknown option $1" >&2; exit 2 ;;
        *) break ;;
    esac
done
out="${1:?usage: build-debs.sh [--dbgsym] [--lintian] OUTDIR}"
mkdir -p "$out"
out="$(cd "$out" && pwd)"
work="$out/work"
mkdir -p "$work/download"

ha_version="$(sed -n 's/^project(frr-ha VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")"
[ -n "$ha_version" ] || { echo "build-debs: no project version in CMakeLists.txt" >&2; exit 1; }
# Debian's version, then "+ha" and ours with "+" for "." (0.2.0: +ha0+2+0):
# above Debian's own revision (so apt prefers it to the one it replaces),
# below Debian's next one (which lacks our patches: docs/packaging.md), in
# the order of our versions between our builds, and a well-formed revision
# (at most one "." in it, Debian's).
version="$FRR_DEB_VERSION+ha${ha_version//./+}"
upstream="${FRR_DEB_VERSION%-*}"
upstream="${upstream#*:}"

# 1. Debian's source package. apt checks each file against the signed
#    Sources index; dpkg-source checks them against the .dsc.
dsc="$work/download/frr_${FRR_DEB_VERSION#*:}.dsc"
if [ ! -f "$dsc" ]; then
    (cd "$work/download" && apt-get source --download-only "frr=$FRR_DEB_VERSION") \
        > "$work/apt-source.log" 2>&1 || { cat "$work/apt-source.log" >&2; exit 1; }
fi
src="$work/frr-$upstream"
rm -rf "$src" "$work"/frr_* "$work"/frr-*_* 2>/dev/null || true
dpkg-source -x "$dsc" "$src" > "$work/dpkg-source.log" 2>&1 || {
    cat "$work/dpkg-source.log" >&2; exit 1; }

# 2. Our patches, after Debian's in the same quilt series.
mkdir -p "$src/debian/patches/frr-ha"
{ echo; echo "# frr-ha (applied after Debian's own patches)"; } >> "$src/debian/patches/series"
while read -r p; do
    case "$p" in ''|\#*) continue ;; esac
    cp "$top/patches/$p" "$src/debian/patches/frr-ha/$p"
    echo "frr-ha/$p" >> "$src/debian/patches/series"
done < "$top/patches/series"

# 3. The modules' source, as the repository holds it (tracked files only).
ha_src="$src/debian/frr-ha-src"
mkdir -p "$ha_src"
(cd "$top" && git ls-files -z --cached --others --exclude-standard -- CMakeLists.txt README.md cmake/FrrModule.cmake \
        bgpd-ext zebra-ext yang docs debian/modules debian/systemd \
        debian/examples debian/frr-ha-rp |
    xargs -0 cp --parents -t "$ha_src")

# 4. The packaging: frr-ha's files in debian/, its stanza in debian/control,
#    its build steps included from debian/rules, its build dependencies.
for f in "$top"/debian/*; do
    [ -f "$f" ] || continue  # the folders are the package's files (step 3)
    case "$(basename "$f")" in
        frr-ha.control|source.lintian-overrides) ;;
        *) cp "$f" "$src/debian/" ;;
    esac
done
{ echo; cat "$top/debian/frr-ha.control"; } >> "$src/debian/control"
cat "$top/debian/source.lintian-overrides" >> "$src/debian/source/lintian-overrides"
extra_bd="               catch2,\n               cmake (>= 3.25),\n               debhelper (>= 12.8~),\n               libmnl-dev,\n               libnetfilter-queue-dev,\n               libnftables-dev,\n               libnftnl-dev,\n               libprotobuf-dev,\n               libssl-dev,\n               protobuf-compiler,"
sed -i -e "s/^Build-Depends: bison,\$/Build-Depends: bison,\n$extra_bd/" "$src/debian/control"
grep -q '^ *protobuf-compiler,' "$src/debian/control" || {
    echo "build-debs: could not add our build dependencies to debian/control" >&2; exit 1; }
printf '\n# frr-ha: the modules and the vtysh command scan\ninclude debian/frr-ha.mk\n' >> "$src/debian/rules"

# 5. Who makes this version: the author of the commit it is built from
#    (DEBFULLNAME and DEBEMAIL override) is its Maintainer (reports about
#    these packages are ours, not Debian's; Debian's maintainers stay in the
#    changelog); the changelog entry is signed by the same and dated by the
#    commit, so the same commit builds the same source package.
author="${DEBFULLNAME:-$(cd "$top" && git log -1 --format=%an)}"
email="${DEBEMAIL:-$(cd "$top" && git log -1 --format=%ae)}"
awk -v m="$author <$email>" '
    !done && /^Maintainer:/ { print "Maintainer: " m; next }
    !done && /^Uploaders:/ { skip = 1; next }
    skip && /^[ \t]/ { next }
    { skip = 0 }
    /^$/ { done = 1 }
    { print }' "$src/debian/control" > "$src/debian/control.new"
mv "$src/debian/control.new" "$src/debian/control"
date="$(date -R -d "@$(cd "$top" && git log -1 --format=%ct)")"
{
    echo "frr ($version) bookworm; urgency=medium"
    echo
    echo "  * frr-ha $ha_version: nonstop routing for bgpd (HA pair of route processors)."
    echo "  * debian/patches/frr-ha/: hook points for the frr-ha modules and the"
    echo "    vtysh scan of their commands, applied after Debian's patches."
    echo "  * New binary package frr-ha: the bgpd and zebra modules, the YANG"
    echo "    model, the frr-ha-rp@ service for the route processors of a pair."
    echo
    echo " -- $author <$email>  $date"
    echo
    cat "$src/debian/changelog"
} > "$src/debian/changelog.new"
mv "$src/debian/changelog.new" "$src/debian/changelog"

# 6. Build the source package and the architecture-dependent packages.
#    frr-doc and frr-pythontools (Architecture: all) are not rebuilt:
#    Debian's accept our frr (see docs/packaging.md).
# No "nodoc": frr's configure enables its docs whatever the option says,
# and debhelper would drop the documentation and examples of the packages.
opts="nocheck terse parallel=$(nproc)"
[ "$dbgsym" = yes ] || opts="$opts noddebs"
path=/usr/sbin:/usr/bin:/sbin:/bin
if [ -d /usr/lib/ccache ]; then
    # ccache's compiler links first on PATH serve both FRR's configure and
    # CMake. The build path is part of -g output; -ffile-prefix-map (in
    # Debian's default build flags) makes the objects independent of it.
    path="/usr/lib/ccache:$path"
    export CCACHE_NOHASHDIR=1
fi
echo "build-debs: building frr $version in $src (log: $work/build.log)"
t0=$SECONDS
# Debian's tools only: a python3 or compiler first on PATH elsewhere (pyenv,
# /usr/local) must not leak into the packages.
if ! (cd "$src" && nice -n 19 env PATH="$path" DEB_BUILD_OPTIONS="$opts" \
        dpkg-buildpackage --build=source,any -us -uc > "$work/build.log" 2>&1); then
    tail -40 "$work/build.log" >&2
    echo "build-debs: dpkg-buildpackage failed (full log: $work/build.log)" >&2
    exit 1
fi
echo "build-debs: packages built in $((SECONDS - t0)) s"

rm -f "$out"/*.deb "$out"/*.dsc "$out"/*.changes "$out"/*.buildinfo "$out"/*.tar.* "$out"/*.ddeb
changes="$work/frr_${version#*:}_$(dpkg --print-architecture).changes"
mv "$work"/*.deb "$work"/*.dsc "$work"/*.changes "$work"/*.buildinfo "$work"/*.debian.tar.* "$out/"
ls "$work"/*.ddeb >/dev/null 2>&1 && mv "$work"/*.ddeb "$out/"
cp "$work/frr_$upstream.orig.tar."* "$out/"
changes="$out/$(basename "$changes")"
(cd "$out" && ls -1 *.deb)

if [ "$lintian" = yes ]; then
    t0=$SECONDS
    # Tags that must not fail the build are overridden in the package, each
    # with its reason; anything else fails here.
    if ! nice -n 19 lintian --fail-on error,warning --display-info "$changes" \
            > "$work/lintian.log" 2>&1; then
        cat "$work/lintian.log" >&2
        echo "build-debs: lintian found errors or warnings" >&2
        exit 1
    fi
    grep -v '^N:' "$work/lintian.log" || true
    echo "build-debs: lintian clean (errors and warnings) in $((SECONDS - t0)) s"
fi
