"""Nothing lost: inputs are never modified, outputs never alias inputs, layers keep no state.

* every backend, every kind of plan (identity plans with factor 1 included, where a lazy
  implementation would be tempted to return the input or a view), small and large inputs:
  the input's bytes are unchanged, the result shares no memory with it, and writing into the
  result leaves the input alone; for JAX, donating the result to a later computation leaves
  the input alive;
* the layers (torch, Flax NNX and Linen, Keras) hold no state that a call changes: their
  attributes, parameters and state are the same after calls on different shapes, and a layer
  that has seen other inputs gives the same bits as a fresh one.
"""

from __future__ import annotations

import copy
import importlib
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import subpixel
from tests.backends import Backend, to_numpy
from tests.reference import owner_bytes, reference
from tests.values import assert_same_bits, special_array

#: Frameworks this module needs beyond NumPy and the test tools (see tests/collection.py).
NEEDS = ()

#: (input shape, factor, channels_last, order, inverse): identity plans first.
PLANS = [
    ((2, 4, 3, 3), 1, False, "CRD", False),
    ((2, 4, 3, 3), (1,), False, "DCR", True),
    ((2, 3, 3, 4), (1, 1), True, "CRD", True),
    ((2, 4, 1, 1), 2, False, "CRD", False),  # only singleton axes move
    ((3, 8, 2, 3), 2, False, "DCR", False),
    ((3, 4, 6, 6), (2, 3), True, "CRD", True),
    ((1, 2, 4, 6, 6), (1, 2, 3), False, "CRD", True),
    ((2, 0, 3, 3), 2, False, "CRD", False),  # zero-size
    ((2, 16, 96, 96), 2, False, "CRD", False),  # large: past every fast path's small threshold
    ((2, 96, 96, 16), (2, 2), True, "DCR", True),
]
DTYPES = ["float32", "uint8", "complex128", "bool"]

#: Dask rechunks inputs whose chunks split a channel group, with a ChunkingWarning (a hint
#: about speed): the results are what is checked here.
pytestmark = pytest.mark.filterwarnings("ignore::subpixel.ChunkingWarning")


def _storage_range(tensor: Any) -> tuple[int, int]:
    storage = tensor.untyped_storage()
    return storage.data_ptr(), storage.data_ptr() + storage.nbytes()


def _shares(backend: Backend, result: Any, x: Any, owners: list[Any]) -> bool:
    """Whether ``result`` shares memory with ``x`` or the buffers behind it."""
    if backend is Backend.NUMPY:
        return any(np.shares_memory(result, owner) for owner in [x, *owners])
    if backend is Backend.TORCH:
        start, stop = _storage_range(result)
        if stop == start:
            return False
        a_start, a_stop = _storage_range(x)
        return start < a_stop and a_start < stop
    if backend is Backend.ARRAY_API_STRICT:
        return bool(np.shares_memory(result._array, x._array))
    if backend is Backend.DASK:
        return any(np.shares_memory(result.compute(), owner) for owner in owners)
    if backend is Backend.JAX:
        if result.size == 0:
            return False
        return bool(result.unsafe_buffer_pointer() == x.unsafe_buffer_pointer())
    return False


def _write_into(result: Any) -> None:
    """Scribble over a mutable result (NumPy, torch) in place."""
    if isinstance(result, np.ndarray):
        result[...] = np.ones((), dtype=result.dtype)
    elif type(result).__module__.startswith("torch"):
        result.fill_(1)


