"""Prices and budgets: what each LLM call cost, from the genai-prices tables.

Token buckets follow OpenAI's (and genai-prices') convention: ``input_tokens`` counts *all* prompt
tokens, of which ``cache_read_tokens`` were read from and ``cache_write_tokens`` written to the
provider's prompt cache. Anthropic reports ``input_tokens`` *without* cached tokens: convert with
:func:`anthropic_usage`. A model genai-prices does not know is reported as unpriced, never as $0.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from importlib.metadata import version
from typing import Any, Final

__all__ = ["PRICES_VERSION", "Budget", "CostLedger", "anthropic_usage"]

#: The price table every session records (genai-prices is pinned in pyproject.toml).
PRICES_VERSION: Final = f"genai-prices {version('genai-prices')}"

_TOKEN_FIELDS: Final = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens")
_MAX_TOKENS: Final = 10**12  # more tokens than any real call: a corrupt number
_MAX_COST: Final = 10**9


def anthropic_usage(usage: Mapping[str, Any]) -> dict[str, int]:
    """Our four buckets from an Anthropic ``usage`` (whose ``input_tokens`` exclude cached tokens)."""
    read = int(usage.get("cache_read_input_tokens") or 0)
    write = int(usage.get("cache_creation_input_tokens") or 0)
    return {
        "input_tokens": int(usage.get("input_tokens") or 0) + read + write,
        "output_tokens": int(usage.get("output_tokens") or 0),
        "cache_read_tokens": read,
        "cache_write_tokens": write,
    }


@dataclass(frozen=True, slots=True)
class Price:
    """A price override in dollars per million tokens."""

    input: float
    output: float
    cache_read: float | None = None
    cache_write: float | None = None

    def cost(self, tokens: Mapping[str, int]) -> float:
        read, write = tokens["cache_read_tokens"], tokens["cache_write_tokens"]
        fresh = max(tokens["input_tokens"] - read - write, 0)
        total = (
            fresh * self.input
            + read * (self.input if self.cache_read is None else self.cache_read)
            + write * (self.input if self.cache_write is None else self.cache_write)
            + tokens["output_tokens"] * self.output
        )
        return total / 1_000_000


@cache
def _genai_price(
    model: str, input_tokens: int, output_tokens: int, cache_read: int, cache_write: int, provider: str | None
) -> Decimal | None:
    import genai_prices  # 0.2 s: only when the first call is priced

    usage = genai_prices.Usage(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
    )
    try:
        return genai_prices.calc_price(usage, model_ref=model, provider_id=provider).total_price
    except LookupError:
        return None


class CostLedger:
    """Checks and prices ``cost_update`` events.

    ``overrides`` (``config["prices"]``) maps a model name to dollars per million tokens,
    ``{"input": ..., "output": ..., "cache_read": ..., "cache_write": ...}``, and wins over genai-prices.
    """

    def __init__(
        self, overrides: Mapping[str, Mapping[str, float]] | None = None, provider: str | None = None
    ) -> None:
        self.overrides = {name: Price(**dict(p)) for name, p in (overrides or {}).items()}
        self.provider = provider

    def normalize(self, data: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
        """``(data, None)`` with ``cost`` filled in (``None`` plus ``unpriced: True`` when the model
        has no price), or ``(None, reason)`` when the event's numbers cannot be counted.

        A missing (null) token count is 0 and a null cost is priced here: the wire has no NaN or
        infinity, so an engine's non-finite numbers arrive as null.
        """
        model = data.get("model")
        if not isinstance(model, str) or not model:
            return None, "cost_update without a model name"
        out = dict(data)
        for field in _TOKEN_FIELDS:
            value = out.get(field) or 0
            if isinstance(value, float) and value.is_integer():
                value = int(value)
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_TOKENS:
                return None, f"cost_update for {model!r} has an invalid {field}: {value!r}"
            out[field] = value
        if out["cache_read_tokens"] + out["cache_write_tokens"] > out["input_tokens"]:
            return None, f"cost_update for {model!r}: cached tokens exceed input_tokens (which include them)"
        cost = out.get("cost")
        if cost is not None:
            if (
                isinstance(cost, bool)
                or not isinstance(cost, (int, float))
                or not (math.isfinite(cost) and 0 <= cost <= _MAX_COST)
            ):
                return None, f"cost_update for {model!r} has an invalid cost: {cost!r}"
            out["cost"], out["priced_by"] = float(cost), out.get("priced_by") or "engine"
            return out, None
        price = self.price(model, out)
        if price is None:
            out["cost"], out["unpriced"] = None, True
        else:
            out["cost"], out["priced_by"] = price, self.source(model)
        return out, None

    def price(self, model: str, tokens: Mapping[str, int]) -> float | None:
        """The cost in dollars, or None when no price is known for ``model``."""
        override = self.overrides.get(model)
        if override is not None:
            return override.cost(tokens)
        total = _genai_price(
            model,
            tokens["input_tokens"],
            tokens["output_tokens"],
            tokens["cache_read_tokens"],
            tokens["cache_write_tokens"],
            self.provider,
        )
        return None if total is None else float(total)

    def source(self, model: str) -> str:
        return "config" if model in self.overrides else PRICES_VERSION


class Budget:
    """Watches a run's total cost against ``budget_usd``: warns once at 80%, stops at 100%."""

    WARNING_FRACTION: Final = 0.8

    def __init__(self, limit_usd: float | None) -> None:
        if limit_usd is not None and not (isinstance(limit_usd, (int, float)) and limit_usd > 0):
            raise ValueError(f"budget_usd must be a positive number of dollars, not {limit_usd!r}")
        self.limit = float(limit_usd) if limit_usd is not None else None
        self.warned = False
        self.exceeded = False

    def check(self, total_usd: float) -> list[str]:
        """The thresholds crossed for the first time: ``["warning"]``, ``["exceeded"]``, or both when
        one call jumps past 80% and 100% at once (the warning always comes first)."""
        crossed: list[str] = []
        if self.limit is None:
            return crossed
        if not self.warned and total_usd >= self.WARNING_FRACTION * self.limit:
            self.warned = True
            crossed.append("warning")
        if not self.exceeded and total_usd >= self.limit:
            self.exceeded = True
            crossed.append("exceeded")
        return crossed
