from django.db import transaction

from billing_site.models import UserProfile


@transaction.atomic
def user_set_language(*, user, language: str) -> UserProfile:
    """Save the user's preferred interface language."""
    profile, _ = UserProfile.objects.get_or_create(user=user)
    profile.language = language
    profile.save(update_fields=["language"])
    return profile
