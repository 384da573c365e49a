"""Fuzzing at volume: random valid and invalid calls on every requested backend.

Every valid call must agree with the index-formula reference of :mod:`tests.reference` bit for
bit; every invalid call must raise exactly ``TypeError`` or ``ValueError`` whose message names
an argument at fault, never another exception and never a result.

The example counts come from hypothesis: ``HYPOTHESIS_PROFILE=ci`` (CI) or ``long`` (the long
run of ``benchmarks/reliability_long.py``), printed with ``--hypothesis-show-statistics``.
"""

from __future__ import annotations

import importlib.util
import json
import math
import sys
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

import subpixel
from tests.backends import Backend, requested_backends, to_numpy
from tests.reference import (
    NUMPY_LAYOUTS,
    TORCH_LAYOUTS,
    Laid,
    Verdict,
    judge,
    names,
    numpy_layout,
    output_shape,
    owner_bytes,
    reference,
    torch_layout,
)
from tests.values import assert_same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

#: The ``backend`` fixture is a plain parameter, safe to share between examples.
fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

ALL_DTYPES = (
    "bool",
    "int8",
    "uint8",
    "int16",
    "uint16",
    "int32",
    "uint32",
    "int64",
    "uint64",
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
)
DTYPES = {
    Backend.ARRAY_API_STRICT: tuple(d for d in ALL_DTYPES if d != "float16"),  # not in the standard
}
NUMPY_INTS = (np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint64, np.intp)

#: At most this many elements per fuzz input: big enough for every corner, small enough for volume.
MAX_ELEMENTS = 4096

#: Dask rechunks inputs whose chunks split a channel group, with a ChunkingWarning (a hint
#: about speed): the results are what is checked here.
pytestmark = pytest.mark.filterwarnings("ignore::subpixel.ChunkingWarning")


def lay_out(backend: Backend, base: np.ndarray, layout: str, rng: np.random.Generator) -> Any:
    """``base`` on ``backend``, in ``layout`` where the backend has layouts."""
    if backend is Backend.NUMPY:
        return numpy_layout(base, layout, rng)
    if backend is Backend.TORCH:
        return torch_layout(base, layout, rng)
    return Laid(backend.from_numpy(base), base, [])


def check_call(
    backend: Backend,
    x: Any,
    values: np.ndarray | None,
    owners: list[Any],
    factor: Any,
    verdict: Verdict,
    *,
    inverse: bool,
    channels_last: Any,
    order: Any,
) -> str:
    """Make the call and check it against ``verdict``; return ``"result"`` or ``"error"``."""
    func = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
    before = owner_bytes(owners)
    context = (
        f"[{backend} {func.__name__}(x{getattr(x, 'shape', '')}, {factor!r}, "
        f"channels_last={channels_last!r}, order={order!r})]"
    )
    try:
        result = func(x, factor, channels_last=channels_last, order=order)
    except (TypeError, ValueError) as caught:
        error: Exception | None = caught
    else:
        error = None
    if error is not None:
        if verdict.valid and not verdict.either:
            raise AssertionError(f"a valid call failed: {error!r} {context}") from error
        assert type(error) in (TypeError, ValueError), f"{type(error).__name__}: {error} {context}"
        if not verdict.either:
            assert any(names(str(error), arg) for arg in verdict.bad), (
                f"the message {str(error)!r} names none of {sorted(verdict.bad)} {context}"
            )
        assert owner_bytes(owners) == before, f"a failed call modified its input {context}"
        return "error"
    assert verdict.valid or verdict.either, f"an invalid call returned a result {context}"
    assert values is not None
    assert type(result).__module__.split(".")[0] == type(x).__module__.split(".")[0], context
    expected = reference(values, factor, inverse=inverse, channels_last=channels_last, order=order)
    assert_same_bits(to_numpy(result), expected, context)
    assert owner_bytes(owners) == before, f"the call modified its input {context}"
    if backend is Backend.NUMPY:
        assert not any(np.shares_memory(result, owner) for owner in owners), f"aliases input {context}"
    return "result"


# --- valid calls ---------------------------------------------------------------------------


