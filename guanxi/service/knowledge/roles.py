"""Who writes the knowledge base. Kept apart from permissions.py so that selectors (drafts are
visible to the roles that publish) and access helpers share one definition without importing
each other."""

from __future__ import annotations

from guanxi.accounts.roles import Role

KNOWLEDGE_WRITER_ROLES = frozenset(
    {Role.ADMINISTRATOR, Role.SERVICE_AGENT, Role.DEPARTMENT_HANDLER}
)
"""Roles that write articles (a department handler's stay drafts until someone publishes them)."""

KNOWLEDGE_PUBLISHER_ROLES = frozenset({Role.ADMINISTRATOR, Role.SERVICE_AGENT})
"""Roles that publish and archive articles, and edit any article they can see."""
