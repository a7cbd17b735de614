"""Reading-order ground truth from PAGE XML: the regions of a page in their ``ReadingOrder``, and how well
an ordered list of line boxes follows them.

Structure ground truth (OCR-D's, among others) often has regions and their reading order but no text. A
page's order can still be scored: each line goes to the ground-truth region whose polygon holds its
centre, and :func:`order_errors` counts the pairs of lines, in different regions, that come in the wrong
order (a Kendall distance over regions; lines of one region are not compared with each other, since
ordering inside a column is not what is measured).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

Point = tuple[float, float]


@dataclass(frozen=True)
class TruthRegion:
    """A ground-truth region: its id, PAGE type, polygon, and rank in the page's reading order."""

    region_id: str
    kind: str
    polygon: tuple[Point, ...]
    rank: int


@dataclass(frozen=True)
class OrderScore:
    """Pairs of lines in different regions read in the wrong order, out of all such pairs; lines read
    that fall in no ground-truth region are counted apart."""

    wrong_pairs: int
    pairs: int
    lines: int
    unplaced: int

    @property
    def error(self) -> float:
        """Share of the compared pairs in the wrong order (0: the truth's region order)."""
        return self.wrong_pairs / self.pairs if self.pairs else 0.0


def load_regions(xml_path: Path) -> list[TruthRegion]:
    """The page's text regions in reading order (``ReadingOrder``'s indexed or plain region references;
    regions it leaves out follow in document order)."""
    root = ET.parse(xml_path).getroot()
    ns = root.tag.split("}")[0] + "}" if root.tag.startswith("{") else ""
    refs = sorted(root.iter(f"{ns}RegionRefIndexed"), key=lambda e: int(e.get("index", "0"))) or list(
        root.iter(f"{ns}RegionRef")
    )
    order = {ref.get("regionRef"): rank for rank, ref in enumerate(refs)}
    regions: list[tuple[int, TruthRegion]] = []
    for number, element in enumerate(root.iter(f"{ns}TextRegion")):
        coords = element.find(f"{ns}Coords")
        points = coords.get("points") if coords is not None else None
        if not points:
            continue
        polygon = tuple((float(x), float(y)) for x, y in (p.split(",") for p in points.split()))
        region_id = element.get("id", "")
        rank = order.get(region_id, len(order) + number)
        regions.append((rank, TruthRegion(region_id, element.get("type", ""), polygon, rank)))
    return [region for _, region in sorted(regions, key=lambda pair: pair[0])]


def inside(point: Point, polygon: Sequence[Point]) -> bool:
    """Whether ``point`` lies inside ``polygon`` (even-odd rule)."""
    x, y = point
    result = False
    for (x1, y1), (x2, y2) in zip(polygon, [*polygon[1:], polygon[0]], strict=True):
        if (y1 > y) != (y2 > y) and x < x1 + (y - y1) * (x2 - x1) / (y2 - y1):
            result = not result
    return result


def region_ranks(centres: Sequence[Point], regions: Sequence[TruthRegion]) -> list[int | None]:
    """For each centre, the reading-order rank of the ground-truth region holding it (None: none does)."""
    ranks: list[int | None] = []
    for centre in centres:
        rank = next((region.rank for region in regions if inside(centre, region.polygon)), None)
        ranks.append(rank)
    return ranks


def order_errors(ranks: Sequence[int | None]) -> OrderScore:
    """How far the sequence of region ranks (lines in the order read) is from non-decreasing."""
    placed = [rank for rank in ranks if rank is not None]
    wrong = pairs = 0
    for first, a in enumerate(placed):
        for b in placed[first + 1 :]:
            if a != b:
                pairs += 1
                wrong += a > b
    return OrderScore(wrong, pairs, len(ranks), len(ranks) - len(placed))