@st.composite
def valid_calls(draw: st.DrawFn, backend: Backend, large: bool = False) -> dict[str, Any]:
    """A call that must succeed: shape, factor in every accepted spelling, options, data.

    ``large`` draws 16 thousand to 2 million elements, past every fast path's small-array
    threshold (and, for wide dtypes, its multi-threaded one); otherwise at most MAX_ELEMENTS.
    """
    inverse = draw(st.booleans())
    channels_last = draw(st.booleans())
    order = draw(st.sampled_from(["CRD", "DCR"]))
    form = draw(st.sampled_from(["int", "numpy-int", "tuple", "list", "numpy-tuple"]))
    top = 4 if large else 3
    if form in ("int", "numpy-int"):
        r = draw(st.integers(1, top))
        factors: tuple[int, ...] = (r, r)
    else:
        factors = tuple(draw(st.lists(st.integers(1, top), min_size=1, max_size=3)))
    k = len(factors)
    if large:
        batch = draw(st.lists(st.integers(1, 3), max_size=2))
        channels = draw(st.integers(1, 8))
        small = draw(st.lists(st.integers(1, 64), min_size=k, max_size=k))
        target = draw(st.integers(16_000, 2_000_000))
        fixed = math.prod(batch) * channels * math.prod(factors)
        while fixed * math.prod(small) < target:
            small[small.index(min(small))] *= 2
        while fixed * math.prod(small) > 2_000_000 and max(small) > 1:
            small[small.index(max(small))] //= 2
    else:
        batch = draw(st.lists(st.integers(1, 3), max_size=6 - k))  # ndim = batch + 1 + k <= 7
        channels = draw(st.integers(1, 3))
        small = draw(st.lists(st.integers(1, 4), min_size=k, max_size=k))
        # One draw in eight empties one axis (batch, channel or spatial): zero-size inputs.
        if draw(st.integers(0, 7)) == 0:
            empty = draw(st.integers(0, len(batch) + k))
            if empty < len(batch):
                batch[empty] = 0
            elif empty == len(batch):
                channels = 0
            else:
                small[empty - len(batch) - 1] = 0
    if inverse:
        spatial = [s * f for s, f in zip(small, factors, strict=True)]
    else:
        spatial = small
        channels *= math.prod(factors)
    shape = (*batch, *spatial, channels) if channels_last else (*batch, channels, *spatial)
    if not large and math.prod(shape) > MAX_ELEMENTS:  # keep it small: batch axes of size 1
        shape = tuple(1 if s > 1 and i < len(batch) else s for i, s in enumerate(shape))
    kind = draw(st.sampled_from(NUMPY_INTS))
    factor: Any
    if form == "int":
        factor = factors[0]
    elif form == "numpy-int":
        factor = kind(factors[0])
    elif form == "tuple":
        factor = factors
    elif form == "list":
        factor = list(factors)
    else:
        factor = tuple(kind(f) for f in factors)
    layouts = (
        NUMPY_LAYOUTS if backend is Backend.NUMPY else TORCH_LAYOUTS if backend is Backend.TORCH else ("",)
    )
    return {
        "shape": shape,
        "factor": factor,
        "inverse": inverse,
        "channels_last": channels_last,
        "order": order,
        "dtype": draw(st.sampled_from(DTYPES.get(backend, ALL_DTYPES))),
        "layout": draw(st.sampled_from(layouts)),
        "seed": draw(st.integers(0, 2**32 - 1)),
    }


def _check_valid_call(backend: Backend, call: dict[str, Any]) -> None:
    """Lay out the drawn call's input, confirm the rules call it valid, and check its result."""
    rng = np.random.default_rng(call["seed"])
    base = special_array(call["shape"], call["dtype"], rng)
    laid = lay_out(backend, base, call["layout"], rng)
    options = {k: call[k] for k in ("inverse", "channels_last", "order")}
    verdict = judge(laid.values.shape, call["factor"], factor_name="f", **options)
    if not verdict.valid:  # only the batch-size clamp in the strategy can make a draw invalid
        raise AssertionError(f"the strategy drew an invalid call {call} ({verdict})")
    outcome = check_call(backend, laid.array, laid.values, laid.owners, call["factor"], verdict, **options)
    assert outcome == "result"


