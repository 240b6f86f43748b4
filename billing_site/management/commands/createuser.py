"""`manage.py createuser alice --role finance --email alice@example.com`: a user with a role.

Without `--password-stdin` the user gets no password and the command prints (and e-mails, unless
`--no-email`) a one-time link to set one.
"""

import sys

from django.core.management.base import BaseCommand, CommandError

from billing_site import users
from billing_site.errors import DomainError


class Command(BaseCommand):
    help = "Create a user with a role (finance, sales or admin) and print a link to set the password."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", required=True, choices=["finance", "sales", "admin"])
        parser.add_argument("--email", required=True)
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--password-stdin", action="store_true", help="Read the password from standard input.")
        parser.add_argument("--no-email", action="store_true", help="Do not e-mail the set-password link.")

    def handle(self, *args, **opts):
        password = None
        if opts["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
            if not password:
                raise CommandError("The password read from standard input is empty.")
        try:
            user = users.user_invite(
                actor=None, username=opts["username"], email=opts["email"], role=opts["role"],
                first_name=opts["first_name"], last_name=opts["last_name"], password=password,
                send_email=not opts["no_email"],
            )
        except DomainError as exc:
            details = "; ".join(f"{field}: {' '.join(msgs)}" for field, msgs in exc.fields.items())
            raise CommandError(details or str(exc.message)) from exc
        role = users.user_role(user)
        self.stdout.write(f"Created {user.username} ({role.label if role else '-'}).")
        if password is None:
            self.stdout.write(f"Set-password link: {users.set_password_link(user)}")
