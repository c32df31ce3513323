"""Import Great Expectations without the two heavy imports its pandas checks never use.

``import great_expectations`` is among the slowest steps of a validating task's start, and two
of its heavy parts serve nothing here:
- scipy.stats: GX imports it at the top of one expectation,
  expect_column_kl_divergence_to_be_less_than, which calls it only while it validates. Here it
  is imported when first used (``_ImportedOnUse``), so that expectation still works.
- pyspark (and scipy.sparse through pyspark.ml): GX's Spark engine, installed for the
  dbt Spark target. GX is imported with pyspark hidden, so its Spark types are "not installed";
  the checks run on pandas. pyspark itself stays importable afterwards (the Spark build).
Either is left alone when the process has already imported it.
"""

from __future__ import annotations

import importlib
import sys
import types

STATS = "scipy.stats"


class _ImportedOnUse(types.ModuleType):
    """Stands in for a module until an attribute of it is first read, then imports it."""

    def __getattr__(self, name: str):
        if name.startswith("__") and name != "__path__":  # the import system's questions
            raise AttributeError(name)  # are not a use; a submodule's import (__path__) is
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        module = importlib.import_module(self.__name__)
        self.__dict__.update(module.__dict__)  # later reads find it here
        return getattr(module, name)


def import_great_expectations():
    """``import great_expectations``, without importing scipy.stats or pyspark for it."""
    if "great_expectations" in sys.modules:
        return sys.modules["great_expectations"]
    if STATS not in sys.modules:
        sys.modules[STATS] = _ImportedOnUse(STATS)
    hide_spark = "pyspark" not in sys.modules
    if hide_spark:
        sys.modules["pyspark"] = None  # `import pyspark` raises ImportError
    try:
        import great_expectations
    finally:
        if hide_spark and sys.modules.get("pyspark", 0) is None:
            del sys.modules["pyspark"]
    return great_expectations
