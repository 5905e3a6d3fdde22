"""``govcred demo --out DIR --json``: one whole journey, in-process, on the configured data dir.

Apply (a resident, online, with a proof upload), accept, approve and issue through the same
services as the API, so the SMS and provincial-push rows go through the outbox like any
others; then write what a verifier needs: credential.jwt, credential.png, jwks.json and
status-list.jwt. The sample application comes from a plugin (``govcred_demo_journey``),
for a credential type a loaded plugin registered; core itself knows nothing of its contents.
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

from govcred.core.cli.context import AppContext, echo_json, pass_app
from govcred.core.exceptions import ConfigError


def _journey(rt, now: dt.datetime) -> dict:
    schemas = set(rt.credential_types)
    for journey in rt.pm.hook.govcred_demo_journey(now=now):
        if journey and journey.get("schema") in schemas:
            return journey
    raise ConfigError(f"no demo journey for the loaded credential types ({', '.join(sorted(schemas)) or 'none'})")


def _with_attachment(value, attachment_id: str):
    """The document with ``{{attachment}}`` replaced by the id of the uploaded proof."""
    if isinstance(value, str):
        return attachment_id if value == "{{attachment}}" else value
    if isinstance(value, list):
        return [_with_attachment(v, attachment_id) for v in value]
    if isinstance(value, dict):
        return {k: _with_attachment(v, attachment_id) for k, v in value.items()}
    return value


def _officer(rt, role: str):
    """An officer of ``role`` (the ``govcred init`` demo account when present, else a new one)."""
    from govcred.core.accounts.officers import Principal, create_officer

    with rt.uow() as uow:
        found = uow.officers.by_username(role) or uow.officers.by_username(f"demo-{role}")
        if found is None:
            found = create_officer(
                uow,
                username=f"demo-{role}",
                display_name=f"演示{role}",
                role=role,
                password=secrets.token_urlsafe(24),
                now=rt.clock.now(),
                actor="demo",
            )
            found.demo = True  # production mode refuses to start while it is active
            uow.commit()
        # the journey runs in-process, at once: its officers' factor is now
        return Principal("officer", found.id, found.role, found.display_name, factor_at=rt.clock.now())


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
    from govcred.core import attachments
    from govcred.core.accounts.officers import Principal
    from govcred.core.migrate import upgrade
    from govcred.core.qr import make_qr, render_png
    from govcred.core.services import decisions, intake, issuance

    rt = app.runtime
    Path(rt.settings.data_dir).mkdir(parents=True, exist_ok=True)
    rt.settings.uploads_dir.mkdir(parents=True, exist_ok=True)
    upgrade(rt.engine, rt.pm)
    rt.keystore.ensure_key()
    now = rt.clock.now()
    journey = _journey(rt, now)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)

    records_csv = journey.get("records_csv")
    if records_csv:
        records = ctx.find_root().command.get_command(ctx, "records")
        if records is None:
            raise ConfigError("the demo journey needs `govcred records import`, which no loaded plugin provides")
        path = out / "records.csv"
        path.write_text("\n".join(records_csv) + "\n", encoding="utf-8")
        with contextlib.redirect_stdout(sys.stderr):  # keep stdout for the --json summary
            ctx.invoke(records.get_command(ctx, "import"), file=path)

    with rt.uow() as uow:
        resident_row = uow.residents.get_or_create(journey["phone"], now)
        uow.commit()
    resident = Principal("resident", resident_row.id)
    proof = attachments.store(rt.collaborators, _proof_png(), "labor-contract.png", principal=resident).id
    application = intake.submit_application(
        rt.collaborators, _with_attachment(journey["document"], proof), principal=resident, channel="online"
    )
    if application.state == "submitted":
        application = intake.accept_application(rt.collaborators, application.id, _officer(rt, "clerk"))
    decision = decisions.decide(rt.collaborators, application.id, approve=True, principal=_officer(rt, "reviewer"))
    credential = issuance.credential_for(rt.collaborators, decision.credential_id)

    signed_list = rt.status_list_publisher.current(credential.status_list_id)
    files = {
        "credential.jwt": credential.token.encode("ascii"),
        "credential.png": render_png(credential.token, scale=6),
        "jwks.json": json.dumps(rt.keystore.jwks(), ensure_ascii=False, indent=2).encode("utf-8"),
        "status-list.jwt": signed_list.token.encode("ascii"),
    }
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
        "verify": (
            f"govcred verify {out / 'credential.png'} --jwks {out / 'jwks.json'} "
            f"--status-list {out / 'status-list.jwt'} --benefit compulsory_education --json"
        ),
    }
    if as_json:
        echo_json(summary)
        return
    click.echo(f"已签发 (issued) {credential.permit_no} -> {out}")
    click.echo(summary["verify"])


def _queued(rt, aggregate_ids: tuple[str, ...]) -> dict[str, int]:
    """Outbox rows this journey queued, by channel (they are delivered by the worker)."""
    import sqlalchemy as sa

    from govcred.core.orm import outbox

    with rt.uow(readonly=True) as uow:
        rows = uow.session.execute(
            sa.select(outbox.c.channel, sa.func.count())
            .where(outbox.c.aggregate_id.in_(aggregate_ids))
            .group_by(outbox.c.channel)
        ).all()
    return dict(rows)


COMMANDS = [demo]
