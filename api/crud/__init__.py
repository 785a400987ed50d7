"""Data access: everything the routers, the pages, the CLI and ``xfd demo`` do
with a ``Session``, one module per record (``profiles``, ``demands``, ``keys``,
``runs``, ``feedback``, ``lifecycle``, ``teams``, ``service``, ``audit``, …).

Functions take a SQLAlchemy ``Session`` and domain records or plain values,
return rows / small named tuples, and raise ``xfd.api.errors`` exceptions
(``NotFound``, ``Conflict``, ``FieldInvalid``) — never HTTP errors; the edges
(``xfd.api.app`` handlers, the CLI) turn them into answers.  Functions that
say "commits" end the unit of work; the others leave committing to the caller.

Add a record: a new module here, re-exported below.  Modules of this package
may import each other (``feedback`` uses ``demands.visible_demand``) but never
a router, the app or the CLI.
"""
from xfd.api.crud.demands import (
    StoredDemand,
    add_demand,
    ensure_enterprise,
    list_demands,
    open_demand_rows,
    set_demand_status,
    submit_demand,
    visible_demand,
)
from xfd.api.crud.feedback import add_feedback, list_feedback
from xfd.api.crud.keys import create_key, list_keys, revoke_key
from xfd.api.crud.lifecycle import change_demand_status, demand_history, demand_view, public_demand_id
from xfd.api.crud.profiles import (
    commit_profiles,
    count_profiles,
    get_profile,
    list_profiles,
    load_profiles,
    profile_labels,
    upsert_profiles,
)
from xfd.api.crud.proposals import TeamRefused, accept_team, proposal_inputs, review_team, semester_load
from xfd.api.crud.runs import (
    Accepted,
    accept_run,
    cancel_run,
    create_run,
    expire_leases,
    fail_interrupted_runs,
    get_run,
    list_runs,
    set_run,
)

__all__ = [
    "change_demand_status",
    "demand_history",
    "demand_view",
    "public_demand_id",
    "Accepted",
    "StoredDemand",
    "TeamRefused",
    "accept_team",
    "proposal_inputs",
    "review_team",
    "semester_load",
    "accept_run",
    "add_demand",
    "add_feedback",
    "commit_profiles",
    "count_profiles",
    "create_key",
    "cancel_run",
    "create_run",
    "expire_leases",
    "ensure_enterprise",
    "fail_interrupted_runs",
    "get_profile",
    "get_run",
    "list_demands",
    "list_feedback",
    "list_keys",
    "list_profiles",
    "list_runs",
    "load_profiles",
    "open_demand_rows",
    "profile_labels",
    "revoke_key",
    "set_demand_status",
    "set_run",
    "submit_demand",
    "upsert_profiles",
    "visible_demand",
]