@pytest.mark.parametrize("plan", PLANS, ids=lambda p: f"{p[0]}-{p[1]}-{'cl' if p[2] else 'cf'}-{p[3]}-{p[4]}")
@pytest.mark.parametrize("dtype", DTYPES)
def test_inputs_are_never_modified_and_outputs_never_alias_them(
    backend: Backend, plan: Any, dtype: str
) -> None:
    shape, factor, channels_last, order, inverse = plan
    values = special_array(shape, dtype, np.random.default_rng(abs(hash((shape, dtype))) % 2**32))
    owners: list[Any] = []
    if backend is Backend.DASK:
        import dask.array as da

        source = values.copy()
        owners = [source]
        x = da.from_array(source, chunks=tuple(max(1, s // 2) for s in shape))
    else:
        x = backend.from_numpy(values)
    before = to_numpy(x).tobytes()
    source_bytes = owner_bytes(owners)
    func = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
    result = func(x, factor, channels_last=channels_last, order=order)
    options = {"inverse": inverse, "channels_last": channels_last, "order": order}
    assert_same_bits(to_numpy(result), reference(values, factor, **options))
    assert result is not x
    assert not _shares(backend, result, x, owners), "the result shares memory with the input"
    _write_into(result)
    assert to_numpy(x).tobytes() == before, "the input changed"
    assert owner_bytes(owners) == source_bytes, "the NumPy array behind the Dask input changed"


@pytest.mark.needs("jax")
def test_donating_a_jax_result_leaves_the_input_alive() -> None:
    import jax
    import jax.numpy as jnp

    x = jnp.arange(64.0).reshape(1, 16, 2, 2)
    for factor in (1, (1,), 2):
        y = subpixel.pixel_shuffle(x, factor)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "donated buffers were not usable" on some platforms
            jax.jit(lambda a: a + 1, donate_argnums=0)(y)
        assert not x.is_deleted()
        assert float(x[0, 1, 0, 0]) == 4.0


# --- layers ------------------------------------------------------------------------------------


def _torch_snapshot(layer: Any) -> tuple[Any, ...]:
    state = {k: v.detach().clone() for k, v in layer.state_dict().items()}
    plain = {k: v for k, v in vars(layer).items() if not k.startswith("_")}
    return state, copy.deepcopy(plain), sorted(layer._buffers), sorted(layer._parameters)


def _same_torch_snapshot(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    import torch

    (state_a, plain_a, buffers_a, params_a), (state_b, plain_b, buffers_b, params_b) = a, b
    same_state = state_a.keys() == state_b.keys() and all(
        torch.equal(state_a[k], state_b[k]) for k in state_a
    )
    return same_state and repr(plain_a) == repr(plain_b) and buffers_a == buffers_b and params_a == params_b


@pytest.mark.needs("torch")
@pytest.mark.parametrize("name", ["PixelShuffle", "PixelUnshuffle", "SubPixelConv"])
def test_torch_layers_keep_no_state_between_calls(name: str) -> None:
    import torch

    import subpixel.torch as layers

    torch.manual_seed(0)
    makers: dict[str, Callable[[], Any]] = {
        "PixelShuffle": lambda: layers.PixelShuffle(2),
        "PixelUnshuffle": lambda: layers.PixelUnshuffle(2),
        "SubPixelConv": lambda: layers.SubPixelConv(4, 3, 2),
    }
    make = makers[name]
    layer = make()
    fresh = copy.deepcopy(layer)
    shapes = (
        [(1, 4, 6, 6), (3, 4, 2, 8), (1, 4, 6, 6)] if name != "PixelShuffle" else [(1, 8, 3, 3), (2, 4, 5, 1)]
    )
    snapshot = _torch_snapshot(layer)
    inputs = [
        torch.from_numpy(special_array(s, "float32", np.random.default_rng(i))) for i, s in enumerate(shapes)
    ]
    inputs = [torch.nan_to_num(t) for t in inputs]
    with torch.no_grad():
        outputs = [layer(t) for t in inputs]
    assert _same_torch_snapshot(snapshot, _torch_snapshot(layer)), "a call changed the layer"
    with torch.no_grad():
        for t, out in zip(inputs, outputs, strict=True):
            assert_same_bits(out.numpy(), fresh(t).numpy())


@pytest.mark.needs("jax", "flax")
@pytest.mark.parametrize("name", ["PixelShuffle", "PixelUnshuffle", "SubPixelConv"])
def test_flax_nnx_layers_keep_no_state_between_calls(name: str) -> None:
    import jax.numpy as jnp
    from flax import nnx

    layers = importlib.import_module("subpixel.flax")
    flax_makers: dict[str, Callable[[], Any]] = {
        "PixelShuffle": lambda: layers.PixelShuffle(2),
        "PixelUnshuffle": lambda: layers.PixelUnshuffle(2),
        "SubPixelConv": lambda: layers.SubPixelConv(4, 3, 2, rngs=nnx.Rngs(0)),
    }
    make = flax_makers[name]
    layer, fresh = make(), make()
    before = nnx.state(layer)
    shapes = (
        [(1, 6, 6, 4), (2, 2, 8, 4), (1, 6, 6, 4)] if name != "PixelShuffle" else [(1, 3, 3, 8), (2, 5, 1, 4)]
    )
    inputs = [
        jnp.asarray(np.random.default_rng(i).standard_normal(s), jnp.float32) for i, s in enumerate(shapes)
    ]
    outputs = [layer(x) for x in inputs]
    after = nnx.state(layer)
    assert repr(before) == repr(after), "a call changed the layer's state"
    for x, out in zip(inputs, outputs, strict=True):
        assert_same_bits(np.asarray(out), np.asarray(fresh(x)))


@pytest.mark.needs("jax", "flax", "keras")
def test_flax_linen_and_keras_shuffle_layers_keep_no_state_between_calls() -> None:
    import jax.numpy as jnp

    linen = importlib.import_module("subpixel.flax.linen")
    keras_layers = importlib.import_module("subpixel.keras")
    shapes = [(1, 3, 3, 8), (2, 5, 1, 4), (1, 3, 3, 8)]
    inputs = [np.random.default_rng(i).standard_normal(s).astype(np.float32) for i, s in enumerate(shapes)]
    module = linen.PixelShuffle(2)
    variables = module.init(__import__("jax").random.PRNGKey(0), jnp.asarray(inputs[0]))
    assert not __import__("jax").tree_util.tree_leaves(variables), "a shuffle has no variables"
    layer = keras_layers.PixelShuffle(2, data_format="channels_last")
    config = layer.get_config()
    for x in inputs:
        want = reference(x, 2, inverse=False, channels_last=True, order="CRD")
        assert_same_bits(np.asarray(module.apply(variables, jnp.asarray(x))), want)
        assert_same_bits(np.asarray(layer(x)), want)
    assert layer.get_config() == config
    assert not layer.weights
