"""The snapshot part's bytes, assembled family by family from the kept sample lines.

The text formats need every family's samples together under one HELP/TYPE, so the body is
family-major: for each family its header, its lines project by project in the order the
collector walks them, then its non-project lines. Plain bodies are one join of kept bytes.

A gzip body is a sequence of gzip members (RFC 1952 allows it; Go's reader, so Prometheus,
decodes them as one stream). The projects are cut into blocks at ids whose hash is 0 modulo
``BLOCK`` (content-defined, so adding or removing a project moves no other block's edges);
each block's lines of each family are one member, kept while the block's projects keep their
lines. A change then recompresses the blocks it touches, not the whole body; bench/README.md
has the figures both ways (``whole=True`` recompresses everything, for the comparison).
"""

from __future__ import annotations

import zlib
from array import array
from collections.abc import Mapping
from dataclasses import dataclass, field
from operator import is_not as ne
from typing import Any

from .fragments import Fragments, Slot
from .packed import Kept, Lines
from .state import View

BLOCK = 32  # projects per block, on average
GZIP_LEVEL = 6


def gzip_member(data: bytes, level: int = GZIP_LEVEL) -> bytes:
    """One gzip member; no file name and mtime 0, so equal input gives equal bytes."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31)
    return compressor.compress(data) + compressor.flush()


@dataclass(slots=True)
class _Block:
    kept: list[Kept]  # of its projects, in order: the block is unchanged while these are
    # slot index -> (the stamps of the lines it is of, gzip member); ``earlier`` is the same
    # block's before some of its projects changed: a member whose family's lines kept their
    # stamps is kept.
    members: dict[int, tuple[array[int], bytes]] = field(default_factory=dict)
    earlier: dict[int, tuple[array[int], bytes]] = field(default_factory=dict)
    unpacked: list[Lines] | None = None  # while assembling, once a member needs the lines

    def lines(self) -> list[Lines]:
        if self.unpacked is None:
            self.unpacked = [k.unpack() for k in self.kept]
        return self.unpacked


def _source_name(slot: Slot) -> str:
    """Families walked in the same order share their blocks: the list's, or one area's."""
    return slot.area.name if slot.area.detail else ""


def _column(lines: list[Lines], index: int) -> bytes:
    return b"".join([t for ls in lines if index < len(ls) and (t := ls[index])])


class Assembler:
    def __init__(self, fragments: Fragments) -> None:
        self.fragments = fragments
        self._blocks: dict[tuple[str, str], _Block] = {}  # (source, first project) -> block
        self.compressed = 0  # bytes compressed so far (the bench reads it)

    def _present(self) -> list[Slot]:
        return [s for s in self.fragments.order if self.fragments.present(s)]

    def _other(self, slot: Slot) -> bytes:
        other = self.fragments.other
        return (other[slot.index] or b"") if slot.index < len(other) else b""

    def plain(self, view: View, *, openmetrics: bool) -> tuple[bytes, ...]:
        """The body as chunks, a family's lines in one: writing them needs no join of the
        whole body (at 50,000 projects, 130 MB held twice and a long hold of the GIL)."""
        parts: list[bytes] = []
        columns: dict[str, list[Lines]] = {}
        for slot in self._present():
            name = _source_name(slot)
            if name not in columns:
                columns[name] = self._lines_in(self.fragments.source(slot, view))
            parts += (slot.header(openmetrics=openmetrics), _column(columns[name], slot.index))
            parts.append(self._other(slot))
        return tuple(p for p in parts if p)

    def _lines_in(self, source: Mapping[str, Any]) -> list[Lines]:
        kept = self.fragments.kept
        return [k.unpack() for pid in source if (k := kept.get(pid)) is not None]

    def gzipped(self, view: View, *, openmetrics: bool, whole: bool = False) -> bytes:
        if whole:  # the comparison: one member for the whole body
            body = b"".join(self.plain(view, openmetrics=openmetrics))
            self.compressed += len(body)
            return gzip_member(body)
        present = self._present()
        blocks = self._compress(view, present)
        members: list[bytes] = []
        for slot in present:
            members.append(gzip_member(slot.header(openmetrics=openmetrics)))
            index = slot.index
            members += [m for b in blocks[_source_name(slot)] if (m := b.members[index][1])]
            if other := self._other(slot):
                members.append(gzip_member(other))
        return b"".join(members)

    def _compress(self, view: View, present: list[Slot]) -> dict[str, list[_Block]]:
        """Every block's member of every family present, block by block: a block's projects
        are unpacked once, and dropped before the next (a first render would otherwise hold
        the whole plain body unpacked, and the allocator keep that memory)."""
        by_source: dict[str, list[Slot]] = {}
        for slot in present:
            by_source.setdefault(_source_name(slot), []).append(slot)
        kept: dict[tuple[str, str], _Block] = {}
        blocks: dict[str, list[_Block]] = {}
        for name, slots in by_source.items():
            blocks[name] = self._blocks_of(name, self.fragments.source(slots[0], view), kept)
            for block in blocks[name]:
                for slot in slots:
                    self._member(block, slot.index)
                block.unpacked = None
                block.earlier = {}
        self._blocks = kept
        return blocks

    def _blocks_of(
        self, name: str, source: Mapping[str, Any], kept: dict[tuple[str, str], _Block]
    ) -> list[_Block]:
        out: list[_Block] = []
        projects = self.fragments.kept
        current: list[Kept] = []
        first = ""
        for pid in source:
            if current and hash(pid) % BLOCK == 0:  # str caches its hash: cheap every time
                out.append(self._block((name, first), current, kept))
                current = []
            if (k := projects.get(pid)) is not None:
                first = first if current else pid
                current.append(k)
        if current:
            out.append(self._block((name, first), current, kept))
        return out

    def _block(
        self, key: tuple[str, str], now: list[Kept], kept: dict[tuple[str, str], _Block]
    ) -> _Block:
        block = self._blocks.get(key)
        if block is None or len(block.kept) != len(now) or any(map(ne, block.kept, now)):
            block = _Block(now, earlier=block.members if block is not None else {})
        kept[key] = block
        return block

    def _member(self, block: _Block, index: int) -> bytes:
        member = block.members.get(index)
        if member is None:
            stamps = array("Q", [k.stamp(index) for k in block.kept])
            member = block.earlier.get(index)
            if member is None or member[0] != stamps:
                data = _column(block.lines(), index)
                self.compressed += len(data)
                member = (stamps, gzip_member(data) if data else b"")
            block.members[index] = member
        return member[1]
