#!/usr/bin/env bash
# The frr-ha demo, dual-RP part: router r1's two route processors run on two
# hosts (network namespaces rpa and rpb, each with its own kernel state,
# zebra and bgpd), joined by a channel link and by the peering LAN, where r1
# answers at the service address 10.0.12.10 from whichever host is active.
# A graceful-restart peer (gr) and a peer without graceful restart (plain)
# peer with the service address. rp a's host dies: everything on it stops,
# its links go down and its daemons are killed. rp b takes over once the lease it
# granted has expired, rebuilds the plain peer's TCP connection on its own
# kernel (TCP_REPAIR) from what it shadowed, and claims the address; we
# print what each peer saw. The host then comes back and rejoins as standby.
#
# Run as root after scripts/build.sh (scripts/demo.sh does both).
set -euo pipefail

DEMO_DIR=/tmp/frr-ha-demo-dual
DAEMONS=/usr/lib/frr
R1_PREFIXES=${R1_PREFIXES:-100}
NS_PREFIX=fhadual
SERVICE=10.0.12.10
HOSTS="rpa rpb gr plain lan"

GR_R1=$SERVICE
PLAIN_R1=$SERVICE
# shellcheck source=demo/lib.sh
. "$(dirname "$0")/lib.sh"

trap cleanup EXIT
[ -n "${DEMO_KEEP:-}" ] && trap - EXIT
cleanup

# --- topology: two hosts, a channel link, a LAN (a bridge) -----------------
for r in $HOSTS; do ip netns add "$(ns "$r")"; in_ns "$r" ip link set lo up; done
in_ns lan ip link add br0 type bridge
in_ns lan ip link set br0 up
on_lan() { # on_lan HOST IF ADDR
    ip link add "$2" netns "$(ns "$1")" type veth peer name "$1" netns "$(ns lan)"
    in_ns lan ip link set "$1" master br0 up
    in_ns "$1" ip addr add "$3" dev "$2"; in_ns "$1" ip link set "$2" up
}
on_lan rpa rpa-lan 10.0.12.1/24
on_lan rpb rpb-lan 10.0.12.2/24
on_lan gr gr-lan 10.0.12.3/24
on_lan plain plain-lan 10.0.12.4/24
ip link add rpa-chan netns "$(ns rpa)" type veth peer name rpb-chan netns "$(ns rpb)"
in_ns rpa ip addr add 10.0.0.1/24 dev rpa-chan; in_ns rpa ip link set rpa-chan up
in_ns rpb ip addr add 10.0.0.2/24 dev rpb-chan; in_ns rpb ip link set rpb-chan up

# --- configuration: one bgpd.conf for both hosts ----------------------------
rm -rf "$DEMO_DIR"; mkdir -p "$DEMO_DIR"/{rpa,rpb,gr,plain}
{
    echo "router bgp 65001"
    echo " bgp router-id 10.0.0.100"
    echo " no bgp ebgp-requires-policy"
    echo " no bgp network import-check"
    echo " bgp graceful-restart preserve-fw-state"
    echo " neighbor 10.0.12.3 remote-as 65010"
    echo " neighbor 10.0.12.3 update-source $SERVICE"
    echo " neighbor 10.0.12.3 graceful-restart"
    echo " neighbor 10.0.12.4 remote-as 65020"
    echo " neighbor 10.0.12.4 update-source $SERVICE"
    echo " bgp ha rp a address tcp 10.0.0.1 priority 200"
    echo " bgp ha rp b address tcp 10.0.0.2 port 5180"
    echo " bgp ha key frr-ha-demo-dual-key-0123456789"
    echo " bgp ha heartbeat interval 100 multiplier 5"
    echo " bgp ha service-address $SERVICE/24"
    echo " address-family ipv4 unicast"
    for i in $(seq 0 $((R1_PREFIXES - 1))); do
        echo "  network 10.$((100 + i / 256)).$((i % 256)).0/24"
    done
    echo " exit-address-family"
} > "$DEMO_DIR/r1-bgpd.conf"
cp "$DEMO_DIR/r1-bgpd.conf" "$DEMO_DIR/rpa/bgpd.conf"
cp "$DEMO_DIR/r1-bgpd.conf" "$DEMO_DIR/rpb/bgpd.conf"
peer_conf() { # peer_conf NAME AS ADDR GR-LINE
    cat > "$DEMO_DIR/$1/bgpd.conf" <<EOF
router bgp $2
 bgp router-id $3
 $4
 no bgp ebgp-requires-policy
 no bgp network import-check
 neighbor $SERVICE remote-as 65001
 neighbor $SERVICE timers 3 10
 neighbor $SERVICE timers connect 1
 address-family ipv4 unicast
  network 172.16.$2.0/24
 exit-address-family
EOF
}
peer_conf gr 65010 10.0.12.3 "bgp graceful-restart"
peer_conf plain 65020 10.0.12.4 "bgp graceful-restart-disable"
for r in rpa rpb gr plain; do
    echo "ip forwarding" > "$DEMO_DIR/$r/zebra.conf"
    install -d -o frr -g frr "/var/run/frr/$r"
