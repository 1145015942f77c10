"""augkit: plugin-based data augmentation for zero-resource cross-lingual transfer.

The public API (everything a plugin may use) is re-exported here.
"""
from . import distributed
from .components import (COMPONENT_KINDS, Component, Filter, FilterResult, Generator, InputSpec, Labeler,
                         NoParams, Reader, StageContext, Trainer, TrainerHook, Writer)
from .data import EXAMPLE_TYPES, Corpus, CorpusWriter, Example, concat, infer_labels
from .errors import AugkitError, DataError, ParamError, PluginError, RecipeError, RunError, did_you_mean
from .hookspecs import hookimpl, hookspec
from .models import resolve_model
from .io import atomic_dir, atomic_write_json, atomic_write_text
from .params import FilePath, ModelRef, Params, build_params, describe_params, param
from .plugins import get_plugin_manager, resolve
from .seeding import derive_seed, example_rng, isolated_rng

__version__ = "0.1.0"


def get_component(kind: str, name: str, **params):
    """Instantiate an installed component by kind and name, e.g. ``get_component("generator", "vicinity",
    model="xlm-roberta-large")``. Parameters are validated against the component's schema."""
    cls = resolve(kind, name)
    return cls(**params)


def read(path: str, format: str | None = None, *, lang: str = "und", name: str | None = None, **params) -> Corpus:
    """Read a data file into a Corpus with an installed reader (format detected from the suffix if None)."""
    from .formats import reader_for

    reader = reader_for(path, format, params)
    return Corpus.from_examples(reader.read(str(path), lang=lang, name=name), labels=params.get("labels"))


def write(examples, path: str, format: str | None = None, **params) -> int:
    """Write examples (a Corpus or any iterable of Example) with an installed writer."""
    from .formats import writer_for

    return writer_for(path, format, params).write(examples, path)


__all__ = [n for n in dir() if not n.startswith("_")]
