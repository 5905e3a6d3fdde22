"""The county a deployment serves, from ``[plugins.zhejiang_residence]`` in the config.

``govcred_configure`` builds one :class:`CountyConfig` per runtime (one process may serve
two counties) and hands it to the objects that need it; nothing here is module state.

Nothing in the rules names Qingtian: another county reuses the plugin by configuration
alone. The defaults are Qingtian's; a 缙云县 deployment would write::

    [plugins.zhejiang_residence]
    county_code = "331122"
    county_name = "缙云县"
    authority = "缙云县公安局"
    authority_uscc = "<the bureau's real 统一社会信用代码>"
    old_codes = ["332823"]
    max_gap_days = 0
    permit_type_code = "<证照类型代码 confirmed by the provincial department>"
    benefits = ["compulsory_education", "public_employment", "..."]
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from govcred.core import ConfigError
from govcred.plugins.zhejiang_residence.benefits import BENEFIT_CODES, BENEFITS
from govcred.plugins.zhejiang_residence.identifiers import is_division, uscc_problem

PLUGIN_NAME = "zhejiang_residence"

#: Development value, NOT the bureau's real code (no public source gives 青田县公安局's
#: USCC): a government-body code (11) registered in 331121 whose organisation code and
#: check character are computed correctly, so the identifier machinery can be exercised.
#: Production must configure the real one (``authority_uscc``).
DEVELOPMENT_AUTHORITY_USCC = "11331121002503437R"

#: 证照类型代码 = the defining agency's USCC + 3 digits (GB/T 36904). The national code for
#: the 居住证 was not found; 116 is the local type code third-party systems use for the
#: 浙江省居住证 (unverified, reference/domain.md §3): configure the confirmed value.
DEFAULT_PERMIT_TYPE_CODE = "11100000000013127D116"


@dataclass(frozen=True, slots=True)
class CountyConfig:
    county_code: str = "331121"
    county_name: str = "青田县"
    authority: str = "青田县公安局"
    authority_uscc: str = DEVELOPMENT_AUTHORITY_USCC
    #: Codes the county had before (they still appear in hukou records): Qingtian was
    #: 332822 (1982-2000, 丽水地区) and 332622 (before 1982).
    old_codes: tuple[str, ...] = ("332822", "332622")
    #: Days of gap tolerated between two registrations of one chain (policy unconfirmed).
    max_gap_days: int = 0
    permit_type_code: str = DEFAULT_PERMIT_TYPE_CODE
    benefits: tuple[str, ...] = BENEFIT_CODES

    @property
    def hukou_codes(self) -> tuple[str, ...]:
        """Codes a hukou division of this county may carry: the current one and the old ones."""
        return (self.county_code, *self.old_codes)

    @property
    def current_codes(self) -> tuple[str, ...]:
        return (self.county_code,)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> CountyConfig:
        """Build and validate; one :class:`ConfigError` lists every bad value."""
        known = set(cls.__dataclass_fields__)
        problems = [f"[plugins.{PLUGIN_NAME}] unknown setting {k!r}" for k in sorted(set(values) - known)]
        v = {k: values[k] for k in values if k in known}
        for key in ("old_codes", "benefits"):
            if key in v:
                if isinstance(v[key], (list, tuple)) and all(isinstance(x, str) for x in v[key]):
                    v[key] = tuple(v[key])
                else:
                    problems.append(f"{key} must be a list of strings, got {v.pop(key)!r}")
        config = cls(**v)
        problems += config._problems()
        if problems:
            raise ConfigError(f"[plugins.{PLUGIN_NAME}]: " + "; ".join(problems), problems=problems)
        return config

    def _problems(self) -> list[str]:
        p: list[str] = []
        if not is_division(self.county_code, exact6=True) or not self.county_code.startswith("33"):
            p.append(f"county_code must be a 6-digit Zhejiang division code (33xxxx), got {self.county_code!r}")
        for key in ("county_name", "authority"):
            value = getattr(self, key)
            if not isinstance(value, str) or not value.strip():
                p.append(f"{key} must be a non-empty string, got {value!r}")
        if uscc_problem(self.authority_uscc):
            p.append(f"authority_uscc must be a valid unified social credit code, got {self.authority_uscc!r}")
        for code in self.old_codes:
            if not is_division(code, exact6=True):
                p.append(f"old_codes entries must be 6-digit division codes, got {code!r}")
        if (
            isinstance(self.max_gap_days, bool)
            or not isinstance(self.max_gap_days, int)
            or not 0 <= self.max_gap_days <= 31
        ):
            p.append(f"max_gap_days must be a whole number from 0 to 31, got {self.max_gap_days!r}")
        t = self.permit_type_code
        if not (isinstance(t, str) and len(t) == 21 and not uscc_problem(t[:18]) and t[18:].isdigit()):
            p.append(f"permit_type_code must be an issuing agency's USCC followed by 3 digits, got {t!r}")
        unknown = [b for b in self.benefits if b not in BENEFITS]
        if unknown:
            p.append(f"benefits has unknown code(s) {', '.join(map(repr, unknown))}; known: {', '.join(BENEFIT_CODES)}")
        if len(set(self.benefits)) != len(self.benefits):
            p.append("benefits lists a code twice")
        return p


DEFAULT_CONFIG = CountyConfig()
