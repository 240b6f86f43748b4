from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from drf_spectacular.utils import OpenApiParameter, inline_serializer
from rest_framework import serializers

# The one error format (`billing_site.api.exception_handler`), declared on every operation so a
# client (and the API fuzzer in `tests/test_api_fuzz.py`) knows a 4xx is a documented answer.
ERROR = inline_serializer(
    "Error",
    {
        "error": inline_serializer(
            "ErrorDetail",
            {
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField())),
            },
        )
    },
)
ERRORS_EVERYWHERE = ("400", "401", "403", "404", "405", "406", "429")
ERRORS_OF_WRITES = ("409", "413", "415")


class AutoSchema(SpectacularAutoSchema):
    """Documents the Idempotency-Key header on every POST and the error responses of every operation."""

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

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        if direction != "response":
            return responses
        codes = ERRORS_EVERYWHERE + (ERRORS_OF_WRITES if self.method in ("POST", "PUT", "PATCH", "DELETE") else ())
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ERROR, code, direction=direction)
        return responses
