"""%%cmbagent's arguments: the documented options, and a short usage error for anything else."""

from __future__ import annotations

import pytest
from IPython.core.error import UsageError

from cmbjupyter.magic import parse_cell_args


def test_every_documented_option_maps_to_the_task_config():
    config, background, force_kernel = parse_cell_args(
        "--mode planning-control --engine python --session s1 --budget 0.5 --timeout 60 --background "
        "--model gpt-4o --work-dir out --backend dask --config '{\"max_rounds\": 5}' --kernel"
    )
    assert config == {
        "mode": "planning-control",
        "engine": "python",
        "session_id": "s1",
        "budget_usd": 0.5,
        "timeout": 60.0,
        "model": "gpt-4o",
        "work_dir": "out",
        "backend": "dask",
        "max_rounds": 5,
    }
    assert background and force_kernel


def test_inputs_name_notebook_variables():
    config, _, _ = parse_cell_args("--inputs cl_obs,df --inputs-pickle --inputs-parquet")
    assert config == {
        "mode": "one-shot",
        "inputs": ["cl_obs", "df"],
        "inputs_pickle": True,
        "inputs_parquet": True,
    }
    with pytest.raises(UsageError, match="needs variable names"):
        parse_cell_args("--inputs ,")


def test_approve_plan_returns_at_once_so_the_widget_can_decide():
    config, background, _ = parse_cell_args("--mode planning-control --approve-plan --step-budget 0.2")
    assert config == {"mode": "planning-control", "approve_plan": True, "step_budget_usd": 0.2}
    assert background


def test_defaults_are_a_foreground_one_shot():
    assert parse_cell_args("") == ({"mode": "one-shot"}, False, False)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("--mode warp", "invalid choice: 'warp'"),
        ("--budget lots", "invalid float value: 'lots'"),
        ("--frobnicate", "unrecognized arguments: --frobnicate"),
        ("--config '{bad'", "argument --config: not valid JSON (Expecting property name"),
        ("--config '[1]'", "argument --config: must be a JSON object"),
        ("--session 'unclosed", "No closing quotation"),
    ],
)
def test_bad_arguments_are_a_short_usage_error(line, message):
    with pytest.raises(UsageError, match="usage: %%cmbagent") as info:
        parse_cell_args(line)
    assert message in str(info.value)


def test_the_help_is_generated_from_the_options():
    """`%%cmbagent?` shows the magic's docstring: IPython's magic_arguments writes every option in it."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "cmbjupyter")
    help_text = shell.find_cell_magic("cmbagent").__doc__
    for option in (
        "--mode MODE",
        "--engine",
        "--session NAME",
        "--budget USD",
        "--timeout S",
        "--background",
        "--model",
        "--work-dir DIR",
        "--backend",
        "--python PATH",
        "--config JSON",
        "--kernel",
    ):
        assert option in help_text
    assert "%%cmbagent [--mode MODE]" in help_text
    with pytest.raises(UsageError, match="unrecognized arguments: --nope"):
        shell.run_cell_magic("cmbagent", "--nope", "a task")
