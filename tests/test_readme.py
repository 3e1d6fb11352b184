"""README's Python section runs as written, in a process of its own, as a new user would run it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from conftest import REPO_ROOT


def test_readme_python_example_runs_as_written(tmp_path):
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Python API"):]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"})
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()  # Keras' progress bars, then the example's prints
    assert any(line.startswith("['neg', 'pos'] [") for line in lines), done.stdout[-2000:]
    assert 0.0 <= float(lines[-1]) <= 1.0
    assert (tmp_path / "demo_models" / "demo" / "1" / "saved_model.pb").is_file()
    assert (tmp_path / "mine-report" / "report.md").is_file()
