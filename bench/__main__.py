"""``make bench``: every benchmark, each printing its ratio to the baseline measured in the same run."""

from __future__ import annotations

import sys

from bench import contacts_list


def main() -> int:
    names = sys.argv[1:] or ["contacts_list", "csv_import", "tracking", "segments", "forms", "concurrency", "email", "campaigns"]
    if "contacts_list" in names:
        contacts_list.run()
    if "csv_import" in names:
        from bench import csv_import

        csv_import.run()
    if "tracking" in names:
        from bench import tracking

        tracking.run()
    if "segments" in names:
        from bench import segments

        segments.run()
    if "forms" in names:
        from bench import forms

        forms.run()
    if "concurrency" in names:
        from bench import concurrency

        concurrency.run()
    if "email" in names:
        from bench import email

        email.run()
        email.run_tracking()
    if "campaigns" in names:
        from bench import campaigns

        campaigns.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
