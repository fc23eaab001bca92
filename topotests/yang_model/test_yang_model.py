"""
The frr-ha YANG model (yang/frr-ha.yang), checked with libyang's yanglint.

No FRR daemon, no namespace, no root: configuration instances and converted
`show bgp ha json` documents are validated against the model, and invalid
ones must be refused with a message naming the offending node.

Run (FRR's conftest, loaded by topotests/conftest.py, needs
FRR_TOPOTESTS_DIR; CTest sets it):
    cd topotests && FRR_TOPOTESTS_DIR=<build>/frr/src/tests/topotests \
        /usr/bin/python3 -m pytest -v -p no:cacheprovider yang_model
FRR's conftest kills the daemons of any other topotest run in progress
(it takes them for abandoned) and writes to /tmp/topotests. While other
topotests run, leave it out:
    cd topotests && /usr/bin/python3 -m pytest -v -p no:cacheprovider \
        --confcutdir=yang_model yang_model
or keep it in a PID namespace of its own and another run folder:
    cd topotests && unshare --pid --fork --mount-proc \
        env FRR_TOPOTESTS_DIR=<build>/frr/src/tests/topotests \
        /usr/bin/python3 -m pytest -v -p no:cacheprovider \
        --rundir /tmp/yang_model yang_model
"""
import copy
import json
import os
import re
import sys

import pytest

# ha_lib lives beside this folder (topotests/conftest.py also adds it when
# it is loaded).
TOPOTESTS_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if TOPOTESTS_DIR not in sys.path:
    sys.path.insert(0, TOPOTESTS_DIR)

from ha_lib.yang_model import (  # noqa: E402
    YANG_DIR,
    YANG_MODULE,
    check_module,
    run_yanglint,
    show_json_to_instance,
    validate_instance,
)

HA_PAIR_DOC = os.path.join(os.path.dirname(TOPOTESTS_DIR), "docs", "ha-pair.md")

KEY = "0123456789abcdef0123456789abcdef"


def valid_config():
    """A local-mode pair as in docs/ha-pair.md, with two neighbors."""
    return {
        "frr-ha:ha": {
            "rp": [
                {"name": "a", "unix-path": "/var/run/frr/bgpd-ha-a.sock", "priority": 200},
                {"name": "b", "unix-path": "/var/run/frr/bgpd-ha-b.sock", "priority": 100},
            ],
            "key": KEY,
            "heartbeat": {"interval": 100, "multiplier": 3},
            "neighbor": [
                {"vrf": "default", "address": "192.0.2.2", "failover-mode": "transparent"},
                {"vrf": "default", "address": "2001:db8::2", "failover-mode": "graceful-restart"},
            ],
        }
    }


def show_example_from_doc():
    """The `show bgp ha json` example of docs/ha-pair.md."""
    with open(HA_PAIR_DOC, encoding="utf-8") as f:
        text = f.read()
    match = re.search(r"## `show bgp ha json`\s*```json\n(.*?)```", text, re.S)
    assert match, f"no json example under '## `show bgp ha json`' in {HA_PAIR_DOC}"
    return json.loads(match.group(1))


def show_standby_init():
    """RP b, just started: looking for its partner, nothing synced yet."""
    return {
        "version": "0.2.0",
        "rp": "b",
        "role": "init",
        "epoch": 0,
        "mode": "local",
        "priority": 100,
        "ready": False,
        "notReadyReason": "channel down",
        "heartbeat": {"intervalMs": 100, "multiplier": 3, "detectionMs": 300},
        "partner": {
            "name": "a",
            "address": "unix:/var/run/frr/bgpd-ha-a.sock",
            "channel": "down",
            "role": "",
            "epoch": 0,
            "ready": False,
            "notReadyReason": "",
            "upSince": "",
        },
        "sync": {"state": "none", "itemsReceived": 0, "itemsTotal": 0},
        "counters": {
            "framesSent": 0, "framesReceived": 0, "bytesSent": 0,
            "bytesReceived": 0, "channelsUp": 0, "channelDrops": 0,
            "authFailures": 0, "versionMismatches": 0, "malformedFrames": 0,
            "oversizedFrames": 0, "handshakeTimeouts": 0,
            "partnersRefused": 0, "backlogDrops": 0, "switchovers": 0,
        },
        "switchovers": [],
        "neighbors": {},
    }


