"""Upper bounds on what a spec, flag or argument may ask for, defined once.

Every value past these is a mistake, not a plan (a thousand turns of dialogue, a trillion
tokens), so it is refused as a one-line error before any work starts instead of running
until something else breaks. README's "Limits" section lists them.
"""

from __future__ import annotations

#: Turns of one conversation (instructions, or society messages).
MAX_TURNS = 1_000
#: Tokens one conversation or batch may be budgeted.
MAX_TOKENS = 10**12
#: US dollars one conversation or batch may be budgeted.
MAX_COST_USD = 1_000_000.0
#: Seconds one conversation may run (a week).
MAX_SECONDS = 7 * 24 * 3600.0
#: Sampling seeds, and the seeds that make conversation ids.
MAX_SEED = 2**32 - 1
#: A context window, in tokens.
MAX_CONTEXT_TOKENS = 10_000_000
#: Tokens one reply may be asked for.
MAX_REPLY_TOKENS = 1_000_000
#: Conversations one batch may plan.
MAX_BATCH_CONVERSATIONS = 10_000_000
