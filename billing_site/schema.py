from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField(help_text="Machine-readable: invalid, not_found, permission_denied, invalid_transition, …")
    message = serializers.CharField(help_text="The reason, for people: the first field error or the rule that refused.")
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()),
                                   help_text="Each invalid field with its messages.")


class ErrorSerializer(serializers.Serializer):
    error = ErrorDetailSerializer()


ERROR_RESPONSES = {
    "400": "Invalid input: `fields` names each field with its messages.",
    "401": "No token or session, or a bad token.",
    "403": "The user's role does not allow this operation.",
    "404": "No such object.",
    "405": "The method is not allowed on this URL.",
    "406": "The Accept header asks for a format the API does not serve.",
    "409": "The object's state refuses it (already posted, cancelled, …) or the Idempotency-Key was used with another body.",
    "413": "The request body is over the size limit.",
    "415": "The request body's media type is not accepted.",
    "429": "Too many requests or failed sign-ins: wait, or ask an Admin to lift the lock.",
}
# Declared on every operation, so a client (and the API fuzzer in `tests/test_api_fuzz.py`) knows a
# 4xx in the one error format is a documented answer.
ERRORS_EVERYWHERE = ("400", "401", "403", "404", "405", "406", "429")
ERRORS_OF_WRITES = ("409", "413", "415")


STANDARD_ACTIONS = {"list", "retrieve", "create", "update", "partial_update", "destroy"}


class AutoSchema(SpectacularAutoSchema):
    """Documents the Idempotency-Key header on every POST and the error answers of every operation."""

    def get_operation_id(self):
        """`<resource>_<action>`: `quotes_submit`, `orders_activate`, `invoices_post` (no `_create` on actions)."""
        operation_id = super().get_operation_id()
        action = getattr(self.view, "action", None)
        # A custom viewset action, or a plain APIView (which does one thing): its name is the operation.
        # An action answering several methods keeps the method in its id (`contracts_amendments_retrieve`
        # and `contracts_amendments_create`), or the two would collide.
        methods = getattr(getattr(self.view, action or "", None), "mapping", {})
        if action not in STANDARD_ACTIONS and len(methods) <= 1:
            for suffix in ("_create", "_retrieve", "_list"):
                if operation_id.endswith(suffix):
                    return operation_id.removesuffix(suffix)
        return operation_id

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        ref = self.resolve_serializer(ErrorSerializer, "response").ref
        codes = ERRORS_EVERYWHERE + (ERRORS_OF_WRITES if self.method in ("POST", "PUT", "PATCH", "DELETE") else ())
        for code in sorted(codes):
            operation["responses"].setdefault(
                code, {"content": {"application/json": {"schema": ref}}, "description": ERROR_RESPONSES[code]}
            )
        return operation

    def _map_basic_serializer(self, serializer, direction):
        """A list's summary item: the fields `?expand=` adds are documented as optional, and say so."""
        schema = super()._map_basic_serializer(serializer, direction)
        expandable = getattr(serializer, "expandable_fields", ())
        if expandable:
            schema["required"] = [name for name in schema.get("required", []) if name not in expandable]
            if not schema["required"]:
                del schema["required"]
            for name in expandable:
                if name in schema["properties"]:
                    schema["properties"][name]["description"] = f"Only with `?expand={name}`."
        return schema

    def get_override_parameters(self):
        params = super().get_override_parameters()
        expandable = getattr(self.view, "list_expandable", None)
        if expandable and self._is_list_view():
            params = [
                *params,
                OpenApiParameter(
                    "expand",
                    str,
                    enum=sorted(expandable),
                    many=True,
                    explode=False,
                    description="Comma-separated nested collections to include in each item (left out by default).",
                ),
            ]
        if self.method == "POST":
            params = [
                *params,
                OpenApiParameter(
                    "Idempotency-Key",
                    str,
                    OpenApiParameter.HEADER,
                    description="Same key and body replay the first response; same key, other body: 409.",
                ),
            ]
        return params


class DecimalValueFieldExtension(OpenApiSerializerFieldExtension):
    """Documents the kernel's decimal field: money at the currency's minor unit, the rest as significant digits."""

    target_class = "billing_site.api_fields.DecimalValueField"

    def map_serializer_field(self, auto_schema, direction):
        schema = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d+)?$"}
        if direction == "response":
            if self.target.is_money:
                schema["description"] = "Amount at the currency's minor unit: EUR \"250.00\", JPY \"250\", KWD \"250.000\"."
                schema["example"] = "250.00"
            else:
                schema["description"] = "Significant decimals only, up to 6 places: \"93.333333\", \"2.5\", \"250\"."
                schema["example"] = "2.5"
        return schema
