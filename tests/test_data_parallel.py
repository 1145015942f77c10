"""The papers' batch on any number of processes and nodes: ``batch_size`` is the global batch, so one
process, two processes on one node and two "nodes" (two ``torchrun`` invocations on this machine,
rendezvous on localhost, gloo, one process each) take the same optimizer steps over the same examples and
end with the same weights. The training is ``tests/dp_train.py`` (balanced sampling over two datasets,
batch 8 in micro-batches of at most 2: 4 passes on one process, 2 on each of two)."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from conftest import ROOT

SCRIPT = Path(__file__).with_name("dp_train.py")
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
TORCHRUN = [sys.executable, "-m", "torch.distributed.run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def node_commands(port: int, *args, nodes: int = 2) -> list[list[str]]:
    """One torchrun command per node: static rendezvous on localhost, one process per node."""
    return [[*TORCHRUN, "--nnodes", str(nodes), "--node-rank", str(k), "--nproc-per-node", "1",
             "--master-addr", "127.0.0.1", "--master-port", str(port), *args] for k in range(nodes)]


def launch_all(commands: dict[str, tuple[list[str], Path | None]], env=ENV) -> dict[str, subprocess.CompletedProcess]:
    procs = {name: subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for name, (cmd, cwd) in commands.items()}
    out = {}
    for name, proc in procs.items():
        stdout, stderr = proc.communicate(timeout=600)
        out[name] = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, stderr)
    return out


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("dp")
    nodes = node_commands(free_port(), str(SCRIPT), str(base / "nodes"))
    done = launch_all({
        "one": ([sys.executable, str(SCRIPT), str(base / "one")], None),
        "two": ([*TORCHRUN, "--standalone", "--nproc-per-node", "2", str(SCRIPT), str(base / "two")], None),
        "node0": (nodes[0], None), "node1": (nodes[1], None)})
    for name, proc in done.items():
        assert proc.returncode == 0, f"{name}:\n{proc.stderr[-3000:]}"
    return {name: base / name for name in ("one", "two", "nodes")}


def _read(folder: Path) -> tuple[dict, dict, list]:
    from safetensors.torch import load_file

    report = json.loads((folder / "report.json").read_text())
    seen = [json.loads(p.read_text()) for p in sorted(folder.glob("seen-*.json"))]
    return report, load_file(str(folder / "weights.safetensors")), seen


def _steps(seen: list, accumulation: int) -> list[list]:
    """Each optimizer step's sentences over every process (rank r's micro-batches, ``accumulation`` a step)."""
    n_steps = len(seen[0]) // accumulation
    return [sorted(s for rank in seen for micro in rank[k * accumulation:(k + 1) * accumulation] for s in micro)
            for k in range(n_steps)]


def test_one_and_two_processes_take_the_same_steps_over_the_same_examples_to_the_same_weights(runs):
    one, w1, seen1 = _read(runs["one"])
    two, w2, seen2 = _read(runs["two"])
    assert one["batch"] == {"batch_size": 8, "processes": 1, "micro_batch": 2, "accumulation": 4}
    assert two["batch"] == {"batch_size": 8, "processes": 2, "micro_batch": 2, "accumulation": 2}
    assert one["steps"] == two["steps"] == 6 and two["processes"] == 2
    assert len(seen2) == 2 and len(seen2[0]) == len(seen2[1]) == 12 and len(seen1[0]) == 24
    assert _steps(seen1, 4) == _steps(seen2, 2)  # every step: the same 8 sentences (or all of a short set)
    assert seen2[0] != seen2[1]  # each process had its own share
    for a, b in zip(one["log"], two["log"]):
        assert b["loss"] == pytest.approx(a["loss"], rel=1e-5) and b["grad_norm"] == pytest.approx(a["grad_norm"], rel=1e-4)
    start = _start_weights()
    moved = max(float((w1[k] - start[k]).abs().max()) for k in w1)
    assert moved > 1e-3  # the weights did train
    for k in w1:
        torch.testing.assert_close(w2[k], w1[k], rtol=0, atol=1e-6 + 1e-3 * moved)


def test_two_nodes_train_as_two_processes_on_one_node(runs):
    nodes, wn, seen_n = _read(runs["nodes"])
    two, w2, seen2 = _read(runs["two"])
    assert nodes["batch"] == two["batch"] and nodes["steps"] == two["steps"]
    assert seen_n == seen2
    assert [e["loss"] for e in nodes["log"]] == pytest.approx([e["loss"] for e in two["log"]], rel=1e-6)
    for k in w2:  # (rank 0's replica is written; check_replicas inside train_model compared both nodes')
        torch.testing.assert_close(wn[k], w2[k], rtol=0, atol=1e-6)


def _start_weights() -> dict:
    from augkit import resolve_model
    from augkit.tasks import load_task_model

    tm = load_task_model(resolve_model("augkit:tiny-xlmr"), "tagging", ["O", "B-PER", "I-PER", "B-LOC", "I-LOC"], seed=1)
    return {k: v.detach() for k, v in tm.model.state_dict().items()}


def test_nodes_that_do_not_share_the_run_folder_stop_at_once_saying_so(tmp_path):
    """Each "node" runs in its own folder and names the run folder relatively: rank 1 cannot see what rank 0
    prepared, as on nodes without a shared filesystem. Both stop before any stage, with a message naming
    the rank and what the run folder needs."""
    recipe = ROOT / "recipes" / "multimix_xner_tiny.toml"
    homes = [tmp_path / "node0", tmp_path / "node1"]
    for h in homes:
        h.mkdir()
    cmds = node_commands(free_port(), "-m", "augkit", "run", str(recipe), "-o", "run")
    done = launch_all({f"node{k}": (cmds[k], homes[k]) for k in range(2)},
                      env={**ENV, "AUGKIT_SHARED_FOLDER_WAIT_S": "2"})
    assert all(p.returncode != 0 for p in done.values())
    err = done["node1"].stderr
    assert "not visible to rank(s) 1" in err and "filesystem every node shares" in err, err[-2000:]
    results = json.loads((homes[0] / "run" / "results.json").read_text())
    assert results["status"] == "failed" and "not visible" in results["error"]
    assert not (homes[0] / "run" / "stages").exists() or not any((homes[0] / "run" / "stages").iterdir())
    assert not (homes[1] / "run").exists()  # rank 1 never writes
