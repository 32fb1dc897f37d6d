"""The embedded default's Celery broker: kombu's filesystem transport, made safe to share.

kombu writes a message by creating its file and then writing into it, while a worker takes any
file it lists: a worker could take a file still empty, fail to decode it and stop (taking the
whole app down with it, see launcher), and the message was lost. Here a message is written under
a name no worker looks at and renamed into place once complete; a file that still cannot be read
is set aside instead of stopping the worker.
"""

from __future__ import annotations

import logging
import os
import uuid
from time import monotonic

from kombu.transport import TRANSPORT_ALIASES, filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

log = logging.getLogger(__name__)
SCHEME = "mauticfs"


class Channel(filesystem.Channel):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for folder in (self.data_folder_in, self.data_folder_out, self.processed_folder, self.control_folder):
            os.makedirs(folder, exist_ok=True)

    def _put(self, queue, payload, **kwargs):
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f".{name}.part")  # does not end in ".<queue>.msg"
        try:
            with open(partial, "wb") as f:
                f.write(str_to_bytes(dumps(payload)))
            os.replace(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc

    def _get(self, queue):
        while True:
            try:
                return super()._get(queue)
            except ValueError:  # an unreadable message (JSON): dropped with a trace, the worker goes on
                log.exception("unreadable message dropped from queue %s", queue)


class Transport(filesystem.Transport):
    Channel = Channel


TRANSPORT_ALIASES[SCHEME] = f"{__name__}:Transport"
