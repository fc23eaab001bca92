"""The tables and plots of a run."""
import statistics

from .common import log
from .router import HA_OPTIONS

# --------------------------------------------------------------------------- report

def size_of(r):
    """A size's label: peers, prefixes, and the table's kind when realistic."""
    sets = r.get("attr_sets")
    table = (f" (realistic, {sets // 1000 if sets >= 1000 else sets}{'k' if sets >= 1000 else ''}"
             " attribute sets)") if sets else ""
    return f"{r['peers']} peers, {r['prefixes'] // 1000}k IPv{r['af']}{table}"


def pct(values, q):
    v = sorted(x for x in values if x is not None)
    if not v:
        return None
    k = (len(v) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(v) - 1)
    return v[lo] + (v[hi] - v[lo]) * (k - lo)


def fmt(x, unit="", digits=0):
    if x is None:
        return "n/a"
    return f"{x:.{digits}f}{unit}"


CASE_NAMES = {"ha-dual": "frr-ha dual-RP, host death", "ha-tf": "frr-ha TF",
              "ha-tf-planned": "frr-ha TF, planned switchover",
              "ha-gr": "frr-ha GR", "stock-gr": "stock FRR + GR", "stock": "stock FRR, no GR"}


def load_columns(c):
    """Table loads with the standby and without (load_table's tuples): the
    median time and CPU each way with their ratios, and the replicated bytes
    per byte from the feed."""
    def med(side, i):
        return statistics.median(x[i] for x in c[side])
    tw, to, cw, co = med("with", 0), med("without", 0), med("with", 1), med("without", 1)
    ww, rb = med("with", 2), med("with", 3)
    return (f"{tw:.2f} / {to:.2f} | {tw / to:.2f} | {cw:.2f} / {co:.2f} | "
            f"{(cw / co if co else 0):.2f} | {fmt(ww / rb if rb else None, '', 2)}")


def standby_cpu_column(c):
    """The standby's CPU over the attached loads (load_table's last two),
    median: the process's (its send-log pthread's)."""
    loads = [x for x in c["with"] if len(x) > 5]
    if not loads:
        return "n/a"
    return (f"{statistics.median(x[4] for x in loads):.2f} "
            f"({statistics.median(x[5] for x in loads):.2f})")


def host_death_table(results):
    """ha-dual: where each death's time went, by kind (the active's whole
    host, or its bgpd alone), p50 / p99 over the runs."""
    rows = [(r, r["runs"]["ha-dual"]) for r in results if r["runs"].get("ha-dual")]
    if not rows:
        return []
    lines = ["### Dual-RP: the active dies; ms from the death, p50 / p99 over the runs\n",
             "| size | death | runs | loss heard | active (lease waited out) | every session "
             "continued (log) | of which rebuilding ms | service address claimed | last peer "
             "hears the new host (wire) | sessions continued | runs with routes churning: "
             "peers whose table differs after | flaps | NOTIFICATIONs | FIN/RST | prefixes "
             "lost at peers | ping flow through the pair: longest gap between replies |",
             "|" + "---|" * 16]
    kinds = {"host": "host (processes stopped, links down, killed)",
             "bgpd": "bgpd alone (kill -9; kernel, zebra, links live on)"}
    for r, all_runs in rows:
        for kind, name in kinds.items():
            runs = [x for x in all_runs if x.get("kill") == kind]
            if not runs:
                continue

            def pp(key):
                v = [x.get(key) for x in runs]
                return f"{fmt(pct(v, .5))} / {fmt(pct(v, .99))}"

            def mx(key):
                return max(x.get(key, 0) or 0 for x in runs)
            continued = sorted({x.get("continued", "?") for x in runs})
            churned = [x for x in runs if x.get("churn_toggles")]
            churn = f"{len(churned)}: {max((x.get('tables_differ', 0) for x in churned), default=0)}"
            lines.append(f"| {size_of(r)} | {name} | {len(runs)} | {pp('lost_ms')} | "
                         f"{pp('active_ms')} | {pp('takeover_ms')} | {pp('continued_ms')} | "
                         f"{pp('claimed_ms')} | {pp('first_segment_last_ms')} | "
                         f"{', '.join(continued)} | {churn} | {mx('flaps')} | "
                         f"{mx('notifications_wire')} | {mx('fin_rst')} | {mx('lost_at_peers')} | "
                         f"{pp('flow_gap_ms')} |")
    interval, multiplier = HA_OPTIONS["heartbeat"]
    lines.append("\nLoss heard: the heartbeats' silence past the detection time (interval x "
                 f"multiplier, {interval} ms x {multiplier} here), or the channel's end "
                 "when the kernel of a killed bgpd closes it. The last peer hears the new host when the first "
                 "segment from the service address after the death reaches it (an ACK of its "
                 "own retransmission or the new host's keepalive). Routes churning: the "
                 "feed's 1000 churn routes switched on and off every 0.25 s from 1 s before "
                 "the death to 1 s after the takeover; the peers must then hold exactly the "
                 "feed's table. Ping flow: one ping every 10 ms from a peer to an address "
                 "behind the feed through the service address (host routes only).\n")
    return lines


