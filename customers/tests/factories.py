from decimal import Decimal

import factory

from customers.models import Account, Contact


class AccountFactory(factory.django.DjangoModelFactory):
    """A draft-free starting state: an active EUR account in France."""

    class Meta:
        model = Account

    number = factory.Sequence(lambda n: f"ACC-T{n:05d}")
    name = factory.Sequence(lambda n: f"Client {n}")
    legal_name = factory.LazyAttribute(lambda o: f"{o.name} SAS")
    country = "FR"
    city = "Paris"
    currency = "EUR"
    language = "en"
    payment_terms_days = 30
    billing_day = 1
    credit_limit_amount = Decimal("10000.00")
    billing_emails = factory.Sequence(lambda n: f"billing{n}@client.test")


class ContactFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Contact

    account = factory.SubFactory(AccountFactory)
    first_name = "Claire"
    last_name = "Durand"
    email = factory.Sequence(lambda n: f"contact{n}@client.test")
