"""Demo accounts: French and US companies, in EUR and USD, so the first screen looks like a business."""

from decimal import Decimal

from customers import services
from customers.models import Account

FRENCH = [
    ("Boulangeries Martin", "Boulangeries Martin SAS", "Lyon", "69002", "12 rue de la République"),
    ("Atelier Dufresne", "Atelier Dufresne SARL", "Nantes", "44000", "4 quai de la Fosse"),
    ("Transports Lefèvre", "Transports Lefèvre SA", "Lille", "59000", "88 boulevard de la Liberté"),
    ("Clinique Saint-Roch", "Clinique Saint-Roch SAS", "Montpellier", "34000", "560 avenue du Père Soulas"),
    ("Cabinet Moreau Avocats", "Moreau & Associés SELARL", "Paris", "75008", "21 rue du Faubourg Saint-Honoré"),
    ("Vignobles Castel", "Vignobles Castel SCEA", "Bordeaux", "33000", "3 cours du Médoc"),
    ("Mécanique Girard", "Mécanique Girard SAS", "Grenoble", "38000", "15 rue Ampère"),
    ("Librairie Papillon", "Librairie Papillon SARL", "Toulouse", "31000", "9 rue des Lois"),
    ("Hôtel des Arts", "Hôtel des Arts SAS", "Nice", "06000", "2 promenade des Anglais"),
    ("Fromagerie Rousseau", "Fromagerie Rousseau SAS", "Annecy", "74000", "7 rue Royale"),
    ("Groupe Bernard Immobilier", "Bernard Immobilier SA", "Paris", "75016", "45 avenue Kléber"),
    ("Énergies Solaires du Sud", "ESS Énergie SAS", "Marseille", "13002", "30 quai du Lazaret"),
    ("Agence Lumière", "Agence Lumière SARL", "Rennes", "35000", "11 rue de Brest"),
    ("Pharmacie Centrale Dubois", "Pharmacie Dubois SELAS", "Strasbourg", "67000", "5 place Kléber"),
    ("Chocolaterie Fontaine", "Chocolaterie Fontaine SAS", "Dijon", "21000", "19 rue de la Liberté"),
    ("Logistique Mercier", "Mercier Logistique SAS", "Le Havre", "76600", "1 quai de Southampton"),
    ("Studio Garnier Design", "Garnier Design SARL", "Paris", "75011", "62 rue Oberkampf"),
    ("Coopérative Agricole de Beauce", "CA Beauce SCA", "Chartres", "28000", "14 rue du Grand Faubourg"),
    ("Éditions Lambert", "Éditions Lambert SA", "Paris", "75006", "8 rue Jacob"),
    ("Menuiserie Perrin", "Perrin Menuiserie SARL", "Tours", "37000", "27 rue Nationale"),
    ("Laboratoires Chevalier", "Laboratoires Chevalier SAS", "Lyon", "69007", "100 avenue Tony Garnier"),
    ("Auto-École Faure", "Auto-École Faure SARL", "Clermont-Ferrand", "63000", "6 place de Jaude"),
    ("Brasserie du Vieux Port", "BVP Restauration SAS", "Marseille", "13001", "18 quai des Belges"),
    ("Informatique Roux Services", "Roux Services SAS", "Sophia Antipolis", "06560", "2000 route des Lucioles"),
    ("Textiles Blanchard", "Blanchard Textiles SA", "Roubaix", "59100", "40 rue de l'Epeule"),
]
AMERICAN = [
    ("Northwind Traders", "Northwind Traders Inc.", "Seattle", "WA", "98101", "1200 5th Ave"),
    ("Blue Ridge Analytics", "Blue Ridge Analytics LLC", "Asheville", "NC", "28801", "45 Biltmore Ave"),
    ("Harbor Freight Logistics", "Harbor Freight Logistics Corp.", "Baltimore", "MD", "21202", "600 E Pratt St"),
    ("Cedar & Pine Dental", "Cedar & Pine Dental PC", "Portland", "OR", "97205", "1515 SW 5th Ave"),
    ("Lone Star Fabrication", "Lone Star Fabrication Inc.", "Austin", "TX", "78701", "301 Congress Ave"),
    ("Great Lakes Brewing Supply", "GLB Supply Co.", "Milwaukee", "WI", "53202", "777 E Wisconsin Ave"),
    ("Sunrise Pediatrics", "Sunrise Pediatrics PA", "Tampa", "FL", "33602", "100 N Tampa St"),
    ("Summit Outdoor Gear", "Summit Outdoor Gear Inc.", "Denver", "CO", "80202", "1700 Lincoln St"),
    ("Redwood Legal Partners", "Redwood Legal Partners LLP", "San Francisco", "CA", "94105", "101 California St"),
    ("Empire Property Group", "Empire Property Group LLC", "New York", "NY", "10118", "350 5th Ave"),
    ("Prairie Wind Energy", "Prairie Wind Energy Corp.", "Des Moines", "IA", "50309", "801 Grand Ave"),
    ("Magnolia Hospitality", "Magnolia Hospitality Group", "New Orleans", "LA", "70130", "400 Poydras St"),
    ("Bayside Marine Services", "Bayside Marine Services Inc.", "San Diego", "CA", "92101", "600 W Broadway"),
    ("Keystone Manufacturing", "Keystone Manufacturing Co.", "Pittsburgh", "PA", "15222", "11 Stanwix St"),
    ("Desert Bloom Wellness", "Desert Bloom Wellness LLC", "Phoenix", "AZ", "85004", "2 N Central Ave"),
    ("Copper Canyon Mining Supply", "CCM Supply Inc.", "Salt Lake City", "UT", "84111", "222 S Main St"),
    ("Riverbend Veterinary", "Riverbend Veterinary PLLC", "Nashville", "TN", "37203", "150 3rd Ave S"),
    ("Atlas Freight Brokers", "Atlas Freight Brokers Inc.", "Chicago", "IL", "60606", "233 S Wacker Dr"),
    ("Evergreen School District Foundation", "Evergreen Education Foundation", "Olympia", "WA", "98501", "111 Market St NE"),
    ("Beacon Hill Architects", "Beacon Hill Architects Inc.", "Boston", "MA", "02108", "1 Beacon St"),
    ("Silverline Software", "Silverline Software Inc.", "Raleigh", "NC", "27601", "150 Fayetteville St"),
    ("Gulf Coast Seafood Co.", "Gulf Coast Seafood Company", "Houston", "TX", "77002", "1000 Main St"),
    ("Mountain View Orthopedics", "Mountain View Orthopedics PC", "Boise", "ID", "83702", "800 W Main St"),
    ("Liberty Print & Sign", "Liberty Print & Sign LLC", "Philadelphia", "PA", "19106", "500 Market St"),
    ("Pioneer Ag Equipment", "Pioneer Ag Equipment Inc.", "Omaha", "NE", "68102", "1650 Farnam St"),
]


