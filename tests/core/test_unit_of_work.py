"""The unit of work's parts (repositories, outbox, audit log) are made on first use."""


def test_parts_are_made_once_per_entry_on_that_entrys_session(runtime):
    uow = runtime.uow(readonly=True)
    with uow:
        first = uow.officers
        assert uow.officers is first  # kept for the rest of the entry
        first_session = uow.session
    with uow:  # entered again: a new session, and parts that use it
        assert uow.session is not first_session
        assert uow.officers is not first
        assert uow.officers.by_username("nobody-here") is None
