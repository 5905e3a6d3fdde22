"""The standalone verifier: a library (:mod:`govcred.verifier.check`), a service
(:mod:`govcred.verifier.app`) and its commands (:mod:`govcred.verifier.cli`, registered on the
``govcred`` command line through a hook). It needs only the trusted issuers' public keys and
their status lists: it never imports the issuer's database layer or anything that holds a private key."""
