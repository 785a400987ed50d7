"""Persistent storage: SQLAlchemy 2 models, engine/session set-up, migrations."""
from xfd.api.storage import timestamps
from xfd.api.storage.accounts import LoginFailure, User, WebSecret, WebSession
from xfd.api.storage.audit import AuditRow
from xfd.api.storage.calibration import CalibrationRow
from xfd.api.storage.embeddings import DatabaseEmbeddingCache, EmbeddingRow
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
from xfd.api.storage.service import Activity, DemandEvent, Outcome, Rating, Semester, Team, TeamMember
from xfd.api.storage.shared_state import SharedVersion

timestamps.install(Base)  # every DateTime read back is aware UTC

__all__ = [
    "AuditRow",
    "CalibrationRow",
    "DatabaseEmbeddingCache",
    "EmbeddingRow",
    "SharedVersion",
    "Activity",
    "DemandEvent",
    "Outcome",
    "Rating",
    "Semester",
    "Team",
    "TeamMember",
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
