# What both parts of the demo share (sourced by demo/run.sh and
# demo/run-dual-rp.sh). Each sets before sourcing: NS_PREFIX (its
# namespaces' prefix), HOSTS (its namespaces), DEMO_DIR, DAEMONS,
# R1_PREFIXES, and GR_R1 / PLAIN_R1: the address each peer knows r1 by.

ns() { echo "$NS_PREFIX-$1"; }
in_ns() { local r=$1; shift; ip netns exec "$(ns "$r")" "$@"; }
# vtysh -N looks for an optional /etc/frr/NAME/vtysh.conf: silence that notice.
vty() { local r=$1; shift; in_ns "$r" vtysh -N "$r" -c "$*" 2>/dev/null; }
say() { printf '\n== %s\n' "$*"; }

# Every daemon of the demo's namespaces (their pid files, the route
# processors' in subfolders too), then the namespaces.
cleanup() {
    local r pidf
    for r in $HOSTS; do
        if [ -d "/var/run/frr/$r" ]; then
            for pidf in /var/run/frr/"$r"/*.pid /var/run/frr/"$r"/*/*.pid; do
                [ -f "$pidf" ] && kill -9 "$(cat "$pidf")" 2>/dev/null || true
            done
            rm -rf "/var/run/frr/$r"
        fi
        ip netns del "$(ns "$r")" 2>/dev/null || true
    done
}

start_zebra() { in_ns "$1" "$DAEMONS/zebra" -d -N "$1" -f "$DEMO_DIR/$1/zebra.conf" "${@:2}"; }
start_bgpd() { in_ns "$1" "$DAEMONS/bgpd" -d -N "$1" -f "$DEMO_DIR/$1/bgpd.conf" "${@:2}"; }

# "<state> <prefixes from r1> <of them stale>" as seen by peer $1 of r1 at $2
peer_view() {
    local state routes
    state=$(vty "$1" "show bgp neighbors $2 json" | jq -r ".\"$2\".bgpState")
    routes=$(vty "$1" "show ip bgp json" | jq --arg nh "$2" '
        [.routes[] | .[] | select(.nexthops[0].ip == $nh)] |
        "\(length) \([.[] | select(.stale == true)] | length)"' -r)
    echo "$state $routes"
}
report() {
    local gs gn gst ps pn pst
    read -r gs gn gst <<< "$(peer_view gr "$GR_R1")"
    read -r ps pn pst <<< "$(peer_view plain "$PLAIN_R1")"
    printf '   %-6s %-12s %5s prefixes from r1 (%s stale)\n' gr "$gs" "$gn" "$gst" plain "$ps" "$pn" "$pst"
}
wait_established() {
    local i gs gn ps pn
    for i in $(seq 1 60); do
        read -r gs gn _ <<< "$(peer_view gr "$GR_R1")"
        read -r ps pn _ <<< "$(peer_view plain "$PLAIN_R1")"
        [ "$gs" = Established ] && [ "$ps" = Established ] &&
            [ "$gn" = "$R1_PREFIXES" ] && [ "$pn" = "$R1_PREFIXES" ] && return 0
        sleep 1
    done
    echo "demo: sessions did not come up; see /var/run/frr/*/ and $DEMO_DIR" >&2
    return 1
}
# kill -9 now: each peer's view of r1 every 0.2 s for 8 s, when it changes.
sample_peers() {
    local i now last=""
    for i in $(seq 1 40); do
        now=$(report)
        [ "$now" != "$last" ] && printf '   +%3d ms\n%s\n' $((i * 200 - 200)) "$now"
        last=$now
        sleep 0.2
    done
}
show_flaps() {
    local p n
    say "flaps seen by each peer (established transitions / drops):"
    for p in gr plain; do
        n=$GR_R1; [ "$p" = plain ] && n=$PLAIN_R1
        vty "$p" "show bgp neighbors $n json" |
            jq -r --arg p "$p" --arg n "$n" '.[$n] | "   \($p): \(.connectionsEstablished) established, \(.connectionsDropped) dropped, last reset: \(.lastResetDueTo)"'
    done
}
