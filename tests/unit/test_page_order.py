"""Reading-order ground truth from PAGE XML and the order score."""

from __future__ import annotations

from pathlib import Path

from evaluation.page_order import inside, load_regions, order_errors, region_ranks

PAGE = """<?xml version="1.0" encoding="UTF-8"?>
<PcGts xmlns="http://schema.primaresearch.org/PAGE/gts/pagecontent/2019-07-15">
 <Page imageFilename="p.png" imageWidth="800" imageHeight="600">
  <ReadingOrder><OrderedGroup id="g">
   <RegionRefIndexed regionRef="head" index="0"/>
   <RegionRefIndexed regionRef="right" index="2"/>
   <RegionRefIndexed regionRef="left" index="1"/>
  </OrderedGroup></ReadingOrder>
  <TextRegion id="right" type="paragraph"><Coords points="420,100 780,100 780,500 420,500"/></TextRegion>
  <TextRegion id="head" type="header"><Coords points="20,20 780,20 780,60 20,60"/></TextRegion>
  <TextRegion id="left" type="paragraph"><Coords points="20,100 380,100 380,500 20,500"/></TextRegion>
  <TextRegion id="note" type="marginalia"><Coords points="20,540 200,540 200,580 20,580"/></TextRegion>
 </Page>
</PcGts>
"""


def test_regions_come_in_reading_order_and_those_left_out_of_it_follow(tmp_path: Path) -> None:
    path = tmp_path / "page.xml"
    path.write_text(PAGE)
    regions = load_regions(path)
    assert [r.region_id for r in regions] == ["head", "left", "right", "note"]
    assert [r.kind for r in regions] == ["header", "paragraph", "paragraph", "marginalia"]


def test_lines_are_placed_in_the_region_holding_their_centre(tmp_path: Path) -> None:
    path = tmp_path / "page.xml"
    path.write_text(PAGE)
    ranks = region_ranks([(400, 40), (200, 300), (600, 300), (400, 300)], load_regions(path))
    assert ranks[:3] == [0, 1, 2] and ranks[3] is None  # the last one is in the gutter
    assert inside((5, 5), [(0, 0), (10, 0), (10, 10), (0, 10)]) and not inside((15, 5), [(0, 0), (10, 0), (10, 10)])


def test_the_order_score_counts_pairs_of_lines_in_different_regions_read_the_wrong_way() -> None:
    assert order_errors([0, 1, 1, 2, 2]).error == 0.0
    interleaved = order_errors([0, 1, 2, 1, 2, None])
    # 8 pairs of lines in different regions; one of them (the first 2 before the second 1) the wrong way.
    assert (interleaved.wrong_pairs, interleaved.pairs, interleaved.unplaced) == (1, 8, 1)
    assert order_errors([2, 2, 1, 0]).error == 1.0
