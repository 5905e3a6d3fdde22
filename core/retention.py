"""Retention: how long each kind of record is kept, and the purge that applies it.

Each rule names a kind of record, what "old" means for it, and a default period that the
``[retention]`` table of the settings may change (``"30d"``, ``"48h"``). ``govcred purge``
and the daily job run every rule; ``--dry-run`` counts what each would remove. Each rule's
removal commits with an audit entry that counts it (``retention.purged``).

Rows are counted from the moment they stop being useful (a code's expiry, a session's end, a
message's delivery), not from their creation. Plugins add rules for what they keep outside
the database (``govcred_retention_rules``: the provincial push drop files). Not purged here:
applications, decisions, credentials and the audit log, which are archival records kept by
the archive rules for 证照 (see README).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from govcred.core.exceptions import ConfigError
from govcred.core.orm import api_tokens, idempotency_keys, identity_logins, login_codes, outbox, web_sessions

if TYPE_CHECKING:  # pragma: no cover
    from govcred.core.services.collaborators import Collaborators

_PERIOD = re.compile(r"^\s*(\d{1,5})\s*([dh])\s*$")
ACTOR, ROLE = "system:retention", "system"


def parse_period(text: str) -> dt.timedelta:
    """``"30d"`` or ``"48h"``; anything else is a :class:`ConfigError` naming the value."""
    match = _PERIOD.match(str(text))
    if not match:
        raise ConfigError(f"保存期限应写作 30d（天）或 48h（小时），现为 {text!r} (a period looks like 30d or 48h)")
    value, unit = int(match.group(1)), match.group(2)
    return dt.timedelta(days=value) if unit == "d" else dt.timedelta(hours=value)


@dataclass(frozen=True)
class RetentionRule:
    """One kind of record: rows of a table (``table`` + ``old(cutoff)``) or files (``files``).

    :param name: the key in ``[retention]``
    :param what: what the rule removes, in words an officer reads
    :param default: the period when the settings name none
    """

    name: str
    what: str
    default: str
    table: sa.Table | None = None
    old: Callable[[dt.datetime], sa.ColumnElement[bool]] | None = None
    #: files past the cutoff (plugins' rules for what they keep on disk)
    files: Callable[[dt.datetime], Iterable[Path]] | None = None


def _ended(expires, revoked=None):
    def old(cutoff):
        if revoked is None:
            return expires < cutoff
        return sa.or_(expires < cutoff, revoked < cutoff)

    return old


CORE_RULES = (
    RetentionRule(
        "idempotency_keys",
        "已过重放期的 Idempotency-Key 及其加密保存的答复",
        "1d",
        idempotency_keys,
        _ended(idempotency_keys.c.expires_at),
    ),
    RetentionRule("login_codes", "已过期的短信验证码（仅存散列）", "1d", login_codes, _ended(login_codes.c.expires_at)),
    RetentionRule(
        "identity_logins", "已结束的实名认证登录跳转", "1d", identity_logins, _ended(identity_logins.c.expires_at)
    ),
    RetentionRule(
        "web_sessions",
        "已过期或已退出的网页会话",
        "30d",
        web_sessions,
        _ended(web_sessions.c.expires_at, web_sessions.c.revoked_at),
    ),
    RetentionRule(
        "api_tokens",
        "已过期或已吊销的 API 令牌（仅存散列）",
        "30d",
        api_tokens,
        _ended(api_tokens.c.expires_at, api_tokens.c.revoked_at),
    ),
    RetentionRule(
        "outbox_delivered",
        "已送达的短信与推送消息记录",
        "30d",
        outbox,
        lambda cutoff: sa.and_(outbox.c.status == "delivered", outbox.c.delivered_at < cutoff),
    ),
)


@dataclass(frozen=True)
class RuleResult:
    rule: str
    what: str
    period: str
    cutoff: dt.datetime
    count: int

    def as_dict(self) -> dict:
        return {
            "rule": self.rule,
            "what": self.what,
            "period": self.period,
            "before": self.cutoff.isoformat(),
            "count": self.count,
        }


def rules(deps: Collaborators) -> list[RetentionRule]:
    """Core's rules, then those the plugins register."""
    found = list(CORE_RULES)
    deps.pm.hook.govcred_retention_rules(register=found.append, settings=deps.settings)
    return found


def periods(deps: Collaborators, all_rules: list[RetentionRule]) -> dict[str, str]:
    """The period of each rule; unknown names or bad periods in ``[retention]``: one ConfigError."""
    configured: Mapping[str, str] = deps.settings.retention
    known = {r.name for r in all_rules}
    problems = [
        f"[retention] {name}：没有这条保存规则，可用的有 {', '.join(sorted(known))} (no such rule)"
        for name in configured
        if name not in known
    ]
    chosen = {r.name: str(configured.get(r.name, r.default)) for r in all_rules}
    for name, text in chosen.items():
        try:
            parse_period(text)
        except ConfigError as exc:
            problems.append(f"[retention] {name}：{exc.message}")
    if problems:
        raise ConfigError("; ".join(problems), problems=problems)
    return chosen


def purge(deps: Collaborators, *, dry_run: bool = False, now: dt.datetime | None = None) -> list[RuleResult]:
    """Apply (or with ``dry_run`` count) every rule; each removal is audited with its count."""
    now = now or deps.clock.now()
    all_rules = rules(deps)
    chosen = periods(deps, all_rules)
    results = []
    for rule in all_rules:
        cutoff = now - parse_period(chosen[rule.name])
        count = _files(deps, rule, cutoff, dry_run) if rule.files else _rows(deps, rule, cutoff, dry_run, chosen)
        results.append(RuleResult(rule.name, rule.what, chosen[rule.name], cutoff, count))
    if not dry_run:  # every run is on the record, also one that found nothing to remove
        with deps.uow() as uow:
            uow.audit.append(
                actor=ACTOR,
                role=ROLE,
                action="retention.run",
                object_type="retention",
                object_id="all",
                details={"removed": {r.rule: r.count for r in results}},
            )
            uow.commit()
    return results


def _rows(deps: Collaborators, rule: RetentionRule, cutoff: dt.datetime, dry_run: bool, chosen) -> int:
    assert rule.table is not None and rule.old is not None
    where = rule.old(cutoff)
    if dry_run:
        with deps.uow(readonly=True) as uow:
            return uow.session.execute(sa.select(sa.func.count()).select_from(rule.table).where(where)).scalar() or 0
    with deps.uow() as uow:
        count = uow.session.execute(sa.delete(rule.table).where(where)).rowcount or 0
        if count:
            _audit(uow, rule, chosen[rule.name], cutoff, count)
        uow.commit()
    return count


def _files(deps: Collaborators, rule: RetentionRule, cutoff: dt.datetime, dry_run: bool) -> int:
    assert rule.files is not None
    paths = sorted(set(rule.files(cutoff)))
    if dry_run or not paths:
        return len(paths)
    for path in paths:
        path.unlink(missing_ok=True)
    with deps.uow() as uow:
        period = str(deps.settings.retention.get(rule.name, rule.default))
        _audit(uow, rule, period, cutoff, len(paths))
        uow.commit()
    return len(paths)


def _audit(uow, rule: RetentionRule, period: str, cutoff: dt.datetime, count: int) -> None:
    uow.audit.append(
        actor=ACTOR,
        role=ROLE,
        action="retention.purged",
        object_type="retention_rule",
        object_id=rule.name,
        details={"count": count, "period": period, "before": cutoff.isoformat()},
    )
