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
