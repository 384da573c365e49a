"""The backend catalog: one entry per backend, read by the dispatch, the conformance matrix and the tools.

A throw-away library (NumPy behind a wrapper type of its own module) is registered through the
catalog alone and gets the generic route and its conformance row, which passes.
"""

from __future__ import annotations

import importlib.util
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

import subpixel
from subpixel import _catalog, _dispatch, _routes
from subpixel.conformance import ReferenceBook, run_matrix
from subpixel.conformance._backends import ADAPTERS, ArrayBackend, adapter_of
from subpixel.conformance._environment import distributions
from subpixel.conformance._registry import implementations, unregister_implementation

ROOT = Path(__file__).resolve().parents[1]
SRC = str(ROOT / "src")

#: What the generic route of :mod:`subpixel._shuffle` and the conformance layouts call.
_FUNCTIONS = ("reshape", "broadcast_to", "asarray", "zeros")


class Wrapped:
    """An array of the throw-away library: a NumPy array behind a type of another module."""

    __module__ = "throwaway_xp"

    def __init__(self, data: np.ndarray[Any, Any]) -> None:
        self.data = data

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.data.shape)

    @property
    def dtype(self) -> np.dtype[Any]:
        dtype: np.dtype[Any] = self.data.dtype
        return dtype

    @property
    def device(self) -> str:
        return "cpu"

    @property
    def ndim(self) -> int:
        return int(self.data.ndim)

    def __getitem__(self, key: Any) -> Wrapped:
        return Wrapped(self.data[key])

    def __array_namespace__(self, api_version: str | None = None) -> Any:
        return NAMESPACE


def _wrapping(name: str) -> Any:
    function = getattr(np, name)

    def call(x: Any, *args: Any, copy: bool | None = None, device: Any = None, **kwargs: Any) -> Wrapped:
        data = function(x.data if isinstance(x, Wrapped) else x, *args, **kwargs)
        return Wrapped(np.array(data, copy=True) if copy else data)

    return call


#: The throw-away library's namespace: a few functions and dtypes (the others are "not run").
NAMESPACE = ModuleType("throwaway_xp")
for _name in _FUNCTIONS:
    setattr(NAMESPACE, _name, _wrapping(_name))
NAMESPACE.permute_dims = _wrapping("transpose")  # type: ignore[attr-defined]
for _name in ("bool", "int8", "int32", "uint16", "float32", "float64"):
    setattr(NAMESPACE, _name, np.dtype(_name).type)


class Throwaway(_catalog.Entry):
    """The throw-away library's whole catalog entry."""

    name = "throwaway"
    title = "Throwaway"
    modules = ("throwaway_xp",)
    requires = ("numpy",)

    def load(self) -> Any:
        return NAMESPACE

    def from_numpy(self, x: Any, device: str = "cpu") -> Any:
        return Wrapped(x.copy())

    def to_numpy(self, y: Any) -> Any:
        return y.data


@pytest.fixture
def throwaway() -> Iterator[_catalog.Entry]:
    entry = Throwaway()
    _catalog.register(entry)
    try:
        yield entry
    finally:
        _catalog.unregister(entry.name)
        unregister_implementation(entry.name)


def test_every_entry_names_its_arrays_fast_path_adapter_and_install_line() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    extras = dict(re.findall(r"^([a-z_]+) = (\[.*\])$", pyproject, flags=re.MULTILINE))
    entries = _catalog.entries()
    assert len({e.name for e in entries}) == len(entries)
    modules = [m for e in entries for m in e.modules]
    assert len(set(modules)) == len(modules)
    for entry in entries:
        assert all((entry.title, entry.modules, entry.namespace, entry.requires, entry.distributions))
        assert set(entry.devices) <= {"cpu", "gpu"}
        assert entry.devices
        assert entry.extra in extras, f"{entry.name}: no extra {entry.extra!r} in pyproject.toml"
        for module in filter(None, (entry.fast_path, entry.adapter)):
            assert importlib.util.find_spec(module) is not None, module
        assert _catalog.entry(entry.name) is entry
        assert entry.name in ADAPTERS


def test_the_all_extra_installs_every_cpu_backend_but_sparse() -> None:
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (listed,) = re.findall(r'^all = \["subpixel\[(.*)\]"\]$', pyproject, flags=re.MULTILINE)
    cpu = {e.extra for e in _catalog.entries() if "cpu" in e.devices}
    # sparse brings numba (about 200 MB, for its own kernels): not in the main install.
    assert set(listed.split(",")) >= cpu - {"sparse"}


def test_an_unknown_entry_name_is_a_key_error_naming_the_known_ones() -> None:
    with pytest.raises(KeyError, match=r"no backend named 'mlx' in the catalog; known: \['array_api_strict'"):
        _catalog.entry("mlx")


