"""Helpers for testing augkit plugins.

``check_generator_contract(generator, examples)`` runs a generator through what every generator must
satisfy; the pytest fixture ``augkit_plugin`` (in ``augkit.testing.pytest_plugin``, loaded automatically
when augkit is installed) registers a plugin object for the duration of one test.
"""
from __future__ import annotations

from typing import Sequence

from ..components import Generator
from ..data import Example


class ContractError(AssertionError):
    pass


def _key(ex: Example):
    row = ex.to_row()
    return tuple((k, repr(v)) for k, v in sorted(row.items()))


def check_generator_contract(generator: Generator, examples: Sequence[Example], *, seed: int = 1234,
                             batch_sizes: Sequence[int] = (1, 3, 64)) -> list[Example]:
    """Check that ``generator`` honours the Generator contract on ``examples``; return its output.

    * outputs are ``Example`` objects of a type the generator declares, with ``source_id`` naming an
      input and ``component`` set, grouped by input in input order;
    * tagging outputs have one tag per token when labelled (``tags``) and ``replaced`` positions inside
      the sentence; ``orig_tags`` match the source's tags;
    * the same seed gives the same output; the output is the same at every batch size and when the
      inputs come in reverse order (per-example randomness).
    Raises ContractError (an AssertionError) describing the first violation.
    """
    examples = list(examples)
    if not examples:
        raise ValueError("check_generator_contract needs at least one example")
    by_id = {ex.id: ex for ex in examples}
    if len(by_id) != len(examples):
        raise ValueError("example ids must be unique")
    runs = {bs: generator.augment(examples, seed=seed, batch_size=bs) for bs in batch_sizes}
    first = runs[batch_sizes[0]]
    order = {ex.id: i for i, ex in enumerate(examples)}
    last_pos = -1
    for out in first:
        if not isinstance(out, Example):
            raise ContractError(f"output {out!r} is not an augkit.Example")
        if out.type not in generator.example_types:
            raise ContractError(f"output {out.id!r} has type {out.type!r}, not one of {generator.example_types}")
        if out.source_id not in by_id:
            raise ContractError(f"output {out.id!r} has source_id {out.source_id!r}, which is not an input id")
        if not out.component:
            raise ContractError(f"output {out.id!r} does not say which component made it")
        if order[out.source_id] < last_pos:
            raise ContractError(f"output {out.id!r} breaks input order (outputs must be grouped by input, in order)")
        last_pos = order[out.source_id]
        src = by_id[out.source_id]
        if out.type == "tagging":
            if out.tags and len(out.tags) != len(out.tokens):
                raise ContractError(f"output {out.id!r}: {len(out.tokens)} tokens but {len(out.tags)} tags")
            if any(not 0 <= p < len(out.tokens) for p in out.replaced):
                raise ContractError(f"output {out.id!r}: replaced positions {out.replaced} outside the sentence")
            if src.tags and out.orig_tags and list(out.orig_tags) != list(src.tags):
                raise ContractError(f"output {out.id!r}: orig_tags differ from the source's tags")
    ids = [o.id for o in first]
    if len(set(ids)) != len(ids):
        raise ContractError("output ids are not unique")
    again = generator.augment(examples, seed=seed, batch_size=batch_sizes[0])
    if [_key(e) for e in again] != [_key(e) for e in first]:
        raise ContractError("the same seed gave different outputs")
    for bs, out in runs.items():
        if [_key(e) for e in out] != [_key(e) for e in first]:
            raise ContractError(f"batch size {bs} gave different outputs than batch size {batch_sizes[0]}")
    reverse = generator.augment(examples[::-1], seed=seed, batch_size=batch_sizes[-1])
    if sorted(map(_key, reverse)) != sorted(map(_key, first)):
        raise ContractError("reversing the input order changed the outputs (randomness must be per example)")
    return first


__all__ = ["ContractError", "check_generator_contract"]
