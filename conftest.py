"""Collection for the whole tree (``tests/`` and the doctests of ``src/subpixel``): tests/collection.py."""

from tests.collection import (
    pytest_collection_modifyitems,
    pytest_configure,
    pytest_ignore_collect,
    pytest_report_header,
    pytest_runtest_makereport,
    pytest_terminal_summary,
)

__all__ = [
    "pytest_collection_modifyitems",
    "pytest_configure",
    "pytest_ignore_collect",
    "pytest_report_header",
    "pytest_runtest_makereport",
    "pytest_terminal_summary",
]
