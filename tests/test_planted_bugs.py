"""The conformance matrix alone catches a bug planted on any one route.

Each planted implementation is right everywhere but on one route (large inputs, threaded copies,
several Dask chunks, one element size, ``order="DCR"``, ``channels_last``, gradients, memory
format). It is registered through the public ``register_implementation`` and the matrix, restricted
to the families and dtypes that reach the route, must fail it with a runnable reproducer, and
pass the same implementation without the bug (the control).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from subpixel import _limits, pixel_shuffle, pixel_unshuffle
from subpixel.conformance import (
    Implementation,
    Matrix,
    ReferenceBook,
    register_implementation,
    run_matrix,
    unregister_implementation,
)

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

Call = Callable[[Any, Any, bool, bool, str], Any]

SMALL_BYTES = _limits.NUMPY_SMALL_BYTES
PARALLEL_BYTES = _limits.PARALLEL_BYTES


def library(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """The library itself: the control."""
    run = pixel_unshuffle if inverse else pixel_shuffle
    return run(x, factor, channels_last=channels_last, order=order)  # type: ignore[arg-type]


def corrupt(y: Any) -> Any:
    """Flip the lowest bit of the last byte of a NumPy result (a copy)."""
    out = np.array(y, copy=True)
    if out.size:
        out.reshape(-1).view(np.uint8)[-1] ^= 1
    return out


def wrong_when(condition: Callable[[Any, bool, str], bool]) -> Call:
    """The library, with a corrupted result where ``condition(x, channels_last, order)`` holds."""

    def call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
        y = library(x, factor, inverse, channels_last, order)
        return corrupt(y) if condition(x, channels_last, order) else y

    return call


@pytest.fixture(scope="module")
def book() -> ReferenceBook:
    """References shared by the tests of this module."""
    return ReferenceBook()


@pytest.fixture
def planted() -> Iterator[Callable[..., str]]:
    """Register implementations for one test and remove them afterwards."""
    names: list[str] = []

    def register(name: str, backend: str, call: Call, **options: Any) -> str:
        register_implementation(Implementation(name, backend, call, description="planted bug", **options))
        names.append(name)
        return name

    yield register
    for name in names:
        unregister_implementation(name)


def failures(matrix: Matrix) -> list[str]:
    """Every failed case id; each failed cell carries a reproducer naming its row."""
    found = []
    for row, _family, cell in matrix.failed_cells:
        assert cell.first_failure is not None
        assert f"c.reproduce({row.backend!r}" in cell.first_failure["reproducer"]
        found += cell.failures
    return found


def check(
    register: Callable[..., str],
    backend: str,
    buggy: Call,
    control: Call,
    families: list[str],
    dtypes: list[str],
    book: ReferenceBook,
    **options: Any,
) -> list[str]:
    """Run the bug and its control on the same cases; return the failed case ids of the bug."""
    bug = register(f"planted-{buggy.__name__}-{id(buggy)}", backend, buggy, **options)
    good = register(f"control-{id(buggy)}", backend, control, **options)
    clean = run_matrix([good], ["cpu"], families=families, dtypes=dtypes, book=book)
    assert clean.ok, [c.first_failure for _r, _f, c in clean.failed_cells] or clean.problems
    matrix = run_matrix([bug], ["cpu"], families=families, dtypes=dtypes, book=book)
    assert not matrix.ok
    found = failures(matrix)
    assert found
    return found


def test_large_inputs_only(planted: Callable[..., str], book: ReferenceBook) -> None:
    """Wrong at or above the NumPy fast path's byte threshold only."""
    found = check(
        planted,
        "numpy",
        wrong_when(lambda x, _cl, _o: x.nbytes >= SMALL_BYTES),
        library,
        ["sizes"],
        ["uint8"],
        book,
    )
    # Cases above the threshold, and the copy engine's geometry and broadcast cases (64 KiB and more).
    engine = ("-above-", "BLOCK_BYTES", "/engine-", "/broadcast-width-")
    assert all(any(mark in case for mark in engine) for case in found), found


def test_threaded_copies_only(planted: Callable[..., str], book: ReferenceBook) -> None:
    """Wrong only where the copy is split over threads."""
    found = check(
        planted,
        "numpy",
        wrong_when(lambda x, _cl, _o: x.nbytes >= PARALLEL_BYTES),
        library,
        ["sizes"],
        ["uint8", "float32"],
        book,
    )
    assert all("PARALLEL_BYTES" in case for case in found), found


