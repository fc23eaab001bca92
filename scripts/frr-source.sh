#!/usr/bin/env bash
# Prepares FRR's source for our build: Debian bookworm's frr source package,
# checked and unpacked with Debian's own patches, then our series in patches/.
#
#   scripts/frr-source.sh WORKDIR
#
# Leaves WORKDIR/src ready for an out-of-tree configure. It is redone only
# when the Debian version or our series changes (a stamp records both), so a
# rebuild keeps the same paths and ccache stays warm.
set -euo pipefail

FRR_DEB_VERSION="${FRR_DEB_VERSION:-8.4.4-1.1~deb12u2}"
top="$(cd "$(dirname "$0")/.." && pwd)"
work="${1:?usage: frr-source.sh WORKDIR}"
patches="$top/patches"
mkdir -p "$work/download"

series_id() {
    # The stamp changes whenever the Debian version or any patch changes.
    { echo "$FRR_DEB_VERSION"; cat "$patches/series"
      while read -r p; do [ -n "$p" ] && [ "${p#\#}" = "$p" ] && cat "$patches/$p"; done < "$patches/series"
    } | sha256sum | cut -d' ' -f1
}

stamp="$work/src/.frr-ha-stamp"
want="$(series_id)"
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    echo "frr-source: $work/src is up to date"
    exit 0
fi

dsc="$work/download/frr_${FRR_DEB_VERSION#*:}.dsc"
if [ ! -f "$dsc" ]; then
    # apt checks every file it downloads against the signed Sources index.
    (cd "$work/download" && apt-get source --download-only "frr=$FRR_DEB_VERSION")
fi

# dpkg-source checks the tarballs against the checksums in the .dsc (a
# corrupt download stops here) and applies Debian's own patches (the CVE
# fixes of the bookworm package). It cannot check the .dsc's OpenPGP
# signature without debian-keyring; apt already checked every file against
# the signed Sources index.
rm -rf "$work/src" "$work/src.new"
if ! dpkg-source -x "$dsc" "$work/src.new" >"$work/dpkg-source.log" 2>&1; then
    cat "$work/dpkg-source.log" >&2
    echo "frr-source: dpkg-source could not unpack $dsc" >&2
    exit 1
fi

while read -r p; do
    case "$p" in ''|\#*) continue ;; esac
    if ! patch -d "$work/src.new" -p1 --batch --forward --quiet --dry-run < "$patches/$p" >/dev/null; then
        echo "frr-source: patch '$p' does not apply to frr $FRR_DEB_VERSION" >&2
        patch -d "$work/src.new" -p1 --batch --forward --dry-run < "$patches/$p" >&2 || true
        exit 1
    fi
    patch -d "$work/src.new" -p1 --batch --forward --quiet < "$patches/$p"
    echo "frr-source: applied $p"
done < "$patches/series"

(cd "$work/src.new" && ./bootstrap.sh >/dev/null 2>&1) || {
    echo "frr-source: autoreconf (bootstrap.sh) failed in $work/src.new" >&2; exit 1; }
echo "$want" > "$work/src.new/.frr-ha-stamp"
mv "$work/src.new" "$work/src"
echo "frr-source: $work/src ready"
