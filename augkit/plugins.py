"""The plugin manager and the component registry.

Plugins load through the ``augkit`` entry-point group (the built-ins too). ``AUGKIT_LOAD_PLUGINS=a,b``
loads only those entry points (empty: none); ``AUGKIT_DISABLE_PLUGINS=a,b`` (or ``augkit
--disable-plugin a``) blocks some. Components are known as ``plugin:name``; a bare ``name`` works when
it is unique, and an ambiguous one is an error listing the candidates.
"""

from __future__ import annotations

import importlib.metadata
import logging
import os
import sys
from dataclasses import dataclass
from typing import Any, Literal, overload

import pluggy

from . import hookspecs
from .components import (
    COMPONENT_KINDS,
    Analyzer,
    Component,
    Filter,
    Generator,
    Labeler,
    Reader,
    Trainer,
    TrainerHook,
    Writer,
)
from .errors import PluginError, did_you_mean

ENTRY_POINT_GROUP = "augkit"
log = logging.getLogger("augkit.plugins")

_HOOK_FOR_KIND = {
    "generator": "register_generators",
    "labeler": "register_labelers",
    "filter": "register_filters",
    "trainer": "register_trainers",
    "trainer_hook": "register_trainer_hooks",
    "analyzer": "register_analyzers",
    "reader": "register_readers",
    "writer": "register_writers",
}


@dataclass
class Registration:
    kind: str
    name: str
    plugin: str
    cls: type[Component]

    @property
    def qualified(self) -> str:
        return f"{self.plugin}:{self.name}"


class PluginManager(pluggy.PluginManager):
    """pluggy's manager plus augkit's component registry (rebuilt whenever plugins change)."""

    def __init__(self):
        super().__init__("augkit")
        self.add_hookspecs(hookspecs)
        self._registry: dict[str, dict[str, list[Registration]]] | None = None
        self.blocked: set[str] = set()
        self._versions: dict[str, tuple[str, str]] = {}
        self.failed: dict[str, str] = {}  # entry point -> why it failed to import (skipped)

    # pluggy keeps the registry in sync with (un)registration
    def register(self, plugin, name=None):
        result = super().register(plugin, name)
        self._registry = None
        return result

    def unregister(self, plugin=None, name=None):
        result = super().unregister(plugin, name)
        self._registry = None
        return result

    def load_entry_points(self) -> None:
        """Load every ``augkit`` entry point, honouring AUGKIT_LOAD_PLUGINS / AUGKIT_DISABLE_PLUGINS."""
        only = os.environ.get("AUGKIT_LOAD_PLUGINS")
        wanted = None if only is None else {p.strip() for p in only.split(",") if p.strip()}
        disabled = {p.strip() for p in os.environ.get("AUGKIT_DISABLE_PLUGINS", "").split(",") if p.strip()}
        for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
            if wanted is not None and ep.name not in wanted:
                continue
            if ep.name in disabled or ep.name in self.blocked or self.get_plugin(ep.name) is not None:
                continue
            try:
                module = ep.load()
            except Exception as e:  # a broken plugin is skipped, named, and the way to silence it given
                self.failed[ep.name] = f"{type(e).__name__}: {e}"
                log.warning(
                    "plugin %r (%s) failed to import and is skipped: %s: %s; its components are "
                    "unavailable (silence this with --disable-plugin %s or AUGKIT_DISABLE_PLUGINS=%s)",
                    ep.name,
                    ep.value,
                    type(e).__name__,
                    e,
                    ep.name,
                    ep.name,
                )
                continue
            self.register(module, name=ep.name)
            dist = getattr(ep, "dist", None)
            if dist is not None:
                self._versions[ep.name] = (dist.metadata["Name"], dist.version)

    # registry -------------------------------------------------------------------------------
    @property
    def registry(self) -> dict[str, dict[str, list[Registration]]]:
        if self._registry is None:
            self._registry = self._build_registry()
        return self._registry

    def _build_registry(self) -> dict[str, dict[str, list[Registration]]]:
        registry: dict[str, dict[str, list[Registration]]] = {k: {} for k in COMPONENT_KINDS}
        for kind, hook_name in _HOOK_FOR_KIND.items():
            base = COMPONENT_KINDS[kind]
            hook = getattr(self.hook, hook_name)
            for impl in hook.get_hookimpls():
                plugin_name = self.get_name(impl.plugin) or repr(impl.plugin)

                def register(cls, name: str | None = None, _plugin=plugin_name, _kind=kind, _base=base):
                    if not (isinstance(cls, type) and issubclass(cls, _base)):
                        raise PluginError(
                            f"plugin {_plugin!r}: {_kind} registration {cls!r} is not a "
                            f"subclass of augkit.{_base.__name__}"
                        )
                    name = name or getattr(cls, "name", None)
                    if not isinstance(name, str) or not name:
                        raise PluginError(f"plugin {_plugin!r}: {cls.__name__} registered without a name")
                    component: type[Component] = cls
                    component.registered_name, component.plugin_name = name, _plugin
                    entries = registry[_kind].setdefault(name, [])
                    if any(r.plugin == _plugin for r in entries):
                        raise PluginError(f"plugin {_plugin!r} registers {_kind} {name!r} twice")
                    entries.append(Registration(_kind, name, _plugin, cls))

                impl.function(**{a: register for a in impl.argnames})
        return registry

    def components(self, kind: str) -> list[Registration]:
        return [r for regs in self.registry[kind].values() for r in regs]

    @overload
    def resolve(self, kind: Literal["generator"], name: str, where: str = ...) -> type[Generator]: ...

    @overload
    def resolve(self, kind: Literal["labeler"], name: str, where: str = ...) -> type[Labeler]: ...

    @overload
    def resolve(self, kind: Literal["filter"], name: str, where: str = ...) -> type[Filter]: ...

    @overload
    def resolve(self, kind: Literal["trainer"], name: str, where: str = ...) -> type[Trainer]: ...

    @overload
    def resolve(self, kind: Literal["trainer_hook"], name: str, where: str = ...) -> type[TrainerHook]: ...

    @overload
    def resolve(self, kind: Literal["analyzer"], name: str, where: str = ...) -> type[Analyzer]: ...

    @overload
    def resolve(self, kind: Literal["reader"], name: str, where: str = ...) -> type[Reader]: ...

    @overload
    def resolve(self, kind: Literal["writer"], name: str, where: str = ...) -> type[Writer]: ...

    @overload
    def resolve(self, kind: str, name: str, where: str = ...) -> type[Component]: ...

    def resolve(self, kind: str, name: str, where: str = "component") -> type[Component]:
        """The component class for ``name`` (``plugin:name`` or a unique bare name) or a PluginError."""
        table = self.registry.get(kind)
        if table is None:
            raise PluginError(f"{where}: unknown component kind {kind!r}; expected one of {', '.join(COMPONENT_KINDS)}")
        plugin, _, bare = name.rpartition(":")
        candidates = table.get(bare, [])
        if plugin:
            candidates = [r for r in candidates if r.plugin == plugin]
        if not candidates:
            installed = sorted({r.qualified for regs in table.values() for r in regs})
            hint = did_you_mean(bare, table)
            listing = ", ".join(installed) if installed else "none"
            broken = "".join(f"; plugin {p!r} failed to import ({why})" for p, why in sorted(self.failed.items()))
            raise PluginError(f"{where}: unknown {kind} {name!r}{hint}; installed {kind}s: {listing}{broken}")
        if len(candidates) > 1:
            listing = ", ".join(r.qualified for r in candidates)
            raise PluginError(f"{where}: {kind} name {name!r} is ambiguous; use one of: {listing}")
        return candidates[0].cls

    def describe(self) -> list[dict[str, Any]]:
        """One entry per plugin: name, distribution, version, hooks implemented, components registered."""
        from .params import describe_params

        out = []
        for name, plugin in sorted(self.list_name_plugin(), key=lambda x: x[0]):
            hooks = sorted(h.name for h in self.get_hookcallers(plugin) or [])
            dist, version = self._versions.get(name, (None, None))
            comps: dict[str, list[dict]] = {}
            for kind in COMPONENT_KINDS:
                for reg in self.components(kind):
                    if reg.plugin == name:
                        comps.setdefault(kind, []).append(
                            {
                                "name": reg.name,
                                "class": f"{reg.cls.__module__}.{reg.cls.__qualname__}",
                                "example_types": list(reg.cls.example_types),
                                "params": describe_params(reg.cls.Params),
                                "doc": (reg.cls.__doc__ or "").strip().split("\n")[0],
                            }
                        )
            out.append({"name": name, "distribution": dist, "version": version, "hooks": hooks, "components": comps})
        return out