def show_misconfigured():
    """An RP loaded as plain `-M ha` (no name) whose configuration names one
    RP only: no RP name, a configuration problem, a partner unknown."""
    show = show_standby_init()
    show.update(rp="", configProblem="no RP name given to the module (load it as -M ha:NAME)")
    show["partner"] = {"channel": "down"}
    return show


def show_standalone():
    """An RP without `bgp ha` configuration: today's module prints only
    these members (bgpd-ext/glue/bgpd_ha_vty.c)."""
    return {
        "version": "0.1.0",
        "role": "standalone",
        "neighbors": {
            "192.0.2.2": {
                "vrf": "default",
                "state": "Active",
                "configuredMode": "auto",
                "switchoverMode": "restart",
                "reason": "not established: restarts as stock FRR",
            }
        },
    }


def expect_refused(instance, tmp_path, data_type, *needles):
    """yanglint must refuse instance, its message containing every needle."""
    with pytest.raises(AssertionError) as refused:
        validate_instance(instance, tmp_path, data_type)
    # First line: the yanglint command; then what yanglint said.
    complaint = str(refused.value).split("\n", 1)[-1]
    for needle in needles:
        assert needle in complaint, f"{needle!r} not in yanglint's complaint:\n{complaint}"


# --------------------------------------------------------------- the module


def test_module_compiles_without_warning():
    check_module()


def test_module_header():
    assert YANG_MODULE == os.path.join(YANG_DIR, "frr-ha.yang")
    proc = run_yanglint("-f", "yang", YANG_MODULE)  # the module as parsed
    assert proc.returncode == 0, proc.stderr
    missing = [
        statement
        for statement in (
            "module frr-ha {",
            "yang-version 1.1;",
            'namespace "http://frrouting.org/yang/frr-ha";',
            "prefix frr-ha;",
            "revision 2026-11-28 {",
        )
        if statement not in proc.stdout
    ]
    assert not missing, f"not in the module: {missing}"


# ---------------------------------------------------------- configuration


def test_valid_config_local_mode(tmp_path):
    validate_instance(valid_config(), tmp_path, "config")


def test_valid_config_dual_rp(tmp_path):
    config = valid_config()
    config["frr-ha:ha"]["rp"] = [
        {"name": "a", "tcp": {"address": "198.51.100.1"}},
        {"name": "b", "tcp": {"address": "2001:db8::b", "port": 15179}, "priority": 1},
    ]
    validate_instance(config, tmp_path, "config")


def test_valid_config_service_addresses(tmp_path):
    config = valid_config()
    config["frr-ha:ha"]["service-address"] = [
        {"address": "192.0.2.10", "prefix-length": 24},
        {"address": "2001:db8::10", "prefix-length": 64},
    ]
    validate_instance(config, tmp_path, "config")


def test_show_with_service_addresses_is_valid(tmp_path):
    show = show_standby_init()
    show["serviceAddresses"] = [
        {"prefix": "192.0.2.10/24", "state": "claimed", "interface": "eth1"},
        {"prefix": "2001:db8::10/64", "state": "released",
         "lastError": "no interface of this host has an address in 2001:db8::10/64's subnet"},
    ]
    instance = show_json_to_instance(show)
    assert instance["frr-ha:ha"]["state"]["service-addresses"][1]["last-error"].startswith("no ")
    validate_instance(instance, tmp_path)
    show["serviceAddresses"][0]["state"] = "mine"
    expect_refused(show_json_to_instance(show), tmp_path, "data",
                   "service-addresses", '"mine"')


def test_valid_config_defaults_only(tmp_path):
    config = valid_config()
    del config["frr-ha:ha"]["heartbeat"]
    for neighbor in config["frr-ha:ha"]["neighbor"]:
        del neighbor["failover-mode"]
    validate_instance(config, tmp_path, "config")


def _with(change):
    config = valid_config()
    change(config["frr-ha:ha"])
    return config


