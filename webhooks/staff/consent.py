"""Changing what one of the people a person trusts may be told, from the case page."""

from __future__ import annotations

from flask import g, redirect, render_template, request, url_for
from sqlmodel import select

from bot.models import Person, Representative
from bot.services import consent as service

from .blueprint import bp, runtime
from .pages import _open_case


@bp.route("/cases/<ref>/trusted/<rep_ref>", methods=["GET", "POST"])
def change_consent(ref: str, rep_ref: str):
    with runtime().session() as db:
        case = _open_case(db, ref)
        person = db.get(Person, case.person_id)
        rep = db.exec(select(Representative).where(Representative.ref == rep_ref,
                                                   Representative.person_id == person.id)
                      ).first()
        if rep is None:
            return render_template("refused.html", title="Nobody by that reference",
                                   message=f"{person.full_name} has nobody recorded as "
                                           f"'{rep_ref}'. Go back to the case."), 404
        if request.method == "POST":
            scopes, authority = request.form.getlist("scopes"), request.form.get("authority", "")
            how = request.form.get("how", "")
        else:
            scopes, authority, how = list(rep.consent_scopes), rep.authority.value, ""
        context = {"case": case, "person": person, "rep": rep, "scopes": scopes,
                   "authority": authority, "how": how, "errors": {},
                   "scope_choices": [(s.value, w) for s, w in service.SCOPE_WORDS.items()],
                   "authority_choices": [(a.value, w)
                                         for a, w in service.AUTHORITY_WORDS.items()],
                   "title": f"What {rep.full_name} may be told"}
        if request.method == "GET":
            return render_template("consent.html", **context)
        try:
            service.set_consent(db, rep.ref, scopes=scopes, authority=authority, how=how,
                                actor=g.account.name)
        except service.ConsentError as exc:
            db.rollback()
            context["errors"] = {exc.field or "scopes": str(exc)}
            return render_template("consent.html", **context), 400
    return redirect(url_for("staff.case_page", ref=ref))
