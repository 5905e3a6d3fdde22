"""``govcred purge [--dry-run]``: apply the retention periods now (the servers do it daily)."""

from __future__ import annotations

import click

from govcred.core.cli.context import AppContext, echo_json, pass_app


@click.command()
@click.option("--dry-run", is_flag=True, help="Only count what each rule would remove.")
@click.option("--json", "as_json", is_flag=True)
@pass_app
def purge(app: AppContext, dry_run: bool, as_json: bool) -> None:
    """Remove what is past its retention period ([retention] in the settings), rule by rule."""
    from govcred.core.attachments import clean_orphan_files
    from govcred.core.jobs import PURGE, run_exclusively
    from govcred.core.retention import purge as run_purge

    rt = app.runtime
    # the same lease as the servers' daily purge: never two at once
    results = run_exclusively(rt.job_place(), PURGE, lambda: run_purge(rt.collaborators, dry_run=dry_run))
    orphans = clean_orphan_files(rt.collaborators, dry_run=dry_run)
    if as_json:
        echo_json(
            {
                "dry_run": dry_run,
                "rules": [r.as_dict() for r in results],
                "upload_orphans": {"moved_into_place": len(orphans.published), "removed": len(orphans.removed)},
            }
        )
        return
    verb = "将删除 (would remove)" if dry_run else "已删除 (removed)"
    for r in results:
        click.echo(f"{r.rule:<18} {r.period:>5}  {verb} {r.count:>6}  {r.what}（{r.cutoff:%Y-%m-%d %H:%M} UTC 之前）")
    if orphans.count:
        click.echo(f"{'upload_orphans':<18} {'':>5}  {verb} {len(orphans.removed):>6}  上传目录中无记录的文件")


COMMANDS = (purge,)