INVALID_CONFIGS = {
    "key of 8 characters": (
        lambda ha: ha.update(key="01234567"),
        ["/frr-ha:ha/key", "length"],
    ),
    "key of 129 characters": (
        lambda ha: ha.update(key="k" * 129),
        ["/frr-ha:ha/key", "length"],
    ),
    "unknown failover-mode": (
        lambda ha: ha["neighbor"][0].update({"failover-mode": "bogus"}),
        ["/frr-ha:ha/neighbor", "/failover-mode", '"bogus"'],
    ),
    "heartbeat multiplier 1": (
        lambda ha: ha["heartbeat"].update(multiplier=1),
        ["/frr-ha:ha/heartbeat/multiplier", "range"],
    ),
    "heartbeat interval 5 ms": (
        lambda ha: ha["heartbeat"].update(interval=5),
        ["/frr-ha:ha/heartbeat/interval", "range"],
    ),
    "three rps": (
        lambda ha: ha["rp"].append({"name": "c", "unix-path": "/var/run/frr/bgpd-ha-c.sock"}),
        ['Too many "rp" instances', "/frr-ha:ha/rp"],
    ),
    "unix and tcp rps mixed": (
        lambda ha: ha["rp"].__setitem__(1, {"name": "b", "tcp": {"address": "192.0.2.1"}}),
        ["/frr-ha:ha", "both TCP"],
    ),
    "rp with no address": (
        lambda ha: ha["rp"][1].pop("unix-path"),
        ['Mandatory choice "address"', "/frr-ha:ha/rp/address"],
    ),
    "rp name with a space": (
        lambda ha: ha["rp"][1].update(name="r p"),
        ["/frr-ha:ha/rp/name", "pattern"],
    ),
    "priority 0": (
        lambda ha: ha["rp"][1].update(priority=0),
        ["/frr-ha:ha/rp", "/priority", "range"],
    ),
    "relative unix-path": (
        lambda ha: ha["rp"][1].update({"unix-path": "bgpd-ha-b.sock"}),
        ["/frr-ha:ha/rp", "/unix-path", "pattern"],
    ),
    "tcp port 0": (
        lambda ha: ha.update(rp=[
            {"name": "a", "tcp": {"address": "198.51.100.1"}},
            {"name": "b", "tcp": {"address": "198.51.100.2", "port": 0}},
        ]),
        ["/frr-ha:ha/rp", "/tcp/port", "range"],
    ),
    "service address without a length": (
        lambda ha: ha.update({"service-address": [{"address": "192.0.2.10"}]}),
        ["/frr-ha:ha/service-address", "prefix-length"],
    ),
    "service address not an IP": (
        lambda ha: ha.update({"service-address": [{"address": "rpa", "prefix-length": 24}]}),
        ["/frr-ha:ha/service-address", '"rpa"'],
    ),
    "nine service addresses": (
        lambda ha: ha.update({"service-address": [
            {"address": f"192.0.2.{i}", "prefix-length": 24} for i in range(1, 10)]}),
        ['Too many "service-address" instances'],
    ),
    "neighbor address not an IP": (
        lambda ha: ha["neighbor"][0].update(address="peer1"),
        ["/frr-ha:ha/neighbor", "/address", '"peer1"'],
    ),
    "state data in a configuration": (
        lambda ha: ha.update(state={"role": "active"}),
        ['"state"', "/frr-ha:ha/state"],
    ),
}


@pytest.mark.parametrize("case", list(INVALID_CONFIGS))
def test_invalid_config_refused(case, tmp_path):
    change, needles = INVALID_CONFIGS[case]
    expect_refused(_with(change), tmp_path, "config", *needles)


# ------------------------------------------------------ operational state


def test_show_example_converts():
    """The converter's output for the documented example, member by member."""
    state = show_json_to_instance(show_example_from_doc())["frr-ha:ha"]["state"]
    assert state["rp"] == "a" and state["role"] == "active"
    assert state["epoch"] == "3"  # uint64: a string (RFC 7951)
    assert state["ready"] is False and state["not-ready-reason"] == "this RP is the active"
    assert state["heartbeat-state"] == {"interval-ms": 100, "multiplier": 3, "detection-ms": 300}
    assert state["partner"]["up-since"] == "2026-11-28T19:20:01Z"
    assert state["partner"]["epoch"] == "3"
    assert "not-ready-reason" not in state["partner"]
    assert state["sync"] == {"state": "done", "items-received": 2, "items-total": 2}
    assert len(state["counters"]) == 14
    assert state["counters"]["frames-sent"] == "10"
    assert state["counters"]["partners-refused"] == "0"
    assert state["switchover"] == [
        {"epoch": "3", "reason": "planned", "at": "2026-11-28T19:20:00Z", "duration-ms": 12}
    ]
    assert state["neighbor-state"] == [
        {
            "address": "192.0.2.2",
            "vrf": "default",
            "state": "Established",
            "configured-mode": "auto",
            "switchover-mode": "transparent",
            "reason": "auto: peer did not negotiate GR",
        }
    ]


