"""The torch fast path where NumPy is not installed, simulated in a subprocess.

The subprocess refuses every ``numpy`` import (a ``sys.meta_path`` finder raising
``ModuleNotFoundError``, so ``importlib.util.find_spec`` cannot see it either), then shuffles
tensors of every size route and compares their bytes and strides with PyTorch's own op. Real
NumPy-free installs are built from the wheel by the CI script; this test runs everywhere.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import subpixel
from tests.without_numpy import PROLOGUE

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ("torch",)

SCRIPT = PROLOGUE + textwrap.dedent(
    """
    import json

    import torch.autograd.forward_ad as fwad
    import torch.nn.functional as nnf

    import subpixel
    from subpixel import _routes
    from subpixel._fast import torch as fast_torch

    report = {"has_numpy": fast_torch.HAS_NUMPY, "unreachable": fast_torch.unreachable_routes()}
    failures = []

    def as_bytes(t):
        return t.contiguous().view(-1).view(torch.uint8)

    def same(a, b):
        a, b = a.detach(), b.detach()
        return (
            a.shape == b.shape and a.dtype == b.dtype and a.stride() == b.stride()
            and torch.equal(as_bytes(a), as_bytes(b))
        )

    generator = torch.Generator().manual_seed(0)
    routes = {}
    shapes = [(1, 8, 4, 4), (1, 4, 16, 250), (1, 4, 16, 258), (2, 16, 128, 128), (1, 4, 256, 2050)]
    for shape in shapes:
        for dtype in (torch.float32, torch.uint8, torch.int16, torch.float64):
            item = torch.empty((), dtype=dtype).element_size()
            count = 1
            for size in shape:
                count *= size
            raw = torch.randint(0, 256, (count * item,), dtype=torch.uint8, generator=generator)
            x = raw.view(dtype).reshape(shape)
            for fmt in (torch.contiguous_format, torch.channels_last):
                source = x.contiguous(memory_format=fmt)
                with _routes.counting() as seen:
                    cases = [
                        ("shuffle", subpixel.pixel_shuffle(source, 2), nnf.pixel_shuffle(source, 2)),
                        ("unshuffle", subpixel.pixel_unshuffle(source, 2), nnf.pixel_unshuffle(source, 2)),
                    ]
                for route, count in seen.items():
                    routes[route] = routes.get(route, 0) + count
                for name, ours, theirs in cases:
                    if not same(ours, theirs):
                        failures.append(f"{name} {shape} {dtype} {fmt}")

    x = torch.randn(1, 4, 16, 258, dtype=torch.float64, requires_grad=True)
    t = torch.randn_like(x)
    with _routes.counting() as seen:
        y = subpixel.pixel_shuffle(x, 2, order="DCR")
        g = torch.randn_like(y)
        (gx,) = torch.autograd.grad(y, x, g)
        with fwad.dual_level():
            dual = subpixel.pixel_shuffle(fwad.make_dual(x.detach(), t), 2, order="DCR")
            tangent = fwad.unpack_dual(dual).tangent
    for route, count in seen.items():
        routes[route] = routes.get(route, 0) + count
    if not same(gx, subpixel.pixel_unshuffle(g, 2, order="DCR")):
        failures.append("gradient")
    if tangent is None or not same(tangent, subpixel.pixel_shuffle(t, 2, order="DCR")):
        failures.append("forward-mode tangent")
    report.update(failures=failures, routes=routes, numpy_loaded="numpy" in sys.modules)
    print(json.dumps(report))
    """
)


def test_torch_path_without_numpy() -> None:
    src = Path(subpixel.__file__).resolve().parents[1]  # the subpixel this run tests
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT], capture_output=True, text=True, env=env, timeout=600, check=False
    )
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["has_numpy"] is False
    assert report["numpy_loaded"] is False
    assert report["failures"] == []
    assert "torch:numpy-free" not in report["unreachable"]
    assert set(report["unreachable"]) == {"torch:kernel", "torch:copy-into"}  # both need NumPy
    from subpixel._fast.torch import ROUTES

    assert set(report["routes"]) == set(ROUTES) - {"torch:kernel", "torch:copy-into"}
