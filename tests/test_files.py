"""seqsent.files: the one crash-safe writer. Readers see the old file or the new one; permissions follow the umask."""

from __future__ import annotations

import os
import stat
import time
from pathlib import Path

import pytest

from seqsent.errors import UsageError
from seqsent.files import replace_atomically, staged_directory, write_json_atomic, write_text_atomic


@pytest.fixture
def umask_027():
    previous = os.umask(0o027)
    yield
    os.umask(previous)


def mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_a_new_file_gets_the_umask_permissions_not_mkstemps_private_ones(tmp_path, umask_027):
    write_json_atomic(tmp_path / "a.json", {"x": 1})
    assert mode(tmp_path / "a.json") == 0o640  # 0666 & ~027; mkstemp alone would leave 0600


def test_a_replaced_file_keeps_its_permissions(tmp_path):
    target = tmp_path / "models.config"
    target.write_text("old")
    target.chmod(0o604)
    write_text_atomic(target, "new")
    assert target.read_text() == "new" and mode(target) == 0o604


def test_a_failed_write_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "state.json"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with replace_atomically(target) as tmp:
            tmp.write_text("half of the new")
            raise RuntimeError("disk full")
    assert target.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["state.json"]


def test_a_writer_that_needs_a_file_name_ending_gets_it(tmp_path):
    with replace_atomically(tmp_path / "best.weights.h5", suffix=".weights.h5") as tmp:
        assert tmp.name.endswith(".weights.h5") and tmp.parent == tmp_path
        tmp.write_bytes(b"weights")
    assert (tmp_path / "best.weights.h5").read_bytes() == b"weights"


def test_a_staged_directory_appears_whole_with_umask_permissions(tmp_path, umask_027):
    target = tmp_path / "report"
    with staged_directory(target, owned=("a.txt",)) as staging:
        (staging / "a.txt").write_text("a")
        assert not target.exists()  # nothing visible until the block ends
    assert (target / "a.txt").read_text() == "a"
    assert mode(target) == 0o750
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_a_staged_directory_never_replaces_a_full_one_without_overwrite(tmp_path):
    target = tmp_path / "report"
    target.mkdir()
    (target / "mine.txt").write_text("keep")
    with pytest.raises(UsageError, match="--overwrite"):
        with staged_directory(target, owned=("mine.txt", "new.txt")):
            pass
    with pytest.raises(RuntimeError):
        with staged_directory(target, overwrite=True, owned=("mine.txt", "new.txt")) as staging:
            (staging / "new.txt").write_text("new")
            raise RuntimeError("failed halfway")
    assert [p.name for p in target.iterdir()] == ["mine.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report"]


def test_overwrite_replaces_a_directory_of_the_commands_own_output(tmp_path):
    target = tmp_path / "report"
    target.mkdir()
    (target / "report.md").write_text("old report")
    (target / "roc.png").write_bytes(b"old plot")
    with staged_directory(target, overwrite=True, owned=("report.md", "*.png")) as staging:
        (staging / "report.md").write_text("new report")
    assert [p.name for p in target.iterdir()] == ["report.md"]
    assert (target / "report.md").read_text() == "new report"


def test_overwrite_refuses_a_directory_holding_anything_the_command_does_not_write(tmp_path):
    """`--report saved_models/m --overwrite` or `--output data --overwrite` must not delete the model or the data."""
    target = tmp_path / "data"
    target.mkdir()
    (target / "reviews.csv").write_text("text,label\n")
    (target / "manifest.json").write_text("{}")
    with pytest.raises(UsageError, match=r"holds 'reviews.csv', which this command does not write: --overwrite"):
        with staged_directory(target, overwrite=True, owned=("manifest.json", "train-*.jsonl.gz")):
            pass
    assert sorted(p.name for p in target.iterdir()) == ["manifest.json", "reviews.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_an_output_directory_that_cannot_be_staged_is_refused_naming_its_option(tmp_path, monkeypatch):
    """Refused before the long work: a report or encoder staged in an unwritable directory failed only after it,
    naming the staging directory (os.access is patched: the tests may run as root, whom modes do not stop)."""
    from seqsent.files import check_output_dir

    locked = tmp_path / "locked"
    locked.mkdir()
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda path, mode: False if str(path) == str(locked) else real_access(path, mode))
    with pytest.raises(UsageError, match=f"^--report {locked}/report: {locked} is not writable$"):
        check_output_dir(locked / "report", overwrite=False, output_flag="--report")
    check_output_dir(tmp_path / "free" / "report", overwrite=False)  # a directory that can be made is fine


def _left_by_a_killed_run(path: Path, directory: bool) -> Path:
    path.mkdir() if directory else path.write_bytes(b"half written")
    an_hour_ago = time.time() - 3600
    os.utime(path, (an_hour_ago, an_hour_ago))
    return path


def test_what_a_killed_run_left_is_removed_by_the_next_write_and_a_live_runs_is_not(tmp_path):
    from seqsent.files import hold_lock, release, replace_atomically, staged_directory

    dead = _left_by_a_killed_run(tmp_path / ".out.staging-dead", directory=True)
    live = _left_by_a_killed_run(tmp_path / ".out.staging-live", directory=True)
    other = _left_by_a_killed_run(tmp_path / ".other.staging-dead", directory=True)
    dead_file = _left_by_a_killed_run(tmp_path / ".model.json.abc123.tmp", directory=False)
    lock = hold_lock(live)  # a run still writing
    try:
        with staged_directory(tmp_path / "out", owned=("*",)) as staging:
            (staging / "a.txt").write_text("a")
        with replace_atomically(tmp_path / "model.json") as tmp:
            tmp.write_text("{}")
    finally:
        release(lock)
    assert not dead.exists() and not dead_file.exists()
    assert live.exists() and other.exists()  # locked; another output's
    assert (tmp_path / "out" / "a.txt").read_text() == "a" and (tmp_path / "model.json").read_text() == "{}"


def test_a_fresh_unlocked_staging_directory_is_left_alone(tmp_path):
    from seqsent.files import remove_abandoned

    (tmp_path / ".out.staging-new").mkdir()  # just created, not locked yet
    assert remove_abandoned(tmp_path, ".out.staging-*") == []


def test_an_output_directory_where_nothing_can_be_created_is_refused_before_any_work():
    from seqsent.files import check_creatable

    with pytest.raises(UsageError, match="^--output-dir /proc/seqsent-qa/m: cannot write in /proc"):
        check_creatable("/proc/seqsent-qa/m", "--output-dir", directory=True)  # access() passes there as root