def test_standby_init_converts():
    state = show_json_to_instance(show_standby_init())["frr-ha:ha"]["state"]
    assert state["partner"] == {
        "name": "a",
        "address": "unix:/var/run/frr/bgpd-ha-a.sock",
        "channel": "down",
        "epoch": "0",
        "ready": False,
    }
    assert "switchover" not in state and "neighbor-state" not in state


@pytest.mark.parametrize(
    "show",
    [show_example_from_doc, show_standby_init, show_misconfigured, show_standalone],
    ids=["doc example (active)", "standby in init", "misconfigured", "standalone"],
)
def test_show_state_valid(show, tmp_path):
    validate_instance(show_json_to_instance(show()), tmp_path, "data")


def show_after_fencing():
    """RP a, standby, fenced its hung partner and took over (local mode)."""
    show = copy.deepcopy(show_example_from_doc())
    show["fencing"] = {
        "state": "inactive", "hangDetectionMs": 3000,
        "fences": [{"at": "2026-11-28T19:20:00Z", "pid": 4100,
                    "reason": "no heartbeat for 3023 ms", "partnerDied": True,
                    "diedAfterMs": 14, "tookOver": True, "activeAfterMs": 14},
                   {"at": "2026-11-28T19:10:00Z", "pid": 0,
                    "reason": "I/O thread made no progress for 3100 ms",
                    "error": "no verified partner process", "partnerDied": False,
                    "tookOver": False}]}
    show["partnerProgress"] = {"watching": True, "heartbeats": 12345, "lastSeq": 12400,
                               "lastHeartbeatMsAgo": 40, "maxHeartbeatGapMs": 860,
                               "ioReported": True, "ioProgress": 12399,
                               "ioLastAdvanceMsAgo": 80, "maxIoStallMs": 910,
                               "maxOwnTickGapMs": 5708}
    show["switchovers"] = [{"epoch": 3, "reason": "partner-hung",
                            "at": "2026-11-28T19:20:00Z", "durationMs": 14}]
    return show


def show_dual_rp_lapsed():
    """RP a in dual-RP mode, active, its lease lapsed (docs/dual-rp.md)."""
    show = copy.deepcopy(show_example_from_doc())
    show["mode"] = "dual-rp"
    show["lease"] = {"role": "holder", "inForce": True, "mayWrite": False, "leaseMs": 300,
                     "validForMs": 0, "mayTakeOverInMs": 0, "requestsSent": 5021,
                     "grantsReceived": 5018, "grantsRefused": 0, "lapses": 1,
                     "requestsReceived": 0, "grantsGiven": 0, "requestsRefused": 0,
                     "overrides": 1, "writesHeld": 3, "lastTakeoverWaitMs": 0,
                     "lastLapseClockMs": 81234567, "lastTakeoverClockMs": 0,
                     "fence": {"installed": True, "state": "shut", "segmentsDropped": 12}}
    return show