def test_an_entry_says_only_what_its_name_does_not() -> None:
    class Minimal(_catalog.Entry):
        name = "minimal_lib"
        title = "Minimal"

    class Unusual(_catalog.Entry):
        name = "unusual"
        title = "Unusual"
        namespace = "unusual.array"
        requires = ("unusual",)

    class Derived(Unusual):
        name = "derived"

    assert Minimal.modules == ("minimal_lib",)
    assert Minimal.namespace == "minimal_lib"
    assert Minimal.requires == ("minimal_lib", "numpy")
    assert Minimal.distributions == ("minimal_lib",)
    assert Minimal.extra is None  # no extra unless it says so: a registered library has none
    assert (Unusual.namespace, Unusual.requires, Unusual.modules) == (
        "unusual.array",
        ("unusual",),
        ("unusual",),
    )
    # What a parent entry says is kept; what it left to its name follows the child's name.
    assert (Derived.namespace, Derived.requires) == ("unusual.array", ("unusual",))
    assert Derived.modules == ("derived",)
    assert _catalog.Entry.modules == ()  # the base itself names nothing


def test_registering_a_taken_name_or_module_is_an_error(throwaway: _catalog.Entry) -> None:
    with pytest.raises(ValueError, match="backend 'throwaway' or its modules"):
        _catalog.register(Throwaway())

    class Other(Throwaway):
        name = "other"

    with pytest.raises(ValueError, match=r"backend 'other' or its modules \['throwaway_xp'\]"):
        _catalog.register(Other())
    with pytest.raises(ValueError, match="needs a name and at least one module"):
        _catalog.register(_catalog.Entry())


def test_dispatch_reads_the_catalog() -> None:
    fast = {m: e.fast_path for e in _catalog.entries() if e.fast_path for m in e.modules}
    assert fast == _dispatch.FAST_PATHS
    assert [e.name for e in _catalog.entries() if e.run_time_sizes] == ["tensorflow", "ndonnx"]


def test_importing_the_catalog_and_asking_what_is_installed_imports_no_framework() -> None:
    frameworks = sorted({m for e in _catalog.entries() for m in e.modules} - {"numpy"})
    code = textwrap.dedent(
        f"""
        import sys
        from subpixel import _catalog
        from subpixel.conformance import _backends
        [(e.installed(), _backends.adapter_of(e)) for e in _catalog.entries()]
        print(sorted(m for m in {frameworks!r} if m in sys.modules))
        """
    )
    env = {**os.environ, "PYTHONPATH": SRC}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False)
    assert (done.returncode, done.stdout) == (0, "[]\n"), done.stderr


def test_a_backend_registered_through_the_catalog_alone_takes_the_generic_route(
    throwaway: _catalog.Entry,
) -> None:
    x = np.arange(2 * 8 * 3 * 5, dtype=np.int32).reshape(2, 8, 3, 5)
    with _routes.counting() as seen:
        y = subpixel.pixel_shuffle(Wrapped(x.copy()), 2)
    assert isinstance(y, Wrapped)
    assert y.data.tobytes() == subpixel.pixel_shuffle(x, 2).tobytes()
    assert dict(seen) == {"array_api:generic": 1}
    assert type(adapter_of(throwaway)) is ArrayBackend


def test_a_backend_registered_through_the_catalog_alone_passes_its_conformance_row(
    throwaway: _catalog.Entry,
) -> None:
    assert implementations()["throwaway"].routes == "array_api"
    book = ReferenceBook(use_torch=False, use_onnx=False)
    matrix = run_matrix(["throwaway"], ["cpu"], quick=True, book=book)
    assert matrix.ok, matrix.problems
    passed = [r.dtype for r in matrix.rows if r.backend == "throwaway" and r.status == "passed"]
    assert passed == ["bool", "int8", "int32", "uint16", "float32", "float64"]
    (coverage,) = (c for c in matrix.coverage if c.implementation == "throwaway")
    assert set(coverage.cases) == {"array_api:generic"}


@pytest.mark.needs("tensorflow")
def test_a_first_call_inside_tf_function_leaves_autograph_nothing_to_warn_about() -> None:
    """The dispatch imports TensorFlow's fast path with a built-in AutoGraph does not convert."""
    code = textwrap.dedent(
        """
        import tensorflow as tf
        import subpixel

        @tf.function
        def f(x):
            return subpixel.pixel_shuffle(x, 2)

        print(tuple(f(tf.zeros((1, 4, 2, 2))).shape))
        """
    )
    env = {**os.environ, "PYTHONPATH": SRC, "TF_CPP_MIN_LOG_LEVEL": "3"}
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", code], capture_output=True, text=True, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "(1, 1, 4, 4)\n"
    assert "AutoGraph" not in done.stderr


