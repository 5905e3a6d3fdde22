"""Names of the minimal claims every govcred credential carries (DESIGN, "Credential and QR").

Short because every byte of a token costs QR modules. Plugins fill them
(a credential type's ``claims``); verifiers and officer views read them from here, so a
county plugin and the verifier agree without importing each other.
"""

from __future__ import annotations

NAME_MASKED = "n"  # 张*明
ID_MASKED = "idm"  # 3301**********1234
COUNTY = "cty"  # division code, e.g. 331121
CREDENTIAL_TYPE = "ct"  # the credential type's short tag (a plugin's), e.g. zj-rp: what issuer scopes name
STATUS = "status"  # {"status_list": {"idx": int, "uri": str}} -- core's own
CREDENTIAL_ID = "cid"  # in a presentation: the jti of the credential it presents

#: Claims only core sets; plugins contribute every other claim of a credential, and a
#: presentation carries those plugin claims over unchanged (they are the minimum already).
RESERVED_CLAIMS = frozenset({"iss", "sub", "aud", "iat", "nbf", "exp", "jti", "status", "cnf"})

#: The ``aud`` of a presentation that only proves possession to read a verifier's log of the
#: credential; verifiers refuse it as a presentation to verify.
LOG_AUDIENCE = "govcred-verification-log"
