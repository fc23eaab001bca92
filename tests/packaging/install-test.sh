#!/usr/bin/env bash
# The Debian packages on a clean Debian 12, as a user gets them:
#
#   tests/packaging/install-test.sh DEBDIR WORKDIR
#
#  1. debootstrap a minimal bookworm root in WORKDIR/root (the mirror and
#     suites are this machine's own apt sources) and install Debian's frr;
#  2. `apt install ./*.deb` with the packages of DEBDIR (scripts/build-debs.sh);
#  3. configure FRR as docs/packaging.md says (zebra -M ha in
#     /etc/frr/daemons, the packaged example frr.conf), start zebra with
#     FRR's init script and the two route processors with the packaged
#     frr-ha-rp (under the capability bounding set of frr-ha-rp@.service),
#     all in a network namespace of their own;
#  4. check from vtysh: show bgp ha json (roles a active, b standby, channel
#     up), show zebra ha json (both RPs connected), a configuration command
#     of ours through vtysh, a planned switchover that a plain vtysh follows;
#     and that apt keeps our frr from a newer Debian frr (a stand-in)
#     unless frr-ha goes, saying so;
#  5. remove frr-ha, go back to Debian's frr, and check that stock FRR
#     (zebra and bgpd under watchfrr) starts and that vtysh no longer knows
#     the HA commands.
# Everything mounted or started in the root is undone on exit, even on failure.
# Run as root. KEEP_ROOT=1 keeps the root folder (not the mounts) for a look.
set -euo pipefail

debs="$(cd "${1:?usage: install-test.sh DEBDIR WORKDIR}" && pwd)"
work="${2:?usage: install-test.sh DEBDIR WORKDIR}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
root="$work/root"
ns="frrha-pkg-$$"
FRR_DEB_VERSION="${FRR_DEB_VERSION:-8.4.4-1.1~deb12u2}"

[ "$(id -u)" = 0 ] || { echo "install-test: run as root" >&2; exit 1; }
ls "$debs"/frr_*.deb "$debs"/frr-ha_*.deb >/dev/null ||
    { echo "install-test: no frr and frr-ha packages in $debs" >&2; exit 1; }

