"""Real-mail test rig: a private Dovecot (IMAP, IMAPS, LMTP), in-process aiosmtpd submission servers
that deliver into it over LMTP, and a throwaway PostgreSQL cluster.

Used through the pytest fixtures in ``tests.rig.fixtures`` (``mailrig``, ``clean_mail``, ``pg_server``,
``pg_url``, ``db_url``); outside pytest (benchmarks) use ``tests.rig.fixtures.MailRig`` as a context
manager and ``tests.rig.postgres.PgServer``. All state lives under one temporary directory in /tmp.
"""
