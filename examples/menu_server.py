"""A small MCP server for examples/mcp_tools.yaml: the bakery's ingredient prices, over stdio.

rolecall starts it when the conversation starts and stops it when it ends:
``tools: [{mcp: {command: [python, examples/menu_server.py]}}]``. Try it alone with
``python examples/menu_server.py`` (it speaks MCP on stdin and stdout).
"""

from __future__ import annotations

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

#: Euros per kilogram (eggs: per egg).
PRICES = {
    "flour": 1.20,
    "butter": 9.50,
    "sugar": 1.60,
    "eggs": 0.30,
    "milk": 1.10,
    "yeast": 12.00,
    "chocolate": 14.00,
    "salt": 0.80,
}

server = MCPServer("bakery-prices", instructions="Ingredient prices of the bakery's supplier.")


@server.tool()
def ingredient_cost(ingredient: str, grams: float) -> str:
    """What an amount of one ingredient costs (for eggs, give the number of eggs as grams)."""
    name = ingredient.strip().lower().rstrip("s") if ingredient.strip().lower() != "eggs" else "eggs"
    price = PRICES.get(name) or PRICES.get(f"{name}s")
    if price is None:
        raise ToolError(f"no price for {ingredient!r}; known: {', '.join(PRICES)}")
    if name == "eggs":
        return f"{grams:g} eggs cost {grams * price:.2f} EUR"
    return f"{grams:g} g of {name} cost {grams / 1000 * price:.2f} EUR"


@server.tool()
def list_ingredients() -> str:
    """The ingredients with a known price, and their price per kilogram."""
    return "\n".join(f"{name}: {price:.2f} EUR/kg" for name, price in PRICES.items())


if __name__ == "__main__":
    server.run()
