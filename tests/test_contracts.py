"""The contract checks in augkit.testing pass for the built-in filters, labeler and trainer, and catch
a component that breaks its contract."""
import pytest

from augkit import Corpus, Example, Filter, FilterResult, NoParams
from augkit.tasks import load_task_model
from augkit.testing import (ContractError, check_filter_contract, check_labeler_contract,
                            check_trainer_contract)
from augkit_multimix import AgreementFilter, ConfidenceDistiller, TaskModelLabeler, WarmupTrainer

LABELS = ["O", "B-PER", "I-PER"]


def sentences(n=12):
    names = ["Anna", "Peter", "Maria"]
    return [Example(f"s{i}", lang="en", tokens=[names[i % 3], "sleeps", "."], tags=["B-PER", "O", "O"]) for i in range(n)]


@pytest.fixture(scope="module")
def labelled():
    tm = load_task_model("augkit:tiny-xlmr", "tagging", LABELS, seed=0)
    corpus = Corpus.from_examples([ex.replace(tags=[]) for ex in sentences()], labels=LABELS)
    return check_labeler_contract(TaskModelLabeler(max_length=32), corpus, tm)


def test_built_in_distillers_and_agreement_keep_the_filter_contract(labelled):
    assert check_filter_contract(ConfidenceDistiller(eta=0.5), labelled).kept == 6
    assert check_filter_contract(AgreementFilter(), labelled, labelled).kept == len(labelled)


def test_a_filter_that_rewrites_text_breaks_the_contract(labelled):
    class Shouting(Filter):
        Params = NoParams

        def filter(self, corpus):
            out = Corpus.from_examples([ex.replace(tokens=[t.upper() for t in ex.tokens]) for ex in corpus])
            return FilterResult(out, len(out), len(corpus))

    with pytest.raises(ContractError, match="different text"):
        check_filter_contract(Shouting(), labelled)


def test_the_warm_up_trainer_keeps_the_trainer_contract(tmp_path):
    corpus = Corpus.from_examples(sentences(), labels=LABELS)
    trainer = WarmupTrainer(model="augkit:tiny-xlmr", n_models=2, max_steps=2, batch_size=4, max_length=32)
    models = check_trainer_contract(trainer, {"train": corpus, "dev": corpus}, tmp_path)
    assert len(models) == 2 and models.labels == LABELS


def _text_corpus(n=60):
    words = ["river", "stone", "green", "walks", "under", "bright", "house", "sings", "north", "quiet"]
    return Corpus.from_examples([Example(f"t{i}", lang="en", tokens=[words[(i * k + k) % 10] for k in range(1, 7)])
                                 for i in range(n)])


TINY_PRETRAINING = dict(max_steps=3, batch_size=8, vocab_size=60, hidden_size=16, num_heads=2, intermediate_size=32,
                        held_out=0.0)


def test_the_pretraining_trainer_keeps_the_masked_lm_contract(tmp_path):
    from augkit_pretrain import PretrainTrainer

    models = check_trainer_contract(PretrainTrainer(**TINY_PRETRAINING), {"corpus": [_text_corpus()]}, tmp_path)
    assert models.task == "mlm" and [m.name for m in models] == ["mlm"] and models.labels is None


def test_a_masked_lm_whose_vocabulary_misses_tokenizer_tokens_breaks_the_contract(tmp_path):
    from transformers import AutoModelForMaskedLM

    from augkit import ModelSet
    from augkit_pretrain import PretrainTrainer

    class Truncating(PretrainTrainer):
        def run_stage(self, ctx):
            stats = super().run_stage(ctx)
            path = ModelSet.load(ctx.out_dir).best.path
            model = AutoModelForMaskedLM.from_pretrained(path)
            model.resize_token_embeddings(10)
            model.save_pretrained(path)
            return stats

    with pytest.raises(ContractError, match="the model's vocabulary 10"):
        check_trainer_contract(Truncating(**TINY_PRETRAINING), {"corpus": [_text_corpus()]}, tmp_path)
