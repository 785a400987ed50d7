"""Persistent storage: SQLAlchemy 2 models, engine/session set-up, migrations."""
from xfd.api.storage.accounts import LoginFailure, User, WebSecret, WebSession
from xfd.api.storage.models import (
    ApiKey,
    AssignmentRun,
    Base,
    DemandRow,
    Enterprise,
    Feedback,
    IdempotencyRecord,
    ProfileRow,
)

__all__ = [
    "ApiKey",
    "AssignmentRun",
    "Base",
    "DemandRow",
    "Enterprise",
    "Feedback",
    "IdempotencyRecord",
    "LoginFailure",
    "ProfileRow",
    "User",
    "WebSecret",
    "WebSession",
]
