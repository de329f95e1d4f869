"""French e-mails for people: what each event says, written once and rendered as plain text and
as HTML (every value escaped).

Each template returns a ``Mail``: a subject, paragraphs and a few labelled facts. Events without a
template of their own get the generic one, which lists the event's simple fields.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from services.notify.domain.french import date_time, euros, financer, read_instant

Data = Mapping[str, Any]
FOOTER = (
    "Ce message est envoyé automatiquement par la plateforme Pôles 2.0 ; "
    "merci de ne pas y répondre."
)
GENERIC_FIELDS_SHOWN = 20


@dataclass(frozen=True)
class Mail:
    subject: str
    paragraphs: tuple[str, ...]
    facts: tuple[tuple[str, str], ...] = ()


def compose(event_type: str, data: Data) -> Mail:
    template = TEMPLATES.get(event_type)
    return template(data) if template is not None else generic(event_type, data)


def render_text(mail: Mail) -> str:
    facts = [f"  {label} : {value}" for label, value in mail.facts]
    blocks = ["Bonjour,", *mail.paragraphs, *(["\n".join(facts)] if facts else []), FOOTER]
    return "\n\n".join(blocks) + "\n"


def render_html(mail: Mail) -> str:
    e = html.escape
    paragraphs = "".join(f"<p>{e(text)}</p>" for text in ("Bonjour,", *mail.paragraphs))
    rows = "".join(
        f"<tr><th>{e(label)}</th><td>{e(value)}</td></tr>" for label, value in mail.facts
    )
    table = f'<table cellpadding="4">{rows}</table>' if rows else ""
    return (
        f'<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8"><title>{e(mail.subject)}'
        f"</title></head><body>{paragraphs}{table}<p><small>{e(FOOTER)}</small></p></body></html>"
    )


def _text(data: Data, field: str, default: str = "") -> str:
    value = data.get(field)
    return str(value) if value is not None else default


def _dossier(data: Data) -> str:
    return f"« {_text(data, 'platform_name', _text(data, 'dossier_id', 'votre dossier'))} »"


def _dossier_facts(data: Data) -> tuple[tuple[str, str], ...]:
    facts = [("Dossier", _text(data, "dossier_id")), ("Appel à projets", _text(data, "call_id"))]
    facts.append(("Pôle chef de file", _text(data, "pole_id")))
    return tuple((label, value) for label, value in facts if value)


def _reasons(data: Data) -> tuple[str, ...]:
    reasons = [str(r) for r in data.get("reasons") or [] if r]
    return ("Motifs : " + " ; ".join(reasons) + ".",) if reasons else ()


def receipt(data: Data) -> Mail:
    number = _text(data, "receipt_number", "(sans numéro)")
    submitted = read_instant(data.get("submitted_at"))
    when = date_time(submitted) if submitted else "(date inconnue)"
    return Mail(
        subject=f"Accusé de réception de votre dossier n° {number}",
        paragraphs=(
            f"Nous accusons réception de votre dossier {_dossier(data)}, déposé le {when}.",
            "Conservez ce numéro de dépôt : il vous sera demandé pour toute correspondance.",
        ),
        facts=(("Numéro de dépôt", number), ("Déposé le", when), *_dossier_facts(data)),
    )


def decision(title: str, sentence: str, show_reasons: bool = False) -> Callable[[Data], Mail]:
    """A decision on a dossier: ``sentence`` completes « Votre dossier X ... »."""

    def template(data: Data) -> Mail:
        lines = (f"Votre dossier {_dossier(data)} {sentence}.",)
        return Mail(
            subject=f"{title} : dossier {_dossier(data)}",
            paragraphs=lines + (_reasons(data) if show_reasons else ()),
            facts=_dossier_facts(data),
        )

    return template


def _shares(data: Data) -> list[tuple[str, list[Mapping[str, Any]]]]:
    """The financing plan's shares (financer, years), read generically: a malformed share is
    left out rather than guessed."""
    shares = []
    for share in data.get("financing_plan") or []:
        if not isinstance(share, Mapping) or not isinstance(share.get("financer"), str):
            continue
        years = [y for y in share.get("years") or [] if isinstance(y, Mapping)]
        shares.append((share["financer"], years))
    return shares


def _amount(years: list[Mapping[str, Any]]) -> int:
    return sum(y["amount_cents"] for y in years if isinstance(y.get("amount_cents"), int))


def _span(years: list[Mapping[str, Any]]) -> str:
    found = sorted({y["year"] for y in years if isinstance(y.get("year"), int)})
    if not found:
        return ""
    return f" ({found[0]})" if len(found) == 1 else f" ({found[0]}-{found[-1]})"


def selected(data: Data) -> Mail:
    """Selected is not funded: the financers are asked to commit; no amount is announced."""
    mail = decision("Décision de sélection", "a été retenu")(data)
    financers = [financer(name) for name, _ in _shares(data)]
    asked = (("Financeurs sollicités", ", ".join(financers)),) if financers else ()
    return Mail(
        mail.subject,
        (
            *mail.paragraphs,
            "Ses financeurs sont maintenant sollicités pour engager chacun sa part. "
            "Aucune aide n'est acquise à ce stade : un nouveau message vous dira si le "
            "financement est réuni.",
        ),
        mail.facts + asked,
    )


def _capitalized(text: str) -> str:
    return text[:1].upper() + text[1:]


def funded(data: Data) -> Mail:
    """Every financer has committed: the grant, financer by financer, and its total."""
    shares = [
        (_capitalized(financer(name)) + _span(years), euros(_amount(years)))
        for name, years in _shares(data)
    ]
    total = data.get("total_cents")
    total_cents = (
        total if isinstance(total, int) else sum(_amount(years) for _, years in _shares(data))
    )
    return Mail(
        subject=f"Financement accordé : dossier {_dossier(data)}",
        paragraphs=(
            f"Le financement de votre dossier {_dossier(data)} est réuni : chacun de ses "
            "financeurs a engagé sa part.",
            "L'aide accordée, part par part, est la suivante.",
        ),
        facts=_dossier_facts(data) + tuple(shares) + (("Total", euros(total_cents)),),
    )


FUNDING_REFUSALS = {
    "over-line": "la ligne budgétaire ne peut plus engager ce montant",
    "over-yearly-ceiling": "le plafond annuel de la ligne est atteint",
    "over-request": "l'aide dépasse le montant demandé",
    "financer-declined": "un cofinanceur a retiré sa participation",
    "financer-timeout": "un cofinanceur n'a pas répondu dans le délai fixé",
    "year-outside-envelope": "une année du plan de financement est hors de la période du budget",
}
"""The reasons of ``FinancingRefusal``, in French (an unknown one gets a neutral sentence)."""


def funding_refused(data: Data) -> Mail:
    """The financing could not be arranged: the reason and the financer, never an amount (the
    event's ``detail`` is for operators and may name one)."""
    reason = FUNDING_REFUSALS.get(_text(data, "reason"), "le financement n'a pas pu être réuni")
    who = financer(_text(data, "financer")) if data.get("financer") else ""
    return Mail(
        subject=f"Financement non réuni : dossier {_dossier(data)}",
        paragraphs=(
            f"Votre dossier {_dossier(data)} avait été retenu, mais son financement n'a pas pu "
            "être réuni : aucune aide ne lui est accordée.",
            f"Motif : {reason}" + (f" ({who})." if who else "."),
        ),
        facts=_dossier_facts(data)
        + ((("Financeur concerné", who),) if who else ())
        + (("Motif", reason),),
    )


def _pole_name(data: Data) -> str:
    return _text(data, "pole_name", _text(data, "pole_id"))


def _contract(data: Data) -> str:
    return f"le contrat de performance du pôle {_pole_name(data)}"


def _contract_facts(data: Data) -> tuple[tuple[str, str], ...]:
    start, end = data.get("period_start_year"), data.get("period_end_year")
    deadline = read_instant(data.get("signature_deadline"))
    due = read_instant(data.get("due_at"))
    facts = [
        ("Contrat", _text(data, "contract_id")),
        ("Période", f"{start}-{end}" if start and end else ""),
        ("À signer avant le", date_time(deadline) if deadline else ""),
        ("Rapport de l'année", _text(data, "period")),
        ("Échéance du rapport", date_time(due) if due else ""),
    ]
    return tuple((label, value) for label, value in facts if value)


def about_contract(subject: str, *paragraphs: str) -> Callable[[Data], Mail]:
    """A reminder about a pôle's contract: ``{contract}`` (« le contrat de performance du pôle
    X ») and ``{pole}`` in the subject and paragraphs name it."""

    def template(data: Data) -> Mail:
        names = {"contract": _contract(data), "pole": _pole_name(data)}
        return Mail(
            subject=subject.format(**names),
            paragraphs=tuple(paragraph.format(**names) for paragraph in paragraphs),
            facts=_contract_facts(data),
        )

    return template


signature_request = about_contract(
    "Signature attendue : {contract}",
    "Le contrat de performance du pôle {pole} est ouvert à la signature.",
    "Votre signature est attendue : elle engage votre institution pour toute sa durée.",
)
signature_overdue = about_contract(
    "Rappel : {contract} attend votre signature",
    "Le délai de signature de {contract} est dépassé et votre signature manque.",
    "Merci de signer au plus vite : le contrat ne prend effet qu'une fois signé par tous.",
)
report_overdue = about_contract(
    "Rappel : rapport annuel en retard pour {contract}",
    "Le rapport annuel prévu par {contract} n'a pas été reçu à l'échéance.",
    "Merci de le transmettre au plus vite.",
)


def generic(event_type: str, data: Data) -> Mail:
    simple = [
        (field, str(value))
        for field, value in sorted(data.items())
        if isinstance(value, str | int | float | bool)
    ][:GENERIC_FIELDS_SHOWN]
    return Mail(
        subject=f"Pôles 2.0 : {event_type}",
        paragraphs=(f"Un événement auquel vous êtes abonné s'est produit : {event_type}.",),
        facts=tuple(simple),
    )


TEMPLATES: dict[str, Callable[[Data], Mail]] = {
    "calls.dossier.submitted.v1": receipt,
    "calls.dossier.found-eligible.v1": decision("Recevabilité", "est recevable"),
    "calls.dossier.found-ineligible.v1": decision(
        "Recevabilité", "n'est pas recevable", show_reasons=True
    ),
    "calls.dossier.preselected.v1": decision("Présélection", "a été présélectionné"),
    "calls.dossier.not-preselected.v1": decision(
        "Présélection", "n'a pas été présélectionné", show_reasons=True
    ),
    "calls.dossier.selected.v1": selected,
    "calls.dossier.not-selected.v1": decision(
        "Décision de sélection", "n'a pas été retenu", show_reasons=True
    ),
    "calls.dossier.funded.v1": funded,
    "calls.dossier.funding-refused.v1": funding_refused,
    "contracts.contract.opened-for-signature.v1": signature_request,
    "contracts.contract.signature-overdue.v1": signature_overdue,
    "contracts.contract.report-overdue.v1": report_overdue,
}
