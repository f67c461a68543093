"""The structure docs/ARCHITECTURE.md promises, checked on the code itself (sizes, layers, a runner that knows no method)."""

import ast
import re
from pathlib import Path

from sslviz import methods

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = sorted((ROOT / "sslviz").rglob("*.py"))


def functions(path: Path):
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            yield node.name, node.end_lineno - node.lineno + 1


def test_no_module_over_400_lines_and_no_function_over_60():
    long_modules = {p.name: n for p in PACKAGE if (n := len(p.read_text().splitlines())) > 400}
    long_functions = {f"{p.relative_to(ROOT)}:{name}": n for p in PACKAGE for name, n in functions(p) if n > 60}
    assert not long_modules and not long_functions, (long_modules, long_functions)


def test_the_runner_knows_no_method():
    source = (ROOT / "sslviz" / "jobs.py").read_text()
    code = "\n".join(line.split("#")[0] for line in source.splitlines())
    assert len(source.splitlines()) <= 300
    assert not re.search(r"^\s*(from|import) sslviz\.(methods|recipes|experiment)", source, re.M)
    named = [name for name in methods.REGISTRY if re.search(rf"\b{name}\b", code, re.I)]
    assert not named, f"jobs.py names {named}"


def test_no_getattr_probe_on_a_method_or_its_config_outside_the_method_files():
    probe = re.compile(r"getattr\(([\w.]*method[\w.]*|[\w.]*\.config)\b")
    found = [f"{p.relative_to(ROOT)}:{i}" for p in [*PACKAGE, *(ROOT / "app_pages").glob("*.py")] if "methods" not in p.parts
             for i, line in enumerate(p.read_text().splitlines(), 1) if probe.search(line)]
    assert not found, found


def test_layers_point_one_way():
    # sslviz imports no streamlit outside sslviz/ui; lower layers never import higher ones.
    order = ["setting", "data", "downloads", "augment", "nets", "losses", "methods", "train", "evaluate", "experiment", "recipes", "jobs", "viz", "ui"]
    rank = {name: i for i, name in enumerate(order)}
    for p in PACKAGE:
        top = p.relative_to(ROOT / "sslviz").parts[0].removesuffix(".py")
        source = p.read_text()
        if top != "ui":
            assert not re.search(r"^\s*(import|from) streamlit", source, re.M), p
        if top not in rank:
            continue
        for target in re.findall(r"^\s*from sslviz\.(\w+)|^\s*from sslviz import ([\w, ]+)", source, re.M):
            names = [target[0]] if target[0] else [t.strip() for t in target[1].split(",")]
            for name in names:
                if name in rank and name not in ("jobs",) and top != "recipes":
                    assert rank[name] <= rank[top], f"{p.relative_to(ROOT)} (layer {top}) imports the higher layer {name}"


PAGES = sorted((ROOT / "app_pages").glob("*.py"))


def test_pages_only_lay_out():
    # A page builds no model, trains nothing, clusters nothing and times nothing: that is library work.
    ml = re.compile(r"methods\.create\(|Trainer\(|\.fit\(|kmeans|perf_counter|\.backward\(|optim\.")
    long_pages = {p.name: n for p in PAGES if (n := len(p.read_text().splitlines())) > 200}
    running_ml = [f"{p.name}:{i}" for p in PAGES for i, line in enumerate(p.read_text().splitlines(), 1) if ml.search(line)]
    assert PAGES and not long_pages and not running_ml, (long_pages, running_ml)


def test_the_architecture_document_names_every_module():
    doc = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    unnamed = [str(p.relative_to(ROOT)) for p in PACKAGE
               if p.name != "__init__.py" and not re.search(rf"(?<![\w/]){re.escape(p.name)}", doc)]
    assert not unnamed, f"docs/ARCHITECTURE.md does not name {unnamed}"


def test_home_is_on_screen_before_torch_is_imported():
    """The first visitor after a server start sees Home without waiting for torch (~1-2 s): Home renders before the sidebar imports it."""
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "import streamlit as st\n"
        "from streamlit.testing.v1 import AppTest\n"
        "seen = {}\n"
        "real_title = st.title\n"
        "def title(*a, **k):\n"
        "    seen.setdefault('torch when the title was drawn', 'torch' in sys.modules)\n"
        "    return real_title(*a, **k)\n"
        "st.title = title\n"
        "at = AppTest.from_file('app.py', default_timeout=300)\n"
        "at.run()\n"
        "assert not at.exception, at.exception\n"
        "print(seen['torch when the title was drawn'], 'torch' in sys.modules, len(at.sidebar.selectbox))\n"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()[-3:]
    assert out == ["False", "True", "2"], out  # no torch for the title; the sidebar (dataset, device) came after, with it
