"""A real SMTP server for tests (aiosmtpd, in a thread of the test process): it keeps every message it
accepted, and can refuse chosen recipients for good (5xx) or for now (4xx) and take its time per message."""

from __future__ import annotations

import asyncio
import email
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller

from tests.integration.servers import free_port


@dataclass
class Sink:
    host: str
    port: int
    messages: list[Message] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)  # recipients answered 550
    refuse_once: set[str] = field(default_factory=set)  # recipients answered 451 the first time
    delay: float = 0.0  # seconds per message, to make a broadcast last
    connections: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def dsn(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    def to(self) -> list[str]:
        with self.lock:
            return [str(m["To"]).rpartition("<")[2].rstrip(">").lower() for m in self.messages]


class _Handler:
    def __init__(self, sink: Sink) -> None:
        self.sink = sink

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]) -> str:
        address = address.lower()
        if address in self.sink.refuse:
            return "550 5.1.1 No such user here"
        if address in self.sink.refuse_once:
            self.sink.refuse_once.discard(address)
            return "451 4.7.1 Try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.delay:
            await asyncio.sleep(self.sink.delay)
        message = email.message_from_bytes(envelope.content)
        with self.sink.lock:
            self.sink.messages.append(message)
        return "250 2.0.0 Queued as test"


class _Counting(Controller):
    def __init__(self, sink: Sink, **kwargs: Any) -> None:
        super().__init__(_Handler(sink), **kwargs)
        self.sink = sink

    def factory(self) -> Any:
        with self.sink.lock:
            self.sink.connections += 1
        return super().factory()


@contextmanager
def smtp_sink() -> Iterator[Sink]:
    port = free_port()
    sink = Sink("127.0.0.1", port)
    controller = _Counting(sink, hostname="127.0.0.1", port=port)
    controller.start()
    sink.connections = 0  # the controller's own check that it is up
    try:
        yield sink
    finally:
        controller.stop()
