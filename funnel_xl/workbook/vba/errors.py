"""The one error of the VBA project builder (sources, compression and compound file alike)."""

from funnel_xl.errors import FunnelError


class VbaProjectError(FunnelError, ValueError):
    """A VBA source or the installed xlwings cannot be turned into the workbook's VBA project."""
