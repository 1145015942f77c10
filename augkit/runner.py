"""Runs a validated Plan: data entries are read once into Arrow, then stages run in order, each in its
own folder, passing artefacts on disk.

Output folder::

    resolved_recipe.toml  overrides.txt  env.json  run.log  results.json
    data/<name>/                      each data entry as a corpus (+ _SUCCESS)
    stages/<nn>-<name>/               a stage's artefacts, manifest.json, stats.json, _SUCCESS

A stage's fingerprint hashes its component, parameters, options, seed and its inputs' fingerprints.
``--resume`` skips a stage whose ``_SUCCESS`` holds the same fingerprint; a stage folder with a
different fingerprint is cleared and redone; one with the same fingerprint but no ``_SUCCESS`` keeps
its partial work (finished shards, checkpoints) for the component to pick up. ``_SUCCESS`` is written
last and atomically, so a killed run never leaves an artefact a resume would trust.
"""

from __future__ import annotations

import json
import logging
import platform
import shutil
import time
from pathlib import Path
from typing import Any

from .atomic import atomic_dir, atomic_write_json, atomic_write_text, remove_stale_tmp
from .components import StageContext
from .data import Corpus, CorpusWriter, write_corpus_meta
from .distributed import wait_until
from .environment import environment_record, pick_device, topology
from .errors import AugkitError, DataError, RunError
from .fingerprints import hash_obj, hash_path
from .model_sets import ModelSet
from .progress import Progress
from .recipe import DataSpec, Plan, StageSpec, dump_toml
from .seeding import derive_seed, seed_everything

SUCCESS = "_SUCCESS"


