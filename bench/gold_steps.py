"""Role-plays the embedded model writes step by step: more of the gold set's embedded on-task turns.

The embedded model is asked once for a short numbered plan of the task; each step it wrote
becomes an instruction, and it answers each one from a short prompt (the task and the step).
Each answer is the best of three draws by the lexical judge: the first draw it passes, else
the first draw. Nothing else is picked or filtered, the plan's steps included (a step about
something else stays in), and every turn is labelled later by reading.

    python bench/gold_steps.py --base-url URL --out DIR [--steps 5] [--seed 0]

One JSON file per role-play (``e-sN.json``): ``{id, task, user_role, assistant_role, turns}``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
from pathlib import Path

from gold_embedded import ask  # the same one call per draw (this folder is on the path when run)
from openai import OpenAI

from rolecall.judges.base import Dialogue, in_context
from rolecall.judges.lexical import LexicalJudge

PLAYS = [
    ("Bride", "Wedding Planner", "Plan a small garden wedding for fifty guests"),
    ("New Employee", "HR Manager", "Prepare the first week of onboarding for a new hire"),
    ("Farmer", "Agronomist", "Improve the soil of a field that floods every spring"),
    ("Novelist", "Editor", "Outline a mystery novel set in a lighthouse"),
    ("Landlord", "Plumber", "Fix a leaking kitchen tap"),
    ("Charity Director", "Fundraiser", "Organise a charity bake sale for a school"),
    ("Beginner", "Photographer", "Take better photos of birds in a garden"),
    ("Mayor", "Urban Planner", "Make a town centre safer for cyclists"),
    ("Teenager", "Career Counselor", "Choose a first part-time job"),
    ("Patient", "Physiotherapist", "Recover from a sprained ankle"),
    ("Podcaster", "Sound Engineer", "Record a podcast at home with good sound"),
    ("Student", "Chemistry Teacher", "Explain how soap removes grease"),
    ("Restaurant Owner", "Health Inspector", "Prepare a kitchen for a hygiene inspection"),
    ("Family", "Financial Advisor", "Save for a family holiday in one year"),
    ("Hiker", "Mountain Guide", "Pack for a two-day hike in the mountains"),
    ("Game Designer", "Python Programmer", "Write a number guessing game in Python"),
    ("Dog Owner", "Dog Trainer", "Teach a puppy to walk on a lead"),
    ("Small Business Owner", "Accountant", "Set up bookkeeping for a small bakery"),
    ("Retiree", "Computer Teacher", "Learn to make video calls to family"),
    ("Volunteer", "Event Organizer", "Run a beach clean-up day"),
    ("Homeowner", "Interior Designer", "Make a small living room feel bigger"),
    ("Student", "Physics Teacher", "Explain why the sky is blue"),
    ("Brewer", "Food Scientist", "Brew a first batch of beer at home"),
    ("Parent", "Pediatric Nurse", "Prepare a first-aid kit for a family trip"),
    ("Student", "Librarian", "Find good sources for an essay on climate change"),
    ("Couple", "Real Estate Agent", "Buy a first flat in a big city"),
    ("Runner", "Nutritionist", "Eat well before a marathon"),
    ("Teacher", "Drama Coach", "Put on a short school play"),
    ("Shop Owner", "Security Consultant", "Stop shoplifting in a small grocery store"),
    ("Beekeeper", "Biologist", "Start a first beehive in a back garden"),
    ("Manager", "Data Scientist", "Predict which customers will stop buying"),
    ("Child", "Astronomer", "Find the planets in the night sky"),
    ("Carpenter", "Architect", "Build a wooden garden shed"),
    ("Writer", "Publisher", "Publish a first poetry book"),
    ("Musician", "Music Producer", "Record a first song at home"),
    ("Commuter", "Bicycle Mechanic", "Keep a city bike in good repair"),
    ("Startup Founder", "Lawyer", "Register a new company"),
    ("Parent", "Sleep Consultant", "Help a toddler sleep through the night"),
    ("Teacher", "Web Developer", "Build a class website for homework"),
    ("Tourist", "Local Guide", "Spend one day in Paris"),
    ("Student", "History Teacher", "Explain why the Roman Empire fell"),
    ("Homeowner", "Energy Advisor", "Cut the heating bill of an old house"),
    ("Office Worker", "Ergonomist", "Set up a healthy desk at home"),
    ("Club Captain", "Football Coach", "Plan a training session for under-twelves"),
    ("Novice", "Knitting Teacher", "Knit a first scarf"),
    ("Driver", "Driving Instructor", "Prepare for a driving test"),
    ("Scientist", "Statistician", "Compare two groups of test results"),
    ("Host", "Sommelier", "Choose wines for a dinner party"),
]
PLAN = "Task: {task}.\nWrite a numbered list of {steps} short steps a {assistant} would take to do this task."
ANSWER = "Task: {task}.\nRequest: {step}\nAnswer the request in two to four sentences."
_STEP = re.compile(r"^\s*\d+[.)]\s*(.+)$")
DRAWS = 3


def plan(client: OpenAI, task: str, assistant: str, *, steps: int, seed: int) -> list[str]:
    """The numbered steps the embedded model writes for ``task`` (its first line when it writes no list)."""
    text = ask(client, PLAN.format(task=task, steps=steps, assistant=assistant), seed=seed, max_tokens=220)
    found = [match.group(1).strip() for line in text.splitlines() if (match := _STEP.match(line))]
    return (found or [text.split("\n")[0]])[:steps]


def best_answer(
    client: OpenAI, task: str, roles: tuple[str, str], turns: list[dict[str, str]], step: str, *, seed: int
) -> str:
    """The first of :data:`DRAWS` answers the lexical judge passes, else the first."""
    judge = LexicalJudge()
    drawn = []
    for draw in range(DRAWS):
        answer = ask(client, ANSWER.format(task=task, step=step), seed=seed + draw, max_tokens=140)
        text = f"Solution: {answer}\n\nNext request."
        dialogue = Dialogue(task, [*((t["side"], t["text"]) for t in turns), ("assistant", text)], roles=roles)
        if asyncio.run(judge.verdicts([list(in_context(dialogue))[-1]]))[0].on_task:
            return text
        drawn.append(text)
    return drawn[0]


def play(client: OpenAI, number: int, roles_task: tuple[str, str, str], *, steps: int, seed: int) -> dict[str, object]:
    user, assistant, task = roles_task
    turns: list[dict[str, str]] = []
    for position, step in enumerate(plan(client, task, assistant, steps=steps, seed=seed + 1000 * number)):
        turns.append({"side": "user", "text": f"Instruction: {step}\nInput: None"})
        draw = seed + 1000 * number + 10 * (position + 1)
        turns.append(
            {"side": "assistant", "text": best_answer(client, task, (user, assistant), turns, step, seed=draw)}
        )
    turns.append({"side": "user", "text": "<TASK_DONE>"})
    return {"id": f"e-s{number}", "task": task, "user_role": user, "assistant_role": assistant, "turns": turns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="an OpenAI-compatible endpoint serving the embedded model")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    client = OpenAI(base_url=args.base_url, api_key="local")
    args.out.mkdir(parents=True, exist_ok=True)
    for number, roles in enumerate(PLAYS, 1):
        if (args.out / f"e-s{number}.json").exists():
            continue  # made by an earlier run: the list grows, the made role-plays stay as they are
        record = play(client, number, roles, steps=args.steps, seed=args.seed)
        (args.out / f"{record['id']}.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
        print(record["id"], record["task"], len(record["turns"]), flush=True)


if __name__ == "__main__":
    main()