t_start=$SECONDS
step() { printf '\n== [%4d s] %s\n' "$((SECONDS - t_start))" "$*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }
ok() { echo "ok: $*"; }
in_root() { chroot "$root" "$@"; }
in_ns() { ip netns exec "$ns" chroot "$root" "$@"; }
vty() { in_root vtysh "$@"; }
wait_for() { # wait_for SECONDS WHAT COMMAND...: until COMMAND succeeds
    local limit=$1 what=$2 i
    shift 2
    for i in $(seq 1 $((limit * 4))); do
        "$@" && return 0
        sleep 0.25
    done
    fail "$what (after $limit s)"
}

# --- clean up whatever this test mounted or started, whatever happened ------
chroot_pids() {
    local p
    for p in /proc/[0-9]*; do
        [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
    done
    return 0
}
mounts_in_root() { awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts; }
unmount_all() {
    local m
    # deepest first
    for m in $(mounts_in_root | sort -r); do
        umount "$m" 2>/dev/null || umount -l "$m"
    done
}
remove_root() {
    # Never through a mount (a bound /dev is the machine's own).
    if [ -n "$(mounts_in_root)" ]; then
        echo "install-test: still mounted in $root, not removing it: $(mounts_in_root | tr '\n' ' ')" >&2
        return 1
    fi
    rm -rf --one-file-system "$root"
}
diagnose() { # what FRR in the root says, for a failed run
    local d p
    echo "--- processes in the root:"
    for p in $(chroot_pids); do echo "$p: $(tr '\0' ' ' < "/proc/$p/cmdline")"; done
    for d in "$root"/run/frr/ha-*; do
        [ -S "$d/bgpd.vty" ] || continue
        echo "--- show bgp ha (RP ${d##*/ha-}):"
        timeout 10 chroot "$root" vtysh --vty_socket "${d#$root}" -c 'show bgp ha' 2>&1 | head -40
    done
    if [ -s "$root/var/log/frr/frr.log" ]; then
        echo "--- FRR's log (/var/log/frr/frr.log, last lines):"
        grep -v 'memstats' "$root/var/log/frr/frr.log" | tail -40
    fi
}
cleanup() {
    local rc=$? pids
    set +e
    # A signal's trap runs inside the redirections of the command it
    # interrupted: report to where the test's own output goes.
    exec 1>&3 2>&4
    [ $rc -eq 0 ] || [ ! -d "$root/proc/self" ] || diagnose >&2
    pids="$(chroot_pids)"
    [ -n "$pids" ] && kill -9 $pids 2>/dev/null
    sleep 0.2
    unmount_all
    ip netns del "$ns" 2>/dev/null
    if [ -z "${KEEP_ROOT:-}" ]; then remove_root; fi
    [ $rc -eq 0 ] && echo "install-test: passed in $((SECONDS - t_start)) s" ||
        echo "install-test: FAILED (exit $rc) after $((SECONDS - t_start)) s" >&2
    exit $rc
}
exec 3>&1 4>&2
trap cleanup EXIT
trap 'exit 130' INT TERM

# A previous run that was killed (a CTest timeout kills without a trap) may
# have left mounts behind.
unmount_all
remove_root

# --- 1. a clean Debian 12 root -----------------------------------------------
# The archive this machine uses for bookworm (deb822 or one-line sources).
mirror=""
for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    mirror="$(awk '
        /^$/ { if (deb && bw && uri != "") { print uri; exit } deb = bw = 0; uri = "" }
        /^Types:/ { deb = ($0 ~ /(^|[ :])deb( |$)/) }
        /^Suites:/ { bw = ($0 ~ /[ :]bookworm( |$)/) }
        /^URIs:/ { uri = $2 }
        END { if (deb && bw && uri != "") print uri }' "$f" | head -1)"
    [ -n "$mirror" ] && break
done
if [ -z "$mirror" ] && [ -f /etc/apt/sources.list ]; then
    mirror="$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' /etc/apt/sources.list)"
fi
[ -n "$mirror" ] || fail "no bookworm archive in this machine's apt sources"

step "debootstrap --variant=minbase bookworm (archive from this machine's apt sources)"
t0=$SECONDS
nice -n 19 debootstrap --variant=minbase bookworm "$root" "$mirror" > "$work/debootstrap.log" 2>&1 || {
    tail -20 "$work/debootstrap.log" >&2; fail "debootstrap"; }
echo "debootstrap: $((SECONDS - t0)) s"

# The same apt sources as this machine (bookworm, -updates, -security),
# binary only. Services are not started by package scripts in the root.
rm -f "$root/etc/apt/sources.list"
for f in /etc/apt/sources.list.d/*.sources; do
    [ -e "$f" ] || continue
    deb="$(awk 'BEGIN { RS = ""; ORS = "\n\n" } /(^|\n)Types:[^\n]*[ :]deb( |\n|$)/' "$f")"
    if [ -n "$deb" ]; then printf '%s\n' "$deb" > "$root/etc/apt/sources.list.d/$(basename "$f")"; fi
done
if [ -f /etc/apt/sources.list ]; then
    grep '^deb ' /etc/apt/sources.list > "$root/etc/apt/sources.list" || rm -f "$root/etc/apt/sources.list"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
chmod +x "$root/usr/sbin/policy-rc.d"

mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t tmpfs -o mode=0755 tmpfs "$root/run"

step "Debian's frr"
t0=$SECONDS
export DEBIAN_FRONTEND=noninteractive
in_root apt-get update -qq > "$work/apt.log" 2>&1 || { cat "$work/apt.log" >&2; fail "apt-get update"; }
in_root apt-get install -y -qq frr >> "$work/apt.log" 2>&1 || { tail -20 "$work/apt.log" >&2; fail "apt-get install frr"; }
v="$(in_root dpkg-query -W -f '${Version}' frr)"
[ "$v" = "$FRR_DEB_VERSION" ] ||
    fail "Debian's archive has frr $v, the packages were built from $FRR_DEB_VERSION (update FRR_DEB_VERSION)"
ok "Debian's frr $v installed ($((SECONDS - t0)) s)"
debian_moddir="$(in_root dpkg -L frr | sed -n 's|/bgpd_bmp.so$||p')"
[ -n "$debian_moddir" ] || fail "Debian's frr ships no bgpd_bmp.so: where are its modules?"
cp "$root/etc/frr/daemons" "$work/daemons.debian"
# Stock FRR runs here, and its vtysh does not know our commands (so that
# the checks below mean something).
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
in_ns /usr/lib/frr/frrinit.sh start > "$work/frrinit-debian.log" 2>&1 || {
    cat "$work/frrinit-debian.log" >&2; fail "frrinit.sh start (Debian's frr)"; }
unknown_commands() {
    local c out
    for c in 'show bgp ha' 'show zebra ha'; do
        out="$(vty -c "$c" 2>&1 || true)"
        grep -q 'Unknown command' <<< "$out" || { echo "vtysh: '$c': $out" >&2; return 1; }
    done
}
zebra_up() { vty -c 'show version' 2>/dev/null | grep -q '^FRRouting 8.4.4'; }
wait_for 20 "Debian's zebra answering vtysh" zebra_up
unknown_commands || fail "Debian's vtysh knows an HA command"
in_ns /usr/lib/frr/frrinit.sh stop > /dev/null 2>&1 || fail "frrinit.sh stop (Debian's frr)"
ok "Debian's FRR starts; its vtysh: 'show bgp ha', 'show zebra ha' are unknown commands"

# --- 2. our packages -----------------------------------------------------------
step "apt install ./*.deb"
rm -rf "$root/tmp/frr-ha-debs"
mkdir -p "$root/tmp/frr-ha-debs"
cp "$debs"/*.deb "$root/tmp/frr-ha-debs/"
chmod -R a+rX "$root/tmp/frr-ha-debs"
t0=$SECONDS
in_root sh -c 'cd /tmp/frr-ha-debs && apt install -y ./*.deb' > "$work/apt-install.log" 2>&1 || {
    tail -30 "$work/apt-install.log" >&2; fail "apt install ./*.deb"; }
ok "installed in $((SECONDS - t0)) s: $(cd "$debs" && ls *.deb | tr '\n' ' ')"

ha_version="$(dpkg-deb -f "$(ls "$debs"/frr-ha_*.deb | head -1)" Version)"
for p in $(cd "$debs" && ls *.deb | sed 's/_.*//'); do
    v="$(in_root dpkg-query -W -f '${Version}' "$p")"
    [ "$v" = "$ha_version" ] || fail "$p is at $v after the install, not $ha_version"
done
ok "frr and frr-ha at $ha_version"
for f in "$debian_moddir/bgpd_ha.so" "$debian_moddir/zebra_ha.so" \
         /usr/share/yang/frr-ha.yang /usr/lib/frr/frr-ha-rp \
         /lib/systemd/system/frr-ha-rp@.service \
         /usr/share/doc/frr-ha/examples/frr.conf; do
    [ -e "$root$f" ] || fail "$f is not installed"
done
ok "modules in Debian's module folder $debian_moddir, YANG model, service, examples"
ha_deps="$(in_root dpkg-query -W -f '${Depends}' frr-ha)"
grep -q "frr (= $ha_version)" <<< "$ha_deps" || fail "frr-ha does not depend on frr (= $ha_version): $ha_deps"
ok "frr-ha depends on frr (= $ha_version)"

# --- 3. FRR with the modules, through the packaged configuration -------------
step "configure (docs/packaging.md) and start zebra -M ha and RPs a and b"
sed -i -e 's/^bgpd=.*/bgpd=no/' \
       -e 's/^\(zebra_options=".*\)"$/\1 -M ha"/' "$root/etc/frr/daemons"
grep -q '^zebra_options=".* -M ha"$' "$root/etc/frr/daemons" || fail "could not edit zebra_options"
in_root install -o frr -g frr -m 0640 /usr/share/doc/frr-ha/examples/frr.conf /etc/frr/frr.conf
# No syslog in the root: the daemons also log to a file, for diagnose().
echo 'log file /var/log/frr/frr.log informational' >> "$root/etc/frr/frr.conf"

in_ns /usr/lib/frr/frrinit.sh start > "$work/frrinit.log" 2>&1 || {
    cat "$work/frrinit.log" >&2; fail "frrinit.sh start"; }

# The service's capability bounding set, applied as systemd applies it.
unit="$root/lib/systemd/system/frr-ha-rp@.service"
caps="$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")"
[ -n "$caps" ] || fail "frr-ha-rp@.service has no CapabilityBoundingSet"
bounding="-all$(for c in $caps; do c="${c#CAP_}"; printf ',+%s' "${c,,}"; done)"
rp_ctl() { in_ns setpriv --bounding-set="$bounding" /usr/lib/frr/frr-ha-rp "$@"; }
rp_ctl start a > "$work/rp-a.log" 2>&1 || { cat "$work/rp-a.log" >&2; fail "frr-ha-rp start a"; }
rp_ctl start b > "$work/rp-b.log" 2>&1 || { cat "$work/rp-b.log" >&2; fail "frr-ha-rp start b"; }
ok "zebra (watchfrr) and RPs a and b started"

# --- 4. the HA commands from vtysh ---------------------------------------------
step "vtysh"
ha_json() { # ha_json RP-or-empty FILTER: jq on show bgp ha json (of RP, or of the active)
    local sock=()
    [ -n "$1" ] && sock=(--vty_socket "/var/run/frr/ha-$1")
    vty "${sock[@]}" -c 'show bgp ha json' 2>/dev/null | jq -r "$2" 2>/dev/null
}
pair_is() { # pair_is ACTIVE STANDBY
    [ "$(ha_json "$1" '"\(.rp) \(.role)"')" = "$1 active" ] &&
    [ "$(ha_json "$2" '"\(.rp) \(.role) \(.partner.channel) \(.ready)"')" = "$2 standby up true" ] &&
    [ "$(ha_json '' .rp)" = "$1" ]
}
wait_for 30 "RP a active, RP b a ready standby, a plain vtysh on a" pair_is a b
ha_json a . > "$work/show-bgp-ha-a.json"
# the version in the package's: 8.4.4-1.1~deb12u2+ha0+2+0 for 0.2.0
[ "$(jq -r .version "$work/show-bgp-ha-a.json")" = "$(sed -n 's/.*+ha//p' <<< "$ha_version" | tr + .)" ] ||
    fail "show bgp ha json: version $(jq -r .version "$work/show-bgp-ha-a.json") is not the package's"
ok "show bgp ha json: a active, b standby (channel up, ready), epoch $(jq -r .epoch "$work/show-bgp-ha-a.json")"

zebra_rps() { [ "$(vty -c 'show zebra ha json' 2>/dev/null | jq '.bgpClients | length')" = 2 ]; }
wait_for 20 "show zebra ha json: both RPs connected to zebra" zebra_rps
ok "show zebra ha json: both RPs connected to zebra"
vty -c 'show zebra ha' | grep -q '^BGP route processors connected:' || fail "show zebra ha (text)"
ok "show zebra ha"

# A configuration command of ours goes through vtysh's own parser first.
vty -c 'configure terminal' -c 'router bgp 65001' \
    -c 'neighbor 192.0.2.2 ha failover-mode transparent' > "$work/vty-config.log" 2>&1 ||
    { cat "$work/vty-config.log" >&2; fail "vtysh: neighbor X ha failover-mode"; }
! grep -q 'Unknown command' "$work/vty-config.log" || { cat "$work/vty-config.log" >&2; fail "vtysh: unknown command"; }
[ "$(ha_json a '.neighbors."192.0.2.2".configuredMode')" = transparent ] ||
    fail "the failover mode set through vtysh did not reach RP a"
ok "vtysh: 'neighbor 192.0.2.2 ha failover-mode transparent' configured RP a"

# Both RPs run as FRR's user, with the service's bounding set.
frr_uid="$(in_root id -u frr)"
cap_mask() { local m=0 c n; for c in "$@"; do
    case "$c" in CAP_CHOWN) n=0;; CAP_DAC_OVERRIDE) n=1;; CAP_FOWNER) n=3;; CAP_KILL) n=5;;
        CAP_SETGID) n=6;; CAP_SETUID) n=7;; CAP_NET_BIND_SERVICE) n=10;; CAP_NET_ADMIN) n=12;;
        CAP_NET_RAW) n=13;; CAP_SYS_ADMIN) n=21;; *) fail "unexpected capability $c";; esac
    m=$((m | (1 << n))); done; printf '%016x' "$m"; }
