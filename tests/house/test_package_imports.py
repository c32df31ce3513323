"""Every module of the sotelake package imports (the tasks import theirs only when they run, so
a broken import would otherwise surface in the middle of a run)."""

import importlib
import pkgutil

import sotelake


def test_every_module_of_the_package_imports():
    failed = {}
    for module in pkgutil.walk_packages(sotelake.__path__, "sotelake."):
        try:
            importlib.import_module(module.name)
        except Exception as error:  # report them all, not the first
            failed[module.name] = repr(error)
    assert not failed, failed
