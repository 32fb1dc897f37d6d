"""CSV imports: ``/contacts/import`` lists past imports and takes a new file; ``/contacts/import/<id>``
maps an uploaded file's columns, then shows the import's progress live, so a marketer can leave and
come back. The Celery worker runs the batches; these pages only start, stop and watch them."""

from mautic_app.ui.pages.imports.detail_view import import_page
from mautic_app.ui.pages.imports.list_view import imports_page

__all__ = ["import_page", "imports_page"]
