"""The responder's recvmmsg -> decide -> sendmmsg batch loop (compiled; see _loop.pyx)."""

from typing_extensions import disjoint_base

from v6core.responder._engine import Engine, Port

@disjoint_base
class Batcher:
    batch: int
    slot: int
    def __init__(self, batch: int = 64, slot: int = 2048) -> None: ...
    def run(self, fd: int, engine: Engine, port: Port, max_rounds: int = 16) -> int: ...
    def serve(self, fds: list[int], engines: list[Engine], ports: list[Port], extra: list[int],
              timeout_ms: int, max_rounds: int = 16) -> tuple[int, int]: ...
