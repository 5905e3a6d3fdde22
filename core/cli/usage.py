"""Click's own refusals (a missing file, a value of the wrong type, an unknown option) in
Chinese: click writes them in English ("Error: Invalid value for 'FILE': File '/x' does not
exist."), and everything an operator reads from govcred is Chinese. ``main`` prints them
through :func:`show_click_error`; the English original follows in brackets, as in every other
bilingual message of the CLI, so that it can still be searched for."""

from __future__ import annotations

import re
from collections.abc import Callable

import click

_KINDS = {"file": "文件", "directory": "目录", "path": "路径"}
_TYPES = {
    "integer": "整数",
    "float": "数字",
    "boolean": "布尔值（true/false）",
    "UUID": "UUID",
    "integer range": "整数",
    "float range": "数字",
}

# (click's English message, its Chinese): the messages of click's types and parser
_MESSAGES: list[tuple[re.Pattern[str], Callable[[re.Match[str]], str]]] = [
    (
        re.compile(r"(File|Directory|Path) '(.*)' does not exist\.", re.I | re.S),
        lambda m: f"{_KINDS[m[1].lower()]} {m[2]} 不存在",
    ),
    (re.compile(r"(?:File|Directory|Path) '(.*)' is a file\.", re.I | re.S), lambda m: f"{m[1]} 是文件，应为目录"),
    (re.compile(r"(?:File|Directory|Path) '(.*)' is a directory\.", re.I | re.S), lambda m: f"{m[1]} 是目录，应为文件"),
    (re.compile(r"(?:File|Directory|Path) '(.*)' is not readable\.", re.I | re.S), lambda m: f"{m[1]} 没有读取权限"),
    (re.compile(r"(?:File|Directory|Path) '(.*)' is not writable\.", re.I | re.S), lambda m: f"{m[1]} 没有写入权限"),
    (re.compile(r"'(.*)' is not a valid (.+)\.", re.S), lambda m: f"“{m[1]}”不是有效的{_TYPES.get(m[2], m[2])}"),
    (re.compile(r"(.*) is not in the range (.+)\.", re.S), lambda m: f"{m[1]} 不在允许的范围 {m[2]} 内"),
    (re.compile(r"'(.*)' is not (?:one of )?(.+)\.", re.S), lambda m: f"“{m[1]}”不是可选的值（可选：{m[2]}）"),
    (re.compile(r"'(.*)' does not match the formats? (.+)\.", re.S), lambda m: f"“{m[1]}”格式不对（应为 {m[2]}）"),
    (re.compile(r"Option '(.*)' requires an argument\.", re.S), lambda m: f"选项 {m[1]} 需要一个值"),
    (re.compile(r"Option '(.*)' requires (\d+) arguments\.", re.S), lambda m: f"选项 {m[1]} 需要 {m[2]} 个值"),
    (re.compile(r"Option '(.*)' does not take a value\.", re.S), lambda m: f"选项 {m[1]} 不带值"),
    (re.compile(r"Got unexpected extra arguments? \((.*)\)", re.S), lambda m: f"多余的参数：{m[1]}"),
    (re.compile(r"Missing command\.", re.S), lambda m: "缺少子命令"),
]

_CJK = re.compile(r"[\u4e00-\u9fff]")


def _translated(message: str) -> str | None:
    """The Chinese of one of click's messages, or None when it is not one of them."""
    for pattern, chinese in _MESSAGES:
        match = pattern.fullmatch(message.strip())
        if match:
            return chinese(match)
    return None


def _param_hint(exc: click.BadParameter | click.MissingParameter) -> str | None:
    if exc.param_hint is not None:
        hints = exc.param_hint if isinstance(exc.param_hint, (list, tuple)) else [exc.param_hint]
        return " / ".join(str(h).strip("'") for h in hints)
    if exc.param is not None:
        return exc.param.get_error_hint(exc.ctx).replace("'", "")  # type: ignore[arg-type]
    return None


def chinese_message(exc: click.ClickException) -> str:
    """What went wrong, in Chinese (with click's English when click wrote it)."""
    original = exc.format_message()
    if isinstance(exc, (click.NoSuchOption, click.NoSuchCommand)):
        if isinstance(exc, click.NoSuchOption):
            text = f"没有选项 {exc.option_name}"
        else:
            text = f"没有命令 {exc.command_name}"
        if exc.possibilities:
            text += f"，是否想用 {', '.join(sorted(exc.possibilities))}？"
    elif isinstance(exc, click.MissingParameter):
        kind = {"argument": "参数", "option": "选项"}.get(exc.param.param_type_name if exc.param else "", "参数")
        hint = _param_hint(exc)
        text = f"缺少{kind} {hint}" if hint else f"缺少{kind}"
    elif isinstance(exc, click.BadParameter):
        hint = _param_hint(exc)
        detail = _translated(exc.message) or exc.message
        text = f"{hint} 的值无效：{detail}" if hint else f"值无效：{detail}"
    else:
        text = _translated(exc.message) or exc.message
    if _CJK.search(exc.message) or text == original:  # govcred's own message: no English to add
        return text
    return f"{text} ({original})"


def show_click_error(exc: click.ClickException) -> None:
    """Print a click refusal as govcred prints its own: usage and help hint for a usage error."""
    if isinstance(exc, click.UsageError) and exc.ctx is not None:
        ctx = exc.ctx
        usage = ctx.get_usage()
        click.echo(re.sub(r"^Usage:", "用法 (usage):", usage), err=True)
        help_option = ctx.command.get_help_option(ctx)
        if help_option is not None and help_option.opts:
            click.echo(f"查看帮助 (help): {ctx.command_path} {help_option.opts[0]}", err=True)
    click.echo(f"错误：{chinese_message(exc)}", err=True)
