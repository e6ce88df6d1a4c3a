"""jixiao 绩效: collect, check and consolidate 年度项目绩效目标 forms.

The library calls behind the commands, importable from the package itself:
`jixiao.write_templates`, `jixiao.check_files`, `jixiao.merge_files`, `jixiao.collection_status`,
`jixiao.load_form`, `jixiao.load_roster`. (Imported on first use, so `import jixiao` stays cheap.)
"""

__version__ = "0.1.0"

_EXPORTS = {
    "write_templates": "jixiao.template",
    "check_files": "jixiao.check",
    "merge_files": "jixiao.publish",
    "collection_status": "jixiao.status",
    "load_form": "jixiao.spec",
    "load_roster": "jixiao.roster",
    "load_budget": "jixiao.roster",
}


def __getattr__(name: str):
    if name in _EXPORTS:
        import importlib

        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'jixiao' has no attribute {name!r}")
