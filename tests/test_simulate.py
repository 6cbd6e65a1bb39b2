"""``v6core simulate`` and v6core.simulate: datasets, reports, the CLI.

The report is checked against an independent replay of every lookup through the
per-call API (select_source for each candidate's source, sort_destinations and explain
for the order and the deciding rule) and ``ipaddress`` for the destination classes.
"""

from __future__ import annotations

import ipaddress
import json
import os
import subprocess
import sys
from collections import Counter

import numpy as np
import pytest

from tests.support import V6CORE_PATH as SRC
from v6core import SourceAddress, explain, select_source, sort_destinations
from v6core import simulate as sim
from v6core._core import bulk
from v6core._core.addr import to_text_many
from v6core.cli import main


def _cls(text: str) -> str:
    a = ipaddress.ip_address(text)
    if a.version == 4:
        return "IPv4"
    for net, name in (("fc00::/7", "ULA"), ("2002::/16", "6to4"), ("2001::/32", "Teredo"),
                      ("2000::/3", "global IPv6")):
        if a in ipaddress.ip_network(net):
            return name
    return "link-local/other IPv6"


def _old_assign(first_lookup, profile, n, cum, seed=0):
    # the runtime draw as first written: a float per lookup against the cumulative
    # shares of its profile's row (assign must give exactly these codes)
    from v6core.simulate.runtimes import _uniform
    u = _uniform(np.arange(first_lookup, first_lookup + n, dtype=np.int64), seed)
    prof = (np.full(n, cum.shape[0] - 1, np.int64) if profile is None
            else profile.astype(np.int64))
    return np.minimum((u[:, None] >= cum[prof]).sum(axis=1), 4).astype(np.uint8)


def _replay(dataset: sim.Dataset, policies: list[sim.Policy], runtime_cum=None) -> dict:
    """Every lookup through the per-call API; returns counters per policy.

    With ``runtime_cum`` (the report's mix table) each lookup's process also gets a
    runtime (the chunk's column, or the draw), and its first choice under each policy
    is that of the resolver the runtime uses (``runtime.reorder`` on top for Java)."""
    from v6core._core.addr import pack
    from v6core.runtime import parse_runtime
    from v6core.simulate import runtimes as rt
    fleet = dataset.fleet
    cand_text = to_text_many(fleet.candidates)
    host_sources = []
    for h in range(fleet.hosts):
        srcs = []
        for i in range(int(fleet.host_offsets[h]), int(fleet.host_offsets[h + 1])):
            f = int(fleet.cand_flags[i])
            p = int(fleet.cand_plen[i])
            srcs.append(SourceAddress(cand_text[i], None if p == bulk.PLEN_UNKNOWN else p,
                                      deprecated=bool(f & bulk.FLAG_DEPRECATED),
                                      temporary=bool(f & bulk.FLAG_TEMPORARY)))
        host_sources.append(srcs)
    out = {p.name: Counter() for p in policies}
    firsts: dict[str, list] = {p.name: [] for p in policies}
    rt_firsts: dict[str, list] = {p.name: [] for p in policies}
    fams = ("v6", "v4", "none")
    seen = 0
    for c in dataset.iter_chunks():
        dst_text = to_text_many(c.dst)
        codes = None
        if runtime_cum is not None:
            codes = (c.runtime if c.runtime is not None else _old_assign(
                seen, None if fleet.profile is None else fleet.profile[c.host], c.lookups,
                runtime_cum))
        seen += c.lookups
        for g in range(c.lookups):
            dests = dst_text[int(c.offsets[g]):int(c.offsets[g + 1])]
            if not dests:
                continue
            host = int(c.host[g])
            prof = None if fleet.profile is None else int(fleet.profile[host])
            srcs = [select_source(d, host_sources[host]) for d in dests]

            def family(first, dests=dests, srcs=srcs):
                i = dests.index(first)     # a repeated address has the same source
                if srcs[i] is None:
                    return i, "none"
                return i, "v4" if _cls(first) == "IPv4" else "v6"

            for p in policies:
                order = sort_destinations(dests, srcs, flavor=p.flavor, policy=p.table)
                first = order[0]
                i, fam = family(first)
                cnt = out[p.name]
                cnt["lookups"] += 1
                if fam == "none":
                    cnt["unreachable"] += 1
                else:
                    cnt[_cls(first)] += 1
                    if srcs[i].address and _cls(srcs[i].address) == "ULA":
                        cnt["from ULA"] += 1
                if prof is not None:
                    cnt["profile", prof, fam] += 1
                steps = explain(dests, srcs, flavor=p.flavor, policy=p.table).steps
                cnt[f"rule{(steps[0].rule or 0) if steps else 0}"] += 1
                firsts[p.name].append((i, fam))
                if codes is None:
                    continue
                name = rt.RUNTIMES[int(codes[g])]
                flavor, table = ((p.flavor, p.table) if rt.applies(p.flavor, name)
                                 else (rt.LIBC_OF[name], None))
                order = sort_destinations(dests, srcs, flavor=flavor, policy=table)
                if name in ("java", "node"):
                    order = parse_runtime(name).reorder(order, pack)
                i, fam = family(order[0])
                cnt["runtime", name, fam] += 1
                rt_firsts[p.name].append((name, i))
    base, rt_base = firsts[policies[0].name], rt_firsts[policies[0].name]
    for p in policies[1:]:
        mine = firsts[p.name]
        out[p.name]["changed"] = sum(a[0] != b[0] for a, b in zip(base, mine, strict=True))
        for a in fams:
            for b in fams:
                out[p.name][a, b] = sum(x[1] == a and y[1] == b
                                        for x, y in zip(base, mine, strict=True))
        out[p.name]["v6->v4"] = out[p.name]["v6", "v4"]
        out[p.name]["v4->v6"] = out[p.name]["v4", "v6"]
        for x, y in zip(rt_base, rt_firsts[p.name], strict=True):
            out[p.name]["runtime changed", x[0]] += x[1] != y[1]
    return out


