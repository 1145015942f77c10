"""MultiMix (UXLA) as augkit components: warm-up, labeler, distillers, agreement, co-teaching."""

from augkit import hookimpl

from .coteach import CoTeachingTrainer
from .distill import AgreementFilter, ConfidenceDistiller, GMMDistiller
from .hooks import ConfidencePenalty
from .labeler import TaskModelLabeler
from .report import report_sections  # noqa: F401  (the report_sections hook)
from .warmup import WarmupTrainer


@hookimpl
def register_trainers(register):
    register(WarmupTrainer)
    register(CoTeachingTrainer)


@hookimpl
def register_trainer_hooks(register):
    register(ConfidencePenalty)


@hookimpl
def register_labelers(register):
    register(TaskModelLabeler)


@hookimpl
def register_filters(register):
    register(ConfidenceDistiller)
    register(GMMDistiller)
    register(AgreementFilter)
