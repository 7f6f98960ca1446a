"""The admin (DSI) pages: the council, its members, salles (R1), agents (R4), accounts and
kiosk links, sittings with their agenda (R12), the convocation (R6) and the semester
standing (R23).

- :mod:`web.admin.csrf`: who may post (admin role, same origin, CSRF token);
- :mod:`web.admin.forms`: posted fields to the core's objects, or a French refusal;
- :mod:`web.admin.views`: what the pages show;
- :mod:`web.admin.posts`: the one preamble of a form's handler (checked post, store, council
  or sitting found, a refusal shown again with the form);
- :mod:`web.admin.routes`: the handlers, and :func:`add_admin_routes`.

Persistence: the council, its sittings and their agenda in ``<data_dir>/council.sqlite3``
(:class:`signaling.council_store.CouncilStore`); people's accounts in the app's
:class:`signaling.accounts.AccountStore`. Agenda items are decided by the deliberation
core itself (``Seance.decide`` of an ``AddAgendaItem`` on the sitting as convened), so the
R12 refusal here is the same as in a sitting.
"""

from web.admin.routes import add_admin_routes

__all__ = ["add_admin_routes"]
