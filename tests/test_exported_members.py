"""The public surface is deliberate: everything in __all__ exists, nothing else is exported."""

import inspect

import rolecall


def test_all_names_exist_once() -> None:
    assert len(set(rolecall.__all__)) == len(rolecall.__all__)
    for name in rolecall.__all__:
        assert hasattr(rolecall, name), name


def test_public_members_are_exactly_all() -> None:
    public = {
        name for name, value in vars(rolecall).items() if not name.startswith("_") and not inspect.ismodule(value)
    }
    assert public == set(rolecall.__all__) - {"__version__"}
