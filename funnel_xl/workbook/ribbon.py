"""The workbook's custom ribbon tab (销售漏斗), as a customUI part added to the package after XlsxWriter closes it.

Each button's ``onAction`` is the ribbon callback of one macro (``Ribbon_<Macro>(control As IRibbonControl)``
in FunnelMacros.bas); the groups, buttons and icons are the product's macro list in
``funnel_xl/excel/commands.py``. The part is ``customUI/customUI14.xml`` (Office 2010 schema), reached by a root
relationship of the ui/extensibility type; its content type is the package's default for .xml.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from funnel_xl.excel.commands import RIBBON_GROUPS, RIBBON_ICONS, ribbon_callback
from funnel_xl.labels import label
from funnel_xl.workbook.ooxml import add_relationship, xml_attr

CUSTOMUI_PART = "customUI/customUI14.xml"
CUSTOMUI_NS = "http://schemas.microsoft.com/office/2009/07/customui"
REL_TYPE_UI = "http://schemas.microsoft.com/office/2007/relationships/ui/extensibility"
REL_ID = "rIdFunnelRibbon"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)  # XlsxWriter's fixed member date: the package stays reproducible


def customui_xml(lang: str = "zh-CN") -> bytes:
    """The customUI14.xml text: one tab, three groups, a large button per macro."""
    lines = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>',
        f'<customUI xmlns="{CUSTOMUI_NS}">',
        "  <ribbon>",
        "    <tabs>",
        f'      <tab id="funnelTab" label="{xml_attr(label("ribbon.tab", lang))}">',
    ]
    for g, (group_key, macros) in enumerate(RIBBON_GROUPS, start=1):
        lines.append(f'        <group id="funnelGroup{g}" label="{xml_attr(label(group_key, lang))}">')
        for macro in macros:
            lines.append(
                f'          <button id="btn{macro}" label="{xml_attr(label(f"command.{macro}", lang))}" '
                f'size="large" imageMso="{RIBBON_ICONS[macro]}" '
                f'screentip="{xml_attr(label(f"command.{macro}", lang))}" '
                f'supertip="{xml_attr(label(f"command_help.{macro}", lang))}" '
                f'onAction="{ribbon_callback(macro)}"/>'
            )
        lines.append("        </group>")
    lines += ["      </tab>", "    </tabs>", "  </ribbon>", "</customUI>", ""]
    return "\n".join(lines).encode("utf-8")


def add_ribbon(path: Path, lang: str = "zh-CN") -> None:
    """Add (or replace) the ribbon part of a package in place, keeping member order and fixed dates."""
    path = Path(path)
    tmp = path.with_name(path.name + ".ribbon.tmp")
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            if info.filename == CUSTOMUI_PART:
                continue
            data = src.read(info.filename)
            if info.filename == "_rels/.rels":
                data = add_relationship(data.decode("utf-8"), REL_ID, REL_TYPE_UI, CUSTOMUI_PART).encode("utf-8")
            dst.writestr(_member(info.filename), data)
        dst.writestr(_member(CUSTOMUI_PART), customui_xml(lang))
    tmp.replace(path)


def _member(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, ZIP_DATE)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info
