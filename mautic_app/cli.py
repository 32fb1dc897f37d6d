"""Command line entry points used by the Makefile: ``python -m mautic_app.cli <command>``."""

from __future__ import annotations

import argparse
import os
import sys

from mautic_app.db import session_scope
from mautic_app.services import setup


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="mautic_app.cli")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="bring the database to the current schema and register core fields")
    boot = sub.add_parser("bootstrap", help="migrate, create the first admin, seed demo data once")
    boot.add_argument("--demo", action="store_true")
    args = parser.parse_args(argv)

    setup.migrate()
    with session_scope() as session:
        generated = setup.bootstrap(
            session=session,
            admin_user=os.environ.get("MAUTIC_ADMIN_USER", "admin"),
            admin_password=os.environ.get("MAUTIC_ADMIN_PASSWORD") or None,
        )
    if generated:
        user = os.environ.get("MAUTIC_ADMIN_USER", "admin")
        print(f"Created the first admin user '{user}' with password: {generated}")
        print("(shown once; set MAUTIC_ADMIN_PASSWORD to choose it yourself)")
    if args.command == "bootstrap" and args.demo:
        with session_scope() as session:
            seeded = setup.seed_demo(session=session)
        if seeded:
            print("Seeded demo data.")
            print(f"Sent the demo newsletter to {setup.seed_demo_emails()} contacts (kept in the outbox).")
            if setup.seed_demo_campaign():
                print("Started the demo campaign \u201cWelcome journey\u201d.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
