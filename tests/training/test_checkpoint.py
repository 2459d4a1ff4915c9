"""A training run stopped after an epoch resumes from its checkpoint exactly where it stopped."""

import pytest

from clinnlp.errors import ConfigError
from clinnlp.training.train import TrainConfig, train


class Stop(Exception):
    """Stands for a kill after an epoch."""


@pytest.fixture(scope="module")
def docs(related_docs):
    return related_docs


def config(tiny_encoder, **kw):
    # dropout on and two epochs of shuffled batches: a resume that lost any random state
    # or the optimizer's moments would not land on the same weights
    options = {"epochs": 3, "lr": 3e-3, "batch_size": 2, "dev_fraction": 0, "seed": 5}
    return TrainConfig(base=str(tiny_encoder), precision="fp32", **{**options, **kw})


def stop_after(epoch):
    def progress(record):
        if record["epoch"] == epoch:
            raise Stop

    return progress


@pytest.mark.parametrize(
    "options",
    [{}, {"dev_fraction": 0.34, "patience": 5, "sample": {"": 0.6}}],
    ids=["plain", "dev-and-sampling"],
)
def test_training_resumed_from_its_checkpoint_ends_as_if_never_stopped(
    docs, tiny_encoder, tmp_path, options, monkeypatch
):
    """Also with early stopping on a dev split and rows sampled: the dev F1 is scripted so
    that the best epoch (2) comes before the stop, and its weights must come back."""
    import torch

    import clinnlp.training.train as tr

    dev_f1 = iter([0.5, 0.9, 0.6, 0.5, 0.9, 0.6])  # the whole run's epochs, then the other's
    monkeypatch.setattr(tr, "strict_f1", lambda gold, pred, labels=None: next(dev_f1))
    whole, whole_metrics = train(docs, config(tiny_encoder, **options))
    state = tmp_path / "run.checkpoint.pt"
    with pytest.raises(Stop):
        train(docs, config(tiny_encoder, **options), progress=stop_after(2), checkpoint=state)
    assert state.is_file()
    seen = []
    resumed, metrics = train(
        docs, config(tiny_encoder, **options), progress=seen.append, checkpoint=state
    )
    assert [r["epoch"] for r in seen] == [3]  # epochs 1 and 2 were not run again
    losses = [r["loss"] for r in metrics["history"]]  # None where an epoch drew no row
    assert losses == [r["loss"] for r in whole_metrics["history"]]
    assert metrics["best_dev_f1"] == whole_metrics["best_dev_f1"]
    for mine, theirs in ((resumed.model, whole.model), (resumed.relations, whole.relations)):
        a, b = mine.state_dict(), theirs.state_dict()
        assert all(torch.equal(a[k], b[k]) for k in b)
    assert state.is_file()  # the caller removes it once the model is saved


def test_a_checkpoint_of_another_recipe_or_no_checkpoint_is_refused_and_kept(
    docs, tiny_encoder, tmp_path
):
    state = tmp_path / "run.checkpoint.pt"
    with pytest.raises(Stop):
        train(docs, config(tiny_encoder), progress=stop_after(1), checkpoint=state)
    before = state.read_bytes()
    with pytest.raises(ConfigError, match="another recipe or corpus") as err:
        train(docs, config(tiny_encoder, lr=1e-3), checkpoint=state)
    assert str(state) in str(err.value)
    with pytest.raises(ConfigError, match="another recipe or corpus"):
        train(docs[:-1], config(tiny_encoder), checkpoint=state)  # same recipe, other corpus
    with pytest.raises(ConfigError, match="another recipe or corpus"):
        train(docs, config(tiny_encoder), dev_docs=docs[:1], checkpoint=state)  # other dev set
    assert state.read_bytes() == before
    junk = tmp_path / "junk.pt"
    junk.write_text("not a checkpoint")
    with pytest.raises(ConfigError, match="cannot be read") as err:
        train(docs, config(tiny_encoder), checkpoint=junk)
    assert str(junk) in str(err.value) and junk.read_text() == "not a checkpoint"