def test_one_element_size_only(planted: Callable[..., str], book: ReferenceBook) -> None:
    """Wrong for 16-byte elements (complex128) only."""
    found = check(
        planted,
        "numpy",
        wrong_when(lambda x, _cl, _o: x.dtype.itemsize == 16),
        library,
        ["factors", "sizes"],
        ["complex128", "complex64", "float64"],
        book,
    )
    assert found


def test_dcr_only(planted: Callable[..., str], book: ReferenceBook) -> None:
    """Wrong in order='DCR' only."""
    found = check(
        planted, "numpy", wrong_when(lambda _x, _cl, order: order == "DCR"), library, ["dcr"], ["int16"], book
    )
    assert all(case.startswith("dcr/") for case in found)


def test_channels_last_only(planted: Callable[..., str], book: ReferenceBook) -> None:
    """Wrong with channels_last=True only."""
    found = check(
        planted, "numpy", wrong_when(lambda _x, cl, _o: cl), library, ["channels_last"], ["bool"], book
    )
    assert found


@pytest.mark.needs("dask")
def test_several_chunks_only(planted: Callable[..., str], book: ReferenceBook) -> None:
    """Wrong on Dask inputs of more than one chunk only."""

    def call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
        y = library(x, factor, inverse, channels_last, order)
        if max(x.numblocks) > 1:
            return y.map_blocks(corrupt, dtype=y.dtype)
        return y

    found = check(planted, "dask", call, library, ["sizes"], ["uint8", "int16", "uint32"], book)
    assert all("chunks" in case and "one_chunk" not in case for case in found), found