def test_show_with_lease_converts_and_is_valid(tmp_path):
    state = show_json_to_instance(show_dual_rp_lapsed())["frr-ha:ha"]["state"]
    lease = state["lease"]
    assert lease["role"] == "holder" and lease["may-write"] is False
    assert lease["lapses"] == "1" and lease["valid-for-ms"] == "0"  # 64-bit: strings
    assert lease["lease-ms"] == 300 and lease["overrides"] == "1"
    assert lease["fence"] == {"installed": True, "state": "shut", "segments-dropped": "12"}
    validate_instance(show_json_to_instance(show_dual_rp_lapsed()), tmp_path, "data")
    grantor = show_dual_rp_lapsed()
    grantor["lease"] = {"role": "grantor", "inForce": False, "mayWrite": True,
                        "note": "nothing granted: a takeover waits for no lease",
                        "leaseMs": 300, "validForMs": 0, "mayTakeOverInMs": 0,
                        "requestsSent": 0, "grantsReceived": 0, "grantsRefused": 0,
                        "lapses": 0, "requestsReceived": 0, "grantsGiven": 0,
                        "requestsRefused": 0, "writesHeld": 0, "lastTakeoverWaitMs": 0,
                        "lastLapseClockMs": 0, "lastTakeoverClockMs": 0,
                        "lastRefusal": "lease request 7 refused: this RP took over",
                        "fence": {"installed": False, "state": "none", "segmentsDropped": 0,
                                  "installError": "nftables: Operation not permitted"}}
    validate_instance(show_json_to_instance(grantor), tmp_path, "data")
    bad = show_dual_rp_lapsed()
    bad["lease"]["role"] = "owner"
    with pytest.raises(AssertionError):
        validate_instance(show_json_to_instance(bad), tmp_path, "data")
    bad = show_dual_rp_lapsed()
    bad["lease"]["fence"]["state"] = "closed"
    with pytest.raises(AssertionError):
        validate_instance(show_json_to_instance(bad), tmp_path, "data")


def test_show_after_fencing_converts_and_is_valid(tmp_path):
    state = show_json_to_instance(show_after_fencing())["frr-ha:ha"]["state"]
    assert state["fencing"]["fence"][0]["reason"] == "no heartbeat for 3023 ms"
    assert state["partner-progress"]["io-progress"] == "12399"  # uint64
    assert state["switchover"][0]["reason"] == "partner-hung"
    validate_instance({"frr-ha:ha": {"state": state}}, tmp_path, "data")


def test_hang_detection_config_valid(tmp_path):
    for value in (500, 3000, "off"):
        config = valid_config()
        config["frr-ha:ha"]["hang-detection"] = value
        validate_instance(config, tmp_path, "config")
    for value in (100, "never"):
        config = valid_config()
        config["frr-ha:ha"]["hang-detection"] = value
        with pytest.raises(AssertionError, match="hang-detection"):
            validate_instance(config, tmp_path, "config")


def test_switchover_on_link_loss_config_valid(tmp_path):
    for value in (True, False):
        config = valid_config()
        config["frr-ha:ha"]["switchover-on-link-loss"] = value
        validate_instance(config, tmp_path, "config")
    config = valid_config()
    config["frr-ha:ha"]["switchover-on-link-loss"] = "yes"
    with pytest.raises(AssertionError, match="switchover-on-link-loss"):
        validate_instance(config, tmp_path, "config")


def test_show_state_with_config_valid(tmp_path):
    """Configuration and state in one complete datastore."""
    instance = valid_config()
    instance["frr-ha:ha"].update(show_json_to_instance(show_example_from_doc())["frr-ha:ha"])
    validate_instance(instance, tmp_path, "data")


def _show_with(change):
    show = copy.deepcopy(show_example_from_doc())
    change(show)
    return show_json_to_instance(show)


INVALID_SHOWS = {
    "role master": (
        lambda s: s.update(role="master"),
        ["/frr-ha:ha/state/role", '"master"'],
    ),
    "partner channel open": (
        lambda s: s["partner"].update(channel="open"),
        ["/frr-ha:ha/state/partner/channel", '"open"'],
    ),
    "sync state partial": (
        lambda s: s["sync"].update(state="partial"),
        ["/frr-ha:ha/state/sync/state", '"partial"'],
    ),
    "switchover mode none": (
        lambda s: s["neighbors"]["192.0.2.2"].update(switchoverMode="none"),
        ["/frr-ha:ha/state/neighbor-state", "/switchover-mode", '"none"'],
    ),
    "negative epoch": (
        lambda s: s.update(epoch=-1),
        ["/frr-ha:ha/state/epoch", '"-1"'],
    ),
    "upSince not a date": (
        lambda s: s["partner"].update(upSince="yesterday"),
        ["/frr-ha:ha/state/partner/up-since", '"yesterday"'],
    ),
    "member unknown to the model": (
        lambda s: s["counters"].update(framesLost=0),
        ['"frames-lost"', "/frr-ha:ha/state/counters"],
    ),
}


@pytest.mark.parametrize("case", list(INVALID_SHOWS))
def test_invalid_show_state_refused(case, tmp_path):
    change, needles = INVALID_SHOWS[case]
    expect_refused(_show_with(change), tmp_path, "data", *needles)
