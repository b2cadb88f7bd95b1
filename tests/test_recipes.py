"""Recipes: a named starting config, overridden by what is given, and a run's stages."""

import pytest

from training import recipes
from training.cli import build_parser, make_config
from training.config import Segment, TrainConfig


def test_tutorial_is_the_default_and_the_tutorials_settings():
    config = recipes.resolve(recipes.DEFAULT, {})
    assert config == TrainConfig(recipe="tutorial")
    assert config.segments() == [Segment(0, "train", 1, 50)]


def test_quality_unconditional_has_two_stages_and_a_prior_conditional_neither():
    plain = recipes.resolve("quality", {})
    assert [(s.name, s.first, s.last) for s in plain.segments()] == [
        ("grow", 1, 30),
        ("settle", 31, 60),
    ]
    assert plain.prior and plain.at(30).ema_decay == 0.999 and plain.at(31).ema_decay == 0.9995
    conditional = recipes.resolve("quality", {"conditional": True})
    assert conditional.epochs == 20 and not conditional.prior
    assert len(conditional.segments()) == 1


def test_given_fields_override_the_recipe_in_every_stage():
    config = recipes.resolve("quality", {"ema_decay": 0.99, "batch_size": 32})
    assert config.at(1).ema_decay == config.at(60).ema_decay == 0.99
    assert config.at(45).batch_size == 32 and config.recipe == "quality"


def test_a_given_run_length_moves_stage_starts_and_decay_in_proportion():
    config = recipes.resolve("quality", {"epochs": 6})
    assert [(s.first, s.last) for s in config.segments()] == [(1, 3), (4, 6)]
    assert config.lr_decay_epochs == 3
    # given explicitly too, the decay is what was given
    assert recipes.resolve("quality", {"epochs": 6, "lr_decay_epochs": 1}).lr_decay_epochs == 1


def test_stages_after_the_last_epoch_are_dropped():
    config = TrainConfig(epochs=10, stages=({"from_epoch": 1}, {"from_epoch": 20, "top_k": 0.5}))
    assert config.segments() == [Segment(0, "train", 1, 10)]


def test_unknown_recipe_and_bad_stages_are_value_errors():
    with pytest.raises(ValueError, match="unknown recipe"):
        recipes.resolve("best", {})
    for stages, message in [
        (({"from_epoch": 2},), "first stage starts at epoch 1"),
        (({"from_epoch": 1}, {"from_epoch": 1}), "increasing"),
        (({"from_epoch": 1}, {"from_epoch": 3, "epochs": 9}), "cannot change epochs"),
        (({"from_epoch": 1}, {"from_epoch": 3, "ema_decay": 2}), "--ema-decay"),
    ]:
        with pytest.raises(ValueError, match=message):
            TrainConfig(stages=stages).validate()


def test_cli_recipe_flag_and_resume_keeps_the_recipe():
    parser = build_parser()
    config = make_config(parser.parse_args(["--recipe", "quick", "--epochs", "2"]), None)
    assert config.recipe == "quick" and config.epochs == 2 and config.batch_size == 64
    assert config.mixed_precision in ("float32", "bfloat16")  # "auto" made concrete
    resumed = make_config(parser.parse_args(["--resume", "--epochs", "4"]), config)
    assert resumed.replace(epochs=2) == config
    with pytest.raises(ValueError, match="--recipe cannot change"):
        make_config(parser.parse_args(["--resume", "--recipe", "tutorial"]), config)


def test_config_round_trips_through_json_with_its_stages(tmp_path):
    config = recipes.resolve("quality", {})
    config.save(tmp_path / "config.json")
    assert TrainConfig.load(tmp_path / "config.json") == config


def test_a_conditional_run_takes_no_prior():
    with pytest.raises(ValueError, match="takes no prior"):
        TrainConfig(conditional=True, prior=True).validate()
