"""Write ``demo.warc.gz``: a tiny crawl of a made-up website, for the bundled example.

The pages are original prose written for dataprep (no third-party text). The crawl holds a
``warcinfo`` record, five HTML pages sharing navigation and footer boilerplate, one PNG image
(dropped as ``not_html``) and one 404 page (dropped as ``http_status``). Record ids and dates are
fixed, so running this again rewrites the same bytes::

    python examples/data/web/make_demo_warc.py
"""

from __future__ import annotations

import io
import os
import uuid

from warcio.statusandheaders import StatusAndHeaders
from warcio.warcwriter import WARCWriter

SITE = "https://millbrook-bread.example.org"
DATE = "2026-03-14T09:00:00Z"
NAV = """<header><nav class="site-nav"><a href="/">Home</a> | <a href="/schedule.html">Baking schedule</a> |
<a href="/starter.html">Starter guide</a> | <a href="/history.html">Our history</a> |
<a href="/volunteer.html">Volunteer</a></nav></header>"""
FOOTER = """<footer><p>Millbrook Bread Co-op, 14 Quarry Road, Millbrook. Open Thursday to Sunday.</p>
<p><a href="/contact.html">Contact us</a> | <a href="/privacy.html">Privacy</a> | Follow our oven on the noticeboard</p></footer>"""

PAGES = {
    "/": (
        "Welcome to the Millbrook Bread Co-op",
        [
            "The Millbrook Bread Co-op is a neighbourhood bakery owned by the people who eat its bread. "
            "Forty-two households pay a small monthly share, and in return they collect two loaves a week "
            "from the counter behind the old quarry office.",
            "We bake with flour milled forty miles away, water from the village spring and a starter that "
            "has been fed every morning since the winter the co-op opened. Nothing we sell contains "
            "improvers, and every loaf carries the initials of the member who shaped it.",
            "Visitors are welcome on Saturday mornings, when the wood oven is fired and the first batch "
            "comes out a little before eight. Bring a bag and a little patience.",
        ],
    ),
    "/schedule.html": (
        "Baking schedule",
        [
            "Dough is mixed on Wednesday and Friday evenings and left to rise slowly in the cool room "
            "overnight. Shaping starts at five the next morning, and the oven, which takes three hours "
            "to heat, is lit by whoever holds the early key that week.",
            "Thursday is rye day: dense loaves with caraway that keep for a week. Saturday brings the "
            "country loaf, seeded rolls and, in autumn, a spiced apple bread made with fruit from members' "
            "gardens. Sunday is for the small batch of spelt that sells out by ten.",
            "If a holiday falls on a baking day, the schedule moves one day earlier and the noticeboard "
            "by the door says so at least a week ahead.",
        ],
    ),
    "/starter.html": (
        "Looking after a sourdough starter",
        [
            "A starter is flour and water in which wild yeasts and bacteria have settled into a stable "
            "partnership. Ours is fed twice a day with equal weights of wholemeal flour and lukewarm water, "
            "and it doubles in about six hours in a warm kitchen.",
            "Members may take a spoonful home in a clean jar. Keep it at room temperature if you bake "
            "every day, or in the fridge if you bake once a week, and feed it the evening before you mix. "
            "A grey liquid on top only means it is hungry; pour it off and feed it.",
            "A healthy starter smells sharp and fruity. If it turns pink or orange, throw it away and "
            "ask for a fresh spoonful on Saturday.",
        ],
    ),
    "/history.html": (
        "How the co-op began",
        [
            "The village lost its last bakery in a wet February when the owner retired to the coast. "
            "For a month people drove to the supermarket in town, until a retired engineer and a school "
            "cook put a notice in the post office asking who would pay in advance for real bread.",
            "Thirty households answered. They rented the disused quarry office, rebuilt a brick oven "
            "from an old drawing found in the parish archive, and baked their first hundred loaves on a "
            "borrowed trestle table. Half of them were burnt; all of them were eaten.",
            "Today the co-op employs one baker part-time, trains two apprentices each year and still "
            "uses the trestle table for cooling racks.",
        ],
    ),
    "/volunteer.html": (
        "Volunteer with us",
        [
            "Most of the work is done by members on a rota. Early shifts shape dough and tend the oven; "
            "late shifts wash trays, sweep the floor and weigh flour for the next mix. No experience is "
            "needed, only clean hands and a willingness to be up before the birds.",
            "New volunteers shadow an experienced member for their first three shifts. After that they "
            "choose a regular slot, and can swap it on the paper chart in the flour store.",
            "Volunteers who give four shifts a month receive their share of bread for free, and everyone "
            "takes home whatever is left on the cooling racks at closing time.",
        ],
    ),
}


def page_html(title: str, paragraphs: list[str]) -> bytes:
    body = "\n".join(f"<p>{p}</p>" for p in paragraphs)
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{title} - Millbrook Bread Co-op</title></head>\n'
        f"<body>{NAV}\n<main><article><h1>{title}</h1>\n{body}\n</article></main>\n{FOOTER}</body></html>\n"
    ).encode("utf-8")


def record_id(n: int) -> str:
    return f"<urn:uuid:{uuid.UUID(int=0xDA7A0000 + n)}>"


def response(writer: WARCWriter, n: int, path: str, status: str, content_type: str, payload: bytes):
    http = StatusAndHeaders(status, [("Content-Type", content_type), ("Content-Length", str(len(payload)))], protocol="HTTP/1.1")
    return writer.create_warc_record(
        SITE + path,
        "response",
        payload=io.BytesIO(payload),
        length=len(payload),
        http_headers=http,
        warc_headers_dict={"WARC-Record-ID": record_id(n), "WARC-Date": DATE},
    )


def write_demo(out_path: str) -> None:
    """Write the demo crawl to ``out_path`` (gzip per record, as crawlers store WARCs)."""
    buf = io.BytesIO()
    writer = WARCWriter(buf, gzip=True)
    info = writer.create_warcinfo_record(
        "demo.warc.gz",
        {"software": "dataprep examples/data/web/make_demo_warc.py", "description": "demo crawl of a made-up site"},
    )
    info.rec_headers.replace_header("WARC-Record-ID", record_id(0))
    info.rec_headers.replace_header("WARC-Date", DATE)
    writer.write_record(info)
    n = 1
    for path, (title, paragraphs) in PAGES.items():
        writer.write_record(response(writer, n, path, "200 OK", "text/html; charset=utf-8", page_html(title, paragraphs)))
        n += 1
    # A tiny valid 1x1 PNG: a non-HTML response the reader drops as not_html.
    png = bytes.fromhex(
        "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
        "0000000d4944415478da63f8ffff3f0005fe02fea7d6a4a60000000049454e44ae426082"
    )
    writer.write_record(response(writer, n, "/oven.png", "200 OK", "image/png", png))
    n += 1
    missing = page_html("Page not found", ["Sorry, there is no page at this address. Try the home page."])
    writer.write_record(response(writer, n, "/recipes.html", "404 Not Found", "text/html; charset=utf-8", missing))
    tmp = out_path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(buf.getvalue())
    os.replace(tmp, out_path)


if __name__ == "__main__":
    write_demo(os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo.warc.gz"))
