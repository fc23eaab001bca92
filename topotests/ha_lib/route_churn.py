"""Route churn from a stock FRR peer: it adds one prefix and withdraws
another without pause (a sliding window of CHURN_WINDOW prefixes among
198.18.N.0/24, N below CHURN_SLOTS), one vtysh call per step."""
from contextlib import contextmanager

CHURN_WINDOW = 32  # prefixes the peer holds at once while it churns
CHURN_SLOTS = 64   # 198.18.N.0/24, N below this


@contextmanager
def route_churn(router, asn, script):
    """router (a topogen gear running FRR as AS asn) churns until the block
    ends, and keeps what it held at that moment; script is where the loop's
    shell script is written."""
    with open(script, "w") as f:
        f.write("i=0\nwhile true; do\n"
                f"  add=$((i % {CHURN_SLOTS})); drop=$(((i + {CHURN_SLOTS - CHURN_WINDOW}) % "
                f"{CHURN_SLOTS}))\n"
                f"  vtysh -c 'configure terminal' -c 'router bgp {asn}' "
                "-c 'address-family ipv4 unicast' -c \"network 198.18.$add.0/24\" "
                "-c \"no network 198.18.$drop.0/24\" >/dev/null 2>&1\n"
                "  i=$((i + 1))\ndone\n")
    pid = router.cmd(f"sh {script} >/dev/null 2>&1 & echo $!").strip()
    try:
        yield
    finally:
        router.cmd(f"kill {pid}; while kill -0 {pid} 2>/dev/null; do sleep 0.05; done")