def _check_report(rep: sim.Report, want: dict, runtimes: bool = False) -> None:
    """The whole report against ``_replay``'s counters (all but ``exact``, which only
    says which path of the bulk kernel ran)."""
    from v6core.simulate import runtimes as rt
    fams = ("v6", "v4", "none")
    for k, (p, s) in enumerate(zip(rep.policies, rep.stats, strict=True)):
        w = want[p.name]
        assert s.lookups == w["lookups"] == rep.lookups
        assert s.lookups - s.reachable == w["unreachable"]
        for i, name in enumerate(sim.DEST_CLASSES):
            assert s.first_class[i] == w[name], (p.name, name)
        assert s.first_src_ula == w["from ULA"]
        for r in range(11):
            assert s.rule[r] == w[f"rule{r}"], (p.name, r)
        if s.by_profile is not None:
            got = {(i, fams[j]): int(s.by_profile[i, j]) for i in range(len(s.by_profile))
                   for j in range(3)}
            assert got == {(i, f): w["profile", i, f] for i, f in got}, p.name
        if k:
            assert s.changed == w["changed"]
            assert s.moves.tolist() == [[w[a, b] for b in fams] for a in fams], p.name
        if runtimes:
            got = {(n, fams[j]): int(rep.runtime_stats[k][r, j])
                   for r, n in enumerate(rt.RUNTIMES) for j in range(3)}
            assert got == {(n, f): w["runtime", n, f] for n, f in got}, p.name
            if k:
                assert rep.runtime_changed[k].tolist() == [
                    w["runtime changed", n] for n in rt.RUNTIMES], p.name


POLICIES = [sim.parse_policy(s) for s in ("rfc6724", "glibc", "musl")]


@pytest.fixture(scope="module")
def small():
    return sim.synthetic_fleet(lookups=1500, hosts=60, services=200, seed=3)


