"""Render every sheet of a workbook to PNG through LibreOffice, for a person to look at.

    python tools/render.py workbook/Funnel.xlsm -o renders/ [--dpi 80] [--pdf]

LibreOffice recalculates the workbook on a private profile (it is only read, never saved back), prints each
sheet on a single page and pdftoppm turns the pages into ``NN_<sheet>.png``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from funnel_xl import libreoffice


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbook", type=Path, help="the .xlsx/.xlsm to render")
    parser.add_argument("-o", "--outdir", type=Path, default=Path("renders"), help="folder for the PNGs")
    parser.add_argument("--dpi", type=int, default=80, help="resolution of the PNGs (default 80)")
    parser.add_argument("--pdf", action="store_true", help="also keep the PDF LibreOffice printed")
    args = parser.parse_args(argv)
    try:
        pngs = libreoffice.render_pngs(args.workbook, args.outdir, dpi=args.dpi)
        if args.pdf:
            print(libreoffice.to_pdf(args.workbook, args.outdir))
    except (FileNotFoundError, libreoffice.LibreOfficeError) as exc:
        print(f"render: {exc}", file=sys.stderr)
        return 1
    for png in pngs:
        print(png)
    return 0


if __name__ == "__main__":
    sys.exit(main())
