"""Users and API tokens through the API: Admins manage users; everyone lists and revokes their own token."""

from django.contrib.auth import get_user_model
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import mixins, serializers, status
from rest_framework.decorators import action
from rest_framework.response import Response

from billing_site import users as services
from billing_site.api import RecurViewSet
from billing_site.roles import ALL, Role

User = get_user_model()


class UserSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ["id", "username", "email", "first_name", "last_name", "role", "is_active", "last_login", "date_joined"]
        read_only_fields = fields

    def get_role(self, user) -> str | None:
        role = services.user_role(user)
        return role.value if role else None


class UserInviteSerializer(serializers.Serializer):
    username = serializers.CharField(max_length=150)
    email = serializers.EmailField(max_length=254)
    first_name = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
    last_name = serializers.CharField(max_length=150, required=False, default="", allow_blank=True)
    role = serializers.ChoiceField(choices=Role.choices)


class RoleSerializer(serializers.Serializer):
    role = serializers.ChoiceField(choices=Role.choices)


class UserViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, RecurViewSet):
    """Users (Admin only): invite one (an e-mail with a set-password link), change a role, deactivate."""

    queryset = User.objects.prefetch_related("groups").order_by("username")
    serializer_class = UserSerializer
    read_roles = write_roles = frozenset({Role.ADMIN})
    filter_backends: list = []

    @extend_schema(operation_id="users_invite", request=UserInviteSerializer, responses={201: UserSerializer},
                   examples=[OpenApiExample("Invite a finance clerk", request_only=True, value={
                       "username": "nina", "email": "nina@example.com", "first_name": "Nina", "role": "Finance"})])
    def create(self, request, *args, **kwargs):
        data = UserInviteSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_invite(actor=request.user, base_url=request.build_absolute_uri("/"), **data.validated_data)
        return Response(UserSerializer(user).data, status=status.HTTP_201_CREATED)

    @extend_schema(operation_id="users_set_role", request=RoleSerializer, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def role(self, request, pk=None, **kwargs):
        data = RoleSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        user = services.user_set_role(actor=request.user, user=get_object_or_404(User, pk=pk), role=data.validated_data["role"])
        return Response(UserSerializer(user).data)

    @extend_schema(operation_id="users_deactivate", request=None, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def deactivate(self, request, pk=None, **kwargs):
        user = services.user_set_active(actor=request.user, user=get_object_or_404(User, pk=pk), active=False)
        return Response(UserSerializer(user).data)

    @extend_schema(operation_id="users_reactivate", request=None, responses={200: UserSerializer})
    @action(detail=True, methods=["post"])
    def reactivate(self, request, pk=None, **kwargs):
        user = services.user_set_active(actor=request.user, user=get_object_or_404(User, pk=pk), active=True)
        return Response(UserSerializer(user).data)


class TokenSerializer(serializers.Serializer):
    user = serializers.IntegerField(source="user_id")
    username = serializers.CharField(source="user.username")
    created = serializers.DateTimeField()
    key_prefix = serializers.SerializerMethodField(help_text="The first 6 characters of the key, to recognise it.")

    def get_key_prefix(self, token) -> str:
        return token.key[:6]


class TokenViewSet(mixins.ListModelMixin, RecurViewSet):
    """API tokens: an Admin sees and revokes everyone's, anyone else only their own. `{id}` is the user id."""

    serializer_class = TokenSerializer
    read_roles = write_roles = ALL
    filter_backends: list = []
    lookup_field = "user"
    lookup_value_regex = "[0-9]+"

    def get_queryset(self):
        return services.tokens_visible_to(self.request.user)

    @extend_schema(operation_id="tokens_revoke", responses={204: None},
                   parameters=[OpenApiParameter("user", int, OpenApiParameter.PATH, description="The user's id.")])
    def destroy(self, request, user=None, **kwargs):
        services.token_revoke(actor=request.user, user=get_object_or_404(User, pk=user))
        return Response(status=status.HTTP_204_NO_CONTENT)


def register(router) -> None:
    router.register("users", UserViewSet, basename="user")
    router.register("tokens", TokenViewSet, basename="token")
