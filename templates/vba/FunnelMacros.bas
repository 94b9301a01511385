Attribute VB_Name = "FunnelMacros"
' funnel_xl commands. Every button and ribbon entry runs one Python function of funnel_xl.excel.macros.
' The Python module is written out in full instead of being derived from the workbook's file name,
' so a copy saved as "Funnel (1).xlsm" (an e-mail attachment, a download) still finds its code.
' This file is the source of the FunnelMacros module in Funnel.xlsm: edit it here, then rebuild.
Option Explicit

Public Sub RecalculateForecast()
    RunPython "import funnel_xl.excel.macros as m; m.recalculate_forecast()"
End Sub

Public Sub GenerateAssessmentForms()
    RunPython "import funnel_xl.excel.macros as m; m.generate_assessment_forms()"
End Sub

Public Sub CollectAssessments()
    RunPython "import funnel_xl.excel.macros as m; m.collect_assessments()"
End Sub

Public Sub BuildQuotaSheets()
    RunPython "import funnel_xl.excel.macros as m; m.build_quota_sheets()"
End Sub

Public Sub ExportForReaders()
    RunPython "import funnel_xl.excel.macros as m; m.export_for_readers()"
End Sub

Public Sub ImportCrmExport()
    RunPython "import funnel_xl.excel.macros as m; m.import_crm_export()"
End Sub

Public Sub UpgradeWorkbook()
    RunPython "import funnel_xl.excel.macros as m; m.upgrade_workbook()"
End Sub

' Ribbon callbacks: a customUI onAction calls a Sub that takes the clicked control.

Public Sub Ribbon_RecalculateForecast(control As IRibbonControl)
    RecalculateForecast
End Sub

Public Sub Ribbon_GenerateAssessmentForms(control As IRibbonControl)
    GenerateAssessmentForms
End Sub

Public Sub Ribbon_CollectAssessments(control As IRibbonControl)
    CollectAssessments
End Sub

Public Sub Ribbon_BuildQuotaSheets(control As IRibbonControl)
    BuildQuotaSheets
End Sub

Public Sub Ribbon_ExportForReaders(control As IRibbonControl)
    ExportForReaders
End Sub

Public Sub Ribbon_ImportCrmExport(control As IRibbonControl)
    ImportCrmExport
End Sub

Public Sub Ribbon_UpgradeWorkbook(control As IRibbonControl)
    UpgradeWorkbook
End Sub
