"""augkit: plugin-based data augmentation for zero-resource cross-lingual transfer.

The public API (everything a plugin may use) is the names in ``__all__`` below, plus the documented
subpackages ``augkit.tasks`` (the shared task layer), ``augkit.distributed`` (collectives) and
``augkit.testing`` (contract checks and fixtures). Anything else is internal and may change.
"""

from . import distributed
from .atomic import atomic_dir, atomic_write_bytes, atomic_write_json, atomic_write_text
from .components import (
    COMPONENT_KINDS,
    Analyzer,
    Component,
    Distiller,
    Filter,
    FilterResult,
    Generator,
    InputSpec,
    Labeler,
    NoParams,
    Reader,
    StageContext,
    Trainer,
    TrainerHook,
    Writer,
)
from .convert import dataset_examples, examples_to_dataset
from .data import EXAMPLE_TYPES, UNKNOWN_TAG, Corpus, CorpusWriter, Example, concat, infer_labels
from .environment import pick_device, resolved_precision
from .errors import AugkitError, DataError, ParamError, PluginError, RecipeError, RunError, did_you_mean
from .generation import generate_shards
from .hookspecs import hookimpl, hookspec
from .labelling import REPLACED_TAG_POLICIES, label_examples, tag_replaced
from .model_sets import ModelEntry, ModelSet
from .params import Encoding, FilePath, ModelRef, Params, TextReaderParams, build_params, describe_params, param
from .plugins import get_plugin_manager, resolve
from .pretrained import build_tiny_marian, build_tiny_xlmr, load_pretrained, read_model_config, resolve_model
from .recipe import parse_options
from .report import (
    ReportFigure,
    ReportSection,
    ReportTable,
    RunInfo,
    StageInfo,
    figure_png,
    format_mean_std,
    format_score,
    pyplot,
)
from .scores import StageScores, mean_std, metric_name
from .seeding import derive_seed, example_rng, isolated_rng, seed_everything
from .standalone import augment, augment_file
from .textfiles import ENCODING_HINT, check_data_file, read_json_objects, read_lines, read_text
from .version import __version__


def get_component(kind: str, name: str, **params):
    """Instantiate an installed component by kind and name, e.g. ``get_component("generator", "vicinity",
    model="xlm-roberta-large")``. Parameters are validated against the component's schema."""
    cls = resolve(kind, name)
    return cls(**params)


def read(path: str, format: str | None = None, *, lang: str = "und", name: str | None = None, **params) -> Corpus:
    """Read a data file into a Corpus with an installed reader (format detected from the suffix if None)."""
    from .format_lookup import reader_for

    reader = reader_for(path, format, params)
    return Corpus.from_examples(reader.read(str(path), lang=lang, name=name), labels=params.get("labels"))


def write(examples, path: str, format: str | None = None, **params) -> int:
    """Write examples (a Corpus or any iterable of Example) with an installed writer."""
    from .format_lookup import writer_for

    return writer_for(path, format, params).write(examples, path)


__all__ = [
    # components and their interfaces
    "COMPONENT_KINDS",
    "Component",
    "Generator",
    "Labeler",
    "Filter",
    "Distiller",
    "FilterResult",
    "Trainer",
    "TrainerHook",
    "Analyzer",
    "Reader",
    "Writer",
    "InputSpec",
    "StageContext",
    "NoParams",
    # data
    "EXAMPLE_TYPES",
    "UNKNOWN_TAG",
    "Example",
    "Corpus",
    "CorpusWriter",
    "concat",
    "infer_labels",
    "dataset_examples",
    "examples_to_dataset",
    # labels for augmented examples
    "label_examples",
    "tag_replaced",
    "REPLACED_TAG_POLICIES",
    # parameters
    "Params",
    "param",
    "build_params",
    "describe_params",
    "FilePath",
    "ModelRef",
    "Encoding",
    "TextReaderParams",
    # plugins
    "hookimpl",
    "hookspec",
    "get_plugin_manager",
    "resolve",
    "get_component",
    # models and model artefacts
    "resolve_model",
    "build_tiny_xlmr",
    "build_tiny_marian",
    "load_pretrained",
    "read_model_config",
    "ModelSet",
    "ModelEntry",
    "pick_device",
    "resolved_precision",
    "StageScores",
    "mean_std",
    "metric_name",
    # reports
    "ReportSection",
    "ReportTable",
    "ReportFigure",
    "RunInfo",
    "StageInfo",
    "figure_png",
    "pyplot",
    "format_score",
    "format_mean_std",
    # running
    "generate_shards",
    "distributed",
    "derive_seed",
    "example_rng",
    "isolated_rng",
    "seed_everything",
    "atomic_dir",
    "atomic_write_bytes",
    "atomic_write_json",
    "atomic_write_text",
    # errors
    "AugkitError",
    "DataError",
    "ParamError",
    "PluginError",
    "RecipeError",
    "RunError",
    "did_you_mean",
    # Python API
    "augment",
    "augment_file",
    "read",
    "write",
    "parse_options",
    "__version__",
    # for readers
    "read_lines",
    "read_json_objects",
    "read_text",
    "check_data_file",
    "ENCODING_HINT",
]
