"""Core knows nothing of SMS or the provincial push: no setting, no channel name, no template.

A grep over the text of every module under ``core/`` (its strings and comments; setting names
everywhere). The names come from the plugins themselves -- their environment overrides, the
channels they register on a real runtime, the SMS template table -- so the test stays true when
a plugin adds one. The same scan must find those names in the plugins' own sources, or it
would pass by finding nothing.
"""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import fields
from pathlib import Path

import pytest

import govcred.core
from govcred.core.config import Settings
from govcred.core.notifications import KINDS
from govcred.core.services.reminders import REMINDERS
from govcred.plugins.provincial_push.config import ENV_OVERRIDES as PUSH_ENV
from govcred.plugins.sms_gateway.config import ENV_OVERRIDES as SMS_ENV
from govcred.plugins.sms_gateway.templates import TEMPLATES

CORE = Path(govcred.core.__file__).parent
PLUGINS = CORE.parent / "plugins"
ENV_VARS = [*SMS_ENV, *PUSH_ENV]
#: ``GOVCRED_SMS_URL`` was core's ``sms_url``: the names core used to carry
OLD_FIELDS = [var.removeprefix("GOVCRED_").lower() for var in ENV_VARS]
#: ``GOVCRED_SMS_``, ``GOVCRED_PUSH_``: any variable of the plugins, present or future
ENV_PREFIXES = sorted({var.rsplit("_", 1)[0] + "_" for var in ENV_VARS})
#: Template names that are words of core's own notification vocabulary (``login_code`` is a
#: notification kind, ``endorsement_due`` a reminder the holder chooses): core uses them as
#: its kinds, the plugin happens to name a template after them.
TEMPLATE_NAMES = sorted(set(TEMPLATES) - set(KINDS) - set(REMINDERS))


def _texts(root: Path) -> dict[str, tuple[str, list[str]]]:
    """Per module: its whole text, and its string literals and comments as written."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        words = [
            tok.string
            for tok in tokenize.generate_tokens(io.StringIO(text).readline)
            if tok.type in (tokenize.STRING, tokenize.COMMENT)
        ]
        out[str(path.relative_to(root.parent))] = (text, words)
    return out


def _quoted(name: str) -> re.Pattern[str]:
    """``"sms"``, ``'sms.reminder'``, ````sms````, ``"sms:..."``, ``f"sms.{x}"`` -- not ``/sms-code``."""
    return re.compile(rf"[`'\"]{re.escape(name)}[`'\".:]")


def _word(name: str) -> re.Pattern[str]:
    return re.compile(rf"\b{re.escape(name)}\b")


def _setting_mentions(texts) -> list[str]:
    patterns = [_word(n) for n in OLD_FIELDS] + [re.compile(re.escape(p)) for p in ENV_PREFIXES]
    return [f"{module}: {p.pattern}" for module, (text, _) in texts.items() for p in patterns if p.search(text)]


def _channel_mentions(texts, channels) -> list[str]:
    return [
        f"{module}: {name!r}"
        for module, (_, words) in texts.items()
        for name in channels
        if any(_quoted(name).search(w) for w in words)
    ]


def _template_mentions(texts) -> list[str]:
    return [
        f"{module}: {name}"
        for module, (_, words) in texts.items()
        for name in TEMPLATE_NAMES
        if any(_word(name).search(w) for w in words)
    ]


@pytest.fixture(scope="module")
def core_texts():
    return _texts(CORE)


@pytest.fixture
def channels(sqlite_runtime):
    names = set(sqlite_runtime.channels)
    assert {"sms", "provincial_push"} <= names  # what the built-in plugins register today
    return sorted(names)


def test_core_has_no_sms_or_push_setting(core_texts):
    assert not [f.name for f in fields(Settings) if f.name in OLD_FIELDS or f.name.startswith(("sms_", "push_"))]
    assert _setting_mentions(core_texts) == []
    assert len(_setting_mentions(_texts(PLUGINS))) >= len(ENV_PREFIXES)  # the scan does see them


def test_core_names_no_channel_a_plugin_registers(core_texts, channels):
    assert _channel_mentions(core_texts, channels) == []
    plugin_hits = _channel_mentions(_texts(PLUGINS), channels)
    assert {hit.split(": ")[1] for hit in plugin_hits} == {repr(n) for n in channels}


def test_core_names_no_sms_template(core_texts):
    assert len(TEMPLATE_NAMES) >= 5  # the exemptions above must not swallow the table
    assert _template_mentions(core_texts) == []
    # nor writes a payload naming a template (what an exempt name would be used for)
    payload_key = re.compile(r"^[rbu]*[\"']template[\"']$")
    assert [m for m, (_, words) in core_texts.items() if any(payload_key.match(w) for w in words)] == []
    assert {hit.split(": ")[1] for hit in _template_mentions(_texts(PLUGINS / "sms_gateway"))} == set(TEMPLATE_NAMES)
