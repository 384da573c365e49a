"""The C extension (setup.py only for its compiler flags; the metadata is in pyproject.toml)."""

import sys

from setuptools import Extension, setup

# -O3: each kernel's groups become vector shuffles; -g0: no debug information in the wheel.
FLAGS = ["/O2"] if sys.platform == "win32" else ["-O3", "-g0"]

setup(
    ext_modules=[
        Extension(
            "subpixel_kernels._interleave",
            sources=["src/subpixel_kernels/_interleave.c"],
            extra_compile_args=FLAGS,
        )
    ]
)