def test_report_equals_per_call_replay(small):
    rep = sim.simulate(small, POLICIES, max_rows=700)          # several chunks
    want = _replay(small, POLICIES)
    assert rep.lookups == 1500
    _check_report(rep, want)
    # the fleet is built so that the flavours disagree somewhere
    assert any(s.changed for s in rep.stats[1:])


def test_ula_label_fix_in_gai_conf(tmp_path):
    # The RFC 6724 rule 5 story: a container whose only IPv6 source is a ULA prefers IPv4
    # to a global IPv6 destination (labels 13 vs 1 differ; IPv4's 4 == 4).  In glibc a
    # single "label fd00::/8 1" line replaces the label table (plus a catch-all ::/0 1),
    # so every label matches and precedence (40 > 10) puts IPv6 first.
    data = tmp_path / "lookups.csv"
    data.write_text("lookup,destination,source,prefixlen,flags\n"
                    "a,192.0.2.10,10.1.2.3,24,\n"
                    "a,2001:db8::10,fd00::1234,64,\n"
                    "b,2001:db8::20,,,\n"
                    "b,198.51.100.7,10.1.2.3,24,\n")
    conf = tmp_path / "fix.conf"
    conf.write_text("label fd00::/8 1\n")
    pols = [sim.parse_policy(s) for s in ("glibc", f"glibc:{conf}", "musl")]
    rep = sim.simulate(sim.load(str(data)), pols)
    base, fixed, musl = rep.stats
    assert base.first_class[sim.DEST_CLASSES.index("IPv4")] == 2
    assert base.rule[5] == 1 and base.rule[1] == 1      # lookup b: IPv6 unreachable
    assert fixed.first_class[sim.DEST_CLASSES.index("global IPv6")] == 1
    assert fixed.rule[6] == 1 and fixed.moves[1, 0] == 1 and fixed.changed == 1
    assert musl.first_class[sim.DEST_CLASSES.index("IPv4")] == 2   # musl cannot be fixed
    assert rep.policies[1].name == "glibc+fix.conf"


def test_formats_round_trip(small, tmp_path):
    want = sim.simulate(small, POLICIES).to_dict()
    npz = tmp_path / "fleet.npz"
    sim.save_npz(small, npz)
    got = sim.simulate(sim.load(str(npz)), POLICIES, max_rows=1000).to_dict()
    lk, hs = tmp_path / "lookups.csv", tmp_path / "hosts.csv"
    sim.write_csv(small, str(lk), str(hs))
    got_csv = sim.simulate(sim.load(str(lk), hosts=str(hs)), POLICIES, max_rows=333).to_dict()
    # a directory of .npy files is memory-mapped
    d = tmp_path / "npy"
    d.mkdir()
    with np.load(npz) as z:
        for k in z.files:
            np.save(d / f"{k}.npy", z[k])
    got_dir = sim.simulate(sim.load(str(d)), POLICIES).to_dict()
    for g in (got, got_csv, got_dir):
        for name in want["policies"]:
            a = {k: v for k, v in want["policies"][name].items()
                 if k != "ipv6_share_by_profile"}
            b = {k: v for k, v in g["policies"][name].items() if k != "ipv6_share_by_profile"}
            assert a == b
        assert g["lookups"] == want["lookups"] and g["candidates"] == want["candidates"]


def test_resolved_npz_and_csv_agree(tmp_path):
    data = tmp_path / "r.csv"
    data.write_text("lookup,destination,source,prefixlen,flags\n"
                    "1,2001:db8::1,2001:db8::2,64,deprecated\n"
                    "1,2001:db8:1::1,2001:db8:1::2,64,\n"
                    "2,192.0.2.1,192.0.2.9,24,\n")
    ds = sim.load(str(data))
    rep = sim.simulate(ds, POLICIES)
    # rule 3 (deprecated source) decides lookup 1 in rfc6724 and glibc; musl has no rule 3
    assert rep.stats[0].rule[3] == 1 and rep.stats[1].rule[3] == 1
    assert rep.stats[2].rule[3] == 0
    out = tmp_path / "r.npz"
    sim.save_npz(ds, out)
    assert sim.simulate(sim.load(str(out)), POLICIES).to_dict()["policies"] == \
        rep.to_dict()["policies"]


