"""A permit's endorsement cycle, as the lifecycle and the sweep both see it: the window its
credential type defines, and the reason recorded on a permit suspended for a missed endorsement."""

from __future__ import annotations

import datetime as dt

from govcred.core import models
from govcred.core.credential_types import CredentialTypes

#: The reason a sweep records on a permit it suspends (what the holder is told).
MISSED_ENDORSEMENT = "逾期未办理签注，居住证使用功能中止；补办签注后恢复"


def endorsement_window(
    credential_types: CredentialTypes, credential: models.Credential
) -> tuple[dt.date, dt.date] | None:
    """The window of the credential's current cycle, as its credential type defines it."""
    credential_type = credential_types.named(credential.credential_type)
    return credential_type.endorsement_window(credential) if credential_type is not None else None
