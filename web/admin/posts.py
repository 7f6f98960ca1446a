"""The one preamble of the admin's forms: the post checked (:func:`web.admin.csrf.checked_post`:
admin role, same origin, CSRF token), the council store open, the council (or the sitting)
found, and a refusal (:class:`web.admin.forms.Invalid`) shown on the page again with the
form as typed, nothing stored. Each handler of :mod:`web.admin.routes` and
:mod:`web.admin.convocations` is then only what its form does. :func:`sitting_get` is the
same preamble for the pages of one sitting (the admin signed in, the sitting found).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from aiohttp import web

from deliberation.commands import AddAgendaItem
from deliberation.council import CompositionError, Council, SittingConfig
from signaling.council_store import CouncilStore
from web.admin.csrf import admin_claims, checked_post
from web.admin.forms import Invalid
from web.admin.render import error, page
from web.admin.views import dashboard_context, sitting_context
from web.appkeys import CONFIG

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

#: The refusal when a form needs the council and none is stored yet.
NO_COUNCIL = "Enregistrez d'abord le conseil (nom et SIRET)."


@dataclass(frozen=True)
class DashboardPost:
    """A checked post of a dashboard form: the store open, the council as stored (None
    before the first save), the posted fields as plain strings."""

    request: web.Request
    store: CouncilStore
    council: Council | None
    form: dict[str, str]

    @property
    def stored_council(self) -> Council:
        """The council, present whenever the form was declared ``needs_council``."""
        if self.council is None:
            raise Invalid(NO_COUNCIL)
        return self.council


@dataclass(frozen=True)
class SittingGet:
    """A request of the admin on one sitting: the store open, the council, the sitting and
    its siblings (R23 counts them)."""

    request: web.Request
    store: CouncilStore
    council: Council
    sitting: SittingConfig
    sittings: list[SittingConfig]

    def items(self) -> list[AddAgendaItem]:
        return self.store.agenda(self.council.id, self.sitting.id)

    def convened_at(self) -> str | None:
        return self.store.convened_at(self.council.id, self.sitting.id)


@dataclass(frozen=True)
class SittingPost(SittingGet):
    """A checked post on one sitting's page, with the posted fields."""

    form: dict[str, str]


def sitting_or_404(
    request: web.Request, store: CouncilStore
) -> tuple[Council, SittingConfig, list[SittingConfig]] | web.Response:
    """The sitting named in the path (``{seance}``) with its council and siblings, or the
    « Séance inconnue » page."""
    council = store.current()
    sitting_id = request.match_info["seance"]
    sittings = store.sittings(council.id) if council else []
    sitting = next((s for s in sittings if s.id == sitting_id), None)
    if council is None or sitting is None:
        return error(request, 404, "Séance inconnue", "Aucune séance enregistrée sous cet identifiant.")
    return council, sitting, sittings


def dashboard_post(
    section: str, *, needs_council: bool = True
) -> Callable[[Callable[[DashboardPost], Awaitable[web.StreamResponse]]], Handler]:
    """Make a dashboard form's handler of ``action``: a refusal (``Invalid``, or the core's
    ``CompositionError``: R9, L.5211-6 …) shows the dashboard again at ``section`` with
    the form as typed, status 400."""

    def wrap(action: Callable[[DashboardPost], Awaitable[web.StreamResponse]]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            checked = await checked_post(request)
            if isinstance(checked, web.Response):
                return checked
            _claims, form = checked
            with CouncilStore.in_data_dir(request.app[CONFIG].data_dir) as store:
                council = store.current()
                try:
                    if council is None and needs_council:
                        raise Invalid(NO_COUNCIL, None, section)
                    return await action(DashboardPost(request, store, council, form))
                except CompositionError as err:
                    return _refuse_dashboard(request, store, Invalid(err.message, None, section), form)
                except Invalid as err:
                    err.section = err.section or section
                    return _refuse_dashboard(request, store, err, form)

        return handler

    return wrap


def _refuse_dashboard(request: web.Request, store: CouncilStore, err: Invalid, form: dict[str, str]) -> web.Response:
    context = dashboard_context(request, store, error=err, form=form)
    return page(request, "admin.html", context, status=err.status)


def sitting_get(action: Callable[[SittingGet], Awaitable[web.StreamResponse]]) -> Handler:
    """Make a handler of ``action`` for a GET on one sitting: signed out, the login page;
    not an admin, « Accès refusé » (403); an unknown sitting, « Séance inconnue » (404)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        claims = admin_claims(request)
        if isinstance(claims, web.Response):
            return claims
        with CouncilStore.in_data_dir(request.app[CONFIG].data_dir) as store:
            found = sitting_or_404(request, store)
            if isinstance(found, web.Response):
                return found
            return await action(SittingGet(request, store, *found))

    return handler


def sitting_post(section: str) -> Callable[[Callable[[SittingPost], Awaitable[web.StreamResponse]]], Handler]:
    """Make a sitting form's handler of ``action``: an unknown sitting is a 404, a refusal
    (``Invalid``) shows the sitting's page again at ``section`` with the form as typed, at
    the refusal's status (400, or 409 for « not now »)."""

    def wrap(action: Callable[[SittingPost], Awaitable[web.StreamResponse]]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            checked = await checked_post(request)
            if isinstance(checked, web.Response):
                return checked
            _claims, form = checked
            with CouncilStore.in_data_dir(request.app[CONFIG].data_dir) as store:
                found = sitting_or_404(request, store)
                if isinstance(found, web.Response):
                    return found
                post = SittingPost(request, store, *found, form)
                try:
                    return await action(post)
                except Invalid as err:
                    err.section = err.section or section
                    context = sitting_context(
                        request,
                        post.council,
                        post.sitting,
                        post.sittings,
                        post.items(),
                        post.convened_at(),
                        store,
                        form=form,
                        error=err,
                    )
                    return page(request, "admin_sitting.html", context, status=err.status)

        return handler

    return wrap
