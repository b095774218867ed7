"""A DAG template for every mode: start to end, connected, readable."""

from __future__ import annotations

import pytest

from cmbjupyter.dag import MODES, canonical_mode, first_work_node, template_for

ALL_MODES = (
    "one-shot",
    "planning-control",
    "idea-generation",
    "ocr",
    "arxiv",
    "enhance-input",
    "hitl",
    "control",
)


def test_every_mode_of_cmbagent_has_a_template():
    assert set(MODES) == set(ALL_MODES)


@pytest.mark.parametrize("mode", ALL_MODES)
def test_each_template_is_a_chain_from_start_to_end(mode):
    dag = template_for(mode)
    ids = [n["id"] for n in dag["nodes"]]
    assert ids[0] == "start" and ids[-1] == "end" and len(ids) == len(set(ids)) >= 3
    assert all(n["status"] == "pending" and n["label"] for n in dag["nodes"])
    targets = {e["target"] for e in dag["edges"]}
    sources = {e["source"] for e in dag["edges"]}
    assert set(ids) - {"start"} == targets and set(ids) - {"end"} == sources
    assert first_work_node(dag) == ids[1]


def test_the_seed_templates_keep_their_node_ids():
    assert [n["id"] for n in template_for("one-shot")["nodes"]] == ["start", "execute", "end"]
    assert [n["id"] for n in template_for("planning-control")["nodes"]] == [
        "start",
        "planning",
        "execution",
        "end",
    ]


def test_a_control_run_with_a_known_plan_shows_its_steps_up_front():
    dag = template_for("control", {"plan": ["load data", "fit"]})
    assert [n["id"] for n in dag["nodes"]] == ["start", "execution", "step_1", "step_2", "end"]
    assert dag["nodes"][2]["description"] == "load data"


def test_aliases_and_unknown_modes():
    assert canonical_mode("deep-research") == "planning-control"
    with pytest.raises(ValueError, match="unknown mode"):
        template_for("nope")


def test_the_one_shot_agent_comes_from_the_config():
    assert template_for("one-shot", {"agent": "researcher"})["nodes"][1]["agent"] == "researcher"
