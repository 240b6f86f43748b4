"""Numbers that derive from the primary key (`ORD-00042`): unique, and never reused. A numbered model
names its `number_prefix`; the services save a new object, then give it its number."""


def number_of(model, pk: int) -> str:
    """The number the primary key `pk` gives an object of `model`."""
    return f"{model.number_prefix}-{pk:05d}"


def number_assign(obj) -> None:
    """Give a just-saved object the number its primary key makes, and save it."""
    obj.number = number_of(type(obj), obj.pk)
    obj.save(update_fields=["number"])
