"""Write ``demo-pages-articles.xml.bz2``: a tiny MediaWiki ``pages-articles`` dump for the demo.

Four original articles about an imaginary town (templates, references, file and category links,
lists, headings and a table included, so the wiki reader has real markup to remove), one
redirect and one Talk page (both dropped by the reader). All text was written for this project.

Run from anywhere:  python examples/data/wiki/make_demo_dump.py
The output is deterministic (fixed bz2 level, no timestamps from the clock).
"""

from __future__ import annotations

import bz2
from pathlib import Path
from xml.sax.saxutils import escape

OUT = Path(__file__).resolve().parent / "demo-pages-articles.xml.bz2"

ARTICLES = {
    "Quillby": """{{Infobox settlement
| name = Quillby
| population = 4,200
}}
'''Quillby''' is a small market town on the [[River Wend]], in the imaginary county of [[Harrowshire]].<ref>{{cite book |title=A Gazetteer of Harrowshire |year=1911}}</ref> It is known for its stone bridge, its weekly cheese market and a mill that has turned since the thirteenth century.<!-- keep the lead short -->

[[File:Quillby bridge.jpg|thumb|The old bridge over the [[River Wend|Wend]]]]

== History ==
Quillby grew around a ford where the drovers' road crossed the Wend. A charter of {{convert|1204|AD}} granted the town a market, and the first stone bridge followed a century later.<ref name="bridge">Town records, vol. 2.</ref>

=== The great flood ===
In 1872 the river rose overnight and carried away half of the bridge. The townspeople rebuilt it with the stones they recovered from the mud, which is why its two halves do not quite match.<ref name="bridge" />

== Economy ==
The town's income has long depended on three trades:
* Cheese, sold at the Thursday market
* Wool, spun at the [[Quillby Mill|mill]]
** Fine wool for the weavers of [[Carrow]]
* Visitors, who come to walk the river path

{| class="wikitable"
|+ Population of Quillby
! Year !! Inhabitants
|-
| 1801 || 1,150
|-
| 1901 || 2,800
|-
| 2001 || 4,200
|}

== See also ==
* [[List of towns in Harrowshire]]

== References ==
{{reflist}}

[[Category:Towns in Harrowshire]]
[[Category:Market towns]]
""",
    "River Wend": """{{Short description|River in Harrowshire}}
The '''River Wend''' is a slow, winding river that rises on [[Harrow Hill]] and joins the sea at the sand bar below [[Gull Point]]. Its name is thought to come from an old word meaning ''to turn'', after the many loops it makes across the meadows.<ref>Place-name survey, 1950.</ref>

== Course ==
The river flows through:
# the springs on Harrow Hill,
# the water meadows north of [[Quillby]],
# the reed beds of the lower valley, where it meets the tide.

== Wildlife ==
Otters returned to the Wend in the 1990s after an absence of forty years. Kingfishers nest in the banks below the mill, and in winter the meadows flood and fill with wading birds.

[[Category:Rivers of Harrowshire]]
""",
    "Quillby Mill": """'''Quillby Mill''' is a [[watermill]] on the [[River Wend]] at [[Quillby]]. A mill has stood on the site since at least 1250; the present building dates from 1788.

== Machinery ==
The mill is driven by an undershot wheel six metres across. Inside, a wooden gear train turns two pairs of millstones and, since the nineteenth century, a set of carding machines for wool.<ref>Survey of Harrowshire mills, 1978.</ref>

== Today ==
The mill is run by a trust of local volunteers. It grinds flour on the first Saturday of each month, and visitors can climb to the sack floor to watch the stones turn.

[[Category:Watermills]]
""",
    "Gull Point": """'''Gull Point''' is a rocky headland at the mouth of the [[River Wend]], with a lighthouse built in 1851.

The harbour below the point silted up after a storm in 1913 and the fishing fleet moved south to [[Carrow]]. The lighthouse is still lit every evening by a keeper, although no ships have used the channel for decades.

; Height of the tower
: 31 metres
; Range of the light
: 18 nautical miles

[[Category:Headlands]]
[[Category:Lighthouses]]
""",
}

REDIRECTS = {"Quilby": "Quillby"}
TALK = {"Talk:Quillby": "Should the lead mention the cheese market first? ~~~~\n:Yes, I think so. ~~~~"}


def page(title: str, ns: int, page_id: int, text: str, redirect: str | None = None) -> str:
    red = f'    <redirect title="{escape(redirect)}" />\n' if redirect else ""
    return (
        f"  <page>\n    <title>{escape(title)}</title>\n    <ns>{ns}</ns>\n    <id>{page_id}</id>\n{red}"
        f"    <revision>\n      <id>{1000 + page_id}</id>\n      <timestamp>2024-01-{page_id:02d}T12:00:00Z</timestamp>\n"
        f"      <contributor>\n        <username>Demo writer</username>\n        <id>1</id>\n      </contributor>\n"
        f"      <model>wikitext</model>\n      <format>text/x-wiki</format>\n"
        f'      <text xml:space="preserve">{escape(text)}</text>\n    </revision>\n  </page>\n'
    )


def build() -> bytes:
    header = (
        '<mediawiki xmlns="http://www.mediawiki.org/xml/export-0.10/" version="0.10" xml:lang="en">\n'
        "  <siteinfo>\n    <sitename>Demowiki</sitename>\n    <dbname>demowiki</dbname>\n"
        "    <base>https://demo.example.org/wiki/Main_Page</base>\n    <namespaces>\n"
        '      <namespace key="-2" case="first-letter">Media</namespace>\n'
        '      <namespace key="0" case="first-letter" />\n'
        '      <namespace key="1" case="first-letter">Talk</namespace>\n'
        '      <namespace key="6" case="first-letter">File</namespace>\n'
        '      <namespace key="14" case="first-letter">Category</namespace>\n'
        "    </namespaces>\n  </siteinfo>\n"
    )
    pages = []
    page_id = 1
    for title, text in ARTICLES.items():
        pages.append(page(title, 0, page_id, text))
        page_id += 1
    for title, target in REDIRECTS.items():
        pages.append(page(title, 0, page_id, f"#REDIRECT [[{target}]]", redirect=target))
        page_id += 1
    for title, text in TALK.items():
        pages.append(page(title, 1, page_id, text))
        page_id += 1
    return (header + "".join(pages) + "</mediawiki>\n").encode("utf-8")


if __name__ == "__main__":
    OUT.write_bytes(bz2.compress(build(), compresslevel=9))
    print(f"wrote {OUT}")