def test_parquet(tmp_path):
    pa = pytest.importorskip("pyarrow", reason="Parquet support needs pyarrow")
    import pyarrow.parquet as pq
    t = pa.table({"lookup": ["x", "x"], "destination": ["2001:db8::1", "192.0.2.1"],
                  "source": ["fd00::1", "10.0.0.1"], "prefixlen": [64, 8], "flags": ["", ""]})
    pq.write_table(t, tmp_path / "d.parquet")
    rep = sim.simulate(sim.load(str(tmp_path / "d.parquet")), POLICIES)
    assert rep.stats[0].first_class[sim.DEST_CLASSES.index("IPv4")] == 1


# ---------------------------------------------------------------- CLI

def test_cli_default_runs_on_the_built_in_fleet(capsys):
    assert main(["simulate", "--no-progress", "-n", "20000"]) == 0
    out = capsys.readouterr().out
    assert "20,000 lookups" in out
    header = next(line for line in out.splitlines() if "first connection attempt" in line)
    assert header.split()[-3:] == ["rfc6724", "glibc", "musl"]
    assert "prefer matching label" in out and "by host profile" in out


def test_cli_no_arguments_subprocess_is_quick():
    env = dict(os.environ, PYTHONPATH=SRC)
    r = subprocess.run([sys.executable, "-m", "v6core", "simulate"], capture_output=True,
                       text=True, timeout=60, env=env)
    assert r.returncode == 0, r.stderr
    assert "lookups" in r.stdout and "IPv6" in r.stdout and "IPv4" in r.stdout


