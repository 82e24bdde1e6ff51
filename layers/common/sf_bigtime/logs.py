"""Secrets stay out of logs: the libraries that log request and response bodies are held above DEBUG.

botocore logs every request and response body at DEBUG (a Secrets Manager ``GetSecretValue`` reply holds
the secret, a DynamoDB write the error messages), urllib3 every request line. Whatever ``LOG_LEVEL``,
``POWERTOOLS_LOG_LEVEL`` or the function's ``ApplicationLogLevel`` (the root logger, in Lambda) say, these
loggers log from WARNING up (their INFO lines, such as botocore's endpoint discovery, are noise that
costs log bytes). Every function handler calls :func:`quiet_libraries` at import, and so does the
operator CLI (``sf-bigtime -v`` shows our debug logs, not the secrets the CLI reads).
"""

from __future__ import annotations

import logging

QUIET_LOGGERS = ("botocore", "boto3", "urllib3", "s3transfer", "requests", "simple_salesforce")


def quiet_libraries(level: int = logging.WARNING) -> None:
    """Set each library logger to ``level`` unless it is already stricter (a child logger without a level
    of its own, such as ``botocore.parsers``, follows its parent)."""
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level < level:  # NOTSET (0) included: it would inherit the root's DEBUG
            logger.setLevel(level)
