"""The distribution installs one import namespace, ``govcred``, and nothing at the top level.

A wheel is built from the tracked files, installed into a fresh virtualenv (its
dependencies come from this environment's site-packages through a path file, so the test
needs no network), and asked what a user would ask: ``import core`` must fail,
``import govcred.core, govcred.verifier`` must work, and ``govcred plugins`` must list the
three built-in plugins with their hooks.
"""

from __future__ import annotations

import configparser
import importlib.metadata
import os
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOP_FOLDERS = {"govcred.core": "core", "govcred.plugins": "plugins", "govcred.verifier": "verifier"}


def _setup_cfg() -> configparser.ConfigParser:
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg", encoding="utf-8")
    return cfg


def _listed_packages() -> set[str]:
    return {line.strip() for line in _setup_cfg()["options"]["packages"].splitlines() if line.strip()}


def _package_dirs() -> dict[str, str]:
    lines = _setup_cfg()["options"]["package_dir"].splitlines()
    return {k.strip(): v.strip() for k, v in (line.split("=") for line in lines if line.strip())}


def test_every_package_folder_is_listed_under_its_govcred_name():
    mapping = _package_dirs()
    found = set()
    for name, folder in mapping.items():
        for init in (ROOT / folder).rglob("__init__.py"):
            rel = init.parent.relative_to(ROOT / folder)
            if "migrations" in rel.parts or "__pycache__" in rel.parts:
                continue
            inner = ".".join(rel.parts)
            nested = next(
                (
                    n
                    for n, f in mapping.items()
                    if n != name and (ROOT / f) in init.parents and (ROOT / f) != ROOT / folder and len(f) > len(folder)
                ),
                None,
            )
            if nested:  # a folder mapped under its own name (e.g. core/testing -> govcred.testing)
                continue
            found.add(f"{name}.{inner}" if inner else name)
    assert found <= _listed_packages(), sorted(found - _listed_packages())
    for name, folder in TOP_FOLDERS.items():
        assert mapping[name] == folder


def _tracked_files() -> list[str]:
    return subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()


def _wheel(tmp: Path) -> tuple[Path, str]:
    """The wheel built from the tracked files, and what its build printed (verbose)."""
    src = tmp / "src"
    files = _tracked_files()
    for rel in files:
        if (ROOT / rel).is_file():
            (src / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / rel, src / rel)
    out = tmp / "dist"
    # Verbose: pip shows the build backend's warnings only then.
    build = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-v", "-w", str(out), str(src)],
        check=True,
        capture_output=True,
        text=True,
    )
    return next(out.glob("govcred-*.whl")), build.stdout + build.stderr


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    return _wheel(tmp_path_factory.mktemp("wheel"))


@pytest.mark.slow
def test_the_build_is_quiet_and_the_wheel_holds_every_tracked_file_of_the_packages(built):
    wheel, log = built
    # setuptools warned "Package 'govcred.core.migrations' is absent from the `packages`
    # configuration" (some forty lines each) for every data folder: ~500 lines on each install
    assert "absent from the `packages` configuration" not in log, log
    assert "BuildBackendWarning" not in log, log
    prefixes = [("core/testing/", "govcred/testing/")] + [
        (f"{folder}/", f"govcred/{folder}/") for folder in TOP_FOLDERS.values()
    ]
    expected = set()
    for rel in _tracked_files():
        for folder, target in prefixes:
            if rel.startswith(folder):
                expected.add(target + rel[len(folder) :])
                break
    with zipfile.ZipFile(wheel) as whl:
        assert expected - set(whl.namelist()) == set()


@pytest.fixture(scope="module")
def installed(tmp_path_factory, built):
    """A fresh virtualenv with only the built wheel installed; cwd outside the repository."""
    tmp = tmp_path_factory.mktemp("wheel")
    wheel, _log = built
    env_dir = tmp / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    python = env_dir / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    # Dependencies only: this environment's site-packages as a plain path entry. Its .pth
    # files (our own editable install among them) are not processed from such an entry.
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)],
        check=True,
        capture_output=True,
        text=True,
    )
    work = tmp / "elsewhere"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "GOVCRED_"))}
    env["GOVCRED_DATA_DIR"] = str(work / "var")
    # The path entry above also shows the venv other govcred plugins installed here (make
    # test-examples installs examples/*), whose code it cannot import: block them.
    env["GOVCRED_DISABLE_PLUGINS"] = ",".join(
        ep.name for ep in importlib.metadata.entry_points(group="govcred") if ep.dist.name != "govcred"
    )
    return python, site, work, env


@pytest.mark.slow
def test_the_wheel_installs_only_the_govcred_namespace(installed):
    python, site, work, env = installed
    assert sorted(p.name for p in site.iterdir() if p.name in ("core", "plugins", "verifier")) == []
    for bare in ("core", "plugins", "verifier"):
        r = subprocess.run([str(python), "-c", f"import {bare}"], cwd=work, env=env, capture_output=True, text=True)
        assert r.returncode != 0 and "ModuleNotFoundError" in r.stderr, (bare, r.stdout, r.stderr)
    r = subprocess.run(
        [str(python), "-c", "import govcred.core, govcred.verifier; print(govcred.core.__file__)"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert Path(r.stdout.strip()).is_relative_to(site)


def _plugin_blocks(text: str) -> dict[str, list[str]]:
    """``govcred plugins`` output as {plugin line: [hook, ...]}."""
    blocks: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        if line and not line.startswith(" "):
            current = line
            blocks[current] = []
        elif line.strip() and current is not None:
            blocks[current].append(line.strip())
    return blocks


@pytest.mark.slow
def test_govcred_plugins_lists_the_built_in_plugins_with_their_hooks(installed):
    python, site, work, env = installed
    r = subprocess.run([str(python.parent / "govcred"), "plugins"], cwd=work, env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    blocks = _plugin_blocks(r.stdout)
    for name in ("zhejiang_residence", "sms_gateway", "provincial_push"):
        (header,) = [h for h in blocks if h.startswith(f"{name}  (govcred ")]
        hooks = blocks[header]
        assert hooks and all(h.startswith("govcred_") for h in hooks), (name, hooks)
