"""``govcred review approve-batch``: the batched approval of a filtered queue (bulk work)."""

from __future__ import annotations

import click

from govcred.core.cli.context import AppContext, echo_json, officer_principal, pass_app


@click.group()
def review() -> None:
    """The reviewers' queue from the console."""


@review.command("approve-batch")
@click.option("--as", "username", required=True, help="The reviewer's username.")
@click.option(
    "--totp", "totp_code", required=True, help="The reviewer's current 6-digit TOTP code (confirms the batch)."
)
@click.option("--channel", type=click.Choice(["online", "window"]), default=None)
@click.option("--due", type=click.Choice(["today", "overdue"]), default=None)
@click.option("--limit", type=click.IntRange(min=1, max=100_000), default=1000, show_default=True)
@click.option(
    "--chunk", type=click.IntRange(min=1, max=200), default=200, show_default=True, help="Decisions per transaction."
)
@click.option("--json", "as_json", is_flag=True)
@pass_app
def approve_batch_command(
    app: AppContext,
    username: str,
    totp_code: str,
    channel: str | None,
    due: str | None,
    limit: int,
    chunk: int,
    as_json: bool,
) -> None:
    """Approve every rule-clean accepted application of the filtered queue, each with its own
    decision, credential, audit entries and messages; the rest stay in the queue, reported."""
    from govcred.core.accounts.totp import MALFORMED_CODE_MESSAGE, well_formed_code
    from govcred.core.exceptions import AuthenticationRequired, FieldError, ValidationError
    from govcred.core.services.batch_decisions import approve_batch

    try:
        principal = officer_principal(app, username)
    except AuthenticationRequired as unknown:
        if well_formed_code(totp_code) is None:  # both to fix: said at once
            raise ValidationError(
                [
                    FieldError("--as", unknown.code, unknown.message),
                    FieldError("--totp", "TOTP_INVALID", MALFORMED_CODE_MESSAGE),
                ]
            ) from None
        raise
    report = approve_batch(
        app.runtime.collaborators,
        principal,
        totp_code=totp_code,
        channel=channel,
        due=due,
        limit=limit,
        chunk=chunk,
    )
    if as_json:
        echo_json(report.as_dict())
        return
    click.echo(
        f"批量审批 (batch): 批准 {len(report.approved)} 件，未批准留在队列 {len(report.skipped)} 件，"
        f"{report.transactions} 个事务"
    )
    for item in report.skipped:
        click.echo(f"  {item['application']}: {', '.join(item['codes'])}")


COMMANDS = [review]
