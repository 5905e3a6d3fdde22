"""Why a file could not be read, in the words an operator reads (Chinese, the English after).

The operating system's and the parsers' own messages are English ("No such file or
directory", "Expecting value: line 1 column 1"); every command that names an unreadable file
(a trust file, a JWKS, a key) says why through these, so the same cause reads the same.
"""

from __future__ import annotations

import errno
import json
import tomllib

_OS_PROBLEMS = {
    errno.ENOENT: "文件或目录不存在 (no such file or directory)",
    errno.EACCES: "没有权限 (permission denied)",
    errno.EPERM: "没有权限 (operation not permitted)",
    errno.EROFS: "文件系统只读 (read-only file system)",
    errno.ENOSPC: "磁盘空间不足 (no space left on device)",
    errno.EISDIR: "这是一个目录 (is a directory)",
    errno.ENOTDIR: "路径中有一项不是目录 (not a directory)",
    errno.EEXIST: "已存在 (already exists)",
}


def os_problem(exc: OSError) -> str:
    """What went wrong with a system call on a file, without the path."""
    return _OS_PROBLEMS.get(exc.errno, exc.strerror or str(exc))


#: What reading a file's content raises when it cannot be used: a system call failing, bytes
#: that are not UTF-8, text that is not JSON/TOML -- or JSON nested deeper than the parser
#: recurses, a RecursionError (no ValueError) that ended `trust verify --root` in a traceback.
UNREADABLE = (OSError, ValueError, RecursionError)


def unreadable(exc: Exception) -> str:
    """Why a file's content could not be read: a system call, not UTF-8 text, not JSON/TOML."""
    if isinstance(exc, OSError):
        return os_problem(exc)
    if isinstance(exc, UnicodeDecodeError):
        return f"不是 UTF-8 文本 (not UTF-8 text at byte {exc.start})"
    if isinstance(exc, json.JSONDecodeError):
        return f"不是有效的 JSON，第 {exc.lineno} 行第 {exc.colno} 列有误 ({exc.msg})"
    if isinstance(exc, tomllib.TOMLDecodeError):
        return f"不是有效的 TOML ({exc})"
    if isinstance(exc, RecursionError):
        return "嵌套层数过多，不是有效的 JSON/TOML 文档 (nested too deep)"
    return str(exc)