def weighted_pct(values, weights, q):
    """The value at which q of the weight is reached (values sorted)."""
    pairs = sorted(zip(values, weights))
    total = sum(w for _, w in pairs)
    if not total:
        return None
    acc = 0
    for v, w in pairs:
        acc += w
        if acc >= q * total:
            return v
    return pairs[-1][0]


def hold_table(results):
    """ha-dual: the hold's cost seen on the LAN during the table loads, with
    the standby host attached (hold on) and without; and the active's hold
    counters over the attached loads."""
    rows = [r for r in results if r.get("hold_dual", {}).get("with") or
            r.get("hold_dual", {}).get("without")]
    if not rows:
        return []
    lines = ["\n### Dual-RP: the hold on the wire during the table loads; ms from a data "
             "segment to the router to the first segment from the router whose ACK field "
             "covers it (all the loads of a kind pooled)\n",
             "| size | data from | standby host attached: segments (KiB), p50 / p99 / max | "
             "per byte p50 / p99 | without: segments (KiB), p50 / p99 / max | per byte "
             "p50 / p99 | difference p50 / p99 | per byte | retransmitted, unanswered: "
             "attached / without |",
             "|" + "---|" * 9]
    for r in rows:
        h = r["hold_dual"]
        for side, name in (("feed", "the feed (its table)"),
                           ("peers", "the peers (their keepalives)")):
            def stats(kind):
                ms = [x for load in h[kind] for x in load[side]["ms"]]
                by = [x for load in h[kind] for x in load[side].get("bytes", [])]
                if len(by) != len(ms):
                    by = []
                return (ms, by,
                        f"{len(ms)} ({sum(by) // 1024}), {fmt(pct(ms, .5), '', 2)} / "
                        f"{fmt(pct(ms, .99), '', 2)} / {fmt(max(ms) if ms else None, '', 2)}",
                        f"{fmt(weighted_pct(ms, by, .5), '', 2)} / "
                        f"{fmt(weighted_pct(ms, by, .99), '', 2)}")

            def extra(kind):
                return (f"{sum(load[side]['retransmitted'] for load in h[kind])}, "
                        f"{sum(load[side]['unanswered'] for load in h[kind])}")
            w, wb, ws, wbs = stats("with")
            o, ob, os_, obs = stats("without")
            diff = diffb = "n/a"
            if w and o:
                diff = f"{pct(w, .5) - pct(o, .5):+.2f} / {pct(w, .99) - pct(o, .99):+.2f}"
            if wb and ob:
                diffb = (f"{weighted_pct(w, wb, .5) - weighted_pct(o, ob, .5):+.2f} / "
                         f"{weighted_pct(w, wb, .99) - weighted_pct(o, ob, .99):+.2f}")
            lines.append(f"| {size_of(r)} | {name} | {ws} | {wbs} | {os_} | {obs} | {diff} | "
                         f"{diffb} | {extra('with')} / {extra('without')} |")
        counters = [load.get("hold", {}) for load in h["with"]]
        if counters:
            per = "; ".join(f"{c.get('segmentsQueued')} / {c.get('segmentsWaited')} / "
                            f"{c.get('segmentsLost')}" for c in counters)
            lines.append(f"\n{size_of(r)}: the active's hold over each attached load, "
                         f"withdrawal and announcement (`show bgp ha json` "
                         f"streamsAcrossHosts.hold, after - before), segments queued / waited "
                         f"for the standby host / lost: {per}; load times attached: "
                         f"{', '.join(f'{x[0]:.2f}' for x in r['conv_dual']['with'])} s, "
                         f"without: "
                         f"{', '.join(f'{x[0]:.2f}' for x in r['conv_dual']['without'])} s; "
                         f"the feed sent its table over "
                         f"{', '.join(fmt(x['feed'].get('span'), '', 2) for x in h['with'])} s "
                         f"attached, "
                         f"{', '.join(fmt(x['feed'].get('span'), '', 2) for x in h['without'])}"
                         f" s without (first to last segment bigger than a keepalive).")
    lines.append("\nSegments from the start of the announcement until every peer holds the "
                 "table; both times are taken on the LAN bridge (one clock). The delay holds "
                 "the router's kernel receiving the segment and, attached, its ACK's trip "
                 "through NFQUEUE and bgpd's main thread and the standby host's confirmation "
                 "of the bytes over the data channel (without the standby host the hold has "
                 "released every session: no NFQUEUE). Linux's delayed ACK (the router's) "
                 "applies in both columns alike. A segment is a frame on the bridge: veth "
                 "passes GSO frames of up to 45 MSS whole, and a sender whose ACKs wait sends "
                 "bigger ones, so the counts differ; per byte weighs each segment by its "
                 "payload.\n")
    return lines


