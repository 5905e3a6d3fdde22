"""The standalone verifier: a library (:mod:`verifier.check`), a service (:mod:`verifier.app`)
and the offline CLI. It needs only the trusted issuers' public keys and their status lists:
it never imports the issuer's database layer or anything that holds a private key."""
