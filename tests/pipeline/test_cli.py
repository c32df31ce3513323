"""The command line says what is wrong: every command and option has its help; no option is
taken for a prefix of another; dates, source.table names, ranges, folders and URLs are checked
before any work; a mistake is one line on stderr and exit 2; a failed command a short summary
and exit 1, with the traceback only under --debug."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from sotelake import cli
from sotelake.engine import NoWarehouse

SOTELAKE = str(Path(sys.executable).with_name("sotelake"))


@pytest.fixture
def empty_data(tmp_path, monkeypatch):
    """A data folder with nothing in it, which the commands must leave as it is."""
    data = tmp_path / "data"
    monkeypatch.setenv("SOTELAKE_DATA_DIR", str(data))
    monkeypatch.delenv("SOTELAKE_LAKE", raising=False)
    monkeypatch.delenv("SOTELAKE_WAREHOUSE", raising=False)
    monkeypatch.delenv("SOTELAKE_DBT_TARGET", raising=False)
    return data


def usage_error(capsys, argv: list[str]) -> str:
    """The one line a mistake prints, after checking it exits 2 with nothing on stdout."""
    with pytest.raises(SystemExit) as stopped:
        code = cli.main(argv)
        raise SystemExit(code)
    out, err = capsys.readouterr()
    assert stopped.value.code == 2, (out, err)
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


def test_every_command_and_option_has_help():
    parser = cli.build_parser()
    commands = parser._subparsers._group_actions[0]
    listed = {action.dest: action.help for action in commands._choices_actions}
    assert set(listed) == set(commands.choices), "every command is listed in sotelake --help"
    missing = [name for name, text in listed.items() if not text]
    for name, command in commands.choices.items():
        assert command.allow_abbrev is False, name
        for action in command._actions:
            if not isinstance(action, argparse._HelpAction) and not action.help:
                missing.append(f"{name} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, f"without help: {missing}"
    assert len(commands.choices) >= 18


def test_an_option_is_never_taken_for_a_prefix_of_another(empty_data, capsys):
    err = usage_error(capsys, ["generate", "--resident", "100"])
    assert "--resident 100" in err and "did you mean --residents?" in err
    assert err.startswith("sotelake generate: ")
    assert not empty_data.exists(), "nothing was generated"


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["run", "--load-date", "2026-13-01"], "not a date: '2026-13-01' (expected YYYY-MM-DD)"),
        (["replay", "finance.ledger_postings", "--load-date", "1.1.2026"], "not a date"),
        (["backfill", "--from", "2026-01-05", "--to", "2026-01-02"], "is after --to 2026-01-02"),
        (["generate", "--residents", "0"], "0 is less than 1"),
        (["demo", "--faults", "future_date=0.1"], "did you mean 'future_dates'?"),
        (["demo", "--faults", "future_dates=2"], "a number from 0 to 1"),
        (["publish-postgres", "mysql://host/db"], "not a PostgreSQL URL"),
    ],
)
def test_a_mistake_in_the_arguments_is_one_line_and_exit_2(empty_data, capsys, argv, says):
    assert says in usage_error(capsys, argv)
    assert not empty_data.exists()


def test_an_unknown_table_is_named_with_the_one_meant(empty_data, capsys):
    err = usage_error(capsys, ["replay", "finance.ledger_posting", "--load-date", "2026-01-02"])
    assert "no table 'finance.ledger_posting'" in err
    assert "did you mean 'finance.ledger_postings'?" in err
    far = usage_error(capsys, ["replay", "nothing.like_it", "--load-date", "2026-01-02"])
    assert "the tables are " in far and "unified_record.visits" in far


def test_paths_are_checked_before_work(empty_data, capsys, tmp_path):
    assert "no folder" in usage_error(capsys, ["scan-privacy", str(tmp_path / "not-there")])
    assert "run `sotelake generate`" in usage_error(capsys, ["advance"])
    assert "run `sotelake generate`" in usage_error(
        capsys, ["copy-to-postgres", "postgresql://u@localhost/db"]
    )


def test_a_wrong_setting_is_one_line_and_exit_2(empty_data, capsys, monkeypatch):
    monkeypatch.setenv("SOTELAKE_DBT_TARGET", "oracle")
    err = usage_error(capsys, ["items"])
    assert "SOTELAKE_DBT_TARGET" in err and "oracle" in err


def test_a_failed_command_is_a_short_summary_and_exit_1_and_debug_shows_the_traceback(
    empty_data, capsys
):
    assert cli.main(["packages"]) == 1
    err = capsys.readouterr().err
    assert "sotelake packages failed: NoWarehouse: the warehouse" in err
    assert "Traceback" not in err and "--debug shows the traceback" in err
    assert len(err.splitlines()) == 2
    with pytest.raises(NoWarehouse):
        cli.main(["packages", "--debug"])


def test_the_installed_command_says_the_same():
    """The console script, as a user runs it: the same one line and exit code."""
    done = subprocess.run(
        [SOTELAKE, "backfill", "--from", "2026-01-05", "--to", "2026-01-02"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "sotelake backfill: --from 2026-01-05 is after --to 2026-01-02 (the range is empty) "
        "(see sotelake backfill --help)"
    ]