def tables(results):
    lines = []
    lines.append("### Switchover (kill -9) and peer impact, per switchover (sum over all peers; "
                 "p50 / p99 over the runs)\n")
    lines.append("| size | case | runs | takeover ms (kill → log) p50/p99 | first byte on last "
                 "session ms p50/p99 | peers converged ms p50/p99 | flaps | NOTIFICATIONs | "
                 "FIN/RST | UPDATEs | prefixes withdrawn (wire) | prefixes lost at peers | "
                 "prefixes re-announced unchanged |")
    lines.append("|" + "---|" * 13)
    for r in results:
        size = size_of(r)
        for case, runs in r["runs"].items():
            if not runs:
                continue

            def p(key, q):
                return pct([x.get(key) for x in runs], q)

            def mx(key):
                return max(x.get(key, 0) or 0 for x in runs)
            takeover = "—" if not case.startswith("ha") else \
                f"{fmt(p('takeover_ms', .5))} / {fmt(p('takeover_ms', .99))}"
            lines.append(
                f"| {size} | {CASE_NAMES[case]} | {len(runs)} | {takeover} | "
                f"{fmt(p('first_byte_last_ms', .5))} / {fmt(p('first_byte_last_ms', .99))} | "
                f"{fmt(p('converged_ms', .5))} / {fmt(p('converged_ms', .99))} | "
                f"{mx('flaps')} | {mx('notifications')} | {mx('fin_rst')} | {mx('updates')} | "
                f"{mx('withdrawn_wire')} | {mx('lost_at_peers')} | {mx('reannounced')} |")
    lines.append("\nflaps … re-announced: the largest value over the runs. "
                 "Takeover: kill to the new active's log line \"N of M shadow sessions "
                 "continued\" (both on this host's clock).\n")
    lines += host_death_table(results)
    lines.append("### Replication cost and standby cost (frr-ha TF)\n")
    lines.append("| size | full-table convergence, standby attached / without (median s) | ratio | "
                 "active bgpd CPU s attached / without | ratio | bytes mirrored to the standby per "
                 "byte received from the feed | standby RSS / active RSS MiB | "
                 "ratio | standby from start: ready / in step s | stock FRR from start: has "
                 "the table / peers have it s | standby bgpd CPU s from the announcement until "
                 "in step (its send-log pthread) |")
    lines.append("|" + "---|" * 11)
    for r in results:
        c = r.get("conv")
        if not c:
            continue
        size = size_of(r)
        if c["with"] and c["without"]:
            conv = load_columns(c)
        else:
            conv = "not run | | not run | | not run"
        rj = r.get("rejoin", [])
        ln = r.get("learn", [])
        rj_s = f"{fmt(statistics.median(x[0] for x in rj), '', 2)} / " \
               f"{fmt(statistics.median(x[1] for x in rj), '', 2)}" if rj else "n/a"
        ln_s = f"{fmt(statistics.median(x[0] for x in ln), '', 2)} / " \
               f"{fmt(statistics.median(x[1] for x in ln), '', 2)}" if ln else "n/a"
        lines.append(
            f"| {size} | {conv} | "
            f"{r['rss_standby']:.0f} / {r['rss_active']:.0f} | "
            f"{r['rss_standby'] / r['rss_active']:.2f} | {rj_s} | {ln_s} | "
            f"{standby_cpu_column(c)} |")
    if any(r.get("conv_dual") for r in results):
        lines.append("\n### Dual-RP: the table loaded with the standby on another host / "
                     "without (frr-ha, streams over the data channel, writes gated)\n")
        lines.append("| size | full-table convergence, standby host attached / without "
                     "(median s) | ratio | active bgpd CPU s attached / without | ratio | "
                     "bytes the standby host confirmed per byte received from the feed | "
                     "RSS active / standby MiB |")
        lines.append("|" + "---|" * 7)
    for r in results:
        c = r.get("conv_dual")
        if not c or not c["with"] or not c["without"]:
            continue
        rss = r.get("rss_dual", {})
        lines.append(f"| {size_of(r)} | {load_columns(c)} | "
                     f"{rss.get('active', 0):.0f} / {rss.get('standby', 0):.0f} |")
    lines += hold_table(results)
    lines.append("\n### Replication on the active (frr-ha TF, over the table loads)\n")
    lines.append("| size | a full link held a session back: times (all sessions) | hold ms p50 / p99 "
                 "/ max (worst session) | hand-over to protected ms p50 / max | sessions "
                 "unprotected at the end |")
    lines.append("|" + "---|" * 5)
    for r in results:
        rp = r.get("replication")
        if not rp:
            continue
        size = size_of(r)
        pa = rp["protected_after_ms"]
        pa_s = f"{fmt(pct(pa, .5))} / {fmt(max(pa))}" if pa else "n/a"
        lines.append(f"| {size} | {rp['backpressure_events']} | {rp['held_p50_ms']} / "
                     f"{rp['held_p99_ms']} / {rp['held_max_ms']} | {pa_s} | "
                     f"{len(rp['unprotected'])} |")
    lines.append("\n### Memory and descriptors at the same load (steady state, every peer "
                 "holds the table)\n")
    lines.append("| size | peers | case | RSS MiB: active / standby (pair) or bgpd (stock) | "
                 "zebra RSS MiB | active / stock | standby / stock | standby / active | "
                 "open fds active / standby or bgpd | first load: start to every peer full s |")
    lines.append("|" + "---|" * 10)
    for r in results:
        size = size_of(r)
        rss = r.get("rss", {})
        stock = next((rss[c]["bgpd"] for c in ("stock", "stock-gr") if c in rss), None)
        for case, m in rss.items():
            fds = r.get("fds", {}).get(case, {})
            fl = r.get("first_load", {}).get(case)
            if "active" in m:
                a, s = m["active"], m["standby"]
                lines.append(
                    f"| {size} | {r.get('peers_kind', 'gobgp')} | {CASE_NAMES[case]} | "
                    f"{a:.0f} / {s:.0f} | {m['zebra']:.0f} | "
                    f"{fmt(a / stock if stock else None, '', 2)} | "
                    f"{fmt(s / stock if stock else None, '', 2)} | {s / a:.2f} | "
                    f"{fds.get('active')} / {fds.get('standby')} | {fmt(fl, '', 1)} |")
            else:
                lines.append(
                    f"| {size} | {r.get('peers_kind', 'gobgp')} | {CASE_NAMES[case]} | "
                    f"{m['bgpd']:.0f} | {m['zebra']:.0f} | | | | {fds.get('bgpd')} | "
                    f"{fmt(fl, '', 1)} |")
    return "\n".join(lines) + "\n"


