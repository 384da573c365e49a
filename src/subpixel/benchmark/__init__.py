"""Benchmark: subpixel against a memory copy of the same bytes and PyTorch's own op.

Run it with ``python -m subpixel bench [--quick] [--json PATH] [--plot PATH]``; see
:func:`subpixel.benchmark.cli.main`.
"""