def test_cli_json_and_plot(capsys, tmp_path):
    pytest.importorskip("matplotlib", reason="--plot needs matplotlib")
    png = tmp_path / "p.png"
    assert main(["simulate", "--no-progress", "-n", "5000", "--json", "--plot", str(png),
                 "-p", "glibc", "-p", "musl"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["lookups"] == 5000 and doc["baseline"] == "glibc"
    assert set(doc["policies"]) == {"glibc", "musl"}
    g = doc["policies"]["glibc"]
    assert g["first_ipv6"] + g["first_ipv4"] + g["no_reachable"] == 5000
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_cli_save(tmp_path, capsys):
    out = tmp_path / "f.npz"
    assert main(["simulate", "-n", "100", "--save", str(out)]) == 0
    with np.load(out) as z:
        assert z["offsets"].shape == (101,) and z["dst"].shape[1] == 16


@pytest.mark.parametrize("argv, message", [
    (["simulate", "/nonexistent.npz"], "/nonexistent.npz: no such file"),
    (["simulate", "-p", "bsd"], "unknown flavor 'bsd'"),
    (["simulate", "-p", "glibc:/nonexistent.conf"], "/nonexistent.conf: no such file"),
    (["simulate", "--hosts", "h.csv"], "--hosts needs a DATASET"),
])
def test_cli_errors_are_one_line(argv, message, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("body, message", [
    ("lookup,destination,source\n1,2001:db8::1,fd00::1\n1,300.1.1.1,10.0.0.1\n", ":3: item"),
    ("lookup,destination,source\n1,::1,::1\n2,::1,::1\n1,::1,::1\n", ":4: lookup '1' continues"),
    ("lookup,destination\n1,::1\n", ":2: missing column 'source'"),
    ("lookup,destination,source,flags\n1,::1,::1,shiny\n", ":2: unknown flag 'shiny'"),
    ("lookup,destination,source,prefixlen\n1,::1,::1,200\n", ":2: prefix length 200"),
])
def test_cli_bad_csv_names_file_and_line(tmp_path, body, message, capsys):
    f = tmp_path / "bad.csv"
    f.write_text(body)
    assert main(["simulate", str(f)]) == 2
    err = capsys.readouterr().err
    assert f"bad.csv{message}" in err and "Traceback" not in err


def test_cli_bad_numbers(capsys):
    with pytest.raises(SystemExit) as e:
        main(["simulate", "-n", "lots"])
    assert e.value.code == 2
    assert "'lots' is not a whole number" in capsys.readouterr().err


def test_bad_npz(tmp_path, capsys):
    f = tmp_path / "x.npz"
    np.savez(f, dst=np.zeros((2, 16), np.uint8), offsets=np.array([0, 2]))
    assert main(["simulate", str(f)]) == 2
    assert "needs either host" in capsys.readouterr().err
    np.savez(f, dst=np.zeros((2, 16), np.uint8), offsets=np.array([0, 3]), src=np.zeros(
        (2, 16), np.uint8), flags=np.zeros(2, np.uint8), plen=np.zeros(2, np.uint8))
    assert main(["simulate", str(f)]) == 2
    assert "end at the row count 2" in capsys.readouterr().err


def test_streaming_keeps_memory_bounded(tmp_path):
    # A memory-mapped .npy directory is read chunk by chunk: the traced allocations stay
    # far below the size of the destination array.
    import tracemalloc
    ds = sim.synthetic_fleet(lookups=120_000, hosts=100, services=300, seed=1)
    npz = tmp_path / "f.npz"
    sim.save_npz(ds, npz)
    d = tmp_path / "npy"
    d.mkdir()
    with np.load(npz) as z:
        for k in z.files:
            np.save(d / f"{k}.npy", z[k])
        dst_bytes = z["dst"].nbytes
    loaded = sim.load(str(d))
    tracemalloc.start()
    rep = sim.simulate(loaded, [sim.parse_policy("glibc")], max_rows=8192)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert rep.lookups == 120_000
    assert peak < dst_bytes / 4, (peak, dst_bytes)


# ------------------------------------------------------------------ the package's seams

def test_public_names_survive_the_split():
    # the names v6core.simulate exported as one module; each still resolves from the package
    before = ["Chunk", "Dataset", "Policy", "Report", "synthetic_fleet", "load", "save_npz",
              "write_csv", "parse_policy", "simulate", "empty_report", "add_chunk",
              "merge_reports", "format_report", "plot_report", "DEST_CLASSES", "RULE_NAMES",
              "ConfigError", "FLAG_NAMES", "Fleet", "PROFILES", "SERVICES", "PolicyStats",
              "classify_destinations", "progress_bar", "report_json"]
    missing = [n for n in before if not hasattr(sim, n)]
    assert not missing
    assert sorted(sim.__all__) == sorted(set(sim.__all__))
    assert callable(sim.simulate) and sim.simulate.__module__ == "v6core.simulate.engine"


def test_the_seams_import_one_way():
    # datasets -> engine -> render: the simulation reads no files and renders nothing
    import ast
    pkg = os.path.join(SRC, "v6core", "simulate")
    # runtimes (the runtime mix and the bulk Java/Node step) is a leaf the others may use
    allowed = {"dataset": set(), "runtimes": set(), "fleet": {"dataset"},
               "readers": {"dataset", "fleet", "runtimes"},
               "engine": {"dataset", "runtimes"}, "render": {"engine", "runtimes"}}
    for mod, ok in allowed.items():
        with open(os.path.join(pkg, mod + ".py")) as fh:
            tree = ast.parse(fh.read())
        used = {n.module.rsplit(".", 1)[1] for n in ast.walk(tree)
                if isinstance(n, ast.ImportFrom) and n.module
                and n.module.startswith("v6core.simulate.")}
        assert used <= ok, (mod, used - ok)


# ---------------------------------------------------------------- runtime mix

def _py_reorder(groups, runtime, option):
    # the per-call oracle: v6core.runtime.Runtime.reorder, one group at a time
    from v6core._core.addr import pack
    from v6core.runtime import parse_runtime
    rt = parse_runtime(f"{runtime}:{option}")
    return [rt.reorder(g, pack) for g in groups]


@pytest.mark.parametrize("runtime,option", [("java", "false"), ("java", "true"),
                                            ("java", "system"), ("node", "verbatim"),
                                            ("node", "ipv4first"), ("node", "ipv6first")])
def test_bulk_runtime_step_equals_runtime_reorder(runtime, option):
    from v6core._core.addr import pack_many
    from v6core.simulate.runtimes import reorder_groups
    rng = np.random.default_rng(7)
    pool = ["2001:db8::1", "2001:db8::2", "192.0.2.1", "192.0.2.2", "fd00::1", "10.0.0.1",
            "::ffff:198.51.100.1"]
    groups = [[pool[i] for i in rng.integers(0, len(pool), rng.integers(0, 7))]
              for _ in range(400)]
    flat = [a for g in groups for a in g]
    dst = pack_many(flat)
    offsets = np.cumsum([0] + [len(g) for g in groups])
    order = np.arange(len(flat))
    o, offs = reorder_groups(order, offsets, dst, runtime, option)
    got = [[flat[int(i)] for i in o[offs[g]:offs[g + 1]]] for g in range(len(groups))]
    assert got == _py_reorder(groups, runtime, option)


def test_runtime_mix_policy_helps_only_its_processes(tmp_path):
    from v6core.simulate import runtimes as rt
    ds = sim.synthetic_fleet(lookups=20000, hosts=300, seed=3)
    conf = tmp_path / "ula.conf"
    conf.write_text("label fd00::/8 1\n")
    rep = sim.simulate(ds, [sim.parse_policy("glibc"), sim.parse_policy(f"glibc:{conf}"),
                            sim.parse_policy("rfc6724-update")])
    d = rep.to_dict()["runtimes"]
    fix = d[rep.policies[1].name]
    for name in ("musl", "go"):
        assert fix[name]["changed_vs_baseline"] == 0 and fix[name]["resolver"] == name
    assert fix["glibc"]["changed_vs_baseline"] > 0
    # Java puts IPv4 first whatever glibc's table says (every lookup here has IPv4 or none)
    assert fix["java"]["first_ipv6"] <= d["glibc"]["java"]["first_ipv6"] + 0
    # today's Go is untouched by a glibc fix; the draft row models Go adopting it
    assert d["rfc6724-update"]["go"]["resolver"] == "rfc6724-update"
    assert sum(v["lookups"] for v in fix.values()) == rep.lookups
    assert set(fix) <= set(rt.RUNTIMES)


def test_runtime_column_unknown_value_is_named(tmp_path, capsys):
    from v6core.cli import main
    f = tmp_path / "lk.csv"
    f.write_text("lookup,destination,source,prefixlen,flags,runtime\n"
                 "1,2001:db8::1,2001:db8::5,64,,go\n1,192.0.2.1,10.0.0.5,24,,go\n"
                 "2,2001:db8::1,2001:db8::5,64,,rust\n")
    assert main(["simulate", str(f), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"{f}:4" in err and "'rust'" in err and "Traceback" not in err
    f.write_text("lookup,destination,source,prefixlen,flags,runtime\n"
                 "1,2001:db8::1,2001:db8::5,64,,java\n1,192.0.2.1,10.0.0.5,24,,java\n")
    rep = sim.simulate(sim.load(str(f)), [sim.parse_policy("glibc")])
    assert rep.to_dict()["runtimes"]["glibc"]["java"]["first_ipv4"] == 1


def _with_empty_lookups(ds: sim.Dataset, every: int, runtimes=None) -> sim.Dataset:
    """``ds`` with an empty lookup (a name that resolved to nothing) after every
    ``every``-th lookup of each chunk; ``runtimes(rng, n)`` gives a runtime column.
    Its chunks are ``ds``'s of 700 rows whatever the caller asks (the same lookups)."""
    def chunks(max_rows):
        rng = np.random.default_rng(5)
        for c in ds.iter_chunks(700):
            at = np.arange(every, c.lookups, every)
            sizes = np.insert(np.diff(c.offsets), at, 0)
            offsets = np.zeros(sizes.shape[0] + 1, np.int64)
            np.cumsum(sizes, out=offsets[1:])
            yield sim.Chunk(offsets, c.dst, host=np.insert(c.host, at, c.host[at - 1]),
                            runtime=None if runtimes is None
                            else runtimes(rng, sizes.shape[0]))
    return sim.Dataset(f"{ds.name}, empty lookups", None, chunks, ds.fleet, ds.meta)


@pytest.mark.parametrize("specs, mix, column", [
    # glibc's own and a gai.conf table, musl, and the draft (every runtime uses it)
    (("glibc", "glibc:FIX", "musl", "rfc6724-update"), None, False),
    # no policy is glibc: Java's and Node's glibc order runs for their lookups only
    (("musl", "go", "rfc6724"), {"java": 0.4, "node": 0.2, "glibc": 0.2, "go": 0.1,
                                 "musl": 0.1}, False),
    # the dataset's own runtime column
    (("go", "glibc", "rfc6724-update"), None, True),
])
def test_runtime_report_equals_per_call_replay(small, tmp_path, specs, mix, column):
    conf = tmp_path / "fix.conf"
    conf.write_text("label fd00::/8 1\n")
    pols = [sim.parse_policy(s.replace("FIX", str(conf))) for s in specs]
    ds = _with_empty_lookups(
        small, 9, (lambda rng, n: rng.choice(5, n, p=[.1, .1, .2, .4, .2]).astype(np.uint8))
        if column else None)
    rep = sim.simulate(ds, pols, runtime_mix=mix)          # several chunks (700 rows)
    assert rep.lookups == 1500 and rep.seen > 1500                     # empty ones read
    _check_report(rep, _replay(ds, pols, rep.runtime_cum), runtimes=True)
    # Java's step and the policies' disagreement are both exercised
    java = sim.runtimes.RUNTIMES.index("java")
    assert all(rs[java, 1] for rs in rep.runtime_stats)
    assert any(rc.any() for rc in rep.runtime_changed[1:])


@pytest.mark.parametrize("runtime,option", [("java", None), ("java", "false"),
                                            ("java", "true"), ("java", "system"),
                                            ("node", None), ("node", "verbatim"),
                                            ("node", "ipv4first"), ("node", "ipv6first")])
def test_first_after_step_equals_runtime_reorder(runtime, option):
    # the first row after the step, found without the step, against Runtime.reorder on
    # groups with repeated addresses, one or both families, and empty groups; the C
    # library's order is a shuffle of each group
    from v6core._core.addr import pack, pack_many
    from v6core.runtime import parse_runtime
    from v6core.simulate.runtimes import first_after_step, is_ipv4
    rng = np.random.default_rng(11)
    pool = ["2001:db8::1", "2001:db8::2", "192.0.2.1", "192.0.2.2", "fd00::1", "10.0.0.1",
            "::ffff:198.51.100.1", "::1", "::"]
    groups = [[pool[i] for i in rng.integers(0, k, rng.integers(0, 8))]
              for k in rng.choice([2, 4, 9], 600)]                # some all-IPv6 groups
    groups += [[], ["192.0.2.1"] * 3, ["10.0.0.1", "192.0.2.1"], ["fd00::1"] * 2]
    flat = [a for g in groups for a in g]
    dst = pack_many(flat)
    offsets = np.cumsum([0] + [len(g) for g in groups])
    order = np.concatenate([offsets[g] + rng.permutation(len(groups[g]))
                            for g in range(len(groups))]).astype(np.int64)
    sizes = np.diff(offsets)
    first = np.where(sizes > 0, order[np.minimum(offsets[:-1], len(flat) - 1)], -1)
    spec = runtime if option is None else f"{runtime}:{option}"
    want = [parse_runtime(spec).reorder([flat[i] for i in order[offsets[g]:offsets[g + 1]]],
                                        pack) for g in range(len(groups))]
    sel = rng.random(len(groups)) < 0.5
    for got in (first_after_step(first, order, offsets, dst, runtime, option),
                first_after_step(first, order, offsets, None, runtime, option,
                                 v4=is_ipv4(dst))):
        for g in range(len(groups)):
            if not groups[g]:
                assert got[g] == -1
                continue
            assert offsets[g] <= got[g] < offsets[g + 1]
            assert flat[int(got[g])] == want[g][0], (g, groups[g])
    # only the selected groups stepped; the others keep the C library's first row
    part = first_after_step(first, order, offsets, dst, runtime, option, groups=sel)
    assert np.array_equal(part[sel], got[sel]) and np.array_equal(part[~sel], first[~sel])
    # a group nobody ordered (first -1) stays -1
    unordered = first.copy()
    unordered[::3] = -1
    assert (first_after_step(unordered, order, offsets, dst, runtime, option)[::3] == -1).all()


def test_first_after_step_bad_runtime_or_option():
    from v6core.simulate.runtimes import first_after_step, reorder_groups
    z = np.zeros(0, np.int64)
    d = np.zeros((0, 16), np.uint8)
    for bad, match in ((("go", None), "'go' has no step"),
                       (("java", "maybe"), "unknown option 'maybe'")):
        with pytest.raises(ValueError, match=match):
            first_after_step(z, z, np.zeros(1, np.int64), d, *bad)
        with pytest.raises(ValueError, match=match):
            reorder_groups(z, np.zeros(1, np.int64), d, *bad)


def test_assign_draws_what_the_float_formula_draws():
    # assign counts integer thresholds; it must draw exactly the runtimes of the float
    # comparison it replaced, also where a share equals a draw to the last bit
    from v6core.simulate import runtimes as rt
    u = rt._uniform(np.arange(100, 140, dtype=np.int64), 0)
    edge = np.sort(np.concatenate([u[:4], np.nextafter(u[4:8], 0), np.nextafter(u[8:12], 1)]))
    tables = [rt.mix_table(()), rt.mix_table(tuple(n for n, _, _ in sim.PROFILES)),
              rt.mix_table(("a", "b"), {"go": 1.0}), rt.mix_table(("a",), {"java": 0.0,
                                                                          "node": 2.0}),
              np.array([[edge[0], edge[3], edge[3], edge[7], 1.0],
                        [edge[2], edge[5], edge[9], edge[11], 1.0],
                        [0.0, 0.0, 0.0, 0.0, 1.0]])]
    rng = np.random.default_rng(2)
    for cum in tables:
        for first, n in ((0, 0), (100, 40), (7, 5000), (2**40 - 3, 3000)):
            for seed in (0, 9):
                for prof in (None, rng.integers(0, cum.shape[0], n).astype(np.int16)):
                    got = rt.assign(first, prof, n, cum, seed)
                    assert got.dtype == np.uint8
                    assert np.array_equal(got, _old_assign(first, prof, n, cum, seed))
    # the edge table does decide differently on either side of a draw
    cum = tables[-1]
    codes = rt.assign(100, np.zeros(40, np.int16), 40, cum)
    assert len(set(codes.tolist())) >= 3
    # a table that is not thresholds in order, or has more rows than the thresholds'
    # offsets allow, still draws as before; so do negative profiles (numpy's indexes)
    odd = np.array([[0.5, 0.2, 0.9, 0.7, 1.0]])
    assert np.array_equal(rt.assign(0, None, 2000, odd), _old_assign(0, None, 2000, odd))
    many = rt.mix_table(tuple(f"p{i}" for i in range(600)), {"go": 1, "java": 1})
    prof = rng.integers(-600, 600, 3000).astype(np.int16)
    assert np.array_equal(rt.assign(9, prof, 3000, many), _old_assign(9, prof, 3000, many))
    cum = tables[1]
    prof = rng.integers(-cum.shape[0], cum.shape[0], 3000).astype(np.int16)
    assert np.array_equal(rt.assign(9, prof, 3000, cum), _old_assign(9, prof, 3000, cum))
    with pytest.raises(IndexError):
        rt.assign(0, np.array([cum.shape[0]], np.int16), 1, cum)
