"""The cost ledger: genai-prices for every call, four token buckets, unpriced models flagged, budgets."""

from __future__ import annotations

import pytest
from genai_prices import Usage, calc_price

from cmbjupyter.cost import PRICES_VERSION, Budget, CostLedger, anthropic_usage


def _call(model="gpt-4o", **tokens):
    return {
        "model": model,
        "input_tokens": 1000,
        "output_tokens": 100,
        "cache_read_tokens": 0,
        "cache_write_tokens": 0,
        "cost": None,
        **tokens,
    }


def test_a_call_without_cost_is_priced_by_genai_prices_including_cache_reads():
    data, problem = CostLedger().normalize(_call(cache_read_tokens=400))
    expected = calc_price(
        Usage(input_tokens=1000, output_tokens=100, cache_read_tokens=400), "gpt-4o"
    ).total_price
    assert problem is None
    assert data["cost"] == pytest.approx(float(expected))
    assert data["cost"] == pytest.approx((600 * 2.5 + 400 * 1.25 + 100 * 10) / 1e6)
    assert data["priced_by"] == PRICES_VERSION


def test_an_unknown_model_is_unpriced_never_zero():
    data, _ = CostLedger().normalize(_call(model="telescope-llm-9000"))
    assert data["cost"] is None and data["unpriced"] is True


def test_a_price_override_in_the_config_wins():
    ledger = CostLedger({"telescope-llm-9000": {"input": 1.0, "output": 2.0, "cache_read": 0.5}})
    data, _ = ledger.normalize(_call(model="telescope-llm-9000", cache_read_tokens=200))
    assert data["cost"] == pytest.approx((800 * 1.0 + 200 * 0.5 + 100 * 2.0) / 1e6)
    assert data["priced_by"] == "config"


def test_a_cost_given_by_the_engine_is_kept():
    data, _ = CostLedger().normalize(_call(cost=0.123))
    assert data["cost"] == 0.123 and data["priced_by"] == "engine"


def test_anthropic_usage_is_converted_to_inclusive_input_tokens():
    usage = {
        "input_tokens": 100,
        "output_tokens": 50,
        "cache_read_input_tokens": 1000,
        "cache_creation_input_tokens": 200,
    }
    assert anthropic_usage(usage) == {
        "input_tokens": 1300,
        "output_tokens": 50,
        "cache_read_tokens": 1000,
        "cache_write_tokens": 200,
    }


@pytest.mark.parametrize(
    "bad",
    [
        {"input_tokens": -1},
        {"output_tokens": 1e30},
        {"cost": float("nan")},
        {"cost": -1.0},
        {"cost": 1e12},
        {"input_tokens": "many"},
        {"model": ""},
        {"cache_read_tokens": 5000},
        {"input_tokens": True},
    ],
)
def test_impossible_numbers_are_refused_with_a_reason(bad):
    data, problem = CostLedger().normalize(_call(**bad))
    assert data is None and problem


def test_the_budget_warns_once_at_80_percent_and_stops_at_100():
    budget = Budget(1.0)
    assert budget.check(0.5) == []
    assert budget.check(0.85) == ["warning"]
    assert budget.check(0.9) == []
    assert budget.check(1.0) == ["exceeded"]
    assert budget.check(2.0) == []
    assert Budget(1.0).check(5.0) == ["warning", "exceeded"]
    assert Budget(None).check(1e9) == []
    with pytest.raises(ValueError, match="positive number of dollars"):
        Budget(0)


async def test_costs_reach_the_callback_priced_and_are_totalled_by_model_agent_and_step(
    run_python, collected, executor
):
    await run_python(
        """
        phase("execution", step=1)
        record_usage("gpt-4o-mini", 1000, 100, agent="engineer")
        phase("execution", step=2)
        record_usage("gpt-4o-mini", 2000, 100, agent="researcher", cache_read_tokens=1000)
        record_usage("unknown-model-x", 10, 10, agent="researcher")
        emit.cost("gpt-4o-mini", -5, 1)
        """,
        mode="control",
    )
    costs = collected.of("cost_update")
    assert [c["model"] for c in costs] == ["gpt-4o-mini", "gpt-4o-mini", "unknown-model-x"]
    assert all(c["cost"] > 0 for c in costs[:2]) and costs[2]["unpriced"]
    warnings = collected.of("warning")
    assert "invalid input_tokens: -5" in warnings[0]["message"]
