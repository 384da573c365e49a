"""The version of subpixel-kernels (read by the build from here)."""

__version__ = "0.2.0"
