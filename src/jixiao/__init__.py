"""jixiao 绩效: collect, check and consolidate 年度项目绩效目标 forms."""

__version__ = "0.1.0"
