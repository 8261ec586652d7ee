"""Shared helpers for pgpviewer's PyInstaller hooks (not a hook itself: no ``hook-`` prefix).

``pgpviewer.spec`` puts this folder on ``sys.path`` (hooks run in the build process), so the
hooks can import this module.
"""

from __future__ import annotations

# Test suites, benchmarks and pytest plugins shipped inside packages: never needed at run time,
# and they would pull pytest and friends into the bundle.
TEST_PARTS = ("_tests", "tests", "benchmarks", "conftest", "_testsupport", "_testing")
TEST_GLOBS = [f"**/{part}/**" for part in TEST_PARTS] + ["**/conftest.py"]


def not_a_test(module: str) -> bool:
    """``collect_submodules`` filter: drop ``pkg._tests``, ``pkg.benchmarks``, ``conftest``…"""
    return not any(part in TEST_PARTS for part in module.split("."))
