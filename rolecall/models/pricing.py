"""Prices per model, so cost is metered like tokens and a cost budget can stop a run.

Prices are in US dollars per million tokens and set by the user (they change too often to
ship); the embedded model is free. A model name matches a table entry exactly, or by the
longest entry it starts with ("gpt-4o-mini-2024-07-18" matches "gpt-4o-mini").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from pydantic import ConfigDict, Field

from rolecall._checked import Checked
from rolecall.errors import SpecError
from rolecall.models.base import Usage
from rolecall.models.local import LOCAL_MODEL_NAME


class Price(Checked):
    """USD per million prompt and completion tokens."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)

    prompt: float = Field(ge=0, le=100_000)
    completion: float = Field(ge=0, le=100_000)


class PriceTable:
    """Model name to price, with the embedded model free by default."""

    def __init__(self, prices: Mapping[str, Price | Mapping[str, float]] | None = None) -> None:
        self._prices: dict[str, Price] = {LOCAL_MODEL_NAME: Price(prompt=0, completion=0)}
        for name, price in (prices or {}).items():
            self._prices[name] = price if isinstance(price, Price) else Price.model_validate(price)

    def price(self, model: str | None) -> Price | None:
        if model is None:
            return None
        if model in self._prices:
            return self._prices[model]
        matches = [name for name in self._prices if model.startswith(name)]
        return self._prices[max(matches, key=len)] if matches else None

    def require(self, models: Iterable[str], *, budget: str) -> None:
        """A ``SpecError`` naming the first of ``models`` without a price: ``budget`` cannot meter it."""
        for name in models:
            if self.price(name) is None:
                raise SpecError(
                    f"{budget}: no price for model {name!r}; add it under prices: "
                    f"{{{name}: {{prompt: USD_PER_1M_TOKENS, completion: USD_PER_1M_TOKENS}}}}"
                )

    def cost(self, model: str | None, usage: Usage) -> float | None:
        """Dollars for ``usage`` on ``model``, or None when its price is unknown."""
        price = self.price(model)
        if price is None:
            return None
        return (usage.prompt_tokens * price.prompt + usage.completion_tokens * price.completion) / 1_000_000
