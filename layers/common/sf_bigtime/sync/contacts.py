"""The project's contacts: the Opportunity's contact roles BigTime lacks are added, the ``sync`` contact
fields updated; nothing at all when the roles did not change since the last sync."""

from __future__ import annotations

from typing import Any

from sf_bigtime.clients.bigtime import Record as BigTimeObject
from sf_bigtime.clients.bigtime import record_id as bigtime_id
from sf_bigtime.errors import SyncError
from sf_bigtime.mapping.transform import (
    ContactPlan,
    contact_key,
    contact_plans,
    differences,
    fingerprint,
    nest,
    update_body,
)
from sf_bigtime.sync.context import SyncRun
from sf_bigtime.sync.projects import ProjectRef


def sync_contacts(run: SyncRun, project: ProjectRef) -> tuple[int, int, list[str]]:
    """(added, updated, warnings). Only when the roles changed, or on a project recorded by this sync.

    Adding a contact is not idempotent, so it happens under the contacts lease: the sync that recorded the
    project holds it from the record on (``project.lease``); anyone else takes it only when there is
    something to do.
    """
    plans, warnings = contact_plans(run.opp, run.mapping.contacts, run.today)
    # Who the contacts are and their `sync` values: a create_only detail changing costs nothing.
    digest = fingerprint([(p.key, p.tag, p.sync.values) for p in plans])
    lease = project.lease
    if lease is None:  # a project recorded before this sync
        if run.state.get("contacts_hash") == digest:
            return 0, 0, list(run.state.get("contact_warnings") or [])
        lease = run.store.lease("opp", run.org, run.opp.id, stale_after=run.ctx.claim_stale_after)
    added = updated = 0
    try:
        if plans:
            # A project we just created has no contacts: skip the list call (one call per contact is the
            # budget). Anyone else compares with what BigTime holds, which also covers an add that went
            # through before a crash.
            existing = [] if project.created else run.bigtime.list_project_contacts(project.id)
            by_key = {contact_key(dict(c)): c for c in existing}
            taken = {str(c.get("Tag") or "").upper() for c in existing} & {"PRIMARY", "BILLING"}
            for plan in plans:
                current = by_key.get(plan.key)
                if current is None:
                    tag = plan.tag if plan.tag not in taken else "OTHER"
                    run.bigtime.add_project_contact(project.id, _contact_body(run, plan, tag))
                    # contact_plans already gives each key and each PRIMARY/BILLING tag once; these two
                    # lines keep a non-idempotent add safe should that ever change.
                    by_key[plan.key] = BigTimeObject(nest(plan.create.values))
                    taken.add(tag)
                    added += 1
                elif plan.sync:
                    changes = differences(current, nest(run.resolve(plan.sync)))
                    contact_id = bigtime_id(current, "SystemId", "Id", "id")
                    if changes and contact_id is not None:
                        run.bigtime.update_project_contact(
                            contact_id, {**update_body(current, changes), "ProjectSid": project.id}
                        )
                        updated += 1
    except SyncError:
        run.store.end_lease("opp", run.org, run.opp.id, lease)
        raise
    run.store.end_lease("opp", run.org, run.opp.id, lease, contacts_hash=digest, contact_warnings=warnings)
    return added, updated, warnings


def _contact_body(run: SyncRun, plan: ContactPlan, tag: str) -> dict[str, Any]:
    return {**nest(run.resolve(plan.create)), "Tag": tag}
