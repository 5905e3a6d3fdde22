"""Use cases, one module a job: :mod:`.intake`, :mod:`.eligibility`, :mod:`.decisions`,
:mod:`.issuance`, :mod:`.credential_status`, :mod:`.lifecycle`,
:mod:`.sweep` and :mod:`.reminders` (the documents' schema-free checks sit in
:mod:`.documents`). Callers import the module whose use case they call.
"""
