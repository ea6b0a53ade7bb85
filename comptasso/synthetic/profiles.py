"""The six member archetypes of the demo group: staff, regular flows, invoices and grants."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from comptasso.synthetic.model import Party

ALL_MONTHS = tuple(range(1, 13))
SCHOOL_MONTHS = (1, 2, 3, 4, 5, 6, 9, 10, 11, 12)
MONTH_ENDS = tuple((0, month, 31, 1) for month in ALL_MONTHS)


@dataclass(frozen=True)
class Employee:
    """A salaried employee: monthly net pay in 2024 (EUR), hired N months before the end month."""

    net_2024: int
    hired_months_before_end: int | None = None


@dataclass(frozen=True)
class Flow:
    """A regular movement paid or received directly (no invoice).

    `base` is due every month (every week when `weekly`, on ISO weekday `day`), plus `peaks` in
    some months; income accounts bring money in, expense accounts take it out; `cash` flows go
    through the cash box (530) and are then deposited at the bank.
    """

    account: str
    payee: str
    label: str
    base: int
    day: int = 5
    peaks: tuple[tuple[int, int], ...] = ()
    jitter_pct: int = 0
    cash: bool = False
    weekly: bool = False

    def amount_for(self, month: int) -> int:
        return self.base + sum(extra for peak_month, extra in self.peaks if peak_month == month)


@dataclass(frozen=True)
class InvoiceSource:
    """Invoices issued (income account) or received (expense account) now and then."""

    account: str
    parties: tuple[Party, ...]
    label: str
    low: int
    high: int
    chance_pct: int
    months: tuple[int, ...] = ALL_MONTHS
    terms_days: int = 30
    pay_delay: tuple[int, int] = (-5, 20)
    split_pct: int = 10


@dataclass(frozen=True)
class GrantTemplate:
    """A grant renewed every year (`annual`), in even years (`even`), the first year only
    (`once`) or the last year only (`final`); tranches are (year offset, month, day, weight)."""

    funder: str
    ref: str
    label: str
    amount: int
    notified: tuple[int, int]
    tranches: tuple[tuple[int, int, int, int], ...]
    cycle: str = "annual"


@dataclass(frozen=True)
class ExtraPrevision:
    """A one-off planned flow written on the first day of the end month, for `months` months."""

    account: str
    label: str
    amount: int
    day: int
    months: int


@dataclass(frozen=True)
class Investment:
    """Equipment bought outright in the autumn of the last year (why the treasury is thin now)."""

    account: str
    payee: str
    label: str
    amount: int
    month: int
    day: int


@dataclass(frozen=True)
class Profile:
    """One archetype of member association."""

    key: str
    name: str
    bank: str
    staff: tuple[Employee, ...]
    flows: tuple[Flow, ...]
    invoices: tuple[InvoiceSource, ...]
    grants: tuple[GrantTemplate, ...]
    ge_share: int
    ge_pay_delay: tuple[int, int]
    target_months: Decimal
    cash_float: int
    extras: tuple[ExtraPrevision, ...] = ()
    externals: tuple[tuple[Party, int], ...] = ()
    investment: Investment | None = None

    @property
    def is_employer_group(self) -> bool:
        return bool(self.externals)


BANK_COOP = "Assets:512-CreditCoop"
BANK_MUTUEL = "Assets:512-CreditMutuel"
RENT = "Expenses:613-Locations"
TELECOM = "Expenses:626-Frais-Postaux-Telecom"
BANK_FEES = "Expenses:627-Services-Bancaires"
INSURANCE = "Expenses:616-Assurances"
PURCHASES = "Expenses:606-Achats-Non-Stockes"
GOODS = "Expenses:607-Achats-Marchandises"
SERVICES_BOUGHT = "Expenses:604-Achats-Prestations"
SUBCONTRACTING = "Expenses:611-Sous-Traitance"
UPKEEP = "Expenses:615-Entretien-Reparations"
ADVERTISING = "Expenses:623-Publicite"
TRAVEL = "Expenses:625-Deplacements"
FEES = "Expenses:6226-Honoraires"
SERVICES = "Income:706-Prestations"
SALES = "Income:707-Ventes"
DUES = "Income:756-Cotisations"

PRINTER = Party("Imprimerie-Alpine", "Imprimerie Alpine")
ENERGY = "Électricité et chauffage"
WINTER = ((1, 160), (2, 120), (11, 60), (12, 120))

VELO = Profile(
    key="velo-gap", name="Vélo Club Gapençais", bank=BANK_COOP,
    staff=(Employee(1850), Employee(2050)),
    flows=(
        Flow(RENT, "SCI Les Cèdres", "Loyer du local du club", 720, 5),
        Flow(TELECOM, "Orange", "Téléphone et internet", 62, 12, jitter_pct=4),
        Flow(BANK_FEES, "Crédit Coopératif", "Frais de tenue de compte", 19, 31),
        Flow(INSURANCE, "MAIF", "Assurance responsabilité civile et multirisque", 0, 15, ((1, 1380),)),
        Flow(TRAVEL, "Éducateurs sportifs", "Remboursement des frais de déplacement", 260, 28,
             jitter_pct=30),
        Flow(DUES, "Adhérents", "Licences et cotisations", 500, 10,
             ((9, 12000), (10, 4000), (1, 3000)), jitter_pct=12),
        Flow(SERVICES, "Stagiaires", "Stages vacances", 0, 20,
             ((2, 2900), (4, 2700), (7, 4200), (8, 3000), (10, 2100)), jitter_pct=15),
        Flow(SALES, "Buvette", "Recettes de la buvette des courses", 0, 14,
             ((4, 400), (5, 700), (6, 800), (9, 500), (10, 300)), jitter_pct=20, cash=True),
    ),
    invoices=(
        InvoiceSource(SERVICES, (Party("Mairie-De-Gap", "Ville de Gap — service des sports"),),
                      "Animations « Savoir rouler à vélo » dans les écoles", 800, 2400, 30,
                      SCHOOL_MONTHS, pay_delay=(0, 35)),
        InvoiceSource(SERVICES, (Party("College-Fontreyne", "Collège de Fontreyne"),
                                 Party("Lycee-Aristide-Briand", "Lycée Aristide-Briand")),
                      "Cycle VTT de l'association sportive scolaire", 500, 1400, 20, SCHOOL_MONTHS),
        InvoiceSource(PURCHASES, (Party("Cycles-Alpins", "Cycles Alpins"),
                                  Party("Decathlon-Gap", "Decathlon Gap")),
                      "Pièces détachées et petit matériel", 200, 1400, 55, pay_delay=(-10, 10)),
        InvoiceSource(ADVERTISING, (PRINTER,), "Affiches et flyers des courses", 250, 900, 15),
        InvoiceSource(TRAVEL, (Party("Autocars-Resalp", "Autocars Resalp"),),
                      "Transport des jeunes en compétition", 450, 1300, 25, (3, 4, 5, 6, 7, 8, 9, 10)),
    ),
    grants=(
        GrantTemplate("region-sud", "REG-{y}-{n:04d}", "Aide à l'emploi sportif associatif", 24000,
                      (3, 18), ((0, 4, 30, 50), (0, 10, 31, 50))),
        GrantTemplate("departement-05", "CD05-{y}-{n:03d}", "Soutien aux clubs sportifs", 14000,
                      (5, 14), ((0, 6, 30, 60), (0, 12, 15, 40))),
        GrantTemplate("ville-gap", "GAP-{y}-{n:03d}", "Subvention de fonctionnement", 11000,
                      (2, 6), ((0, 3, 31, 1),)),
        GrantTemplate("etat-fdva", "FDVA-{y}-{n:03d}", "FDVA — formation des bénévoles", 3500,
                      (5, 28), ((0, 7, 31, 1),)),
        GrantTemplate("fondation-de-france", "FDF-{y}-{n:05d}",
                      "Appel à projets « Sport, santé et inclusion »", 8000,
                      (10, 15), ((1, 1, 31, 60), (1, 6, 30, 40)), "final"),
    ),
    ge_share=1150, ge_pay_delay=(0, 20), target_months=Decimal("1.0"), cash_float=150,
    investment=Investment("Assets:2182-Materiel-Transport", "Garage Alpes Auto",
                          "Achat d'un minibus 9 places d'occasion", 16500, 9, 22),
)

GRANGE = Profile(
    key="grange-ecrins", name="La Grange des Écrins", bank=BANK_COOP,
    staff=(Employee(1750), Employee(1900), Employee(2200)),
    flows=(
        Flow(RENT, "SCI de la Grange", "Loyer de la salle", 1100, 5),
        Flow(TELECOM, "Free Pro", "Téléphone et internet", 75, 12),
        Flow(BANK_FEES, "Crédit Coopératif", "Frais de tenue de compte", 24, 31),
        Flow(INSURANCE, "Groupama", "Assurance multirisque de la salle", 0, 15, ((1, 2100),)),
        Flow(PURCHASES, "EDF Collectivités", ENERGY, 380, 18, WINTER, jitter_pct=10),
        Flow(SERVICES, "Billetterie en ligne", "Reversement de la billetterie en ligne", 3500, 8,
             ((2, 3800), (3, 1800), (7, 4500), (8, 5200), (12, 2400)), jitter_pct=15),
        Flow(SALES, "Bar", "Recettes du bar", 1200, 20,
             ((2, 500), (7, 1300), (8, 1500), (12, 400)), jitter_pct=20, cash=True),
    ),
    invoices=(
        InvoiceSource(SERVICES, (Party("Mairie-De-Briancon", "Ville de Briançon — service culturel"),
                                 Party("Office-Tourisme-Serre-Chevalier",
                                       "Office de tourisme de Serre-Chevalier")),
                      "Co-réalisation de spectacles", 1200, 3800, 30, pay_delay=(0, 40)),
        InvoiceSource(SERVICES, (Party("Lycee-D-Altitude", "Lycée d'altitude de Briançon"),),
                      "Ateliers d'éducation artistique et culturelle", 400, 1200, 25, SCHOOL_MONTHS),
        InvoiceSource(GOODS, (Party("Brasserie-Du-Queyras", "Brasserie du Queyras"),
                              Party("Cave-Des-Hautes-Alpes", "Cave des Hautes-Alpes")),
                      "Boissons pour le bar", 250, 900, 70),
        InvoiceSource(SERVICES_BOUGHT, (Party("Compagnie-Des-Hauts-Plateaux", "Compagnie des Hauts-Plateaux"),
                                        Party("Collectif-La-Bobine", "Collectif La Bobine"),
                                        Party("Trio-Durance-Swing", "Trio Durance Swing")),
                      "Cession du droit d'exploitation d'un spectacle", 1200, 3500, 45, pay_delay=(-5, 25)),
        InvoiceSource(RENT, (Party("Techniscene-Alpes", "Techniscène Alpes"),),
                      "Location de matériel son et lumière", 300, 1200, 25),
        InvoiceSource(ADVERTISING, (PRINTER,), "Programme de saison et affiches", 400, 1100, 15),
    ),
    grants=(
        GrantTemplate("leader-alpes", "LEADER-{y}-{n:03d}", "Programme culturel itinérant en vallées",
                      36000, (3, 12), ((0, 6, 30, 40), (1, 6, 30, 60)), "even"),
        GrantTemplate("region-sud", "REG-{y}-{n:04d}", "Soutien aux lieux de diffusion culturelle",
                      20000, (4, 9), ((0, 5, 31, 50), (0, 10, 31, 50))),
        GrantTemplate("departement-05", "CD05-{y}-{n:03d}", "Aide à la diffusion culturelle", 12000,
                      (5, 20), ((0, 6, 30, 60), (0, 12, 15, 40))),
        GrantTemplate("ville-briancon", "BRI-{y}-{n:03d}", "Subvention de fonctionnement", 18000,
                      (2, 15), ((0, 3, 31, 50), (0, 9, 30, 50))),
    ),
    ge_share=1400, ge_pay_delay=(0, 25), target_months=Decimal("0.9"), cash_float=200,
    extras=(ExtraPrevision(RENT, "Location de matériel scénique (saison d'hiver)", -450, 10, 4),),
    investment=Investment("Assets:2135-Installations-Amenagements", "Menuiserie du Guil",
                          "Travaux de mise aux normes de l'accessibilité de la salle", 14800, 10, 6),
)

RESSOURCERIE = Profile(
    key="ressourcerie-durance", name="Ressourcerie de la Durance", bank=BANK_COOP,
    staff=(Employee(1650), Employee(1680), Employee(1720), Employee(1900), Employee(2250)),
    flows=(
        Flow(RENT, "SCI Le Hangar", "Loyer de l'entrepôt et de la boutique", 1450, 5),
        Flow(TELECOM, "Orange", "Téléphone et internet", 85, 12),
        Flow(BANK_FEES, "Crédit Coopératif", "Frais de tenue de compte", 27, 31),
        Flow(INSURANCE, "MAIF", "Assurance des véhicules et des locaux", 0, 15, ((1, 2600),)),
        Flow(PURCHASES, "TotalEnergies", "Carburant du camion de collecte", 420, 22, jitter_pct=20),
        Flow(SALES, "Boutique", "Ventes de la boutique (remise carte bancaire)", 1500, 6,
             jitter_pct=20, weekly=True),
        Flow(SALES, "Boutique", "Ventes de la boutique en espèces", 2200, 16, jitter_pct=15, cash=True),
    ),
    invoices=(
        InvoiceSource(SERVICES, (Party("Cc-Serre-Poncon", "Communauté de communes de Serre-Ponçon"),),
                      "Collecte des encombrants (convention de prestation)", 2600, 3200, 100,
                      pay_delay=(0, 30), split_pct=0),
        InvoiceSource(SERVICES, (Party("Ecomaison", "Ecomaison (éco-organisme)"),),
                      "Soutien au réemploi — déclaration trimestrielle", 3000, 4800, 100, (1, 4, 7, 10),
                      pay_delay=(5, 40)),
        InvoiceSource(SERVICES, (Party("Mairie-D-Embrun", "Ville d'Embrun"),
                                 Party("Lycee-Honore-Romane", "Lycée Honoré-Romane")),
                      "Débarras et ateliers de réparation", 300, 1200, 30),
        InvoiceSource(UPKEEP, (Party("Garage-Du-Pont", "Garage du Pont"),), "Entretien du camion",
                      250, 1500, 25),
        InvoiceSource(SUBCONTRACTING, (Party("Alpes-Environnement", "Alpes Environnement"),),
                      "Évacuation des déchets non réemployables", 200, 700, 50),
        InvoiceSource(PURCHASES, (Party("Brico-Durance", "Brico Durance"),), "Fournitures d'atelier",
                      100, 600, 40),
    ),
    grants=(
        GrantTemplate("fse-plus", "FSE-{y}-ALP-{n:02d}", "Parcours d'insertion par le réemploi", 46000,
                      (3, 8), ((0, 6, 30, 30), (1, 6, 30, 70)), "even"),
        GrantTemplate("departement-05", "CD05-{y}-{n:03d}", "Chantier d'insertion — aide au poste",
                      22000, (4, 2), ((0, 6, 30, 60), (0, 12, 15, 40))),
        GrantTemplate("region-sud", "REG-{y}-{n:04d}", "Économie circulaire et réemploi", 15000,
                      (3, 25), ((0, 4, 30, 50), (0, 10, 31, 50))),
    ),
    ge_share=2300, ge_pay_delay=(-5, 10), target_months=Decimal("6.0"), cash_float=300,
)

CRECHE = Profile(
    key="creche-marmottes", name="Crèche parentale Les Marmottes", bank=BANK_MUTUEL,
    staff=(Employee(1650), Employee(1700), Employee(1750), Employee(1800), Employee(1950),
           Employee(2250)),
    flows=(
        Flow(RENT, "Office public de l'habitat des Hautes-Alpes", "Loyer des locaux de la crèche", 1350, 5),
        Flow(TELECOM, "Orange", "Téléphone et internet", 58, 12),
        Flow(BANK_FEES, "Crédit Mutuel", "Frais de tenue de compte", 16, 31),
        Flow(INSURANCE, "MAIF", "Assurance des locaux et responsabilité civile", 0, 15, ((1, 1650),)),
        Flow(PURCHASES, "EDF Collectivités", ENERGY, 260, 18, WINTER, jitter_pct=10),
        Flow(SERVICES, "Familles", "Participations des familles (prélèvements)", 7200, 10,
             ((8, -3600),), jitter_pct=5),
        Flow(DUES, "Familles", "Adhésions annuelles des familles", 0, 15, ((9, 1300),)),
    ),
    invoices=(
        InvoiceSource(PURCHASES, (Party("Biocoop-Gap", "Biocoop Gap"),
                                  Party("Primeurs-Du-Champsaur", "Primeurs du Champsaur")),
                      "Denrées alimentaires pour les repas", 500, 1300, 90, pay_delay=(-5, 10)),
        InvoiceSource(PURCHASES, (Party("Pharmacie-Du-Centre", "Pharmacie du Centre"),),
                      "Produits d'hygiène et de soin", 100, 400, 40),
        InvoiceSource(UPKEEP, (Party("Alpes-Nettoyage", "Alpes Nettoyage"),), "Entretien des locaux",
                      350, 650, 100, split_pct=0),
    ),
    grants=(
        GrantTemplate("caf-05", "CAF05-PSU-{y}-{n:03d}", "Prestation de service unique — acomptes mensuels",
                      126000, (1, 19), MONTH_ENDS),
        GrantTemplate("ville-gap", "GAP-{y}-{n:03d}", "Contrat de développement petite enfance", 32000,
                      (2, 10), ((0, 3, 31, 1), (0, 6, 30, 1), (0, 9, 30, 1), (0, 12, 15, 1))),
        GrantTemplate("departement-05", "CD05-{y}-{n:03d}",
                      "Accueil des enfants en situation de handicap", 6000, (6, 5), ((0, 7, 31, 1),)),
    ),
    ge_share=1800, ge_pay_delay=(-3, 8), target_months=Decimal("2.6"), cash_float=120,
)

MJC = Profile(
    key="mjc-embrun", name="MJC de l'Embrunais", bank=BANK_COOP,
    staff=(Employee(1650), Employee(1750), Employee(1850), Employee(1950), Employee(2200),
           Employee(1700, hired_months_before_end=2)),
    flows=(
        Flow(RENT, "Ville d'Embrun", "Redevance d'occupation des locaux", 420, 5),
        Flow(TELECOM, "Orange", "Téléphone et internet", 70, 12),
        Flow(BANK_FEES, "Crédit Coopératif", "Frais de tenue de compte", 21, 31),
        Flow(INSURANCE, "MAIF", "Assurance multirisque et responsabilité civile", 0, 15, ((1, 1900),)),
        Flow(PURCHASES, "EDF Collectivités", ENERGY, 240, 18, WINTER, jitter_pct=10),
        Flow(TRAVEL, "Animateurs", "Remboursement des frais de déplacement", 180, 28, jitter_pct=30),
        Flow(SERVICES, "Adhérents", "Inscriptions aux activités", 1500, 10,
             ((9, 15000), (10, 4000), (1, 7000), (4, 4500)), jitter_pct=10),
        Flow(DUES, "Adhérents", "Adhésions à la MJC", 150, 10, ((9, 3800), (10, 900)), jitter_pct=10),
    ),
    invoices=(
        InvoiceSource(SERVICES, (Party("Mairie-D-Embrun", "Ville d'Embrun"),),
                      "Accueil périscolaire et mercredis", 2400, 3400, 100, SCHOOL_MONTHS,
                      pay_delay=(5, 45)),
        InvoiceSource(SERVICES, (Party("College-Les-Ecrins", "Collège Les Écrins"),),
                      "Ateliers au collège", 400, 1200, 20, SCHOOL_MONTHS),
        InvoiceSource(SERVICES_BOUGHT, (Party("Atelier-Terre-Et-Feu", "Atelier Terre et Feu"),
                                        Party("Ecole-De-Musique-Embrunaise", "École de musique embrunaise"),
                                        Party("Escalade-Durance", "Escalade Durance")),
                      "Intervention d'un prestataire d'activité", 400, 1800, 50, pay_delay=(0, 30)),
        InvoiceSource(PURCHASES, (Party("Brico-Durance", "Brico Durance"),), "Matériel pédagogique",
                      150, 900, 40),
        InvoiceSource(TRAVEL, (Party("Autocars-Scal", "Autocars SCAL"),),
                      "Transport pour les sorties du centre de loisirs", 350, 1200, 60, (2, 4, 7, 8, 10)),
    ),
    grants=(
        GrantTemplate("caf-05", "CAF05-ALSH-{y}-{n:03d}", "Accueil de loisirs sans hébergement", 38000,
                      (1, 26), ((0, 3, 31, 1), (0, 6, 30, 1), (0, 9, 30, 1), (0, 12, 31, 1))),
        GrantTemplate("etat-fdva", "FDVA-{y}-{n:03d}", "FDVA — fonctionnement et innovation", 12000,
                      (6, 20), ((0, 12, 31, 1),)),
        GrantTemplate("ccsp", "CCSP-{y}-{n:03d}", "Politique jeunesse intercommunale", 34000,
                      (3, 5), ((0, 3, 31, 50), (0, 12, 31, 50))),
        GrantTemplate("ville-embrun", "EMB-{y}-{n:03d}", "Subvention de fonctionnement", 22000,
                      (2, 20), ((0, 2, 28, 50), (0, 6, 30, 50))),
        GrantTemplate("departement-05", "CD05-{y}-{n:03d}", "Éducation populaire et jeunesse", 8000,
                      (5, 6), ((0, 6, 30, 60), (0, 12, 15, 40))),
        GrantTemplate("leader-alpes", "LEADER-{y}-{n:03d}", "Fab-lab rural itinérant", 20000,
                      (4, 15), ((0, 6, 30, 50), (1, 3, 31, 50)), "once"),
    ),
    ge_share=1600, ge_pay_delay=(10, 45), target_months=Decimal("1.0"), cash_float=100,
)

GE = Profile(
    key="ge-alpes-sud", name="Groupement d'employeurs Alpes Sud", bank=BANK_COOP,
    staff=tuple(Employee(net) for net in (1700, 1750, 1800, 1850, 1900, 2000, 2100, 2250, 2400)),
    flows=(
        Flow(RENT, "SCI Les Cèdres", "Loyer des bureaux", 950, 5),
        Flow(TELECOM, "Orange", "Téléphone et internet", 95, 12),
        Flow(BANK_FEES, "Crédit Coopératif", "Frais de tenue de compte", 32, 31),
        Flow(INSURANCE, "MAIF", "Assurance responsabilité civile employeur", 0, 15, ((1, 2400),)),
        Flow(TRAVEL, "Salariés mis à disposition", "Remboursement des frais de déplacement", 850, 28,
             jitter_pct=25),
        Flow(DUES, "Adhérents du groupement", "Cotisations annuelles des adhérents", 0, 20, ((1, 2250),)),
    ),
    invoices=(
        InvoiceSource(FEES, (Party("Cabinet-Durance-Expertise", "Cabinet Durance Expertise"),),
                      "Honoraires d'expertise comptable et sociale", 900, 1600, 100, (1, 4, 7, 10)),
        InvoiceSource(PURCHASES, (Party("Bureau-Vallee-Gap", "Bureau Vallée Gap"),), "Fournitures de bureau",
                      80, 400, 40),
    ),
    grants=(
        GrantTemplate("region-sud", "REG-{y}-{n:04d}", "Emploi partagé dans les groupements d'employeurs",
                      16000, (4, 20), ((0, 5, 31, 50), (0, 10, 31, 50))),
        GrantTemplate("fse-plus", "FSE-{y}-ALP-{n:02d}", "Formation des salariés mis à disposition",
                      36000, (6, 3), ((0, 9, 30, 40), (1, 6, 30, 60)), "even"),
    ),
    ge_share=0, ge_pay_delay=(0, 0), target_months=Decimal("5.0"), cash_float=100,
    externals=(
        (Party("Commune-De-Chorges", "Commune de Chorges"), 3200),
        (Party("Ehpad-Les-Tilleuls", "EHPAD Les Tilleuls"), 6800),
        (Party("Office-Tourisme-Serre-Poncon", "Office de tourisme de Serre-Ponçon"), 3600),
        (Party("Cooperative-Fruitiere-Du-Champsaur", "Coopérative fruitière du Champsaur"), 4500),
    ),
)

#: The archetypes in the order of the demo group (and of the cycle of synthetic groups).
ARCHETYPES: tuple[Profile, ...] = (VELO, GRANGE, RESSOURCERIE, CRECHE, MJC, GE)