want_bnd="$(cap_mask $caps)"
for rp in a b; do
    pid="$(cat "$root/run/frr/ha-$rp/bgpd.pid")"
    st="/proc/$pid/status"
    [ "$(awk '/^Uid:/ { print $3 }' "$st")" = "$frr_uid" ] || fail "RP $rp does not run as frr"
    [ "$(awk '/^CapBnd:/ { print $2 }' "$st")" = "$want_bnd" ] || fail "RP $rp: bounding set is not the service's"
    prm=$((16#$(awk '/^CapPrm:/ { print $2 }' "$st")))
    (( prm & (1 << 12) )) || fail "RP $rp lacks CAP_NET_ADMIN (TCP_REPAIR)"
    tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- "-M ha:$rp" ||
        fail "RP $rp was not started with -M ha:$rp"
done
ok "both RPs run as frr (uid $frr_uid), bounding set $want_bnd, CAP_NET_ADMIN permitted"

# A planned switchover; a plain vtysh follows the new active.
vty -c 'bgp ha switchover' > "$work/switchover.log" 2>&1 || { cat "$work/switchover.log" >&2; fail "bgp ha switchover"; }
wait_for 30 "after the switchover: b active, a a ready standby" pair_is b a
ok "bgp ha switchover: b active, a standby, plain vtysh on b"

# --- a newer Debian frr cannot replace ours unnoticed ------------------------------
step "a newer Debian frr appears (a stand-in, in a local archive)"
newer_version="${FRR_DEB_VERSION%u*}u99"
newer="$root/tmp/newer-frr"
rm -rf "$newer"
mkdir -p "$newer/pkg/DEBIAN"
printf '%s\n' "Package: frr" "Version: $newer_version" "Architecture: $(dpkg --print-architecture)" \
    "Maintainer: frr-ha test <root@localhost>" "Description: stand-in for a newer Debian frr" \
    > "$newer/pkg/DEBIAN/control"
dpkg-deb --build "$newer/pkg" "$newer/frr_${newer_version}_$(dpkg --print-architecture).deb" > /dev/null
rm -rf "$newer/pkg"
(cd "$newer" && dpkg-scanpackages . /dev/null > Packages 2>/dev/null)
echo "deb [trusted=yes] file:/tmp/newer-frr ./" > "$root/etc/apt/sources.list.d/newer-frr.list"
in_root apt-get update -qq > /dev/null 2>&1 || fail "apt-get update with the stand-in archive"
in_root apt-get -s upgrade > "$work/upgrade.log" 2>&1 || fail "apt-get -s upgrade"
! grep -q '^Inst frr ' "$work/upgrade.log" || { cat "$work/upgrade.log" >&2; fail "apt upgrade would replace our frr by $newer_version"; }
sed -n '/kept back:/,/^[^ ]/p' "$work/upgrade.log" | grep -qw frr ||
    { cat "$work/upgrade.log" >&2; fail "apt upgrade does not say it keeps frr back"; }
ok "apt upgrade keeps our frr back from $newer_version"
in_root apt-get -s full-upgrade > "$work/full-upgrade.log" 2>&1 || fail "apt-get -s full-upgrade"
grep -q '^Remv frr-ha ' "$work/full-upgrade.log" ||
    { cat "$work/full-upgrade.log" >&2; fail "apt full-upgrade would take $newer_version without removing frr-ha"; }
ok "apt full-upgrade can take $newer_version only by removing frr-ha, and says so"
rm -rf "$newer" "$root/etc/apt/sources.list.d/newer-frr.list"
in_root apt-get update -qq > /dev/null 2>&1 || fail "apt-get update"

# --- stop, as the service stops ---------------------------------------------------
rp_ctl stop b > /dev/null 2>&1 || fail "frr-ha-rp stop b"
rp_ctl stop a > /dev/null 2>&1 || fail "frr-ha-rp stop a"
in_ns /usr/lib/frr/frrinit.sh stop > /dev/null 2>&1 || fail "frrinit.sh stop"
sleep 0.5
[ -z "$(chroot_pids)" ] || fail "processes left after stopping: $(chroot_pids)"
ok "RPs and FRR stopped"

# --- 5. back to Debian's frr ----------------------------------------------------
step "remove frr-ha, back to Debian's frr"
t0=$SECONDS
back=()
for p in $(cd "$debs" && ls *.deb | sed 's/_.*//'); do
    [ "$p" = frr-ha ] || back+=("$p=$FRR_DEB_VERSION")
done
in_root apt-get remove -y -qq frr-ha > "$work/apt-remove.log" 2>&1 || {
    cat "$work/apt-remove.log" >&2; fail "apt-get remove frr-ha"; }
in_root apt-get install -y -qq --allow-downgrades "${back[@]}" >> "$work/apt-remove.log" 2>&1 || {
    tail -20 "$work/apt-remove.log" >&2; fail "apt-get install ${back[*]}"; }
left="$(in_root dpkg-query -W -f '${Package} ${Version} ${db:Status-Abbrev}\n' | awk '$2 ~ /\+ha/ && $3 ~ /^ii/')"
[ -z "$left" ] || fail "packages of ours still installed: $left"
for f in "$debian_moddir/bgpd_ha.so" "$debian_moddir/zebra_ha.so" /usr/share/yang/frr-ha.yang \
         /usr/lib/frr/frr-ha-rp /lib/systemd/system/frr-ha-rp@.service; do
    [ ! -e "$root$f" ] || fail "$f is still there after the removal"
done
ok "frr-ha removed, ${back[*]} back ($((SECONDS - t0)) s)"

step "stock FRR starts"
# What docs/packaging.md says to undo: -M ha in the daemons file, the HA
# lines of the configuration.
cp "$work/daemons.debian" "$root/etc/frr/daemons"
sed -i -e 's/^bgpd=.*/bgpd=yes/' "$root/etc/frr/daemons"
grep -v -e '^ *bgp ha ' -e ' ha failover-mode ' "$root/etc/frr/frr.conf" > "$root/etc/frr/frr.conf.new"
mv "$root/etc/frr/frr.conf.new" "$root/etc/frr/frr.conf"
in_root chown frr:frr /etc/frr/frr.conf
in_ns /usr/lib/frr/frrinit.sh start > "$work/frrinit-stock.log" 2>&1 || {
    cat "$work/frrinit-stock.log" >&2; fail "frrinit.sh start (stock)"; }
bgp_up() { [ "$(vty -c 'show bgp summary json' 2>/dev/null | jq -r '.ipv4Unicast.as')" = 65001 ]; }
wait_for 30 "stock bgpd serving the configuration (show bgp summary json)" bgp_up
for d in zebra bgpd; do
    pid="$(cat "$root/run/frr/$d.pid" 2>/dev/null)" || fail "no $d pid file"
    kill -0 "$pid" || fail "$d is not running"
    ! tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q -- '-M ha' || fail "$d runs with -M ha"
done
ok "stock zebra and bgpd run under watchfrr, bgpd has the configuration"
unknown_commands || fail "vtysh still knows an HA command"
ok "vtysh: 'show bgp ha' and 'show zebra ha' are unknown commands again"
in_ns /usr/lib/frr/frrinit.sh stop > /dev/null 2>&1 || fail "frrinit.sh stop (stock)"
