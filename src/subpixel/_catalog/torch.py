"""PyTorch: its own fast path (the copy engine on CPU); runs without NumPy."""

from __future__ import annotations

from typing import Any

from subpixel._catalog._entry import Entry

__all__ = ["Torch"]


class Torch(Entry):
    """PyTorch tensors on the CPU and on CUDA."""

    name = "torch"
    title = "PyTorch"
    requires = ("torch",)
    fast_path = "subpixel._fast.torch"
    routes = "torch"
    adapter = "subpixel.conformance._backends.torch"
    extra = "torch"
    devices = ("cpu", "gpu")
    keras_backend = True
    gradient_tool = "torch.autograd.grad"

    def device_problem(self, device: str) -> str | None:
        """Require CUDA for the GPU device."""
        if device == "gpu":
            return None if self.load().cuda.is_available() else "no CUDA device"
        return super().device_problem(device)

    def device_name(self, device: str) -> str:
        """Return the CUDA device's name."""
        return f"cuda:0 {self.load().cuda.get_device_name(0)}" if device == "gpu" else device

    def from_numpy(self, x: Any, device: str = "cpu") -> Any:
        """``from_numpy`` of a copy (``bfloat16`` through its bits), moved to ``device``."""
        torch = self.load()
        if x.dtype.name == "bfloat16":
            tensor = torch.from_numpy(x.view(f"<i{x.itemsize}").copy()).view(torch.bfloat16)
        else:
            tensor = torch.from_numpy(x.copy())
        return tensor.to("cuda") if device == "gpu" else tensor

    def to_numpy(self, y: Any) -> Any:
        """Return a host copy; ``bfloat16`` as ``int16`` (NumPy has no ``bfloat16``)."""
        torch = self.load()
        t = y.detach().cpu()
        return t.view(torch.int16).numpy() if t.dtype == torch.bfloat16 else t.numpy()

    def from_bytes(self, data: bytes, shape: tuple[int, ...], dtype: str) -> Any:
        """``torch.frombuffer`` (no NumPy needed)."""
        torch = self.load()
        if not data:
            return torch.empty(shape, dtype=getattr(torch, dtype))
        return torch.frombuffer(bytearray(data), dtype=getattr(torch, dtype)).reshape(shape)

    def to_bytes(self, y: Any) -> bytes:
        """Return the bytes of the contiguous tensor (no NumPy needed)."""
        torch = self.load()
        flat = y.detach().cpu().contiguous().reshape(-1).view(torch.uint8)
        return bytes(flat.tolist())

    def dtype_name(self, y: Any) -> str:
        """``torch.float32`` -> ``float32``."""
        return str(y.dtype).removeprefix("torch.")

    def gradient(self, f: Any, x: Any, g: Any) -> Any:
        """``torch.autograd.grad``."""
        torch = self.load()
        t = torch.from_numpy(x.copy()).requires_grad_(True)
        (grad,) = torch.autograd.grad(f(t), t, torch.from_numpy(g.copy()))
        return grad.detach().cpu().numpy()
