"""``govcred demo --out DIR --json``: one whole journey, in-process, on the configured data dir.

Apply (a resident, online, with a proof upload), accept, approve and issue through the same
services as the API, so the SMS and provincial-push rows go through the outbox like any
others; then write what a verifier needs: credential.jwt, credential.png, jwks.json and
status-list.jwt. The journey comes from a sample file under core/data/demo, chosen by the
application schema a loaded plugin registered; core itself knows nothing of its contents.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import secrets
import sys
from pathlib import Path

import click

from core.cli import AppContext, echo_json, pass_app
from core.exceptions import ConfigError

SCENARIOS = Path(__file__).resolve().parent.parent / "data" / "demo"
BEIJING = dt.timezone(dt.timedelta(hours=8))
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def demo_id_number() -> str:
    """A fresh, well-formed resident ID number (GB 11643 check character) for each run, so a
    second demo on the same data directory is a new person rather than a duplicate permit."""
    birth = dt.date(1980, 1, 1) + dt.timedelta(days=secrets.randbelow(20 * 365))
    body = f"330102{birth:%Y%m%d}{secrets.randbelow(1000):03d}"
    check = "10X98765432"[sum(int(d) * w for d, w in zip(body, _ID_WEIGHTS)) % 11]
    return body + check


def _scenario(schemas) -> dict:
    for path in sorted(SCENARIOS.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        if data["schema"] in schemas:
            return data
    raise ConfigError(f"no demo journey for the loaded credential types ({', '.join(sorted(schemas)) or 'none'})")


def _fill(value, values: dict[str, str]):
    if isinstance(value, str):
        for name, text in values.items():
            value = value.replace("{{" + name + "}}", text)
        return value
    if isinstance(value, list):
        return [_fill(v, values) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    return value


def _officer(rt, role: str):
    """An officer of ``role`` (the ``govcred init`` demo account when present, else a new one)."""
    from core.auth import Principal, create_officer

    with rt.uow() as uow:
        found = uow.officers.by_username(role) or uow.officers.by_username(f"demo-{role}")
        if found is None:
            found = create_officer(uow, username=f"demo-{role}", display_name=f"演示{role}", role=role,
                                   password=secrets.token_urlsafe(24), now=rt.clock.now(), actor="demo")
            uow.commit()
        return Principal("officer", found.id, found.role, found.display_name)


def _proof_png() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (320, 200), "white")
    ImageDraw.Draw(image).rectangle((10, 10, 310, 190), outline="black", width=3)
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


@click.command()
@click.option("--out", "out_dir", type=click.Path(file_okay=False), required=True)
@click.option("--json", "as_json", is_flag=True)
@pass_app
@click.pass_context
def demo(ctx: click.Context, app: AppContext, out_dir: str, as_json: bool) -> None:
    """Run one application through to an issued credential and write the files a verifier needs."""
    from core import attachments, services
    from core.auth import Principal
    from core.migrate import upgrade
    from core.qr import make_qr, render_png
    from core.status import publisher_for

    rt = app.runtime
    Path(rt.settings.data_dir).mkdir(parents=True, exist_ok=True)
    rt.settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    upgrade(rt.engine, rt.pm)
    rt.keystore.ensure_key()
    scenario = _scenario(set(rt.credential_types))
    now = rt.clock.now()
    values = {"id_number": demo_id_number(), "phone": f"138{secrets.randbelow(10 ** 8):08d}",
              "since": (now.astimezone(BEIJING).date() - dt.timedelta(days=240)).isoformat(),
              "now": now.astimezone(BEIJING).isoformat(timespec="seconds")}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    records_csv = scenario.get("records_csv")
    if records_csv:
        records = ctx.find_root().command.get_command(ctx, "records")
        if records is None:
            raise ConfigError("the demo journey needs `govcred records import`, which no loaded plugin provides")
        path = out / "records.csv"
        path.write_text("\n".join(_fill(records_csv, values)) + "\n", encoding="utf-8")
        with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the --json summary
            ctx.invoke(records.get_command(ctx, "import"), file=path)

    with rt.uow() as uow:
        resident_row = uow.residents.get_or_create(values["phone"], now)
        uow.commit()
    resident = Principal("resident", resident_row.id)
    values["attachment"] = attachments.store(rt, _proof_png(), "labor-contract.png", principal=resident).id
    application = services.submit_application(rt, _fill(scenario["document"], values), principal=resident,
                                              channel="online")
    if application.state == "submitted":
        application = services.accept_application(rt, application.id, _officer(rt, "clerk"))
    decision = services.decide(rt, application.id, approve=True, principal=_officer(rt, "reviewer"))
    credential = services.credential_for(rt, decision.credential_id)

    signed_list = publisher_for(rt).current(credential.status_list_id)
    files = {"credential.jwt": credential.token.encode("ascii"),
             "credential.png": render_png(credential.token, scale=6),
             "jwks.json": json.dumps(rt.keystore.jwks(), ensure_ascii=False, indent=2).encode("utf-8"),
             "status-list.jwt": signed_list.token.encode("ascii")}
    for name, data in files.items():
        (out / name).write_bytes(data)
    summary = {
        "application_id": application.id,
        "credential_id": credential.id,
        "permit_no": credential.permit_no,
        "issuer": rt.settings.issuer,
        "qr_version": make_qr(credential.token).version,
        "status_list": {"id": credential.status_list_id, "idx": credential.status_idx},
        "outbox": _queued(rt, (application.id, credential.id, credential.permit_no)),
        "files": {name: str((out / name).resolve()) for name in files},
        "verify": (f"govcred verify {out / 'credential.png'} --jwks {out / 'jwks.json'} "
                   f"--status-list {out / 'status-list.jwt'} --benefit compulsory_education --json"),
    }
    if as_json:
        echo_json(summary)
        return
    click.echo(f"已签发 (issued) {credential.permit_no} -> {out}")
    click.echo(summary["verify"])


def _queued(rt, aggregate_ids: tuple[str, ...]) -> dict[str, int]:
    """Outbox rows this journey queued, by channel (they are delivered by the worker)."""
    import sqlalchemy as sa

    from core.orm import outbox

    with rt.uow(readonly=True) as uow:
        rows = uow.session.execute(
            sa.select(outbox.c.channel, sa.func.count()).where(outbox.c.aggregate_id.in_(aggregate_ids))
            .group_by(outbox.c.channel)
        ).all()
    return {channel: count for channel, count in rows}


COMMANDS = [demo]
