"""
The frr-ha YANG model (yang/frr-ha.yang) and libyang's yanglint.

- show_json_to_instance() turns a `show bgp ha json` document into a YANG
  JSON instance (RFC 7951) of the model's operational state;
- validate_instance() has yanglint validate an instance against the model;
- check_module() has yanglint compile the model itself.

Standard library only: no FRR, no root. yanglint is libyang 2's CLI (Debian
package libyang2-tools); ietf-inet-types and ietf-yang-types, which the model
imports, are built into libyang.

Data types given to yanglint (-t):
- "config": a configuration datastore; state (config false) data is an error;
- "data":   a complete datastore, configuration and state, fully validated
            (types, must, max-elements, mandatory). Use it for state.
Not "get": yanglint parses <get> replies without validating them, so must
and max-elements would go unchecked.
"""
import json
import os
import re
import shutil
import subprocess
import tempfile

# topotests/ha_lib/yang_model.py -> <repo>/yang
YANG_DIR = os.path.join(
    os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
    "yang",
)
YANG_MODULE = os.path.join(YANG_DIR, "frr-ha.yang")
MODULE_NAME = "frr-ha"

YANGLINT = shutil.which("yanglint") or "/usr/bin/yanglint"
YANGLINT_TIMEOUT = 60


def yanglint_command(*args):
    """The yanglint command line for the model plus args.

    -D keeps yanglint from picking up modules from the current directory;
    -p names the model's own folder as the search path.
    """
    return [YANGLINT, "-D", "-p", YANG_DIR, *args]


def run_yanglint(*args):
    """Runs yanglint with args; returns the CompletedProcess (text output)."""
    return subprocess.run(
        yanglint_command(*args),
        capture_output=True,
        text=True,
        timeout=YANGLINT_TIMEOUT,
        check=False,
    )


def check_module():
    """Compiles the model; fails on an error and on any warning."""
    proc = run_yanglint(YANG_MODULE)
    if proc.returncode != 0 or proc.stderr.strip():
        raise AssertionError(
            f"{' '.join(yanglint_command(YANG_MODULE))} "
            f"(exit {proc.returncode}):\n{proc.stderr}"
        )


def validate_instance(instance, tmpdir, data_type="data"):
    """Validates a YANG JSON instance document against the model.

    instance: dict such as {"frr-ha:ha": {...}};
    tmpdir: folder (str or path-like) where the instance file is written;
    data_type: yanglint's -t (see the module docstring).
    Raises AssertionError when it is invalid: first line the yanglint
    command, then yanglint's messages. The file stays in tmpdir.
    """
    fd, path = tempfile.mkstemp(prefix="frr-ha-", suffix=".json", dir=os.fspath(tmpdir))
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(instance, f, indent=2)
    args = ["-t", data_type, YANG_MODULE, path]
    proc = run_yanglint(*args)
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(yanglint_command(*args))} (exit {proc.returncode}):\n"
            f"{proc.stderr}{proc.stdout}"
        )


# ---------------------------------------------------------------------------
# `show bgp ha json` -> instance of /frr-ha:ha/state
#
# Member names go from camelCase to kebab-case. A member the model does not
# know is carried over all the same (in kebab-case) so that yanglint, which
# parses strictly, reports it: the model and the show command cannot drift
# apart silently.
# ---------------------------------------------------------------------------

# show members whose YANG node has another name than their kebab-case form.
_RENAMED = {
    "heartbeat": "heartbeat-state",
    "switchovers": "switchover",
    "neighbors": "neighbor-state",
}

# uint64 leaves, by the show member that holds them. RFC 7951 encodes
# uint64 (and int64, decimal64) as JSON strings; libyang insists on it.
_UINT64_TOP = {"epoch"}
_UINT64_PARTNER = {"epoch"}
_UINT64_SWITCHOVER = {"epoch"}
# Every counter is a uint64.


def kebab(name):
    """camelCase -> kebab-case ("notReadyReason" -> "not-ready-reason")."""
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name).lower()


def _u64(value):
    """A uint64 as RFC 7951 wants it: a decimal string."""
    if isinstance(value, bool) or not isinstance(value, int):
        return value  # left as it is, for yanglint to complain about
    return str(value)


_SESSION_TEXT = {"stream", "notProtectedReason", "takeoverDifferenceProblem"}
# lastTakeover: its byte and message counters are uint64.
_UINT64_TAKEOVER = {"completedBytes", "unsentMessages", "duplicateBytesDropped",
                    "differenceMessages"}


_STREAM_TEXT = {"side", "vrf", "neighbor"}


# progressAgeMs is an int64, which RFC 7951 also writes as a string.
_STREAM_CONNECTION_UINT64 = {"peerAcked", "receivedAcked", "progressAgeMs"}


def _convert_stream_session(session):
    """One session's streams; its connection's image nested."""
    booleans = {"imageSent": "image-sent", "protected": "protected"}
    flat = {k: v for k, v in session.items() if k != "connection" and k not in booleans}
    out = _convert(flat, uint64=set(flat) - _STREAM_TEXT)
    for key, leaf in booleans.items():
        if key in session:
            out[leaf] = session[key]
    if "connection" in session:
        out["connection"] = _convert(session["connection"], uint64=_STREAM_CONNECTION_UINT64)
    return out


# The hold: its counters are uint64 (sessions is a uint32).
_UINT64_HOLD = {"sessionsNotHeld", "segmentsQueued", "segmentsWaited", "segmentsLost",
                "sessionsLagging"}


def _convert_streams_across_hosts(streams):
    """Counters (all uint64) and one entry per session."""
    out = _convert({k: v for k, v in streams.items() if k not in ("sessions", "hold")},
                   all_uint64=True)
    if "hold" in streams:
        out["hold"] = _convert(streams["hold"], uint64=_UINT64_HOLD)
    out["sessions"] = [_convert_stream_session(s) for s in streams.get("sessions", [])]
    if not out["sessions"]:
        del out["sessions"]
    return out