_pm: PluginManager | None = None


def get_plugin_manager() -> PluginManager:
    """The process-wide plugin manager, with entry-point plugins loaded on first use."""
    global _pm
    if _pm is None:
        pm = PluginManager()
        if os.environ.get("AUGKIT_TRACE_PLUGINS"):
            pm.trace.root.setwriter(lambda s: sys.stderr.write(s))
            pm.enable_tracing()
        pm.load_entry_points()
        _pm = pm
    return _pm


def reset_plugin_manager() -> None:
    """Forget the process-wide manager (the next ``get_plugin_manager`` reloads entry points)."""
    global _pm
    _pm = None


@overload
def resolve(kind: Literal["generator"], name: str, where: str = ...) -> type[Generator]: ...


@overload
def resolve(kind: Literal["labeler"], name: str, where: str = ...) -> type[Labeler]: ...


@overload
def resolve(kind: Literal["filter"], name: str, where: str = ...) -> type[Filter]: ...


@overload
def resolve(kind: Literal["trainer"], name: str, where: str = ...) -> type[Trainer]: ...


@overload
def resolve(kind: Literal["trainer_hook"], name: str, where: str = ...) -> type[TrainerHook]: ...


@overload
def resolve(kind: Literal["analyzer"], name: str, where: str = ...) -> type[Analyzer]: ...


@overload
def resolve(kind: Literal["reader"], name: str, where: str = ...) -> type[Reader]: ...


@overload
def resolve(kind: Literal["writer"], name: str, where: str = ...) -> type[Writer]: ...


@overload
def resolve(kind: str, name: str, where: str = ...) -> type[Component]: ...


def resolve(kind: str, name: str, where: str = "component") -> type[Component]:
    return get_plugin_manager().resolve(kind, name, where)
