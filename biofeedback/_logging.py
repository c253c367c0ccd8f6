"""The package logger. Only the CLI attaches handlers."""

import logging

logger = logging.getLogger("biofeedback")
logger.addHandler(logging.NullHandler())
