"""JAX's conformance adapter: x64 for the 64-bit rows, sharded inputs, ``jax.jit``, autodiff."""

from __future__ import annotations

import contextlib
import importlib
from collections.abc import Iterator
from typing import Any

import numpy as np

from subpixel._catalog import Entry, entry
from subpixel.conformance._backends._base import (
    WIDE,
    ArrayBackend,
    Derivatives,
    HostResult,
    NotApplicableError,
    RowSpec,
    derivatives,
    host_copy,
    library_call,
)
from subpixel.conformance._cases import Case

__all__ = ["ADAPTER", "JaxBackend", "jax_jit_call"]


def jax_jit_call(x: Any, factor: Any, inverse: bool, channels_last: bool, order: str) -> Any:
    """Run the library inside ``jax.jit``."""
    import jax

    def run(y: Any) -> Any:
        return library_call(y, factor, inverse, channels_last, order)

    return jax.jit(run)(x)


class JaxBackend(ArrayBackend):
    """JAX on CPU and GPU; 64-bit dtypes run with x64 enabled; arrays have no strides."""

    strided = False
    seconds = 155

    def __init__(self, entry: Entry | None = None, enable_x64: bool = True) -> None:
        super().__init__(entry or _jax())
        #: False reports the 64-bit rows as not run instead of enabling x64 for them.
        self.enable_x64 = enable_x64

    def rows(self) -> tuple[RowSpec, ...]:
        """Return the rows of the library's functions, eagerly and inside ``jax.jit`` (both compile)."""
        routes = self.entry.routes
        return (
            RowSpec(self.name, routes, "subpixel on JAX arrays (eager)", compiles=True, seconds=155),
            RowSpec(f"{self.name}.jit", routes, "subpixel inside jax.jit", jax_jit_call, True, 135),
        )

    def _devices(self, device: str) -> list[Any]:
        found: list[Any] = self.entry.platform_devices(device)  # type: ignore[attr-defined]
        return found

    def dtype_problem(self, dtype: str, device: str) -> str | None:
        """64-bit dtypes need x64."""
        if dtype in WIDE and not self.enable_x64:
            return "JAX x64 disabled"
        return super().dtype_problem(dtype, device)

    def dtype_object(self, dtype: str) -> Any:
        """``jnp.dtype``."""
        return self.load().dtype(dtype)

    @contextlib.contextmanager
    def dtype_context(self, dtype: str) -> Iterator[None]:
        """64-bit rows run inside ``jax.enable_x64(True)``; the others in the ambient setting."""
        if dtype not in WIDE:
            yield
            return
        import jax

        enable: Any = getattr(jax, "enable_x64", None)
        if enable is None:  # older JAX
            enable = importlib.import_module("jax.experimental").enable_x64
        with enable(True):
            yield

    def make_input(self, case: Case, x: np.ndarray[Any, Any], dtype: str, device: str) -> tuple[Any, Any]:
        """JAX layouts: contiguous, or the batch axis sharded over every device of an explicit mesh.

        With an even number of devices from four, the mesh has two axes: the batch axis is sharded
        over both (an entry naming several mesh axes) for elements of 1, 4 and 16 bytes, and over
        the first alone (an entry naming one) for 2 and 8 bytes, so both kinds of entry are met.
        """
        if case.layout != "jax_sharded":
            return super().make_input(case, x, dtype, device)
        import jax
        from jax.sharding import NamedSharding, PartitionSpec

        found = self._devices(device)
        if len(found) < 2:
            msg = f"JAX sees {len(found)} {device} device: sharding needs several"
            raise NotApplicableError(msg)
        if x.shape[0] % len(found):
            msg = f"the batch axis ({x.shape[0]}) does not divide over {len(found)} devices"
            raise NotApplicableError(msg)
        axis_type: Any = getattr(jax.sharding, "AxisType", None)
        if axis_type is None:
            raise NotApplicableError("this JAX has no explicit mesh axes")
        spec: Any = PartitionSpec
        host = host_copy(x, dtype)
        if len(found) % 2 or len(found) < 4:
            mesh = jax.make_mesh((len(found),), ("batch",), axis_types=(axis_type.Explicit,), devices=found)
            sharding = NamedSharding(mesh, spec("batch"))
        else:  # the batch axis over both axes of a two-axis mesh, or over its first
            shape, names = (2, len(found) // 2), ("hosts", "chips")
            mesh = jax.make_mesh(shape, names, axis_types=(axis_type.Explicit,) * 2, devices=found)
            over = names if host.dtype.itemsize in (1, 4, 16) else names[:1]
            sharding = NamedSharding(mesh, spec(over))
        array = jax.device_put(host, sharding)
        return array, array

    def namespace(self) -> Any:
        """``jax.numpy``."""
        return self.load()

    def is_array(self, y: Any) -> bool:
        """Check for a ``jax.Array``."""
        import jax

        return isinstance(y, jax.Array)

    def shares_memory(self, y: Any, y_host: HostResult, owner: Any) -> bool:
        """JAX arrays are immutable; sharing cannot be observed."""
        return False

    def device_mismatch(self, y: Any, x: Any) -> str | None:
        """Compare ``.devices()``."""
        return None if y.devices() == x.devices() else f"output on {y.devices()}, input on {x.devices()}"

    def output_problem(self, case: Case, x: Any, y: Any) -> str | None:
        """Return a problem where a batch axis sharded over mesh axes lost that sharding.

        A shuffle moves nothing between batch items, so a batch axis sharded over mesh axes
        stays sharded over the same mesh axes (gathering it would move every shard).
        """
        given, got = (_named_spec(a) for a in (x, y))
        if given is None or not len(given) or given[0] is None:
            return None
        if got is None or _mesh_axes(got[0] if len(got) else None) != _mesh_axes(given[0]):
            return f"batch axis sharded as {given[0]!r} in the input, output sharded {got!r}"
        return None

    def autodiff(self, call: Any, x: Any, t: Any, g: Any) -> Derivatives:
        """Every derivative of ``call`` at ``x`` (see :meth:`TorchBackend.autodiff`)."""
        import jax

        def pullback(c: Any) -> Any:
            return jax.vjp(call, x)[1](c)[0]

        return derivatives(
            [
                ("reverse (jax.vjp)", "reverse", lambda: pullback(g)),
                ("forward (jax.jvp)", "forward", lambda: jax.jvp(call, (x,), (t,))[1]),
                ("double backward (jax.vjp of the vjp)", "forward", lambda: jax.vjp(pullback, g)[1](t)[0]),
                (
                    "forward over reverse (jax.jvp of the vjp)",
                    "reverse",
                    lambda: jax.jvp(pullback, (g,), (g,))[1],
                ),
            ]
        )


def _named_spec(a: Any) -> tuple[Any, ...] | None:
    """Return the ``PartitionSpec`` of an array on a ``NamedSharding`` as a tuple (else None)."""
    spec = getattr(getattr(a, "sharding", None), "spec", None)
    return None if spec is None else tuple(spec)


def _mesh_axes(entry: Any) -> tuple[str, ...]:
    """Return the mesh axes of one ``PartitionSpec`` entry (a name, a tuple of names, or None)."""
    if entry is None:
        return ()
    return tuple(entry) if isinstance(entry, tuple | list) else (entry,)


def _jax() -> Entry:
    return entry("jax")


ADAPTER = JaxBackend
