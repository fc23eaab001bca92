#!/usr/bin/env bash
# The frr-ha demo: router r1 runs an HA pair (zebra, and two bgpd route
# processors: rp a active, rp b standby) and peers with a graceful-restart
# peer (gr) and a peer without graceful restart (plain), each in its own
# network namespace. The active bgpd is killed with SIGKILL; the standby takes
# over, and we print what each peer saw.
#
# The plain peer's session gets a peer-transparent failover: the standby
# continues it on the same TCP connection and the peer sees nothing. The GR
# peer gets an RFC 4724 graceful restart driven by the standby: its session
# goes down and up, and it keeps r1's routes (stale) until r1's End-of-RIB.
#
# Run as root after scripts/build.sh (scripts/demo.sh does both).
set -euo pipefail

DEMO_DIR=/tmp/frr-ha-demo
DAEMONS=/usr/lib/frr
R1_PREFIXES=${R1_PREFIXES:-100}
NS_PREFIX=fhademo

HOSTS="r1 gr plain"
GR_R1=10.0.1.1
PLAIN_R1=10.0.2.1
# shellcheck source=demo/lib.sh
. "$(dirname "$0")/lib.sh"

trap cleanup EXIT
[ -n "${DEMO_KEEP:-}" ] && trap - EXIT
cleanup

# --- topology -------------------------------------------------------------
for r in r1 gr plain; do ip netns add "$(ns "$r")"; in_ns "$r" ip link set lo up; done
link() { # link R1 IF1 ADDR1 R2 IF2 ADDR2
    ip link add "$2" netns "$(ns "$1")" type veth peer name "$5" netns "$(ns "$4")"
    in_ns "$1" ip addr add "$3" dev "$2"; in_ns "$1" ip link set "$2" up
    in_ns "$4" ip addr add "$6" dev "$5"; in_ns "$4" ip link set "$5" up
}
link r1 r1-gr 10.0.1.1/24 gr gr-r1 10.0.1.2/24
link r1 r1-plain 10.0.2.1/24 plain plain-r1 10.0.2.2/24

# --- configuration ----------------------------------------------------------
rm -rf "$DEMO_DIR"; mkdir -p "$DEMO_DIR"/{r1,gr,plain}
{
    echo "router bgp 65001"
    echo " bgp router-id 10.0.0.1"
    echo " no bgp ebgp-requires-policy"
    echo " no bgp network import-check"
    echo " neighbor 10.0.1.2 remote-as 65010"
    echo " neighbor 10.0.1.2 graceful-restart"
    # zebra -M ha keeps the FIB through a switchover: the F bit is true.
    echo " bgp graceful-restart preserve-fw-state"
    echo " neighbor 10.0.2.2 remote-as 65020"
    echo " bgp ha rp a address unix /var/run/frr/r1/bgpd-ha-a.sock priority 200"
    echo " bgp ha rp b address unix /var/run/frr/r1/bgpd-ha-b.sock"
    echo " bgp ha key frr-ha-demo-key-0123456789"
    echo " address-family ipv4 unicast"
    for i in $(seq 0 $((R1_PREFIXES - 1))); do
        echo "  network 10.$((100 + i / 256)).$((i % 256)).0/24"
    done
    echo " exit-address-family"
} > "$DEMO_DIR/r1/bgpd.conf"
peer_conf() { # peer_conf NAME AS ADDR GR-LINE
    cat > "$DEMO_DIR/$1/bgpd.conf" <<EOF
router bgp $2
 bgp router-id $3
 $4
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor ${3%.*}.1 remote-as 65001
 neighbor ${3%.*}.1 timers connect 1
 address-family ipv4 unicast
  network 172.16.$2.0/24
 exit-address-family
EOF
}
peer_conf gr 65010 10.0.1.2 "bgp graceful-restart"
peer_conf plain 65020 10.0.2.2 "bgp graceful-restart-disable"
for r in r1 gr plain; do
    echo "ip forwarding" > "$DEMO_DIR/$r/zebra.conf"
    install -d -o frr -g frr "/var/run/frr/$r"
done
chown -R frr:frr "$DEMO_DIR"

# One route processor of r1's pair: its own vty folder and pid file; the
# active links /var/run/frr/r1/bgpd.vty to itself, so "vtysh -N r1" follows it.
start_rp() {
    local dir="/var/run/frr/r1/ha-$1"
    install -d -o frr -g frr "$dir"
    start_bgpd r1 -M "ha:$1" --vty_socket "$dir" -i "$dir/bgpd.pid" -P 0
}
rp_pid() { cat "/var/run/frr/r1/ha-$1/bgpd.pid"; }
rp_vty() { in_ns r1 vtysh -d bgpd --vty_socket "/var/run/frr/r1/ha-$1" -c "$2" 2>/dev/null; }
for r in gr plain; do
    start_zebra "$r"; sleep 0.3; start_bgpd "$r"
done
start_zebra r1 -M ha
sleep 0.3
start_rp a
start_rp b

# --- what the peers see: peer_view, report, wait_established (lib.sh) ---

say "r1 (rp a active, rp b standby) announces $R1_PREFIXES prefixes to a GR peer and a plain peer"
wait_established
report
wait_ready() { # wait_ready RP
    local i
    for i in $(seq 1 40); do
        [ "$(rp_vty "$1" 'show bgp ha json' | jq -r .ready)" = true ] && return 0
        sleep 0.25
    done
    echo "demo: rp $1 did not become ready" >&2; return 1
}
wait_ready b
wait_protected() { # both sessions mirrored, the TF one's shadow in step
    local i a b
    for i in $(seq 1 240); do
        a=$(rp_vty a 'show bgp ha json' |
            jq -r '[.neighbors[] | .session.stream] | join(" ")')
        # A GR session's shadow is fed only what the peer sends: it has no
        # output to be in step with.
        b=$(rp_vty b 'show bgp ha json' | jq -r '[.neighbors[] |
            "\(.session.stream)/\(.switchoverMode == "graceful-restart" or
              .session.shadowSentPrefixes == .session.peerHoldsPrefixes)"] | join(" ")')
        [ "$a | $b" = "mirroring mirroring | shadow/true shadow/true" ] && return 0
        sleep 0.25
    done
    echo "demo: the sessions were not handed to the standby ($a | $b)" >&2; return 1
}
wait_protected
say "r1: show bgp ha (on the active, through a plain vtysh)"
vty r1 "show bgp ha"

say "kill -9 of the active bgpd (rp a); each peer's view of r1, sampled every 0.2 s:"
kill -9 "$(rp_pid a)"
sample_peers
say "the standby's view of the takeover:"
vty r1 "show bgp ha json" | jq -r '"   rp \(.rp) is \(.role) at epoch \(.epoch); takeover: \(.switchovers[-1].reason), \(.switchovers[-1].durationMs) ms after the loss was seen"'
echo "   (plain: transparent failover, nothing seen; gr: a graceful restart,"
echo "    r1's routes kept as stale until r1's End-of-RIB)"

say "rp b serves the sessions; rp a restarts and becomes the standby"
wait_established
start_rp a
wait_ready a
rp_vty a "show bgp ha json" | jq -r '"   rp \(.rp) is \(.role) at epoch \(.epoch), ready: \(.ready)"'
report
show_flaps
say "demo done"
