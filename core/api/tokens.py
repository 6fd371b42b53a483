"""API tokens over the API: exchange a password for a token, list, create and revoke your own tokens.

A key appears in exactly one response, the one that creates it (core/tokens.py stores only its digest)."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth import authenticate
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api.permissions import HasAnyRole
from core.api.throttles import PasswordExchangeThrottle
from core.errors import ApplicationError, NotFound
from core.login import password_refusal_of
from core.models import ApiToken
from core.roles import user_roles
from core.tokens import api_token_create, api_token_list, api_token_revoke, api_tokens_revoke_all


class TokenOptionsSerializer(serializers.Serializer):
    """A token's name and lifetime, for the API and the tokens page."""

    name = serializers.CharField(max_length=100, required=False, default="api", trim_whitespace=True)
    expires_in_days = serializers.IntegerField(
        required=False,
        allow_null=True,
        default=None,
        min_value=1,
        max_value=settings.API_TOKEN_MAX_DAYS,
        help_text="Days until the token stops working (default API_TOKEN_DEFAULT_DAYS, 90).",
    )


class TokenCreateInputSerializer(TokenOptionsSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=256, style={"input_type": "password"})


class ApiTokenOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = ApiToken
        fields = ["id", "name", "prefix", "created_at", "expires_at"]


class ApiTokenCreatedOutputSerializer(ApiTokenOutputSerializer):
    token = serializers.CharField(help_text="The key: shown in this response only, never again.")

    class Meta(ApiTokenOutputSerializer.Meta):
        fields = ["token", *ApiTokenOutputSerializer.Meta.fields]


def _created(token: ApiToken, key: str) -> Response:
    token.token = key  # type: ignore[attr-defined]
    token.refresh_from_db(fields=["created_at"])
    return Response(ApiTokenCreatedOutputSerializer(token).data)


class TokenApi(APIView):
    """Exchange a username and password for a new API token (POST), or revoke the token this request presents
    (DELETE; with a session instead of a token, every token of yours). Password attempts share the login page's
    limits (core/login.py) and are limited per client address whether or not the request carries credentials."""

    permission_classes = [AllowAny]
    throttle_classes = [PasswordExchangeThrottle]

    @extend_schema(
        operation_id="auth_token_create",
        request=TokenCreateInputSerializer,
        responses={200: ApiTokenCreatedOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = TokenCreateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        user = authenticate(request, username=data["username"], password=data["password"])
        refusal = password_refusal_of(request)
        if refusal is not None:
            raise exceptions.Throttled(wait=refusal.retry_after_seconds, detail="Too many failed sign-ins.")
        if user is None or not user_roles(user):
            raise ApplicationError("Wrong username or password, or the account has no role.")
        token, key = api_token_create(user=user, name=data["name"], expires_in_days=data["expires_in_days"])
        return _created(token, key)

    @extend_schema(operation_id="auth_token_revoke", request=None, responses={204: None})
    def delete(self, request: Request) -> Response:
        if not request.user.is_authenticated:
            return Response({"detail": "Authentication credentials were not provided."}, status=401)
        if isinstance(request.auth, ApiToken):
            api_token_revoke(user=request.user, token_id=request.auth.pk)
        else:
            api_tokens_revoke_all(user_id=request.user.pk)
        return Response(status=status.HTTP_204_NO_CONTENT)


class TokenListApi(APIView):
    """Your API tokens (never their keys), and a new named one with an expiry (its key in this response only)."""

    permission_classes = [HasAnyRole]

    @extend_schema(operation_id="auth_tokens_list", responses=ApiTokenOutputSerializer(many=True))
    def get(self, request: Request) -> Response:
        return Response(ApiTokenOutputSerializer(api_token_list(user=request.user), many=True).data)

    @extend_schema(
        operation_id="auth_tokens_create",
        request=TokenOptionsSerializer,
        responses={201: ApiTokenCreatedOutputSerializer},
    )
    def post(self, request: Request) -> Response:
        serializer = TokenOptionsSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, key = api_token_create(
            user=request.user,
            name=serializer.validated_data["name"],
            expires_in_days=serializer.validated_data["expires_in_days"],
        )
        response = _created(token, key)
        response.status_code = status.HTTP_201_CREATED
        return response


class TokenDetailApi(APIView):
    permission_classes = [HasAnyRole]

    @extend_schema(operation_id="auth_tokens_destroy", request=None, responses={204: None})
    def delete(self, request: Request, token_id: int) -> Response:
        if not api_token_revoke(user=request.user, token_id=token_id):
            raise NotFound("You have no such token.")
        return Response(status=status.HTTP_204_NO_CONTENT)