def seed(*, owners: list, stdout=None) -> list[Account]:
    """Create the demo accounts once (matched by name), spread over the sales owners."""
    accounts = []
    existing = set(Account.objects.values_list("name", flat=True))
    for i, (name, legal, city, postal, street) in enumerate(FRENCH):
        if name in existing:
            continue
        accounts.append(
            services.account_create(
                actor=None,
                data={
                    "name": name, "legal_name": legal, "address_line1": street, "postal_code": postal, "city": city,
                    "country": "FR", "tax_id": f"FR{(i * 7919) % 100:02d}{123456789 + i * 1111:09d}",
                    "currency": "EUR", "language": "fr", "payment_terms_days": (30, 45, 60)[i % 3],
                    "billing_day": (1, 1, 5, 15, 28)[i % 5], "credit_limit_amount": Decimal((20000, 50000, 10000, 0)[i % 4]),
                    "credit_hold": i == 7, "billing_emails": f"compta@{_slug(name)}.fr",
                    "sales_owner": owners[i % len(owners)] if owners else None, "tax_exempt": False,
                },
            )
        )
    for i, (name, legal, city, region, postal, street) in enumerate(AMERICAN):
        if name in existing:
            continue
        accounts.append(
            services.account_create(
                actor=None,
                data={
                    "name": name, "legal_name": legal, "address_line1": street, "postal_code": postal, "city": city,
                    "region": region, "country": "US", "tax_id": f"{12 + i:02d}-{3456789 + i * 13:07d}",
                    "currency": "USD", "language": "en", "payment_terms_days": (30, 15, 45)[i % 3],
                    "billing_day": (1, 10, 1, 20)[i % 4], "credit_limit_amount": Decimal((25000, 100000, 15000, 0)[i % 4]),
                    "credit_hold": i == 11, "billing_emails": f"ap@{_slug(name)}.com",
                    "sales_owner": owners[(i + 1) % len(owners)] if owners else None,
                    "tax_exempt": name.startswith("Evergreen"),
                },
            )
        )
    for account in accounts:
        first = "Claire" if account.country == "FR" else "Jordan"
        last = "Durand" if account.country == "FR" else "Miller"
        services.contact_create(
            account=account, actor=None,
            data={
                "first_name": first, "last_name": last, "email": account.billing_email_list[0],
                "title": "Comptable" if account.country == "FR" else "Accounts Payable", "is_billing_contact": True,
            },
        )
    if stdout:
        stdout.write(f"  accounts: {len(accounts)} created, {len(existing)} already there")
    return accounts


def _slug(name: str) -> str:
    import unicodedata

    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return "".join(ch for ch in ascii_name.lower() if ch.isalnum())[:24]
