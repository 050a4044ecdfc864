from training.config import LEGACY_VALUES, TrainConfig, config_from_saved


def test_saved_configs_keep_the_values_of_fields_added_after_them():
    old = {"hidden_dim": 128, "seed": 2, "some_removed_field": 1}  # written before members/EMA/fp16 existed
    cfg = config_from_saved(old)
    assert cfg.hidden_dim == 128 and cfg.seed == 2
    assert cfg.members == 1 and cfg.ema_decay == 0.0 and cfg.fp16_embeddings is False
    assert set(LEGACY_VALUES) <= set(TrainConfig().to_dict())


def test_a_current_config_round_trips():
    cfg = TrainConfig(members=3, hidden_dim=32, adv_eps=0.3)
    assert config_from_saved(cfg.to_dict()) == cfg


def test_every_flag_of_sentiment_train_says_what_it_does():
    """`sentiment train --help` shows each TrainConfig field's comment, not only its default."""
    import argparse

    from training.config import add_config_args, field_comments

    comments = field_comments()
    assert set(comments) == set(TrainConfig().to_dict())
    assert all(len(c) >= 8 for c in comments.values()), comments
    parser = argparse.ArgumentParser()
    add_config_args(parser)
    shown = " ".join(parser.format_help().split())  # argparse wraps lines
    for name in ("split", "lr", "hidden_dim"):
        assert f"{comments[name]} (default: {getattr(TrainConfig, name)})" in shown
    assert parser.parse_args(["--split", "random", "--class-bias", "true"]).class_bias is True
    assert parser.parse_args(["--calibrate", "false"]).calibrate is False
