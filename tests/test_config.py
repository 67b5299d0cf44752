"""Configuration: what the app creates under instance/ when the environment provides nothing."""

from __future__ import annotations

import os

import pytest

from survey.config import build_config


@pytest.fixture
def umask_022():
    """The usual umask, under which new files and directories are readable by everyone."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


@pytest.mark.parametrize(
    "unset, overrides",
    [
        ("SECRET_KEY", {"SQLALCHEMY_DATABASE_URI": "sqlite://"}),  # instance/ made for the secret key
        ("DATABASE_URL", {"SECRET_KEY": "x"}),  # instance/ made for the SQLite database
    ],
    ids=["secret key", "database"],
)
def test_instance_is_created_for_its_owner_alone(tmp_path, monkeypatch, umask_022, unset, overrides):
    monkeypatch.delenv(unset, raising=False)
    instance = tmp_path / "instance"
    build_config(instance, overrides)
    assert instance.stat().st_mode & 0o777 == 0o700
    if unset == "SECRET_KEY":
        assert (instance / "secret_key").stat().st_mode & 0o777 == 0o600

