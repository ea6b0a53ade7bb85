"""The grant funders of the demo group, their payment delays and `rules/funders.toml`."""

from __future__ import annotations

from dataclasses import dataclass

from comptasso.synthetic.basics import component


@dataclass(frozen=True)
class Funder:
    """A funder: id, official name, kind, payee in the books, default and drawn delays (days)."""

    id: str
    name: str
    kind: str
    payee: str
    default_delay_days: int
    delay_range: tuple[int, int]

    @property
    def component(self) -> str:
        return component(self.id)


FUNDERS: tuple[Funder, ...] = (
    Funder("caf-05", "Caisse d'allocations familiales des Hautes-Alpes", "caf",
           "CAF des Hautes-Alpes", 20, (10, 30)),
    Funder("ville-gap", "Ville de Gap", "commune", "Ville de Gap", 30, (20, 45)),
    Funder("ville-briancon", "Ville de Briançon", "commune", "Ville de Briançon", 30, (20, 45)),
    Funder("ville-embrun", "Ville d'Embrun", "commune", "Ville d'Embrun", 30, (20, 45)),
    Funder("ccsp", "Communauté de communes de Serre-Ponçon", "epci",
           "Communauté de communes de Serre-Ponçon", 30, (15, 50)),
    Funder("departement-05", "Département des Hautes-Alpes", "departement",
           "Département des Hautes-Alpes", 50, (30, 75)),
    Funder("etat-fdva", "État — Fonds pour le développement de la vie associative (FDVA)", "etat",
           "SDJES des Hautes-Alpes (FDVA)", 70, (45, 100)),
    Funder("region-sud", "Région Provence-Alpes-Côte d'Azur", "region", "Région Sud", 95, (60, 130)),
    Funder("fse-plus", "Union européenne — Fonds social européen plus (FSE+)", "europe",
           "Union européenne (FSE+)", 300, (200, 420)),
    Funder("leader-alpes", "Union européenne — programme LEADER (FEADER), GAL du Grand Briançonnais",
           "europe", "GAL du Grand Briançonnais (LEADER)", 270, (180, 360)),
    Funder("fondation-de-france", "Fondation de France", "fondation", "Fondation de France", 45, (30, 60)),
)

_BY_ID = {f.id: f for f in FUNDERS}


def funder(funder_id: str) -> Funder:
    """The funder of an id."""
    return _BY_ID[funder_id]


def funders_toml() -> str:
    """The text of `rules/funders.toml`."""
    lines = [
        "# Financeurs des subventions du groupement : un tableau [[funders]] par financeur.",
        "# id : identifiant cité par la métadonnée « funder » des conventions ;",
        "# kind : etat, region, departement, commune, epci, caf, europe, fondation ou autre ;",
        "# default_delay_days : délai de paiement supposé (en jours après la date d'échéance)",
        "# tant que les livres ne contiennent aucune tranche payée de ce financeur.",
    ]
    for item in FUNDERS:
        lines += [
            "",
            "[[funders]]",
            f'id = "{item.id}"',
            f'name = "{item.name}"',
            f'kind = "{item.kind}"',
            f"default_delay_days = {item.default_delay_days}",
        ]
    return "\n".join(lines) + "\n"
