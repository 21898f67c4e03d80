"""Role-plays the embedded model writes from short plain prompts: the gold set's embedded on-task share.

Inside the full protocol almost every turn of SmolLM2-135M is off task, so a gold set drawn
only from it would let a judge score well by recognising the embedded model. Asked one short
thing at a time (the task, the step so far, the request), the same model often writes on
topic. Each turn here is one such call, sampled once at temperature 0.7, and written in
CAMEL's markers; nothing is picked or filtered, and every turn is labelled later by reading.

    python bench/gold_embedded.py --base-url URL --out DIR [--exchanges 5] [--seed 0]

One JSON file per role-play (``e-pN.json``): ``{id, task, user_role, assistant_role, turns}``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from openai import OpenAI

from rolecall.models.local import LOCAL_MODEL_NAME

PLAYS = [
    ("Camp Leader", "Outdoor Cook", "Plan the meals for a three-day scout camp"),
    ("Tenant", "Lawyer", "Write a letter asking a landlord to fix a broken heater"),
    ("Marathon Beginner", "Running Coach", "Prepare a twelve-week plan for a first half marathon"),
    ("Museum Visitor", "Art Historian", "Explain the main features of Impressionist painting"),
    ("Shop Owner", "Web Designer", "Design the home page of an online plant shop"),
    ("Parent", "Math Tutor", "Teach a child to multiply two-digit numbers"),
    ("Cat Owner", "Veterinarian", "Help a cat lose weight safely"),
    ("Startup Founder", "Marketing Manager", "Write a launch email for a budgeting app"),
    ("Student", "Biology Teacher", "Explain how vaccines train the immune system"),
    ("Office Manager", "IT Technician", "Set up a shared printer for ten computers"),
    ("Home Cook", "Chef", "Cook a simple risotto for four people"),
    ("Retiree", "Travel Agent", "Plan a two-week train journey through Italy"),
    ("Teacher", "Python Programmer", "Write a program that grades multiple-choice quizzes"),
    ("Gardener", "Botanist", "Keep tomato plants healthy through a hot summer"),
]
INSTRUCTOR = (
    "Task: {task}.\n{done}"
    "Write the next thing the {user} should ask the {assistant} to do for this task, as one short sentence."
)
EXECUTOR = "Task: {task}.\nRequest: {instruction}\nAnswer the request in two to four sentences."


def ask(client: OpenAI, prompt: str, *, seed: int, max_tokens: int) -> str:
    reply = client.chat.completions.create(
        model=LOCAL_MODEL_NAME, messages=[{"role": "user", "content": prompt}],
        temperature=0.7, max_tokens=max_tokens, seed=seed,
    )  # fmt: skip
    return (reply.choices[0].message.content or "").strip()


def play(
    client: OpenAI, number: int, roles_task: tuple[str, str, str], *, exchanges: int, seed: int
) -> dict[str, object]:
    user, assistant, task = roles_task
    turns: list[dict[str, str]] = []
    asked: list[str] = []
    for step in range(exchanges):
        done = "Already asked: " + " ".join(asked[-2:]) + "\n" if asked else ""
        draw = seed + 100 * number + step
        instruction = ask(client, INSTRUCTOR.format(task=task, user=user, assistant=assistant, done=done),
                          seed=draw, max_tokens=48).split("\n")[0]  # fmt: skip
        asked.append(instruction)
        solution = ask(client, EXECUTOR.format(task=task, instruction=instruction), seed=draw, max_tokens=140)
        turns.append({"side": "user", "text": f"Instruction: {instruction}\nInput: None"})
        turns.append({"side": "assistant", "text": f"Solution: {solution}\n\nNext request."})
    turns.append({"side": "user", "text": "<TASK_DONE>"})
    return {"id": f"e-p{number}", "task": task, "user_role": user, "assistant_role": assistant, "turns": turns}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True, help="an OpenAI-compatible endpoint serving the embedded model")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--exchanges", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    client = OpenAI(base_url=args.base_url, api_key="local")
    args.out.mkdir(parents=True, exist_ok=True)
    for number, roles in enumerate(PLAYS, 1):
        record = play(client, number, roles, exchanges=args.exchanges, seed=args.seed)
        (args.out / f"{record['id']}.json").write_text(json.dumps(record, indent=1), encoding="utf-8")
        print(record["id"], record["task"], flush=True)


if __name__ == "__main__":
    main()
