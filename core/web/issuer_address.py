"""Whether the configured issuer URL can be where this server answers.

The issuer URL is the ``iss`` of every token and the base of the JWKS and status-list URLs the
verifier fetches, so a server started on another port than the URL names signs tokens that
every verifier then refuses. Behind a reverse proxy the public URL names another host than
the one the server binds, legitimately: only an issuer URL that names this machine (a loopback
address, or the bound address itself) is compared with where the server listens.
"""

from __future__ import annotations

from urllib.parse import urlsplit

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
ANY_ADDRESS = frozenset({"0.0.0.0", "::", ""})


def issuer_mismatch(issuer: str, host: str, port: int) -> str | None:
    """A warning (Chinese, then English) when ``issuer`` names this machine but not ``host:port``."""
    parts = urlsplit(issuer)
    try:
        issuer_port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:  # the settings check names a malformed URL; nothing to compare here
        return None
    issuer_host = (parts.hostname or "").lower()
    host = host.lower().strip("[]")
    if issuer_host not in LOOPBACK and issuer_host != host:
        return None  # a public name: a reverse proxy forwards it here
    wrong_host = issuer_host in LOOPBACK and host not in LOOPBACK | ANY_ADDRESS
    if issuer_port == port and not wrong_host:
        return None
    served = f"http://{host if host not in ANY_ADDRESS else '127.0.0.1'}:{port}"
    return (
        f"警告：签发方地址 GOVCRED_ISSUER={issuer}，但本服务监听 {served}。所签凭证的 iss 及公钥地址与实际不符，"
        f"核验端将拒绝全部凭证；请设置 GOVCRED_ISSUER={served}（或反向代理的公网地址）。"
        f" / Warning: the issuer URL {issuer} is not where this server listens ({served}); every token it signs"
        " will fail at the verifier. Set GOVCRED_ISSUER to the URL clients reach."
    )
