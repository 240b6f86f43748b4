"""Catalog writes. Every change is validated here, saved in one transaction and audited."""

from .entries import ENTRY_FIELDS, TIER_FIELDS, USAGE_MODELS, entry_save
from .products import (
    PRICE_BOOK_FIELDS,
    PRODUCT_FIELDS,
    price_book_create,
    price_book_update,
    product_create,
    product_update,
)
from .rules import (
    BILLING_RULE_FIELDS,
    FAMILY_FIELDS,
    LEGAL_ENTITY_FIELDS,
    TAX_RATE_FIELDS,
    TAX_RULE_FIELDS,
    billing_rule_create,
    billing_rule_update,
    legal_entity_create,
    legal_entity_update,
    product_family_create,
    product_family_update,
    tax_rule_create,
    tax_rule_update,
)

__all__ = [
    "BILLING_RULE_FIELDS", "ENTRY_FIELDS", "FAMILY_FIELDS", "LEGAL_ENTITY_FIELDS", "PRICE_BOOK_FIELDS",
    "PRODUCT_FIELDS", "TAX_RATE_FIELDS", "TAX_RULE_FIELDS", "TIER_FIELDS", "USAGE_MODELS",
    "billing_rule_create", "billing_rule_update", "entry_save", "legal_entity_create", "legal_entity_update",
    "price_book_create", "price_book_update", "product_create", "product_family_create", "product_family_update",
    "product_update", "tax_rule_create", "tax_rule_update",
]
