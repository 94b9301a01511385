"""Helpers shared by the Excel-side tests: xlwings' remote engine and real decorators, and values shaped the way
Excel passes them to a worksheet function.

On Linux ``xw.func``/``xw.arg``/``xw.ret`` are no-ops, so ``declare_udfs`` loads a second copy of the UDF module
with xlwings' Windows decorators to inspect what they declare, and ``call_like_excel`` runs arguments through
xlwings' own conversion pipeline (the remote engine's, test-only) the way ``call_udf`` does on Windows.
"""

from __future__ import annotations

import datetime as dt
import importlib
import importlib.util
import math
import os
import sys
import types

import pandas as pd

_WINDOWS_ONLY = ("pythoncom", "pywintypes", "win32api", "win32com", "win32com.client")


def register_remote_engine():
    """xlwings' remote engine (xlwings.pro; noncommercial key, tests only), registered even if xlwings was
    imported before the key was set."""
    os.environ.setdefault("XLWINGS_LICENSE_KEY", "noncommercial")
    import xlwings as xw

    if "remote" not in [e.name for e in xw.engines]:
        from xlwings.pro import _xlremote

        xw.engines.add(xw.main.Engine(impl=_xlremote.engine))
    return xw


def declare_udfs():
    """funnel_xl/excel/udfs.py loaded as a second module with xlwings' real (Windows) decorators, which attach
    ``__xlfunc__``; the Windows-only modules xlwings.udfs imports are stubbed just for the import."""
    saved = {name: sys.modules.get(name) for name in (*_WINDOWS_ONLY, "xlwings.udfs")}
    for name in _WINDOWS_ONLY:
        sys.modules[name] = types.ModuleType(name)
    sys.modules["pythoncom"].CoInitialize = lambda: None
    sys.modules["win32com.client"].Dispatch = None
    import xlwings as xw

    try:
        sys.modules.pop("xlwings.udfs", None)
        real = importlib.import_module("xlwings.udfs")
        originals = xw.func, xw.arg, xw.ret
        xw.func, xw.arg, xw.ret = real.xlfunc, real.xlarg, real.xlret
        try:
            import funnel_xl.excel.udfs as shipped

            spec = importlib.util.spec_from_file_location("funnel_udfs_declared", shipped.__file__)
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
        finally:
            xw.func, xw.arg, xw.ret = originals
    finally:
        for name, mod in saved.items():
            if mod is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = mod
    return module


def call_like_excel(func, *raw_args):
    """Call a declared UDF the way xlwings' ``call_udf`` does: convert each raw argument with the declared
    options (None stands for an argument left out, which gets the Python default), call, convert the result."""
    from xlwings import conversion

    register_remote_engine()
    info = func.__xlfunc__
    args = []
    for i, raw in enumerate(raw_args):
        arg_info = info["args"][i]
        if raw is None:
            args.append(arg_info.get("optional"))
        else:
            args.append(conversion.read(None, raw, arg_info["options"], engine_name="remote"))
    result = func(*args)
    return conversion.write(result, None, info["ret"]["options"], engine_name="remote")


def excel_value(value):
    """A pandas value as xlwings hands it to a function: None for blanks, datetime for dates, floats for numbers."""
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.to_pydatetime()
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return dt.datetime.combine(value, dt.time())
    if hasattr(value, "item") and not isinstance(value, str):
        value = value.item()
    if isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    return value


def column(frame: pd.DataFrame, name: str) -> list[list]:
    """One column as the 2-D list Excel passes for a vertical range."""
    return [[excel_value(v)] for v in frame[name]]


def table_range(frame: pd.DataFrame, columns=None) -> list[list]:
    """A frame as a table range with its header row (canonical column names as headers)."""
    columns = list(columns or frame.columns)
    return [columns] + [[excel_value(v) for v in row] for row in frame[columns].itertuples(index=False)]