@fixture_ok
@given(data=st.data())
def test_valid_calls_match_the_index_formula(backend: Backend, data: st.DataObject) -> None:
    _check_valid_call(backend, data.draw(valid_calls(backend)))


#: An eighth of the profile's examples, from 10 to 500: a large example costs ~100 small ones.
large_examples = settings(fixture_ok, max_examples=min(500, max(10, settings().max_examples // 8)))


@large_examples
@given(data=st.data())
def test_large_valid_calls_match_the_index_formula(backend: Backend, data: st.DataObject) -> None:
    """Past the fast paths' size thresholds: blocked and multi-threaded copies."""
    _check_valid_call(backend, data.draw(valid_calls(backend, large=True)))


# --- any call, mostly invalid ---------------------------------------------------------------

HUGE_INTS = [2**31 - 1, 2**31, 2**32, 2**32 + 1, 2**62, 2**63 - 1, 2**63, 2**64, 2**100, -(2**63), -(2**64)]

factor_atoms = st.one_of(
    st.integers(-3, 6),
    st.sampled_from(HUGE_INTS),
    st.builds(lambda kind, v: kind(v), st.sampled_from(NUMPY_INTS), st.integers(0, 6)),
    st.sampled_from([np.int64(-2), np.int64(2**62), np.uint64(2**64 - 1), np.uint64(2**32)]),
    st.booleans(),
    st.sampled_from([np.True_, np.False_]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([2.0, np.float64(2.0), np.float32(1.0), 2 + 0j, Fraction(2, 1)]),
    st.text(max_size=3),
    st.sampled_from(["2", b"2", None, {}, {2}, range(2, 4), object()]),
    st.sampled_from([np.array([2, 2]), np.array(2), np.array(2.0), np.array([[2]])]),
)
factors_any = st.one_of(
    factor_atoms,
    st.lists(factor_atoms, max_size=4).map(tuple),
    st.lists(factor_atoms, max_size=4),
    st.sampled_from([(), [], ((2,),), ((2, 2),), (2**32, 2**32), (2**40, 2**40, 2**40), (np.int64(3), 2)]),
)
channels_last_any = st.one_of(
    st.booleans(), st.sampled_from([np.True_, np.False_, 0, 1, None, "True", 1.0, "yes"])
)
orders_any = st.one_of(
    st.sampled_from(["CRD", "DCR"]),
    st.sampled_from(["crd", "dcr", "", "CRD ", "RCD", None, b"CRD", 0, ["CRD"], ("DCR",), np.str_("DCR")]),
    st.text(max_size=4),
    st.just(np.array(["CRD", "DCR"])),
)
NOT_ARRAYS = [None, 3, 2.5, True, "abc", b"xy", [[1, 2]], (1, 2), {}, object(), range(4), memoryview(b"ab")]


@st.composite
def shapes_any(draw: st.DrawFn) -> tuple[int, ...]:
    """0 to 7 axes, sizes 0 to 8, at most MAX_ELEMENTS elements."""
    shape = tuple(draw(st.lists(st.integers(0, 8), max_size=7)))
    while math.prod(shape) > MAX_ELEMENTS:
        shape = tuple(max(1, s // 2) for s in shape)
    return shape


@fixture_ok
@given(
    shape=st.one_of(shapes_any(), st.sampled_from(NOT_ARRAYS).map(lambda obj: ("object", obj))),
    factor=factors_any,
    inverse=st.booleans(),
    channels_last=channels_last_any,
    order=orders_any,
    dtype=st.sampled_from(["uint8", "float32", "complex64"]),
    seed=st.integers(0, 2**32 - 1),
)
def test_any_call_gives_the_right_result_or_a_clean_error(
    backend: Backend,
    shape: Any,
    factor: Any,
    inverse: bool,
    channels_last: Any,
    order: Any,
    dtype: str,
    seed: int,
) -> None:
    factor_name = "downscale_factor" if inverse else "upscale_factor"
    owners: list[Any]
    if shape and shape[0] == "object":
        x, values, owners, array_shape = shape[1], None, [], None
    else:
        base = special_array(shape, dtype, np.random.default_rng(seed))
        x, values, owners, array_shape = backend.from_numpy(base), base, [], shape
        if backend is Backend.NUMPY:
            owners = [x]
    options = {"inverse": inverse, "channels_last": channels_last, "order": order}
    verdict = judge(array_shape, factor, factor_name=factor_name, **options)
    outcome = check_call(backend, x, values, owners, factor, verdict, **options)
    kind = "either accepted or rejected" if verdict.either else "valid" if verdict.valid else "invalid"
    event(f"{outcome} ({kind} call)")  # counted in the statistics


# --- the same decisions as torch --------------------------------------------------------------

torch_factors = st.one_of(
    st.integers(-3, 7),
    st.integers(8, 2**16),
    st.sampled_from([2**31, 2**32, 2**62]),
    st.builds(lambda kind, v: kind(v), st.sampled_from([np.int64, np.int32, np.intp]), st.integers(-2, 5)),
    st.booleans(),
    st.floats(0.5, 4.0),
)


def _decide(call: Any) -> tuple[str, Any]:
    try:
        return "accepts", call()
    except (TypeError, ValueError, RuntimeError, OverflowError) as error:
        return "rejects", error


@pytest.mark.parametrize(
    "reference_backend", [b for b in requested_backends() if b is Backend.TORCH], ids=str
)
@settings(suppress_health_check=[HealthCheck.too_slow])
@given(shape=shapes_any(), factor=torch_factors, inverse=st.booleans(), seed=st.integers(0, 2**32 - 1))
def test_accepts_and_rejects_exactly_what_torch_does(
    reference_backend: Backend, shape: tuple[int, ...], factor: Any, inverse: bool, seed: int
) -> None:
    """Runs where torch is requested; a requested torch that cannot import fails."""
    torch = reference_backend.namespace()

    x = special_array(shape, "float32", np.random.default_rng(seed))
    ours_f = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
    theirs_f = torch.nn.functional.pixel_unshuffle if inverse else torch.nn.functional.pixel_shuffle
    ours, our_out = _decide(lambda: ours_f(x, factor))
    theirs, their_out = _decide(lambda: theirs_f(torch.from_numpy(x), factor))
    context = f"{ours_f.__name__}(x{shape}, {factor!r}): ours {our_out!r}, torch {their_out!r}"
    name = "downscale_factor" if inverse else "upscale_factor"
    verdict = judge(shape, factor, inverse=inverse, channels_last=False, order="CRD", factor_name=name)
    if verdict.reason == "zero-size extent":
        # A deliberate difference: torch forms a zero-size result whose other sizes multiply past
        # what a 64-bit framework can address (JAX aborts on it); we reject the factor.
        assert ours == "rejects", context
        assert type(our_out) is ValueError, context
        assert name in str(our_out), context
        return
    assert ours == theirs, context
    if ours == "rejects":
        assert type(our_out) in (TypeError, ValueError), context
        return
    expected = their_out.numpy()
    if inverse and x.size == 0:  # torch's CPU unshuffle of an empty input keeps the input shape
        documented = output_shape(x.shape, (int(factor), int(factor)), inverse=True, channels_last=False)
        expected = np.empty(documented, x.dtype)
    assert_same_bits(np.asarray(our_out), expected, context)


# --- the volume driver (conformance/fuzz.py) -------------------------------------------------------

DRIVER = Path(__file__).resolve().parents[1] / "conformance" / "fuzz.py"

#: Calls per row in the short runs: about 20 s of CPU time for all rows. A compiling row draws
#: from 16 fixed calls instead of its full set (each one compiles).
SHORT_RUNS = {
    "numpy": 2000,
    "array_api_strict": 2000,
    "torch": 600,
    "jax": 300,
    "jax.jit": 300,
    "dask": 400,
    "tensorflow": 300,
    "tensorflow.function": 300,
}
ROW_NEEDS = {
    "torch": "torch",
    "jax": "jax",
    "jax.jit": "jax",
    "dask": "dask",
    "array_api_strict": "array_api_strict",
}


def _driver() -> Any:
    """conformance/fuzz.py, imported from its path (it is a script, not part of the package)."""
    name = "subpixel_fuzz_driver"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, DRIVER)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up while the class is built
        spec.loader.exec_module(module)
    return sys.modules[name]


def _short_run(row: str, tmp_path: Path, calls: int, seed: int = 7) -> tuple[int, dict[str, Any], list[str]]:
    out = tmp_path / "fuzz.md"
    printed: list[str] = []
    failures = _driver().run_row(row, seed, calls, out, printed.append, bounded=16)
    entry = json.loads(out.with_suffix(".json").read_text(encoding="utf-8"))["rows"][row]
    return failures, entry, printed


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(
            row, marks=[pytest.mark.needs(ROW_NEEDS.get(row, "tensorflow"))] if row != "numpy" else []
        )
        for row in SHORT_RUNS
    ],
)
def test_the_volume_driver_agrees_on_a_short_run(row: str, tmp_path: Path) -> None:
    """Every row of the driver runs clean, with its share of large and invalid calls, and reports."""
    calls = SHORT_RUNS[row]
    failures, entry, printed = _short_run(row, tmp_path, calls)
    assert failures == 0, printed[:3]
    assert (entry["calls"], entry["asked"], entry["failures"], entry["status"]) == (calls, calls, 0, "done")
    assert entry["engine_calls"] >= calls // 10, "at least a tenth of the calls above the engine threshold"
    outcomes = entry["counts"]["call"]
    assert outcomes["valid"] + outcomes["invalid, clean error"] == calls
    assert outcomes["invalid, clean error"] > 0
    assert "drawn valid, invalid by the rules" not in outcomes
    if row == "torch":
        assert set(entry["counts"]["mode"]) == {"eager", "autograd", "forward-ad", "jvp"}
        assert {"channels-last-format", "expanded", "step+2", "offset", "permuted", "F"} <= set(
            entry["counts"]["kind"]
        )
    if row == "numpy":
        expected = {
            "C",
            "F",
            "permuted",
            "step-1",
            "step-2",
            "step+2",
            "offset",
            "broadcast",
            "unaligned",
            "big-endian",
        }
        assert expected <= set(entry["counts"]["kind"])
    if row == "dask":  # random chunkings rarely repeat a key: the oracle keeps nothing on this row
        assert entry["index_cache_bytes"] == 0
    else:
        assert entry["index_cache_bytes"] == _driver().INDEX_CACHE_BYTES
    if row in ("jax", "jax.jit", "tensorflow.function"):
        assert entry["compiles"] > 0
        assert entry["distinct_shapes"] <= 16
    report = tmp_path / "fuzz.md"
    assert f"| {row} | {calls:,} | {calls:,} | 0 |" in report.read_text(encoding="utf-8")
    written = report.read_text(encoding="utf-8")
    assert _driver().main(["--render", "--out", str(report)]) == 0
    assert report.read_text(encoding="utf-8") == written


def _wrong_order(original: Any) -> Any:
    def shuffle(x: Any, factor: Any, *, channels_last: Any = False, order: Any = "CRD") -> Any:
        swapped = {"CRD": "DCR", "DCR": "CRD"}.get(order, order) if isinstance(order, str) else order
        return original(x, factor, channels_last=channels_last, order=swapped)

    return shuffle


def _writes_input(original: Any) -> Any:
    def shuffle(x: Any, factor: Any, *, channels_last: Any = False, order: Any = "CRD") -> Any:
        result = original(x, factor, channels_last=channels_last, order=order)
        if x.flags.writeable and x.size > 1:
            x[(0,) * x.ndim] = x[(-1,) * x.ndim]
        return result

    return shuffle


def _accepts_anything(original: Any) -> Any:
    def shuffle(x: Any, factor: Any, *, channels_last: Any = False, order: Any = "CRD") -> Any:
        try:
            return original(x, factor, channels_last=channels_last, order=order)
        except ValueError:
            return np.zeros(1)

    return shuffle


def _vague_errors(original: Any) -> Any:
    def shuffle(x: Any, factor: Any, *, channels_last: Any = False, order: Any = "CRD") -> Any:
        try:
            return original(x, factor, channels_last=channels_last, order=order)
        except (TypeError, ValueError):
            raise ValueError("something is wrong") from None

    return shuffle


@pytest.mark.parametrize(
    ("sabotage", "message"),
    [
        (_wrong_order, "elements differ"),
        (_writes_input, "modified its input"),
        (_accepts_anything, "returned a result"),
        (_vague_errors, "names none of"),
    ],
)
def test_the_volume_driver_catches_a_broken_shuffle(
    sabotage: Any, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shuffle that is wrong in one way fails the short run, with a reproducer per failure."""
    monkeypatch.setattr(subpixel, "pixel_shuffle", sabotage(subpixel.pixel_shuffle))
    failures, entry, printed = _short_run("numpy", tmp_path, 400, seed=11)
    assert failures > 0
    assert entry["failures"] == failures
    hits = [line for line in printed if message in line]
    assert hits, printed[:3]
    assert hits[0].startswith("MISMATCH row=numpy seed=11 call=")
    assert "pixel_shuffle(x(" in hits[0]
    assert "--replay" in hits[0]
    assert any(message in kind for kind in entry["failure_kinds"])


def test_the_oracle_keeps_index_arrays_for_repeated_keys_within_its_bound() -> None:
    """Repeated keys are answered by a kept gather (bounded in bytes); a bound of 0 keeps nothing."""
    driver = _driver()
    values = np.arange(2 * 12 * 4 * 6, dtype=np.float32).reshape(2, 12, 4, 6)
    want = reference(values, (2, 2), inverse=False, channels_last=False, order="CRD")
    for bound, kept in ((driver.INDEX_CACHE_BYTES, 1), (0, 0)):
        oracle = driver.Oracle(bound)
        for _ in range(3):
            got = oracle.expected(values, (2, 2), False, False, "CRD")
            assert np.array_equal(got.view(np.uint8), want.view(np.uint8))
        assert (len(oracle.cache), len(oracle.seen)) == (kept, kept)
        assert oracle.bytes == (values.size * 4 if kept else 0)  # int32 positions


@pytest.mark.needs("jax")
def test_compiling_rows_draw_invalid_calls_from_a_fixed_set_too() -> None:
    """A fresh invalid shape on every call would compile, and stay cached, each time."""
    runner = _driver().Runner("jax", 3, bounded=16)
    drawn = [runner.draw(i)[0] for i in range(600)]
    invalid = {c.describe().split(" mode=")[0] for c in drawn if c.invalid}
    valid = {c.describe().split(" mode=")[0] for c in drawn if not c.invalid}
    assert len(runner.bounded_invalid) == 2
    assert 1 <= len(invalid) <= 2
    assert 1 <= len(valid) <= 16


def test_the_volume_driver_replays_one_call(capsys: pytest.CaptureFixture[str]) -> None:
    """``--replay`` runs one call again from the seed and its index, and describes it."""
    driver = _driver()
    assert driver.main(["--backends", "numpy", "--seed", "5", "--replay", "17"]) == 0
    printed = capsys.readouterr().out.splitlines()
    described = driver.Runner("numpy", 5).draw(17)[0].describe()
    assert printed == [described, "agrees with the index formula"]


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        (["--backends", "nump"], "unknown row 'nump'"),
        (["--calls", "0"], "--calls must be at least 1, got 0"),
        (["--calls", "many"], "--calls: invalid int value: 'many'"),
        (["--replay", "3"], "--replay needs --seed"),
        (["--package", "/nonexistent"], "no subpixel package in /nonexistent"),
        (["--render"], "--render needs --out with its JSON beside it"),
    ],
)
def test_the_volume_driver_rejects_usage_errors_in_one_line(
    argv: list[str], fragment: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert _driver().main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1, captured.err
    assert fragment in captured.err
    assert captured.err.startswith("fuzz.py: error: ")
