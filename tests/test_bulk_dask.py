"""The Dask integration (v6core.dask) on a local cluster: same answers as the kernels.

Uses dask.distributed's LocalCluster when distributed is installed, else Dask's own
threaded and multiprocessing schedulers.
"""

from __future__ import annotations

import numpy as np
import pytest

dask = pytest.importorskip("dask", reason="the Dask integration needs dask (v6core[dask])")
da = pytest.importorskip("dask.array", reason="needs dask[array]")

from v6core import dask as vdask  # noqa: E402
from v6core import simulate as sim  # noqa: E402
from v6core._core import bulk  # noqa: E402


@pytest.fixture(scope="module", params=["threads", "processes", "distributed"])
def scheduler(request):
    if request.param == "distributed":
        distributed = pytest.importorskip("distributed",
                                          reason="LocalCluster needs dask.distributed")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1,
                                           processes=True, dashboard_address=None)
        client = distributed.Client(cluster)
        yield client
        client.close()
        cluster.close()
    else:
        yield request.param


def test_simulate_on_dask_equals_local(scheduler):
    ds = sim.synthetic_fleet(lookups=30_000, hosts=300, services=500, seed=11)
    specs = ["rfc6724", "glibc", "musl"]
    local = sim.simulate(ds, [sim.parse_policy(s) for s in specs]).to_dict()
    got = vdask.simulate(ds, specs, max_rows=20_000, scheduler=scheduler).to_dict()
    assert got["lookups"] == local["lookups"] == 30_000
    assert got["policies"] == local["policies"]
    # the runtime mix too: each chunk draws its lookups' runtimes by their dataset index
    assert got["runtimes"] == local["runtimes"]
    del got["seconds"], local["seconds"]
    assert got == local


def test_order_groups_on_dask_arrays(scheduler):
    rng = np.random.default_rng(2)
    n = 40_000
    dst = rng.integers(0, 256, (n, 16), dtype=np.uint8)
    dst[::3, :12] = [0] * 10 + [255, 255]
    src = dst.copy()
    src[:, 12:] = rng.integers(0, 256, (n, 4), dtype=np.uint8)
    flags = (rng.random(n) < 0.9).astype(np.uint8)
    sizes = rng.integers(1, 6, n)
    offsets = np.concatenate([[0], np.cumsum(sizes)])
    offsets = offsets[offsets <= n]
    offsets = np.append(offsets, n) if offsets[-1] != n else offsets
    for flavor in bulk.FLAVORS:
        want = bulk.order_groups(dst, src, flags, offsets=offsets, flavor=flavor)
        ddst = da.from_array(dst, chunks=(7_000, 16))
        first, rule, exact = vdask.order_groups(ddst, da.from_array(src, chunks=(9_000, 16)),
                                                flags, offsets=offsets, flavor=flavor,
                                                max_rows=5_000)
        f, r, e = dask.compute(first, rule, exact, scheduler=scheduler)
        assert np.array_equal(f, want.first) and np.array_equal(r, want.rule)
        assert np.array_equal(e, want.exact)
