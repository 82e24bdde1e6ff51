"""The BigTime project template a new project is created from (the mapping's ``template`` section).

What BigTime does with a template on project create is not documented (docs/decisions.md#what-we-assume-about-bigtime):
we assume the create request names it in one field (``template.create_field``, default ``TemplateId``) and
BigTime copies the template's tasks onto the new project. The line-item tasks are added to those.
"""

from __future__ import annotations

from typing import Any

from sf_bigtime.sync.context import SyncRun


def template_fields(run: SyncRun) -> dict[str, Any]:
    """The project-create field naming the template for this Opportunity ({} for none). A template name
    BigTime does not have is a permanent error naming the templates it does have."""
    section = run.mapping.template
    if not section.enabled:
        return {}
    name = section.choose(run.opp.get(section.field) if section.field else None)
    if not name:
        return {}
    return {section.create_field: run.bigtime.template_id(name)}