@pytest.mark.needs("tensorflow")
def test_the_report_header_names_tensorflow_when_it_ran() -> None:
    import tensorflow as tf

    assert "tensorflow" in distributions()
    matrix = run_matrix(
        ["tensorflow"], ["cpu"], quick=True, dtypes=["int8"], families=["zero_size"], require_routes=False
    )
    assert matrix.header["versions"]["tensorflow"] == tf.__version__


@pytest.mark.needs("marray")
def test_marray_moves_the_mask_with_the_data() -> None:
    import marray

    xp = marray.masked_namespace(np)
    data = np.arange(2 * 12 * 3 * 2, dtype=np.float32).reshape(2, 12, 3, 2)
    mask = (data.astype(np.int64) % 3) == 0
    y = subpixel.pixel_shuffle(xp.asarray(data, mask=mask), 2, order="DCR")
    np.testing.assert_array_equal(np.asarray(y.data), subpixel.pixel_shuffle(data, 2, order="DCR"))
    np.testing.assert_array_equal(np.asarray(y.mask), subpixel.pixel_shuffle(mask, 2, order="DCR"))


@pytest.mark.needs("marray")
def test_the_marray_adapter_fails_an_output_whose_mask_stayed_behind() -> None:
    import marray

    from subpixel.conformance._backends.marray import mask_of
    from subpixel.conformance._cases import cases_by_id

    xp = marray.masked_namespace(np)
    adapter = ADAPTERS["marray"]
    case = cases_by_id()["factors/r2-2x12x3x2"]
    x = adapter.from_host(np.arange(144, dtype=np.int16).reshape(2, 12, 3, 2), "int16", "cpu")
    assert 0 < int(np.asarray(x.mask).sum()) < 144
    good = subpixel.pixel_shuffle(x, 2)
    assert adapter.output_problem(case, x, good) is None
    stale = xp.asarray(np.asarray(good.data), mask=np.asarray(x.mask).reshape(good.shape))
    problem = adapter.output_problem(case, x, stale)
    assert str(problem).startswith("the mask did not follow the data:")
    assert mask_of(np.asarray(good.data)).tolist() == np.asarray(good.mask).tolist()


@pytest.mark.needs("ndonnx")
def test_an_ndonnx_model_with_a_dynamic_batch_runs_on_every_batch_size() -> None:
    import ndonnx
    import onnxruntime

    x = ndonnx.argument(shape=("N", 4, 3, 3), dtype=ndonnx.float32)
    y = subpixel.pixel_shuffle(x, 2)
    assert tuple(y.shape) == (None, 1, 6, 6)
    model = ndonnx.build({"x": x}, {"y": y})
    session = onnxruntime.InferenceSession(model.SerializeToString())
    for batch in (1, 3):
        data = np.arange(batch * 36, dtype=np.float32).reshape(batch, 4, 3, 3)
        (out,) = session.run(None, {"x": data})
        assert out.tobytes() == subpixel.pixel_shuffle(data, 2).tobytes()


@pytest.mark.needs("ndonnx")
def test_ndonnx_arrays_with_two_unknown_sizes_are_a_clear_error() -> None:
    import ndonnx

    x = ndonnx.argument(shape=("N", 4, "H", 3), dtype=ndonnx.float32)
    with pytest.raises(
        ValueError, match=r"pixel_shuffle: x has 2 axes of unknown size .* infers one unknown size"
    ):
        subpixel.pixel_shuffle(x, 2)


def test_the_readme_main_job_runs_the_rows_of_every_backend_the_all_extra_installs() -> None:
    # The README itself (the sdist carries it, not the CI scripts): its main job's --backends.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    (listed_rows,) = re.findall(r"-m subpixel conformance --backends (\S+)", readme)
    rows = set(listed_rows.split(","))
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    (listed,) = re.findall(r'^all = \["subpixel\[(.*)\]"\]$', pyproject, flags=re.MULTILINE)
    for entry in _catalog.entries():
        if entry.extra in listed.split(",") and "cpu" in entry.devices:
            wanted = {spec.name for spec in adapter_of(entry).rows()}
            assert wanted <= rows, f"README's main job lacks {sorted(wanted - rows)}"


def test_keras_backends_start_with_keras_default() -> None:
    assert (
        _catalog.keras_backends()[0] == "tensorflow"
    )  # Keras 3 picks TensorFlow when KERAS_BACKEND is unset
    assert set(_catalog.keras_backends()) == {"tensorflow", "jax", "torch"}
