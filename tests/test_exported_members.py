"""The public surface is deliberate: everything in __all__ exists, nothing else is exported."""

import rolecall


def test_all_names_exist_once() -> None:
    assert len(set(rolecall.__all__)) == len(rolecall.__all__)
    for name in rolecall.__all__:
        assert hasattr(rolecall, name), name


def test_public_members_are_exactly_all() -> None:
    public = {name for name in vars(rolecall) if not name.startswith("_")}
    modules = {
        "agents", "errors", "models", "roleplay", "spec", "tasks", "transcripts", "testing", "view", "cli",
        "conversation", "critic", "guards", "pricing", "society", "turns", "batch", "batch_view", "ray_engine",
    }  # fmt: skip
    assert public - modules == set(rolecall.__all__) - {"__version__"}
