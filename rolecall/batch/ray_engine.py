"""Running a batch past one machine: the same plan, as Ray tasks over shards.

The driver resolves the plan (generating and saving tasks if the spec asks for them) and
what earlier runs finished, splits the rest into shards and runs each shard as a Ray task
that holds its conversations with the local engine. Every shard appends to the same
``conversations.jsonl`` (whole lines under ``flock``; on a cluster, ``--out`` must be a
shared folder), so outputs, ids and resume behave exactly as with ``--engine local``.
Ray is an optional extra: ``pip install 'rolecall[ray]'``.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

from rolecall.batch.runner import Batch, Progress, limited, scan
from rolecall.batch.spec import BatchSpec
from rolecall.errors import SpecError
from rolecall.models.endpoint import Endpoint, open_model
from rolecall.models.openai_compat import ModelDescription, OpenAIChatModel


def run_on_ray(
    spec: BatchSpec,
    out: Path,
    endpoint: Endpoint,
    *,
    concurrency: int,
    cache: Path | None = None,
    address: str | None = None,
    spec_text: str | None = None,
) -> Progress:
    """Hold the batch as Ray tasks; return the combined progress."""
    try:
        import ray
    except ImportError:
        raise SpecError("--engine ray needs Ray: pip install 'rolecall[ray]'") from None
    with open_model(endpoint) as model:  # the embedded server, if any, lives on the driver
        if not isinstance(model, OpenAIChatModel):
            raise SpecError("--engine ray needs an OpenAI-compatible endpoint")
        driver = Batch(spec, out, model, concurrency=concurrency, spec_text=spec_text)
        jobs = asyncio.run(driver.jobs())
        state = scan(out)
        todo = [job.id for job in jobs if job.id not in state.statuses]
        progress = Progress(planned=len(jobs), skipped=len(jobs) - len(todo))
        if not todo:
            driver.write_manifest(jobs, state, finished=True)
            return progress
        started_here = not ray.is_initialized()
        env = {"OPENAI_API_KEY": endpoint.api_key} if endpoint.api_key else {}
        if started_here:
            ray.init(address=address, include_dashboard=False, log_to_driver=False, runtime_env={"env_vars": env})
        try:
            shards = max(1, min(len(todo), int(ray.cluster_resources().get("CPU", 1))))  # type: ignore[no-untyped-call]
            remote = ray.remote(num_cpus=1)(_run_shard)
            shard = Shard(
                spec=spec.model_dump(mode="json"), out=str(out), model=model.description(), ids=[],
                concurrency=max(1, concurrency // shards), cache=str(cache) if cache else None, shards=shards,
            )  # fmt: skip
            refs = [remote.remote(replace(shard, ids=todo[index::shards])) for index in range(shards)]
            for result in ray.get(refs):
                for name in ("done", "failed", "retried", "tokens"):
                    setattr(progress, name, getattr(progress, name) + result[name])
                if progress.cost_usd is not None:
                    progress.cost_usd = None if result["cost_usd"] is None else progress.cost_usd + result["cost_usd"]
                progress.stopped = progress.stopped or result["stopped"]
        finally:
            if started_here:
                ray.shutdown()
        driver.progress = progress
        driver.write_manifest(jobs, scan(out), finished=True)  # the shards wrote: read once more
    return progress


@dataclass(frozen=True)
class Shard:
    """What one Ray task needs to hold its share of the batch (plain data: it is pickled)."""

    spec: dict[str, Any]
    out: str
    model: ModelDescription
    ids: list[str]
    concurrency: int
    cache: str | None
    shards: int


def _run_shard(shard: Shard) -> dict[str, Any]:
    """One Ray task: hold the conversations ``ids`` with the local engine."""
    spec = BatchSpec.model_validate(shard.spec)
    if spec.rpm or spec.tpm:  # the limits are the batch's: each shard gets its share
        share = {"rpm": spec.rpm and spec.rpm / shard.shards, "tpm": spec.tpm and spec.tpm / shard.shards}
        spec = spec.model_copy(update=share)
    model = limited(
        shard.model.open(api_key=os.environ.get("OPENAI_API_KEY")),
        spec,
        cache=Path(shard.cache) if shard.cache else None,
    )
    batch = Batch(spec, Path(shard.out), model, concurrency=shard.concurrency)

    async def run() -> Progress:
        try:
            return await batch.run(only=set(shard.ids))
        finally:
            await model.aclose()

    progress = asyncio.run(run())
    return {field.name: getattr(progress, field.name) for field in fields(progress)}