def _convert_neighbor(neighbor):
    """A neighbor, with its session's stream state nested as "session"."""
    flat = {k: v for k, v in neighbor.items() if k != "session"}
    out = _convert(flat)
    if "session" in neighbor:
        session = neighbor["session"]
        out["session"] = _convert(session, uint64=set(session) - _SESSION_TEXT)
    return out


def _convert(obj, uint64=(), all_uint64=False, drop_empty=()):
    """Converts one show object (flat: string, number, boolean members).

    uint64: members to encode as uint64; all_uint64: every member is one;
    drop_empty: members omitted when "" (besides null, always omitted).
    """
    out = {}
    for key, value in obj.items():
        if value is None or (value == "" and key in drop_empty):
            continue
        if all_uint64 or key in uint64:
            value = _u64(value)
        out[kebab(key)] = value
    return out


_UINT64_PROGRESS = {"heartbeats", "lastSeq", "ioProgress"}
_UINT64_LEASE = {"requestsSent", "grantsReceived", "grantsRefused", "lapses",
                 "requestsReceived", "grantsGiven", "requestsRefused", "writesHeld", "overrides",
                 "lastLapseClockMs", "lastTakeoverClockMs", "validForMs",
                 "mayTakeOverInMs"}
_UINT64_CONFIGURATION = {"generation", "partnerGeneration", "linesForwarded",
                         "linesRefusedByStandby", "linesRunAlone", "answersLate",
                         "linesMirrored", "adoptions", "adoptionLines"}


def _convert_lease(lease):
    """The lease object, with its kernel fence nested as "fence"."""
    out = _convert({k: v for k, v in lease.items() if k != "fence"}, uint64=_UINT64_LEASE)
    if "fence" in lease:
        out["fence"] = _convert(lease["fence"], uint64={"segmentsDropped", "neighborDropped", "orphansDestroyed"})
    return out


def _convert_fencing(fencing):
    """The fencing object: its "fences" array becomes the fence list."""
    out = _convert({k: v for k, v in fencing.items() if k != "fences"})
    fences = [_convert(f) for f in fencing.get("fences", [])]
    if fences:
        out["fence"] = fences
    return out


def show_json_to_instance(show):
    """Converts a `show bgp ha json` document (dict, as in docs/ha-pair.md)
    to a YANG JSON instance: {"frr-ha:ha": {"state": {...}}}.

    - "neighbors" (an object keyed by address) becomes the neighbor-state
      list, the address moving into each entry;
    - "switchovers" becomes the switchover list;
    - "heartbeat" becomes the heartbeat-state container;
    - uint64 values (epochs, counters) become strings;
    - partner members that are absent, null or "" are omitted (the partner
      may never have been heard), and the whole partner when none is left;
    - this RP's "rp" is omitted when "" (an RP loaded as plain `-M ha` has no
      name); other members are converted as they are.
    """
    state = {}
    for key, value in show.items():
        if value is None:
            continue
        if key == "rp" and value == "":
            continue
        if key == "heartbeat":
            value = _convert(value)
        elif key == "partner":
            value = _convert(value, uint64=_UINT64_PARTNER, drop_empty=set(value))
            if not value:
                continue
        elif key in ("sync", "descriptors", "records"):
            value = _convert(value)
        elif key == "lifePage":
            value = _convert(value, uint64={"partnerDeathsHeard"})
        elif key == "lease":
            value = _convert_lease(value)
        elif key == "fencing":
            value = _convert_fencing(value)
        elif key == "configuration":
            value = _convert(value, uint64=_UINT64_CONFIGURATION)
        elif key == "serviceAddresses":
            value = [_convert(a) for a in value]
        elif key == "serviceLink":
            value = _convert(value)
        elif key == "streamsAcrossHosts":
            value = _convert_streams_across_hosts(value)
        elif key == "partnerProgress":
            value = _convert(value, uint64=_UINT64_PROGRESS)
        elif key == "lastTakeover":
            value = _convert(value, uint64=_UINT64_TAKEOVER)
        elif key == "counters":
            value = _convert(value, all_uint64=True)
        elif key == "switchovers":
            value = [_convert(s, uint64=_UINT64_SWITCHOVER) for s in value]
            if not value:
                continue
        elif key == "neighbors":
            value = [
                {"address": address, **_convert_neighbor(neighbor)}
                for address, neighbor in value.items()
            ]
            if not value:
                continue
        elif key in _UINT64_TOP:
            value = _u64(value)
        state[_RENAMED.get(key, kebab(key))] = value
    return {f"{MODULE_NAME}:ha": {"state": state}}


def show_zebra_json_to_instance(show):
    """`show zebra ha json` as a YANG JSON instance of frr-ha:zebra/state."""
    resync = show.get("resync", {})
    state = {"version": show["version"], "resync-active": resync["active"]}
    if "ownerSocket" in show:
        state["owner-socket"] = show["ownerSocket"]
    if "sweepInSeconds" in resync:
        state["sweep-in-seconds"] = resync["sweepInSeconds"]
    if "staleRoutes" in resync:
        state["stale-routes"] = str(resync["staleRoutes"])
    state["counters"] = {kebab(k): str(v) for k, v in show.get("counters", {}).items()}
    state["bgp-client"] = [
        {"socket": c["socket"], "session-id": c["sessionId"], "instance": c["instance"],
         "routes-added": c["routesAdded"]}
        for c in show.get("bgpClients", [])
    ]
    return {f"{MODULE_NAME}:zebra": {"sweep-timer": resync["sweepTimerSeconds"], "state": state}}