def plots(results, outdir):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        log("python3-matplotlib is not installed: no plots")
        return []
    made = []
    metrics = [("converged_ms", "peers converged after kill -9 (ms, p50)"),
               ("reannounced", "prefixes re-announced per switchover (max)"),
               ("flaps", "session flaps per switchover (max)")]
    for key, title in metrics:
        fig, ax = plt.subplots(figsize=(8, 4))
        labels = [f"{r['peers']}p/{r['prefixes'] // 1000}k/v{r['af']}" for r in results]
        cases = [c for c in CASE_NAMES if any(c in r["runs"] for r in results)]
        w = 0.8 / max(1, len(cases))
        for j, case in enumerate(cases):
            vals = []
            for r in results:
                runs = r["runs"].get(case, [])
                v = [x.get(key) or 0 for x in runs]
                vals.append((pct(v, .5) if key == "converged_ms" else max(v)) if v else 0)
            ax.bar([i + j * w for i in range(len(results))], vals, w, label=CASE_NAMES[case])
        ax.set_xticks([i + w * (len(cases) - 1) / 2 for i in range(len(results))])
        ax.set_xticklabels(labels)
        ax.set_title(title)
        ax.legend(fontsize=8)
        fig.tight_layout()
        path = f"{outdir}/{key}.png"
        fig.savefig(path, dpi=90)
        plt.close(fig)
        made.append(path)
    return made