class Runner:
    def __init__(
        self,
        plan: Plan,
        output_dir: str | Path | None = None,
        *,
        resume: bool = False,
        force: bool = False,
        console=None,
        interactive: bool | None = None,
        pm=None,
    ):
        from .plugins import get_plugin_manager

        if resume and force:
            raise RunError("--resume and --force exclude each other: resume keeps finished work, force discards it")
        self.plan = plan
        self.given_out = Path(output_dir or plan.run.output_dir).expanduser()  # claimed unresolved: links matter
        self.out = self.given_out.resolve()
        self.resume, self.force = resume, force
        self.pm = pm or get_plugin_manager()
        self.rank, self.world_size, _ = topology()
        try:
            self.device = pick_device(plan.run.device)
        except RunError as e:
            raise RunError(f"run.device: {e}") from None
        self.log = logging.getLogger("augkit.run")
        self.progress = Progress(self.log, interactive=interactive)
        self.console = console
        self.results: dict[str, Any] = {}
        self.fingerprints: dict[str, str] = {}
        self.kept: list[str] = []  # stages whose results an earlier invocation made
        self.current: str | None = None  # the stage (or "data NAME") being worked on
        self.lock: Any = None  # run_folder's RunLock while this process holds the folder
        self.marker: dict[str, Any] = {}
        self.hardware: dict[str, Any] | None = None
        self.started = time.time()

    def write_report(self, status: str) -> None:
        """Write report.html and report.md (a failure here is logged, never fails the run)."""
        from .report import write_report

        try:
            self.sections, files = write_report(self.out, status, self.pm)
            self.log.info("report: %s", files["html"])
        except Exception as e:  # the run's results are on disk; `augkit report` can try again
            self.sections = []
            self.log.warning(
                "could not write the run report (%s: %s); `augkit report %s` retries", type(e).__name__, e, self.out
            )

    # output folder ----------------------------------------------------------------------------
    def _launch_id(self) -> str:
        import os

        return (
            os.environ.get("TORCHELASTIC_RUN_ID")
            or f"{os.environ.get('MASTER_ADDR', '')}:{os.environ.get('MASTER_PORT', '')}"
        )

    def prepare_output(self) -> None:
        """Rank 0 claims the output folder (``augkit.run_folder.claim``: refuses what is not an augkit run,
        takes the one-writer lock, replaces the old run on ``--force``), then marks it ready for this
        launch (``check_shared_folder`` has the other ranks look for that mark; they never judge or clear
        the folder themselves)."""
        from . import run_folder

        if self.rank != 0:
            return
        self.out, self.lock, self.marker = run_folder.claim(
            self.given_out,
            resume=self.resume,
            force=self.force,
            recipe=self.plan.source,
            protected=self._protected_paths(),
            log=self.log,
        )
        (self.out / ".ready").unlink(missing_ok=True)
        if self.world_size > 1:
            import uuid

            atomic_write_text(self.out / ".ready", f"{self._launch_id()} {uuid.uuid4().hex}")

    def check_shared_folder(self) -> None:
        """With several processes, every one checks that it sees the mark rank 0 left in the run folder for
        this launch: on several nodes the run folder must be on a filesystem they share, and a process that
        does not see it stops every process at once (RunError on all), not at its first read."""
        from . import distributed

        if self.world_size <= 1:
            return
        distributed.ensure_process_group(self.device)
        ready = self.out / ".ready"
        mark = distributed.broadcast(ready.read_text() if self.rank == 0 else None)
        seen = True
        if self.rank != 0:
            try:
                import os

                wait = float(os.environ.get("AUGKIT_SHARED_FOLDER_WAIT_S", 120))  # NFS caches names up to 60 s
                wait_until(lambda: ready.exists() and ready.read_text() == mark, "the run folder", timeout_s=wait)
            except RunError:
                seen = False
        views = distributed.all_gather((seen, platform.node()))
        blind = [r for r, (ok, _) in enumerate(views) if not ok]
        if blind:
            hosts = sorted({host for ok, host in views if not ok})
            raise RunError(
                f"the run folder {self.given_out} that rank 0 prepared is not visible to rank(s) "
                f"{', '.join(map(str, blind))} (host {', '.join(hosts)}): when training on several "
                "nodes, the run folder must be on a filesystem every node shares (NFS, Lustre, ...), "
                "under the same path on each"
            )

    def _protected_paths(self) -> list[tuple[str, Path]]:
        """What ``--force`` must never delete: the recipe, the input files, files and model folders named
        by parameters."""
        from .params import FilePath, ModelRef

        paths = [("the recipe", Path(self.plan.source))]
        paths += [(f"input data.{name}", Path(d.path)) for name, d in self.plan.data.items() if Path(d.path).exists()]
        for st in self.plan.stages:
            for key, value in st.params.to_dict().items():
                for v in value if isinstance(value, list) else [value]:
                    if isinstance(v, (FilePath, ModelRef)) and Path(v).exists():
                        paths.append((f"stages.{st.name}.params.{key}", Path(v)))
        return paths

    def _setup_logging(self) -> logging.Handler | None:
        if self.rank != 0:
            return None
        handler = logging.FileHandler(self.out / "run.log", encoding="utf-8")
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root = logging.getLogger("augkit")
        root.addHandler(handler)
        root.setLevel(logging.INFO)
        return handler

    # the run -----------------------------------------------------------------------------------
    def run(self) -> dict[str, Any]:
        self.prepare_output()
        try:
            return self._run_claimed()
        finally:
            if self.lock is not None:
                self.lock.release()

    def _run_claimed(self) -> dict[str, Any]:
        from .run_folder import describe_holder

        handler = self._setup_logging()
        status, error = "failed", None
        try:
            self.check_shared_folder()
            if self.lock is not None and self.lock.taken_over:
                self.log.warning(
                    "the lock of %s was left by %s, which is no longer running; taken over",
                    self.out,
                    describe_holder(self.lock.taken_over),
                )
            if self.rank == 0:
                self._write_results("running")
                raw = dict(self.plan.raw)
                raw["run"] = {**raw.get("run", {}), "output_dir": str(self.out)}
                atomic_write_text(self.out / "resolved_recipe.toml", dump_toml(raw))
                atomic_write_text(self.out / "overrides.txt", "".join(o + "\n" for o in self.plan.overrides))
                atomic_write_json(
                    self.out / "env.json",
                    environment_record(
                        self.plan.run.seed, self.pm, device=self.device, precision=self.plan.run.precision
                    ),
                )
            self.log.info(
                "run %s: %d data entries, %d stages, device %s, output %s",
                self.plan.run.name,
                len(self.plan.data),
                len(self.plan.stages),
                self.device,
                self.out,
            )
            self._check_data_present()
            for spec in self.plan.data.values():
                self.current = f"data {spec.name}"
                self._read_data(spec)
            self.current = "preflight"
            self._preflight()
            self._check_fit()
            for stage in self.plan.stages:
                self.current = stage.name
                self._run_stage(stage)
            self.current = None
            if self.rank == 0:
                self._check_complete()
            status = "completed"
            if self.rank == 0:
                self._write_results(status)
            return self.results
        except KeyboardInterrupt:
            status, error = "interrupted", "interrupted (Ctrl-C or SIGINT)"
            self.log.warning("interrupted; finished stages are kept, `augkit run --resume` continues")
            raise
        except AugkitError as e:
            error = str(e)
            raise
        except Exception as e:
            error = f"{type(e).__name__}: {e}"
            raise
        finally:
            if self.rank == 0:
                if status != "completed":
                    self._write_results(status, error=error)
                self.write_report(status)
            self.pm.hook.on_run_end(output_dir=str(self.out), results=self.results, status=status)
            if handler is not None:
                logging.getLogger("augkit").removeHandler(handler)
                handler.close()

    def _write_results(self, status: str, error: str | None = None) -> None:
        """results.json says what is true now: "running" while the run runs, "failed"/"interrupted" with
        the stage and the message, "completed" only once every stage has its ``_SUCCESS``. Stages whose
        results an earlier invocation made (kept by ``--resume``) are listed in ``from_earlier_run``.
        A folder that cannot be written any more (made read-only mid-run) is logged, not raised: the
        error that stopped the run is the one to report."""
        if self.hardware is None:
            from .environment import hardware_record

            self.hardware = hardware_record(self.device, self.plan.run.precision)
        record: dict[str, Any] = {
            "status": status,
            "run_id": self.marker.get("run_id"),
            "started": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(self.started)),
            "hardware": self.hardware,
            "stages": self.results,
            "from_earlier_run": list(self.kept),
        }
        if status == "running":
            import os
            import socket

            record["pid"], record["host"] = os.getpid(), socket.gethostname()
        elif status != "completed":
            record["failed_stage"] = self.current
            record["error"] = error
        try:
            atomic_write_json(self.out / "results.json", record)
        except OSError as e:
            self.log.warning("could not write %s: %s", self.out / "results.json", e.strerror or e)

    def _check_complete(self) -> None:
        for stage in self.plan.stages:
            marker = self.out / "stages" / stage.dirname / SUCCESS
            if not (marker.is_file() and marker.read_text() == self.fingerprints.get(stage.name)):
                self.current = stage.name
                raise RunError(
                    f"stage {stage.name!r} has no valid {SUCCESS} after the run; its folder was changed "
                    "while the run ran (run again with --resume)"
                )

    # data ----------------------------------------------------------------------------------------
    def _check_data_present(self) -> None:
        """Every missing data file named at once, before any is read (not the first one, then the next)."""
        from .recipe import data_sources

        missing, _ = data_sources(self.plan, self.pm)
        if missing:
            self.current = "data"
            lines = "".join(f"\n  data.{name}: {path}" for name, path in missing)
            raise DataError(
                f"{len(missing)} data file{'s' if len(missing) > 1 else ''} not found "
                f"(`augkit validate {self.plan.source}` lists them):{lines}"
            )

    def _read_data(self, spec: DataSpec) -> None:
        folder = self.out / "data" / spec.name
        fp = hash_obj(
            {
                "format": spec.format,
                "params": spec.reader_params,
                "lang": spec.lang,
                "fraction": spec.fraction,
                "fraction_seed": spec.fraction_seed,
                "limit": spec.limit,
                "content": hash_path(spec.path) if Path(spec.path).exists() else spec.path,
            }
        )
        self.fingerprints[spec.name] = fp
        if self._complete(folder, fp):
            return
        if self.rank != 0:
            return self._wait_for(folder, fp)
        reader = self.pm.resolve("reader", spec.format)(**spec.reader_params)
        started = time.perf_counter()
        examples = reader.read(spec.path, lang=spec.lang, name=spec.name)
        if spec.fraction < 1.0:
            import random

            rng = random.Random(spec.fraction_seed)
            examples = [ex for ex in examples if rng.random() < spec.fraction]
        # read into a temporary folder renamed into place: a data error leaves nothing behind
        with atomic_dir(folder) as tmp:
            writer = CorpusWriter(tmp / "data-00000.arrow")
            labels: set[str] = set()
            try:
                for ex in examples:
                    if spec.limit and writer.count >= spec.limit:
                        break
                    labels.update(ex.tags if ex.type == "tagging" else ([ex.label] if ex.label is not None else []))
                    writer.write(ex)
            finally:
                count = writer.close()
            if count == 0:
                raise DataError("no examples left after fraction/limit", path=spec.path)
            label_list = spec.reader_params.get("labels") or sorted(labels)
            write_corpus_meta(tmp, ["data-00000.arrow"], label_list, count, spec.name)
            atomic_write_json(
                tmp / "manifest.json",
                {
                    "source": spec.path,
                    "format": spec.format,
                    "count": count,
                    "seconds": round(time.perf_counter() - started, 3),
                },
            )
            atomic_write_text(tmp / SUCCESS, fp)
        self.log.info("data %s: %d examples from %s", spec.name, count, spec.path)

    def _preflight(self) -> None:
        """Let every stage check its data-entry inputs before anything trains or generates."""
        for stage in self.plan.stages:
            inputs = {}
            for key, ref in stage.inputs.items():
                refs = ref if isinstance(ref, list) else [ref]
                values = [Corpus.load(self.out / "data" / r) if r in self.plan.data else None for r in refs]
                inputs[key] = values if stage.component_cls.inputs[key].many else values[0]
            component = stage.component_cls(stage.params)
            try:
                component.preflight(inputs)
            except AugkitError as e:
                raise type(e)(f"stage {stage.name!r}: {e}") from None

    def _check_fit(self) -> None:
        """Before anything trains: the plan of this run on this machine (``augkit plan``); a stage it says
        will not fit is named in a warning with what would make it fit (an estimate, so not a refusal)."""
        if self.rank != 0:
            return
        from .costs import local_hardware
        from .planning import corpus_size, plan_recipe

        try:
            hw = local_hardware(self.plan.run.precision, measure=False)  # memory only: no time estimate
            sizes = {name: corpus_size(Corpus.load(self.out / "data" / name)) for name in self.plan.data}
            result = plan_recipe(self.plan, hw, self.pm, sizes=sizes)
        except Exception as e:  # the estimate must never stop a run
            self.log.info("no cost estimate for this run (%s: %s)", type(e).__name__, e)
            return
        for s in result.stages:
            if not s.fits:
                self.log.warning(
                    "stage %s may not fit %s: %s (estimated by `augkit plan`)", s.name, hw.describe(), s.advice
                )

    # stages --------------------------------------------------------------------------------------
    def _resolve_input(self, ref: str, type_: str):
        """A data entry or corpus-making stage gives a Corpus; a trainer stage or a model id/folder named
        directly gives a ModelSet (``models.json``, see ``augkit.model_sets``)."""
        if ref in self.plan.data:
            return Corpus.load(self.out / "data" / ref)
        for st in self.plan.stages:
            if st.name == ref:
                folder = self.out / "stages" / st.dirname
                if type_ == "corpus":
                    return Corpus.load(folder / "data")
                try:
                    return ModelSet.load(folder)
                except DataError as e:
                    raise DataError(
                        f"stage {ref!r} ({st.component}) wrote no model set, so it cannot be a model input: {e}"
                    ) from None
        return ModelSet.of(ref)  # a model id or folder given directly

    def _inputs(self, stage: StageSpec) -> dict[str, Any]:
        inputs = {}
        for key, ref in stage.inputs.items():
            spec = stage.component_cls.inputs[key]
            refs = ref if isinstance(ref, list) else [ref]
            values = [self._resolve_input(r, spec.type) for r in refs]
            inputs[key] = values if spec.many else values[0]  # a many=True input is a list, even of one
        return inputs

    def _stage_params(self, stage: StageSpec):
        """The stage's parameters with every ``"stage:NAME"`` model replaced by the folder of the model
        that stage selected."""
        if not stage.model_params:
            return stage.params
        import dataclasses

        from .params import ModelRef

        resolved = {}
        for key, ref in stage.model_params.items():
            spec = next(st for st in self.plan.stages if st.name == ref)
            resolved[key] = ModelRef(ModelSet.load(self.out / "stages" / spec.dirname).best.path)
        return dataclasses.replace(stage.params, **resolved)

    def _stage_fingerprint(self, stage: StageSpec, input_fps: dict) -> str:
        cls = stage.component_cls
        return hash_obj(
            {
                "component": f"{cls.plugin_name}:{cls.registered_name}",
                "class": cls.__qualname__,
                "version": getattr(cls, "version", None),
                "params": stage.params.to_dict(),
                "options": stage.options.to_dict(),
                "seed": self.plan.run.seed,
                "hooks": [(n, p.to_dict()) for n, _, p in stage.hooks],
                "inputs": input_fps,
                "files": _param_file_hashes(stage.params),
            }
        )

    def _run_stage(self, stage: StageSpec) -> None:
        folder = self.out / "stages" / stage.dirname
        # fingerprints come from upstream fingerprints only, so a skipped stage needs no input loading
        input_fps = {
            key: [
                self.fingerprints.get(r) or _external_fingerprint(r) for r in (ref if isinstance(ref, list) else [ref])
            ]
            for key, ref in stage.inputs.items()
        }
        input_fps.update({f"params.{key}": [self.fingerprints[ref]] for key, ref in stage.model_params.items()})
        fp = self._stage_fingerprint(stage, input_fps)
        self.fingerprints[stage.name] = fp
        if self._complete(folder, fp):
            self.results[stage.name] = json.loads((folder / "stats.json").read_text())
            self.kept.append(stage.name)
            self.log.info("stage %s: unchanged and complete, skipped (results of an earlier run kept)", stage.name)
            if self.rank == 0:
                self._write_results("running")
            return
        distributed = getattr(stage.component_cls, "supports_distributed", None)
        if distributed is None:
            distributed = stage.kind == "generate"
        if self.rank != 0 and not distributed:
            self._wait_for(folder, fp)
            self.results[stage.name] = json.loads((folder / "stats.json").read_text())
            return
        if self.rank == 0:
            previous = (folder / "fingerprint").read_text() if (folder / "fingerprint").exists() else None
            if previous != fp and folder.exists():
                shutil.rmtree(folder)  # parameters or inputs changed: partial work cannot be reused
            folder.mkdir(parents=True, exist_ok=True)
            remove_stale_tmp(folder)
            atomic_write_text(folder / "fingerprint", fp)
        else:
            self._wait_for(folder, fp, marker="fingerprint")
        inputs = self._inputs(stage)
        params = self._stage_params(stage)
        seed = derive_seed(self.plan.run.seed, stage.name)
        seed_everything(seed)
        hooks = [hcls(hparams) for _, hcls, hparams in stage.hooks]
        component = stage.component_cls(params, hooks=hooks) if stage.kind == "train" else stage.component_cls(params)
        ctx = StageContext(
            name=stage.name,
            out_dir=folder,
            seed=seed,
            inputs=inputs,
            device=self.device,
            precision=self.plan.run.precision,
            rank=self.rank,
            world_size=self.world_size,
            options=stage.options.to_dict(),
            log=logging.getLogger(f"augkit.stage.{stage.name}"),
            progress=self.progress,
            resolve=self.pm.resolve,
        )
        self.pm.hook.on_stage_start(stage=stage.name, kind=stage.kind, component=stage.component, out_dir=str(folder))
        self.log.info("stage %s (%s %s): started", stage.name, stage.kind, stage.component)
        started = time.perf_counter()
        stats = component.run_stage(ctx) or {}
        seconds = round(time.perf_counter() - started, 3)
        if self.rank != 0:
            return self._wait_for(folder, fp)
        stats = {**stats, "seconds": seconds}
        atomic_write_json(folder / "stats.json", stats)
        atomic_write_json(
            folder / "manifest.json",
            {
                "stage": stage.name,
                "kind": stage.kind,
                "component": stage.component,
                "component_class": f"{stage.component_cls.__module__}.{stage.component_cls.__qualname__}",
                "params": params.to_dict(),
                "options": stage.options.to_dict(),
                "hooks": [{"component": n, "params": p.to_dict()} for n, _, p in stage.hooks],
                "inputs": {
                    k: {"refs": v if isinstance(v, list) else [v], "fingerprints": input_fps[k]}
                    for k, v in stage.inputs.items()
                },
                "seed": seed,
                "fingerprint": fp,
                "counts": {k: v for k, v in stats.items() if isinstance(v, int)},
            },
        )
        atomic_write_text(folder / SUCCESS, fp)
        self.results[stage.name] = stats
        self._write_results("running")
        self.pm.hook.on_stage_end(
            stage=stage.name, kind=stage.kind, component=stage.component, out_dir=str(folder), stats=stats
        )
        self.log.info("stage %s: done in %.1fs", stage.name, seconds)

    # helpers -------------------------------------------------------------------------------------
    def _complete(self, folder: Path, fp: str) -> bool:
        marker = folder / SUCCESS
        return self.resume and marker.exists() and marker.read_text() == fp

    def _wait_for(self, folder: Path, fp: str, marker: str = SUCCESS, timeout_s: float = 7 * 24 * 3600) -> None:
        wait_until(
            lambda: (folder / marker).exists() and (folder / marker).read_text() == fp,
            str(folder / marker),
            timeout_s=timeout_s,
            interval_s=0.5,
        )


def _param_file_hashes(params) -> dict[str, str]:
    """Content hashes of files named by FilePath parameters, so editing such a file redoes the stage."""
    from .params import FilePath

    out = {}
    for key, value in params.to_dict().items():
        for v in value if isinstance(value, list) else [value]:
            if isinstance(v, FilePath):
                out[f"{key}:{v}"] = hash_path(v)
    return out


def _external_fingerprint(ref: str) -> str:
    p = Path(ref)
    return hash_path(p) if p.exists() else f"id:{ref}"
