"""Start-up time of the ``augkit`` command: what every command (and every test that runs one) pays
before it does any work.

    python benchmarks/bench_startup.py [--repeat 7]

Side by side, each in fresh processes, median wall time of ``repeat`` runs:

* ``augkit --help``, ``augkit plugins`` and ``augkit validate`` on a tiny recipe, as they are now (plugins
  register their components without loading torch; torch loads with the first model);
* the same commands with torch imported first, which is what every command paid while plugin loading
  imported torch (the figure before the change);
* ``python -c "import torch"`` alone, for scale.

It also lists which heavy libraries a bare ``augkit --help`` process has loaded (none is the target).
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformers", "datasets", "sklearn", "fairseq", "sentencepiece", "matplotlib")

RUN_CLI = "import sys; from augkit.cli import main; sys.exit(main(sys.argv[1:]))"
RUN_CLI_TORCH_FIRST = "import torch; " + RUN_CLI
LOADED = ("import sys; from augkit.cli import main\n"
          "try:\n    main(['--help'])\nexcept SystemExit:\n    pass\n"
          f"print(','.join(m for m in {HEAVY!r} if m in sys.modules) or 'none')")


def wall(argv: list[str], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    py = sys.executable
    commands = {"augkit --help": ["--help"], "augkit plugins": ["plugins"],
                "augkit validate (tiny X-Mixup recipe)": ["validate", "recipes/xmixup_xnli_tiny.toml"]}
    print(f"{'command':40} {'now':>8} {'torch first':>12} {'ratio':>7}")
    for label, argv in commands.items():
        now = wall([py, "-c", RUN_CLI, *argv], args.repeat)
        before = wall([py, "-c", RUN_CLI_TORCH_FIRST, *argv], args.repeat)
        print(f"{label:40} {now:7.2f}s {before:11.2f}s {before / now:6.1f}x")
    label = 'python -c "import torch"'
    print(f"{label:40} {wall([py, '-c', 'import torch'], args.repeat):7.2f}s")
    loaded = subprocess.run([py, "-c", LOADED], cwd=ROOT, capture_output=True, text=True, check=True)
    print(f"heavy libraries loaded by `augkit --help`: {loaded.stdout.strip().splitlines()[-1]}")


if __name__ == "__main__":
    main()
