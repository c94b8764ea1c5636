"""The standard normal CDF `ndtr`: scipy's own ufunc, loaded without scipy.special.

Importing any module of scipy.special first runs that package's __init__, about 0.2 s
(its array-API layer imports most of numpy's submodules); the ndtr ufunc lives in one
compiled module that needs none of it, so that file is loaded by itself. A scipy that
keeps ndtr elsewhere (before 1.14) gets the ordinary import: the same kernel, slower start.
"""
from __future__ import annotations

import importlib.machinery
import importlib.util
from pathlib import Path


def _load_ndtr():
    scipy = importlib.util.find_spec("scipy")  # where it is, without running its __init__ (~5 ms)
    for suffix in importlib.machinery.EXTENSION_SUFFIXES if scipy else ():
        path = Path(scipy.submodule_search_locations[0], "special", f"_special_ufuncs{suffix}")
        if path.is_file():
            try:
                spec = importlib.util.spec_from_file_location("scipy.special._special_ufuncs", path)
                module = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(module)
                return module.ndtr
            except (ImportError, AttributeError):
                break
    from scipy.special import ndtr
    return ndtr


ndtr = _load_ndtr()