def torch_native(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """Torch's own op (options: inverse only): the control of the torch bugs."""
    import torch

    return (torch.pixel_unshuffle if inverse else torch.pixel_shuffle)(x, factor)


@pytest.mark.needs("torch")
def test_gradients_only(planted: Callable[..., str], book: ReferenceBook) -> None:
    """Right forward, wrong gradient (the backward flips one element's sign)."""
    import torch

    class Wrong(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, factor: int, inverse: bool) -> Any:
            ctx.args = (factor, inverse)
            return torch_native(x, factor, inverse, False, "CRD")

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            factor, inverse = ctx.args
            back = torch_native(grad, factor, not inverse, False, "CRD").clone()
            back.view(-1)[-1] = -back.view(-1)[-1]
            return back, None, None

        @staticmethod
        def jvp(ctx: Any, tangent: Any, *_: Any) -> Any:
            factor, inverse = ctx.args
            return torch_native(tangent, factor, inverse, False, "CRD")

    def call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
        return Wrong.apply(x, factor, inverse)  # type: ignore[no-untyped-call]

    found = check(
        planted,
        "torch",
        call,
        torch_native,
        ["autodiff"],
        ["float32", "float64"],
        book,
        options=frozenset({"inverse"}),
    )
    assert all(case.startswith("autodiff/") for case in found)


@pytest.mark.needs("torch")
def test_forward_mode_with_a_tangent_strided_unlike_its_primal_only(
    planted: Callable[..., str], book: ReferenceBook
) -> None:
    """Right values everywhere, but the tangent comes out laid out as the tangent, not the result.

    PyTorch then refuses the tangent (an internal assert) when a dual tensor's tangent is strided
    unlike its primal: the bug the million-call fuzz found in the fast copy's jvp.
    """
    import torch

    class Wrong(torch.autograd.Function):
        @staticmethod
        def forward(ctx: Any, x: Any, factor: int, inverse: bool, order: str) -> Any:
            ctx.args = (factor, inverse, order)
            return library(x, factor, inverse, False, order)

        @staticmethod
        def backward(ctx: Any, grad: Any) -> Any:
            factor, inverse, order = ctx.args
            return library(grad, factor, not inverse, False, order), None, None, None

        @staticmethod
        def jvp(ctx: Any, tangent: Any, *_: Any) -> Any:
            factor, inverse, order = ctx.args
            return library(tangent, factor, inverse, False, order)  # laid out as the tangent

    def call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
        return Wrong.apply(x, factor, inverse, order)  # type: ignore[no-untyped-call]

    found = check(
        planted,
        "torch",
        call,
        library,
        ["autodiff"],
        ["float32"],
        book,
        options=frozenset({"inverse", "order"}),
    )
    assert all(case.startswith("autodiff/") for case in found), found
    assert any("one-channel" in case for case in found), found  # contiguous and channels-last at once


@pytest.mark.needs("torch")
def test_memory_format_only(planted: Callable[..., str], book: ReferenceBook) -> None:
    """Right values, contiguous result for a channels_last input (torch keeps channels_last)."""

    def call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
        return torch_native(x, factor, inverse, channels_last, order).contiguous()

    found = check(
        planted,
        "torch",
        call,
        torch_native,
        ["sizes"],
        ["uint8", "float32"],
        book,
        options=frozenset({"inverse"}),
    )
    assert all("channels_last" in case for case in found), found


@pytest.mark.needs("tensorflow")
def test_tensorflow_gradients_only(planted: Callable[..., str], book: ReferenceBook) -> None:
    """Right forward, wrong TensorFlow gradient (one sign flipped): tapes and accumulators see it."""
    import tensorflow as tf

    def call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
        @tf.custom_gradient
        def shuffle(t: Any) -> Any:
            def backward(grad: Any) -> Any:
                back = tf.reshape(library(grad, factor, not inverse, channels_last, order), [-1])
                flipped = tf.concat([back[:-1], -back[-1:]], axis=0)
                return tf.reshape(flipped, tf.shape(t))

            return library(t, factor, inverse, channels_last, order), backward

        return shuffle(x)

    found = check(planted, "tensorflow", call, library, ["autodiff"], ["float32", "float64"], book)
    assert all(case.startswith("autodiff/") for case in found)


# -- bugs confined to one kind of input at real size ----------------------------------------------

ENGINE_BYTES = _limits.NUMPY_SMALL_BYTES
KERNEL_ELEMENTS = _limits.TORCH_KERNEL_ELEMENTS

#: ``(x, factor, inverse, channels_last, order) -> bool``: where a planted bug strikes.
Condition = Callable[[Any, Any, bool, bool, str], bool]


def _factors(factor: Any) -> tuple[int, ...]:
    return tuple(factor) if isinstance(factor, tuple) else (factor, factor)


def _nbytes(x: Any) -> int:
    return int(np.prod(x.shape)) * int(x.itemsize if hasattr(x, "itemsize") else x.element_size())


def _dense(x: Any) -> bool:
    """Whether the elements of a NumPy array fill the bytes between its first and last one."""
    span = sum((n - 1) * abs(s) for n, s in zip(x.shape, x.strides, strict=True)) + x.itemsize
    return bool(span == x.nbytes and all(x.strides))


def _offset(x: Any) -> bool:
    """Whether a NumPy view starts after the first byte of the array that owns its memory."""
    owner = x
    while isinstance(owner.base, np.ndarray):
        owner = owner.base
    return bool(x.__array_interface__["data"][0] != owner.__array_interface__["data"][0])


def _blocks(x: Any, factor: Any, inverse: bool, channels_last: bool) -> list[int]:
    f = _factors(factor)
    k = len(f)
    axes = range(x.ndim - k - 1, x.ndim - 1) if channels_last else range(x.ndim - k, x.ndim)
    return [x.shape[a] // n if inverse else x.shape[a] for a, n in zip(axes, f, strict=True)]


def _prime(n: int) -> bool:
    return n >= 2 and all(n % d for d in range(2, int(n**0.5) + 1))


def _odd_prime(x: Any, factor: Any, inverse: bool, channels_last: bool) -> bool:
    blocks = _blocks(x, factor, inverse, channels_last)
    return all(b % 2 and b > 1 for b in blocks) and any(_prime(b) for b in blocks)


def _engine(x: Any) -> bool:
    return _nbytes(x) >= ENGINE_BYTES


def _threaded(x: Any) -> bool:
    return _nbytes(x) >= PARALLEL_BYTES


def _torch_format(x: Any, ndim: int) -> bool:
    import torch

    formats = {4: torch.channels_last, 5: torch.channels_last_3d}
    return bool(x.dim() == ndim and x.is_contiguous(memory_format=formats[ndim]) and not x.is_contiguous())


#: One bug per kind at an engine size class: ``kind -> (backend, condition)``. The kind is the
#: one :func:`subpixel.conformance._kinds.kinds_of` names; every case the bug fails must be of it.
KIND_BUGS: dict[str, tuple[str, Condition]] = {
    "fortran": (
        "numpy",
        lambda x, f, i, cl, o: _engine(x) and x.flags.f_contiguous and not x.flags.c_contiguous,
    ),
    "neither_order": (
        "numpy",
        lambda x, f, i, cl, o: (
            _engine(x)
            and _dense(x)
            and min(x.strides) > 0
            and not (x.flags.c_contiguous or x.flags.f_contiguous)
        ),
    ),
    "negative_strides": ("numpy", lambda x, f, i, cl, o: _engine(x) and min(x.strides) < 0),
    "strided": ("numpy", lambda x, f, i, cl, o: _engine(x) and min(x.strides) > 0 and not _dense(x)),
    "offset": ("numpy", lambda x, f, i, cl, o: _engine(x) and x.flags.c_contiguous and _offset(x)),
    "channels_last": ("numpy", lambda x, f, i, cl, o: _threaded(x) and cl),
    "dcr": ("numpy", lambda x, f, i, cl, o: _threaded(x) and o == "DCR"),
    "1d": ("numpy", lambda x, f, i, cl, o: _engine(x) and len(_factors(f)) == 1),
    "3d": ("numpy", lambda x, f, i, cl, o: _engine(x) and len(_factors(f)) == 3),
    "batch0": ("numpy", lambda x, f, i, cl, o: _engine(x) and x.ndim == len(_factors(f)) + 1),
    "batch2+": ("numpy", lambda x, f, i, cl, o: _engine(x) and x.ndim >= len(_factors(f)) + 3),
    "factor_tuple": (
        "numpy",
        lambda x, f, i, cl, o: _engine(x) and isinstance(f, tuple) and len(f) > 1 and len(set(f)) == 1,
    ),
    "factor_unequal": ("numpy", lambda x, f, i, cl, o: _engine(x) and len(set(_factors(f))) > 1),
    "factor_one": ("numpy", lambda x, f, i, cl, o: _engine(x) and 1 in _factors(f)),
    "odd_prime": ("numpy", lambda x, f, i, cl, o: _engine(x) and _odd_prime(x, f, i, cl)),
    "torch_channels_last": ("torch", lambda x, f, i, cl, o: _threaded(x) and _torch_format(x, 4)),
    "torch_channels_last_3d": (
        "torch",
        lambda x, f, i, cl, o: x.numel() >= KERNEL_ELEMENTS and _torch_format(x, 5),
    ),
}


def corrupt_any(y: Any) -> Any:
    """Flip the lowest bit of the last byte of a NumPy array's or a torch tensor's copy."""
    if isinstance(y, np.ndarray):
        return corrupt(y)
    import torch

    out = y.clone()
    if out.numel():
        out.view(-1).view(torch.uint8)[-1] ^= 1
    return out


def wrong_for(condition: Condition) -> Call:
    """The library, with a corrupted result where ``condition(x, factor, inverse, channels_last, order)``."""

    def call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
        y = library(x, factor, inverse, channels_last, order)
        return corrupt_any(y) if condition(x, factor, inverse, channels_last, order) else y

    return call


def _kind_dtypes(backend: str, kind: str) -> list[str]:
    """The dtypes of the kinds family's cases of ``kind`` on ``backend`` (the rows that reach them)."""
    from subpixel.conformance import all_cases
    from subpixel.conformance._kinds import kinds_of

    return sorted(
        {
            c.dtypes[0]
            for c in all_cases()
            if c.family == "kinds" and c.backends == (backend,) and kind in kinds_of(c)
        }
    )


def check_kind(register: Callable[..., str], kind: str) -> None:
    """Plant the bug of ``kind``: the kinds family catches it, on cases of that kind only.

    The matrix runs the family on the dtypes its cases of that kind use; the control (the
    library itself) passes the same cases.
    """
    from subpixel.conformance import cases_by_id
    from subpixel.conformance._kinds import kinds_of

    backend, condition = KIND_BUGS[kind]
    dtypes = _kind_dtypes(backend, kind)
    found = check(register, backend, wrong_for(condition), library, ["kinds"], dtypes, ReferenceBook())
    cases = cases_by_id()
    assert all(kind in kinds_of(cases[case]) for case in found), found


@pytest.mark.parametrize("kind", [k for k, (backend, _) in KIND_BUGS.items() if backend == "numpy"])
def test_one_kind_at_real_size_only(planted: Callable[..., str], kind: str) -> None:
    """Wrong for one kind of NumPy input at a size the copy engine takes, right elsewhere."""
    check_kind(planted, kind)


@pytest.mark.needs("torch")
@pytest.mark.parametrize("kind", [k for k, (backend, _) in KIND_BUGS.items() if backend == "torch"])
def test_one_torch_kind_at_real_size_only(planted: Callable[..., str], kind: str) -> None:
    """Wrong for one torch memory format at a size the copy engine takes, right elsewhere."""
    check_kind(planted, kind)
