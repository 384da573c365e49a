"""Sharded JAX arrays: ``jax.jit(pixel_shuffle)`` keeps batch and spatial shardings, with no collective.

JAX fixes its device count when it starts, so the checks run in a fresh interpreter (this very
file, run as a script) with ``XLA_FLAGS=--xla_force_host_platform_device_count=8``; it prints
one JSON line per case and the tests below judge them.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ("jax",)

DEVICES = 8
MODES = ("auto", "explicit", "explicit-hook")

#: HLO instructions that move data between devices.
COLLECTIVE = re.compile(
    r"\b(all-gather|all-to-all|ragged-all-to-all|collective-permute|collective-broadcast|all-reduce"
    r"|reduce-scatter|send|recv)(?:-start|-done)?\("
)

# name: (input shape, mesh shape, partition spec of the input, inverse, options, factor)
# The output must keep the input's partition spec: batch and spatial axes stay where they are.
KEEPS_SHARDING: dict[str, tuple[Any, ...]] = {
    "shuffle batch": ((8, 16, 6, 6), (8,), ("d",), False, {}, 2),
    "shuffle H": ((2, 12, 16, 6), (8,), (None, None, "d"), False, {}, 2),
    "shuffle W": ((2, 12, 6, 16), (8,), (None, None, None, "d"), False, {}, 2),
    "shuffle H, DCR": ((2, 12, 16, 6), (8,), (None, None, "d"), False, {"order": "DCR"}, 2),
    "shuffle H, channels last": ((2, 16, 6, 12), (8,), (None, "d"), False, {"channels_last": True}, 2),
    "shuffle batch x H (2x4 mesh)": ((2, 18, 8, 5), (2, 4), ("a", None, "b"), False, {}, 3),
    "shuffle 3-D, depth axis": ((1, 16, 8, 3, 3), (8,), (None, None, "d"), False, {}, (2, 2, 2)),
    "shuffle channels, whole groups": ((2, 32, 4, 4), (8,), (None, "d"), False, {}, 2),
    "unshuffle batch": ((8, 3, 12, 12), (8,), ("d",), True, {}, 2),
    "unshuffle H": ((2, 3, 32, 6), (8,), (None, None, "d"), True, {}, 2),
    "unshuffle W, DCR, channels last": (
        (2, 6, 48, 3),
        (8,),
        (None, None, "d"),
        True,
        {"order": "DCR", "channels_last": True},
        (2, 3),
    ),
    "unshuffle channels": ((2, 8, 4, 4), (8,), (None, "d"), True, {}, 2),
}

# Shardings that cannot be kept without moving data between devices (measured, documented in
# docs/scaling.md): each device holds part of a group, or a DCR channel range spread over groups.
NEEDS_COMMUNICATION: dict[str, tuple[Any, ...]] = {
    "shuffle channels, groups split": ((2, 16, 4, 4), (8,), (None, "d"), False, {}, 2),
    "shuffle channels, DCR": ((2, 32, 4, 4), (8,), (None, "d"), False, {"order": "DCR"}, 2),
    "unshuffle channels, DCR": ((2, 8, 4, 4), (8,), (None, "d"), True, {"order": "DCR"}, 2),
    "unshuffle H, shards split blocks": ((2, 3, 16, 4), (8,), (None, None, "d"), True, {}, 4),
}


def _run_case(case: tuple[Any, ...], mode: str) -> dict[str, Any]:
    """In the subprocess: shard, jit, compile, run; report sharding, collectives and bytes.

    ``mode`` is ``auto`` (mesh axes of type Auto: XLA propagates shardings), ``explicit``
    (Explicit axes, the default of ``jax.make_mesh``: shardings are part of the types) or
    ``explicit-hook`` (Explicit axes, through ``subpixel._fast.jax_sharding`` directly).
    """
    import jax
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    import subpixel
    from subpixel._fast.jax_sharding import apply_plan_sharded

    shape, mesh_shape, spec, inverse, options, factor = case
    names = ("d",) if len(mesh_shape) == 1 else ("a", "b")
    axis_type = getattr(jax.sharding, "AxisType", None)
    if axis_type is None:
        if mode != "auto":
            return {"unsupported": f"JAX {jax.__version__} has no explicit mesh axes"}
        mesh = Mesh(np.array(jax.devices()[: int(np.prod(mesh_shape))]).reshape(mesh_shape), names)
    else:
        kind = axis_type.Auto if mode == "auto" else axis_type.Explicit
        mesh = jax.make_mesh(mesh_shape, names, axis_types=(kind,) * len(names))
    sharding = NamedSharding(mesh, PartitionSpec(*spec))
    rng = np.random.default_rng(0)
    data = rng.integers(0, 2**32, size=shape, dtype=np.uint32).view(np.float32)
    data.reshape(-1)[:4] = np.array([0x7FC00001, 0xFFC12345, 0x80000000, 0x00000001], np.uint32).view(
        np.float32
    )
    x = jax.device_put(data, sharding)
    fn = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
    if mode == "explicit-hook":
        plan = subpixel.shuffle_plan(shape, factor, inverse=inverse, **options)
        jitted = jax.jit(lambda a: apply_plan_sharded(a, plan))
    else:
        jitted = jax.jit(lambda a: fn(a, factor, **options))
    try:
        hlo = jitted.lower(x).compile().as_text()
        assert hlo is not None
        out = jitted(x)
    except Exception as error:  # reported, and judged by the tests
        return {"error": f"{type(error).__name__}: {error}"[:500]}
    expected = fn(data, factor, **options)
    return {
        "collectives": sorted({m.group(1) for m in COLLECTIVE.finditer(hlo)}),
        "out_spec": [str(p) for p in out.sharding.spec],
        "keeps_input_spec": out.sharding.is_equivalent_to(sharding, out.ndim),
        "shards": len({s.device for s in out.addressable_shards}),
        "same_bits": np.asarray(out).tobytes() == expected.tobytes() and out.shape == expected.shape,
    }


def _control() -> list[str]:
    """A reduction over a sharded axis: proves the detector sees a collective in compiled HLO."""
    import jax
    import jax.numpy as jnp
    import numpy as np
    from jax.sharding import Mesh, NamedSharding, PartitionSpec

    mesh = Mesh(np.array(jax.devices()), ("d",))
    x = jax.device_put(jnp.ones((8, 4)), NamedSharding(mesh, PartitionSpec("d")))
    hlo = jax.jit(lambda a: a.sum()).lower(x).compile().as_text()
    assert hlo is not None
    return sorted({m.group(1) for m in COLLECTIVE.finditer(hlo)})


def main() -> None:
    """Subprocess entry: print ``{"devices": n, "control": [...], "cases": {name: result}}``."""
    import jax

    cases = {**KEEPS_SHARDING, **NEEDS_COMMUNICATION}
    report = {
        "devices": len(jax.devices()),
        "jax": jax.__version__,
        "control": _control(),
        "cases": {name: {mode: _run_case(case, mode) for mode in MODES} for name, case in cases.items()},
    }
    print(json.dumps(report))


@pytest.fixture(scope="module")
def report() -> dict[str, Any]:
    env = {
        **os.environ,
        "XLA_FLAGS": f"--xla_force_host_platform_device_count={DEVICES}",
        "JAX_PLATFORMS": "cpu",
    }
    root = Path(__file__).resolve().parents[1]
    env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve())],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def test_eight_devices_and_detector_works(report: dict[str, Any]) -> None:
    assert report["devices"] == DEVICES
    assert "all-reduce" in report["control"]


# The sharding arithmetic alone, in this process: (shape, factor, inverse, options, input spec,
# expected input spec after resharding, expected result spec). One mesh axis "d" of size 8.
STEPS = [
    ((8, 16, 4, 4), 2, False, {}, ("d", None, None, None), ("d", None, None, None), ("d", None, None, None)),
    ((2, 16, 16, 4), 2, False, {}, (None, None, "d", None), (None, None, "d", None), (None, None, "d", None)),
    ((2, 32, 4, 4), 2, False, {}, (None, "d", None, None), (None, "d", None, None), (None, "d", None, None)),
    ((2, 16, 4, 4), 2, False, {}, (None, "d", None, None), (None,) * 4, (None,) * 4),
    ((2, 32, 4, 4), 2, False, {"order": "DCR"}, (None, "d", None, None), (None,) * 4, (None,) * 4),
    ((2, 4, 32, 4), 2, True, {}, (None, None, "d", None), (None, None, "d", None), (None, None, "d", None)),
    ((2, 4, 16, 4), 4, True, {}, (None, None, "d", None), (None,) * 4, (None,) * 4),
    ((2, 8, 4, 4), 2, True, {}, (None, "d", None, None), (None, "d", None, None), (None, "d", None, None)),
    (
        (2, 16, 4, 8),
        2,
        False,
        {"channels_last": True},
        (None, "d", None, None),
        (None, "d", None, None),
        (None, "d", None, None),
    ),
    (
        (2, 8, 4, 4),
        1,
        False,
        {"order": "DCR"},
        (None, "d", None, None),
        (None, "d", None, None),
        (None, "d", None, None),
    ),
]


@pytest.mark.parametrize(("shape", "factor", "inverse", "options", "spec", "start", "result"), STEPS)
def test_sharding_steps(
    shape: tuple[int, ...],
    factor: Any,
    inverse: bool,
    options: dict[str, Any],
    spec: tuple[str | None, ...],
    start: tuple[str | None, ...],
    result: tuple[str | None, ...],
) -> None:
    import subpixel
    from subpixel._fast.jax_sharding import sharding_steps

    def entries(names: tuple[Any, ...]) -> tuple[Any, ...]:
        return tuple(None if n is None else (n,) for n in names)

    plan = subpixel.shuffle_plan(shape, factor, inverse=inverse, **options)
    got_start, _, got_result = sharding_steps(shape, plan, entries(spec), {"d": 8})
    assert got_start == entries(start)
    assert got_result == entries(result)


def _result(report: dict[str, Any], name: str, mode: str) -> dict[str, Any]:
    result: dict[str, Any] = report["cases"][name][mode]
    if "unsupported" in result:
        pytest.skip(result["unsupported"])
    assert "error" not in result, result
    return result


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(KEEPS_SHARDING))
def test_batch_and_spatial_sharding_kept_without_collectives(
    report: dict[str, Any], name: str, mode: str
) -> None:
    result = _result(report, name, mode)
    assert result["same_bits"]
    assert result["collectives"] == []
    assert result["keeps_input_spec"], result["out_spec"]
    assert result["shards"] == math.prod(KEEPS_SHARDING[name][1])


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("name", list(NEEDS_COMMUNICATION))
def test_group_splitting_shardings_communicate_but_stay_exact(
    report: dict[str, Any], name: str, mode: str
) -> None:
    result = _result(report, name, mode)
    assert result["same_bits"]
    assert result["collectives"], "XLA now keeps this sharding without communication: update docs/scaling.md"
    assert set(result["out_spec"]) <= {"None"}, "the result is replicated"


if __name__ == "__main__":
    main()
