"""Sessions: the repository ``SessionStore`` over a private rows layer, the models it returns,
argument checks, JSON encoding, page tokens and the decoder of what it reads back.

Core: imports :mod:`adk_pg.db`, :mod:`adk_pg.schema` and :mod:`adk_pg.errors`, never
``google.adk``, ``adk_pg.adk``, ``adk_pg.ops`` or ``adk_pg.cli``.
"""
