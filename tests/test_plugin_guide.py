"""docs/writing-plugins.md: its worked filter plugin and its test, run exactly as printed there."""
import os
import re
import subprocess
import sys
from pathlib import Path

GUIDE = Path(__file__).resolve().parents[1] / "docs" / "writing-plugins.md"


def _block(first_line: str) -> str:
    blocks = re.findall(r"```python\n(.*?)```", GUIDE.read_text(encoding="utf-8"), flags=re.S)
    found = [b for b in blocks if b.startswith(first_line)]
    assert len(found) == 1, f"the guide has no single python block starting with {first_line!r}"
    return found[0]


def test_the_guides_filter_plugin_passes_the_guides_test(tmp_path):
    package = tmp_path / "augkit_changed_words"
    package.mkdir()
    (package / "__init__.py").write_text(_block("# augkit_changed_words/__init__.py"))
    (tmp_path / "test_changed_words.py").write_text(_block("# test_changed_words.py"))
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(tmp_path)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert "1 passed" in proc.stdout
