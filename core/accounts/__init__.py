"""Sign-in for officers and residents, called by the pages and the API alike.

- :mod:`.signin`: the sign-in and sign-out use cases (every rule: which factors, throttles,
  session rotation, auditing);
- :mod:`.officers`: accounts, passwords, bearer tokens, :class:`~.officers.Principal`, role checks;
- :mod:`.totp`: officers' one-time codes; :mod:`.login_codes`: residents' SMS codes;
- :mod:`.throttle`: failed-attempt limits; :mod:`.sessions`: server-side page sessions
  (lifetimes, resumption, recent re-authentication).
"""
