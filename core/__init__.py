"""govcred core: generic machinery for issuing and verifying government e-credentials.

Plugins import the implementation marker from here::

    from govcred.core import hookimpl

Core never imports ``plugins.*``; built-in plugins are found through the ``govcred``
entry-point group exactly like third-party ones.
"""
from govcred.core.hookspecs import PROJECT, hookimpl

__version__ = "0.1.0"
__all__ = ["PROJECT", "hookimpl", "__version__"]