done
chown -R frr:frr "$DEMO_DIR"

# One RP per host: bgpd's own vty and pid file in the host's folder.
start_rp() { start_bgpd "rp$1" -M "ha:$1" --log "file:$DEMO_DIR/rp$1/bgpd.log"; }
rp_pid() { cat "/var/run/frr/rp$1/bgpd.pid"; }
rp_vty() { vty "rp$1" "$2"; }
for r in gr plain; do
    start_zebra "$r"; sleep 0.3; start_bgpd "$r"
done
for rp in a b; do start_zebra "rp$rp" -M ha; done
sleep 0.3
start_rp a
start_rp b

# --- what the peers see: peer_view, report, wait_established (lib.sh) ---
wait_ready() { # wait_ready RP
    local i
    for i in $(seq 1 60); do
        [ "$(rp_vty "$1" 'show bgp ha json' | jq -r .ready)" = true ] && return 0
        sleep 0.25
    done
    echo "demo: rp $1 did not become ready" >&2; return 1
}
wait_shadowed() { # wait_shadowed STANDBY: both sessions shadowed on its host
    local i got
    for i in $(seq 1 240); do
        got=$(rp_vty "$1" 'show bgp ha json' |
            jq -r '[.neighbors[] | "\(.state)/\(.session.stream)"] | join(" ")')
        [ "$got" = "Established/shadow Established/shadow" ] && return 0
        sleep 0.25
    done
    echo "demo: rp $1's host does not shadow the sessions ($got)" >&2; return 1
}

say "r1's pair on two hosts (rp a active on host rpa, rp b standby on host rpb): $R1_PREFIXES prefixes to a GR peer and a plain peer, both on the service address $SERVICE"
wait_established
report
wait_shadowed b
wait_ready b   # after the shadows: ready once each session is protected (caught up)
say "rp a: show bgp ha (the service address, the lease, the streams across hosts)"
rp_vty a "show bgp ha" | grep -E "^RP|Lease|Service|10.0.12|Data channel|Streams across|kernel fence" || true

say "host rpa dies: its processes stop, its links go down, its zebra and bgpd are killed; each peer's view of r1, sampled every 0.2 s:"
# Stopped first, so that nothing of the dying host runs after this instant
# (its bgpd would otherwise see its LAN interface go down and hand its role
# over itself: 'bgp ha switchover-on-link-loss', the link's failure, not the
# host's).
zebra_a=$(cat /var/run/frr/rpa/zebra.pid)
kill -STOP "$(rp_pid a)" "$zebra_a"
in_ns rpa ip link set rpa-lan down
in_ns rpa ip link set rpa-chan down
kill -9 "$(rp_pid a)" "$zebra_a"
sample_peers
say "rp b's view of the takeover:"
rp_vty b "show bgp ha json" | jq -r '"   rp \(.rp) is \(.role) at epoch \(.epoch); takeover: \(.switchovers[-1].reason), \(.switchovers[-1].durationMs) ms after the loss was seen"'
grep -hE "shadow sessions continued|socket rebuilt|claimed" "$DEMO_DIR/rpb/bgpd.log" |
    sed 's/^.*frr-ha: /   /' || true
rp_vty b "show bgp ha" | grep -E "10.0.12.10" | sed 's/^/   /' || true
echo "   (plain: its TCP connection rebuilt on host rpb, nothing seen; gr: a graceful"
echo "    restart from host rpb, r1's routes kept as stale until r1's End-of-RIB)"

say "host rpa comes back: its bgpd rejoins as standby and shadows the sessions again"
wait_established
in_ns rpa ip link set rpa-lan up
in_ns rpa ip link set rpa-chan up
start_zebra rpa -M ha
sleep 0.3
start_rp a
wait_shadowed a
wait_ready a
rp_vty a "show bgp ha json" | jq -r '"   rp \(.rp) is \(.role) at epoch \(.epoch), ready: \(.ready)"'
report
show_flaps
say "dual-RP demo done"
