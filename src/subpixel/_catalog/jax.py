"""JAX: its own fast path (``jax.jit`` of the plan, sharding-aware); arrays have no strides."""

from __future__ import annotations

from typing import Any

from subpixel._catalog._entry import Entry

__all__ = ["Jax"]


class Jax(Entry):
    """JAX arrays on the CPU and on GPUs."""

    name = "jax"
    title = "JAX"
    modules = ("jax", "jaxlib")
    namespace = "jax.numpy"
    fast_path = "subpixel._fast.jax"
    routes = "jax"
    adapter = "subpixel.conformance._backends.jax"
    extra = "jax"
    compiles_per_shape = True
    distributions = ("jax", "jaxlib")
    devices = ("cpu", "gpu")
    keras_backend = True
    gradient_tool = "jax.vjp"

    def platform_devices(self, device: str) -> list[Any]:
        """Return JAX's devices of ``device``'s platform (none when it has no such platform)."""
        import jax

        try:
            return list(jax.devices("gpu" if device == "gpu" else "cpu"))
        except RuntimeError:
            return []

    def device_problem(self, device: str) -> str | None:
        """Ask JAX for a device of that platform."""
        if device not in self.devices:
            return super().device_problem(device)
        return None if self.platform_devices(device) else f"JAX sees no {device} device"

    def device_name(self, device: str) -> str:
        """JAX's device kind."""
        found = self.platform_devices(device)
        return f"{found[0]} ({found[0].device_kind})" if found else device

    def from_numpy(self, x: Any, device: str = "cpu") -> Any:
        """``jax.device_put`` on the first device of the platform.

        A 64-bit ``x`` keeps its dtype only where x64 is enabled (``jax.enable_x64``).
        """
        import jax

        return jax.device_put(x.copy(), self.platform_devices(device)[0])

    def gradient(self, f: Any, x: Any, g: Any) -> Any:
        """``jax.vjp``."""
        import jax
        import jax.numpy as jnp
        import numpy as np

        _, pullback = jax.vjp(f, jnp.asarray(x))
        return np.asarray(pullback(jnp.asarray(g))[0])
