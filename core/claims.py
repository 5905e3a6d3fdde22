"""Names of the minimal claims every govcred credential carries (DESIGN, "Credential and QR").

Short because every byte of a token costs QR modules. Plugins fill them
(``govcred_credential_claims``); verifiers and officer views read them from here, so a
county plugin and the verifier agree without importing each other.
"""
from __future__ import annotations

NAME_MASKED = "n"      # 张*明
ID_MASKED = "idm"      # 3301**********1234
COUNTY = "cty"         # division code, e.g. 331121
STATUS = "status"      # {"status_list": {"idx": int, "uri": str}} -- core's own
CREDENTIAL_ID = "cid"  # in a presentation: the jti of the credential it presents

#: Claims a presentation copies from its credential (besides ``status``): what a verifier may learn.
PRESENTED = ("ct", NAME_MASKED, ID_MASKED, COUNTY, "b", "ben")

#: The ``aud`` of a presentation that only proves possession to read a verifier's log of the
#: credential; verifiers refuse it as a presentation to verify.
LOG_AUDIENCE = "govcred-verification-log"
