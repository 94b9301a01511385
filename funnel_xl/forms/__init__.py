"""Stage-assessment forms (销售阶段评估表): generate them with openpyxl, read filled ones back, collect them."""
