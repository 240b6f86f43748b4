from importlib import import_module
from importlib.util import find_spec

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from rest_framework.authtoken.models import Token

from billing_site.roles import Role, roles_sync_permissions
from billing_site.selectors import STAGE_APPS

# After the stages, the apps around the flow that read them: an import dry run, a webhook endpoint.
DEMO_APPS = [*STAGE_APPS, "imports", "webhooks"]

# (username, password, role, first name, last name)
DEMO_USERS = [
    ("admin", "recur-admin", Role.ADMIN, "Alex", "Admin"),
    ("finance", "recur-finance", Role.FINANCE, "Fanny", "Laurent"),
    ("sales", "recur-sales", Role.SALES, "Sam", "Carter"),
    ("sales2", "recur-sales", Role.SALES, "Sophie", "Marchand"),
]


class Command(BaseCommand):
    help = "Load demo users and data (idempotent: running it again creates nothing twice)."

    def handle(self, *args, **options):
        with transaction.atomic():
            roles_sync_permissions()
            users = self._users()
            owners = [u for u in users if u.groups.filter(name=Role.SALES.value).exists()]
            context = {"owners": owners, "users": {u.username: u for u in users}}
            # Each app seeds its own demo data, in flow order; later apps read earlier ones.
            for app in DEMO_APPS:
                if find_spec(f"{app}.demo"):
                    import_module(f"{app}.demo").seed(stdout=self.stdout, **_accepted(app, context))
        self.stdout.write(self.style.SUCCESS("Demo data ready. Logins:"))
        for username, password, role, *_ in DEMO_USERS:
            self.stdout.write(f"  {role.value:<8} {username} / {password}")

    def _users(self):
        User = get_user_model()
        users = []
        for username, password, role, first, last in DEMO_USERS:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={"first_name": first, "last_name": last, "email": f"{username}@recur.local"},
            )
            if created:
                user.set_password(password)
            user.is_staff = role == Role.ADMIN
            user.is_superuser = role == Role.ADMIN
            user.save()
            user.groups.add(Group.objects.get(name=role.value))
            if role == Role.FINANCE:
                # Finance's integration scripts call the API with a token (listed on the Users pages).
                Token.objects.get_or_create(user=user)
            users.append(user)
        return users


def _accepted(app: str, context: dict) -> dict:
    import inspect

    params = inspect.signature(import_module(f"{app}.demo").seed).parameters
    return {k: v for k, v in context.items() if k in params}
