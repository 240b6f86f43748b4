from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter


class AutoSchema(SpectacularAutoSchema):
    """Documents the Idempotency-Key header on every POST."""

    def get_override_parameters(self):
        params = super().get_override_parameters()
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
