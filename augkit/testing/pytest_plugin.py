"""pytest plugin shipped with augkit (entry point ``pytest11``): fixtures for plugin authors.

``augkit_plugin(obj, name=None)`` registers a plugin module or object with augkit's plugin manager for
the current test only; its components are then resolvable by name (``augkit.get_component``) and usable
from recipes run in that test.
"""
from __future__ import annotations

import pytest


@pytest.fixture
def augkit_plugin():
    from augkit.plugins import get_plugin_manager

    pm = get_plugin_manager()
    registered = []

    def register(plugin, name: str | None = None):
        pm.register(plugin, name=name)
        registered.append(plugin)
        return plugin

    yield register
    for plugin in registered:
        if pm.is_registered(plugin):
            pm.unregister(plugin)
