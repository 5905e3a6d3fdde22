"""The plugin's suite runs on govcred's test kit (govcred.testing, loaded by pytest through
its entry point). Every runtime and plugin manager of the kit registers the built-in
plugins and, from here, this one -- explicitly, whatever else is installed."""

from __future__ import annotations

import pytest
import qingtian_extra_rule


@pytest.fixture(scope="session")
def govcred_plugins(govcred_plugins):
    return [*govcred_plugins, (qingtian_extra_rule, "qingtian_extra_rule")]
