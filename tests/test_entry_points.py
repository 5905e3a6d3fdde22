"""The installed metadata declares the built-in plugins and the console script."""

import importlib.metadata


def test_builtin_plugins_are_entry_points():
    eps = importlib.metadata.entry_points(group="govcred")
    declared = {ep.name: ep.value for ep in eps if ep.dist and ep.dist.name == "govcred"}
    assert declared == {
        "zhejiang_residence": "govcred.plugins.zhejiang_residence",
        "sms_gateway": "govcred.plugins.sms_gateway",
        "provincial_push": "govcred.plugins.provincial_push",
        "verifier": "govcred.verifier.cli",  # its commands, through govcred_cli_commands
    }


def test_console_script():
    scripts = {ep.name: ep.value for ep in importlib.metadata.entry_points(group="console_scripts")}
    assert scripts["govcred"] == "govcred.core.cli:main"


def test_pyjwt_floor_and_banned_libraries():
    """Security checklist J-14: PyJWT >= 2.15.1, python-jose never installed."""
    version = tuple(int(p) for p in importlib.metadata.version("pyjwt").split(".")[:3])
    assert version >= (2, 15, 1)
    try:
        importlib.metadata.version("python-jose")
    except importlib.metadata.PackageNotFoundError:
        pass
    else:  # pragma: no cover
        raise AssertionError("python-jose is banned (unmaintained, algorithm-confusion issues)")
