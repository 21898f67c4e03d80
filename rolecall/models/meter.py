"""The meter: tokens and dollars spent by model calls, counted by one rule everywhere.

A conversation meters its own calls (hidden ones included) and a batch meters all calls of
all its conversations, both with :class:`Meter`. The rule for cost: each call costs its
tokens at its model's price; a call to a model without a price makes the cost unknown
(``None``) from then on rather than silently zero. A cost budget therefore needs a price for
every model it meters, which is checked before the first call (``Settings.check_prices``).
"""

from __future__ import annotations

from rolecall.models.base import Completion, Usage
from rolecall.models.pricing import PriceTable


class Meter:
    """Running totals of tokens and cost over the calls it is shown."""

    def __init__(self, prices: PriceTable | None = None, *, usage: Usage | None = None, cost_usd: float | None = 0.0):
        self.prices = prices or PriceTable()
        self.usage = usage or Usage()
        #: Dollars spent, or None once any call was to a model without a price.
        self.cost_usd: float | None = cost_usd
        #: Models seen without a price (why the cost is unknown).
        self.unpriced: set[str] = set()

    def add(self, completion: Completion, *, model: str | None = None) -> Completion:
        """Count ``completion`` (priced by its own model name, else ``model``); return it."""
        self.usage = self.usage + completion.usage
        name = completion.model or model
        cost = self.prices.cost(name, completion.usage)
        if cost is None:
            self.unpriced.add(name or "unknown")
            self.cost_usd = None
        elif self.cost_usd is not None:
            self.cost_usd += cost
        return completion

    @property
    def tokens(self) -> int:
        return self.usage.total_tokens
