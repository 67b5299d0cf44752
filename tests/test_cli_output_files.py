"""Commands that write a file (`-o FILE`) write all of it or none: on a full disk, or when the
database refuses the audit record, no partial or unrecorded file is left, and an earlier file
stays as it was. Real files, a real (tmpfs) full disk, real databases."""

from __future__ import annotations

import gc
import os
import random
import re
import subprocess
from pathlib import Path

import pytest
import sqlalchemy as sa

from survey.extensions import db
from survey.models import AuditEvent

from .conftest import skip_or_fail
from .test_faults import _read_only_app, sqlite_only

FULL = "No space left on device"


@pytest.fixture
def slug(runner, make_survey, tmp_path) -> str:
    """The every-feature survey with 3,000 responses, each with its own comment (so an export
    compresses no smaller than a few dozen kilobytes, xlsx too)."""
    slug = make_survey()
    rng = random.Random(7)
    rows = (f"r{n},north,very,fairly,comment {rng.getrandbits(160):040x}\n" for n in range(3000))
    data = tmp_path / "responses.csv"
    data.write_text("response_id,town,concerns/knives,concerns/asb,comments\n" + "".join(rows), encoding="utf-8")
    imported = runner.invoke(args=["responses", "import", slug, str(data)])
    assert imported.exit_code == 0, imported.output
    return slug


@pytest.fixture
def disk(tmp_path) -> Path:
    """A folder on its own 1 MiB tmpfs, which a test can fill up."""
    folder = tmp_path / "disk"
    folder.mkdir()
    try:
        mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(folder)], capture_output=True, text=True)
    except FileNotFoundError:
        skip_or_fail("no mount command: the full-disk tests need a small tmpfs")
    if mounted.returncode != 0:
        skip_or_fail(f"cannot mount a small tmpfs for the full-disk tests (needs root): {mounted.stderr.strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", str(folder)], check=True)


def fill(disk: Path, leave: int) -> Path:
    """Fill DISK up to LEAVE free bytes; returns the filler file."""
    stats = os.statvfs(disk)
    filler = disk / "filler"
    filler.write_bytes(b"\0" * (stats.f_bavail * stats.f_frsize - leave))
    return filler


def exports_recorded(app) -> int:
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == "responses.export"))


def assert_failed_cleanly(result, message: str) -> None:
    assert result.exit_code == 1, result.output
    assert message in result.output
    assert "Traceback" not in result.output and isinstance(result.exception, SystemExit)


# Exports fail part-way (some room is left); the short outputs fail at once.
WRITERS = {
    "export csv": (["responses", "export", "{slug}"], 16 * 1024),
    "export xlsx": (["responses", "export", "{slug}", "--format", "xlsx"], 16 * 1024),
    "dump": (["survey", "dump", "{slug}"], 0),
    "compare": (["analysis", "compare", "--series", "test-series", "--question", "town"], 0),
    "compare xlsx": (["analysis", "compare", "--series", "test-series", "--question", "town", "--format", "xlsx"], 0),
    "show-saved": (["analysis", "show-saved", "{saved}", "--format", "md"], 0),
}


@pytest.mark.parametrize("writer", WRITERS)
def test_a_full_disk_leaves_no_file_and_says_so_in_one_line(app, runner, slug, disk, writer):
    saved = runner.invoke(args=["analysis", "save", "--series", "test-series", "--question", "town"])
    assert saved.exit_code == 0, saved.output
    arguments, leave = WRITERS[writer]
    arguments = [argument.format(slug=slug, saved=re.search(r"Saved result (\d+)", saved.output)[1]) for argument in arguments]
    filler = fill(disk, leave)
    target = disk / "part.out"
    result = runner.invoke(args=[*arguments, "-o", str(target)])
    assert_failed_cleanly(result, f"Could not write {target}: {FULL}. Nothing was written.\n")
    assert list(disk.iterdir()) == [filler]
    assert exports_recorded(app) == 0
    del result
    gc.collect()  # an archive left unclosed would complain now (pytest turns that into an error)


def test_a_full_disk_leaves_an_earlier_file_as_it_was_and_a_later_export_replaces_it(app, runner, slug, disk):
    target = disk / "part.csv"
    target.write_text("the earlier export\n", encoding="utf-8")
    target.chmod(0o600)
    filler = fill(disk, 16 * 1024)
    result = runner.invoke(args=["responses", "export", slug, "-o", str(target)])
    assert_failed_cleanly(result, f"Could not write {target}: {FULL}. Nothing was written.")
    assert target.read_text(encoding="utf-8") == "the earlier export\n"
    assert sorted(disk.iterdir()) == [filler, target]
    filler.unlink()
    result = runner.invoke(args=["responses", "export", slug, "-o", str(target)])
    assert result.exit_code == 0, result.output
    assert len(target.read_text(encoding="utf-8-sig").splitlines()) == 3001
    assert target.stat().st_mode & 0o777 == 0o600  # kept private, as it was
    assert list(disk.iterdir()) == [target]
    assert exports_recorded(app) == 1


@sqlite_only
@pytest.mark.parametrize("file_format", ["csv", "xlsx"])
def test_an_export_the_read_only_database_cannot_record_leaves_no_file(app, slug, database_url, tmp_path, file_format):
    with app.app_context():
        db.engine.dispose()
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / f"all.{file_format}"
    read_only = _read_only_app(database_url)
    result = read_only.test_cli_runner().invoke(args=["responses", "export", slug, "--format", file_format, "-o", str(target)])
    assert_failed_cleanly(result, "The database could not be used (attempt to write a readonly database). Nothing was changed.")
    assert list(folder.iterdir()) == []
    with read_only.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("arguments", [["survey", "dump"], ["responses", "export"]])
def test_a_full_device_behind_a_link_is_reported_and_the_link_kept(runner, slug, tmp_path, arguments):
    if not Path("/dev/full").is_char_device():
        skip_or_fail("no /dev/full on this machine")
    link = tmp_path / "full.out"
    link.symlink_to("/dev/full")
    result = runner.invoke(args=[*arguments, slug, "-o", str(link)])
    assert_failed_cleanly(result, f"Could not write {link}: {FULL}.\n")
    assert link.is_symlink() and os.readlink(link) == "/dev/full"


def test_a_new_export_of_responses_is_readable_by_its_owner_only(app, runner, slug, tmp_path):
    old = os.umask(0o022)  # a service's usual umask: other files come out world-readable
    try:
        result = runner.invoke(args=["responses", "export", slug, "-o", str(tmp_path / "answers.csv")])
        assert runner.invoke(args=["survey", "dump", slug, "-o", str(tmp_path / "definition.yaml")]).exit_code == 0
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "answers.csv").stat().st_mode & 0o777 == 0o600  # residents' answers
    assert (tmp_path / "definition.yaml").stat().st_mode & 0o777 == 0o644
