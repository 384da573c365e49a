"""Peak memory of one call, measured in a fresh process (resident-set high-water mark).

Linux only: the peak (``VmHWM``) is reset through ``/proc/self/clear_refs`` after the input
is built and the libraries are loaded, so the growth it shows is the result plus scratch.
"""

from __future__ import annotations

import json
import subprocess
import sys

__all__ = ["peak_extra_bytes"]

_SCRIPT = r"""
import json, sys
import numpy as np
name, op, shape, dtype, r = json.loads(sys.argv[1])
x = np.ones(shape, dtype=dtype)
inverse = op == "unshuffle"
if name.endswith("torch") or name == "torch native":
    import torch
    t = torch.from_numpy(x)
else:
    t = x
import subpixel
function = subpixel.pixel_unshuffle if inverse else subpixel.pixel_shuffle
small = np.ones((1, r * r * 2, 4, 4) if not inverse else (1, 2, 4 * r, 4 * r), dtype=dtype)
if name == "torch native":
    native = torch.nn.functional.pixel_unshuffle if inverse else torch.nn.functional.pixel_shuffle
    call = lambda a: native(a, r)
    native(torch.from_numpy(small), r)
elif name == "einops numpy":
    import einops
    pattern = "b (c h2 w2) h w -> b c (h h2) (w w2)"
    if inverse:
        pattern = "b c (h h2) (w w2) -> b (c h2 w2) h w"
    call = lambda a: einops.rearrange(a, pattern, h2=r, w2=r)
    call(small)
elif name == "np.copy":
    call = np.copy
else:
    call = lambda a: function(a, r)
    call(torch.from_numpy(small) if name.endswith("torch") else small)
def hwm():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset the peak to the current resident set
before = hwm()
y = call(t)
after = hwm()
out = y.nbytes if hasattr(y, "nbytes") else y.numel() * y.element_size()
print(json.dumps({"extra": after - before, "out": int(out)}))
"""


def peak_extra_bytes(name: str, op: str, shape: tuple[int, ...], dtype: str, factor: int) -> dict[str, int]:
    """Growth of the peak resident set during one call of candidate ``name``, and the output size.

    The input is allocated and touched first, so ``extra`` is output plus scratch; ideally it
    equals ``out``. The small warm-up call loads libraries before the baseline is read.
    """
    args = json.dumps([name, op, list(shape), dtype, factor])
    done = subprocess.run([sys.executable, "-c", _SCRIPT, args], capture_output=True, text=True, check=True)
    result: dict[str, int] = json.loads(done.stdout.strip().splitlines()[-1])
    return result
