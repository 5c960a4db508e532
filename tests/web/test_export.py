"""Exports of the lists the pages show (search results, an author's papers, the library, Daily
Papers) as BibTeX, CSV and JSON: hostile titles survive each format (the BibTeX is read back by
pybtex and decoded to the very same text), the lists keep their order, and the pages link to them."""

from __future__ import annotations

import csv
import io
import json
import re
from typing import Any

import pytest
from pybtex.database import parse_string
from pylatexenc.latex2text import LatexNodes2Text, MacroTextSpec, get_default_latex_context_db
from sqlalchemy import Engine, select

from paperscope.core.records import AuthorRecord, Batch, PaperRecord
from paperscope.ingest.pipeline import run_ingest
from paperscope.services import accounts, export
from paperscope.services.tokens import make_token
from paperscope.store import schema
from tests.conftest import BACKENDS

HOSTILE = [
    ("Closing } brace, \\end{document} and \\input{/etc/passwd}", "O'Brien \"Quote\" {Brace}", "10.1000/a_b%c"),
    ("100% of {unbalanced $x^2$ & #1 _under ~tilde", "Zoë Ünïcödé", None),
    ("=HYPERLINK(\"http://evil.example\",\"click\")", "-Minus Person", None),
    ("Ünïcödé naïve café \"quoted\" <script>alert(1)</script>", "Plain Author", None),
    ("a } b } c { @misc{injected, title={x}}", "@Mention", None),
]


def _decoder() -> LatexNodes2Text:
    """LaTeX to text, knowing the text commands the export writes for BibTeX's special characters."""
    db = get_default_latex_context_db()
    db.add_context_category("bibtex-text", prepend=True, macros=[
        MacroTextSpec(name, text) for name, text in (
            ("textbraceleft", "{"), ("textbraceright", "}"), ("textquotedbl", '"'), ("textasciicircum", "^"),
            ("textasciitilde", "~"), ("textbackslash", "\\"))])
    return LatexNodes2Text(latex_context=db, math_mode="verbatim")


def _store_hostile(engine: Engine) -> list[str]:
    records = [PaperRecord(source="listing", source_key=f"h{i}", title=title, doi=doi, year=2024,
                           authors=[AuthorRecord(name=author)]) for i, (title, author, doi) in enumerate(HOSTILE)]
    run_ingest(engine, "listing", "hostile", lambda _c: iter([Batch(records)]))
    with engine.connect() as connection:
        by_title = {t: pid for pid, t in connection.execute(select(schema.papers.c.id, schema.papers.c.title))}
    return [by_title[" ".join(title.split())] for title, _, _ in HOSTILE]


@BACKENDS
def test_hostile_titles_survive_every_format(engine: Engine) -> None:
    ids = list(reversed(_store_hostile(engine)))  # an order that is not the store's

    bib = export.render(engine, ids, "bibtex")
    entries = parse_string(bib, "bibtex").entries
    assert len(entries) == len(HOSTILE)  # no title closed its entry or opened another
    decode = _decoder()
    titles = [decode.latex_to_text(entry.fields["title"]) for entry in entries.values()]
    assert titles == [" ".join(t.split()) for t, _, _ in reversed(HOSTILE)]
    authors = [decode.latex_to_text(" ".join(person.first_names + person.middle_names + person.prelast_names
                                             + person.last_names + person.lineage_names))
               for person in (entry.persons["author"][0] for entry in entries.values())]
    assert authors == [a for _, a, _ in reversed(HOSTILE)]
    assert "\\input{" not in bib and "\\end{document}" not in bib  # commands are text, never run
    first = list(entries.values())[-1]
    assert first.fields["doi"] == "10.1000/a_b%c"  # verbatim fields keep their characters

    rows = list(csv.DictReader(io.StringIO(export.render(engine, ids, "csv"))))
    assert [r["id"] for r in rows] == ids
    formula = next(r for r in rows if "HYPERLINK" in r["title"])
    assert formula["title"].startswith("'=HYPERLINK(")  # a spreadsheet shows it, never runs it
    assert formula["authors"] == "'-Minus Person"

    as_json = json.loads(export.render(engine, ids, "json"))
    assert [p["id"] for p in as_json] == ids
    assert as_json[-1]["title"] == " ".join(HOSTILE[0][0].split())  # JSON keeps the text as it is

    with pytest.raises(ValueError, match="unknown export format 'docx'"):
        export.render(engine, ids, "docx")


def test_search_export_from_the_page_link(client: Any) -> None:
    page = client.get("/search", params={"q": "language models", "mode": "keyword"})
    links = re.findall(r'href="(/export/search\?[^"]+)"', page.text)
    assert len(links) == 3
    shown = list(dict.fromkeys(re.findall(r'data-paper-id="([^"]+)"', page.text)))
    csv_link = next(link for link in links if "format=csv" in link).replace("&amp;", "&")
    r = client.get(csv_link)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == 'attachment; filename="paperscope-search-language-models.csv"'
    exported = [row["id"] for row in csv.DictReader(io.StringIO(r.text))]
    assert exported[:len(shown)] == shown and len(exported) >= len(shown)  # every page, in rank order

    bib = client.get(next(link for link in links if "format=bibtex" in link).replace("&amp;", "&"))
    assert bib.headers["content-type"].startswith("application/x-bibtex")
    assert len(parse_string(bib.text, "bibtex").entries) == len(exported)
    bad = client.get("/export/search", params={"q": "x", "format": "docx"})
    assert bad.status_code == 422 and "format" in bad.text


def test_author_and_daily_exports(client: Any) -> None:
    profile = client.get("/api/v1/authors/Bo Han", params={"per_page": 500}).json()
    page = client.get(f"/authors/{profile['id']}")
    link = re.search(r'href="(/export/author\?[^"]+format=json)"', page.text).group(1)  # type: ignore[union-attr]
    papers = client.get(link.replace("&amp;", "&")).json()
    assert [p["id"] for p in papers] == [c["id"] for c in profile["cards"]]
    assert client.get("/export/author", params={"id": "Nobody Atall", "format": "csv"}).status_code == 404
    assert client.get("/export/author", params={"format": "csv"}).status_code == 422

    home = client.get("/", params={"period": "month"})
    daily = re.search(r'href="(/export/daily\?[^"]+format=json)"', home.text).group(1)  # type: ignore[union-attr]
    listed = client.get("/api/v1/papers", params={"period": "month", "per_page": 100}).json()
    assert [p["id"] for p in client.get(daily.replace("&amp;", "&")).json()][:len(listed["papers"])] == [
        c["id"] for c in listed["papers"]]


def test_library_export_needs_a_login(client: Any, web_app: Any) -> None:
    r = client.get("/export/library", params={"format": "bibtex"}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=/export/library")
    runtime = web_app.state.runtime
    email, password = "export-reader@example.org", "a long enough passphrase 43"
    signup = accounts.sign_up(runtime.engine, email, password)
    token = make_token(runtime.mail.secret_key, "signup", {"u": signup.user["id"], "e": signup.user["email_key"]})
    accounts.confirm_sign_up(runtime.engine, runtime.mail.secret_key, token)
    saved = [c["id"] for c in client.get("/api/v1/papers", params={"period": "month", "per_page": 3}).json()["papers"]]
    for pid in saved:
        accounts.save(runtime.engine, signup.user["id"], pid)
    from fastapi.testclient import TestClient

    with TestClient(web_app) as reader:
        form = reader.get("/login").text
        csrf = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)  # type: ignore[union-attr]
        assert reader.post("/login", data={"email": email, "password": password, "csrf_token": csrf},
                           follow_redirects=False).status_code == 303
        library = reader.get("/library").text
        assert 'href="/export/library?format=csv"' in library
        rows = list(csv.DictReader(io.StringIO(reader.get("/export/library", params={"format": "csv"}).text)))
    assert sorted(r["id"] for r in rows) == sorted(saved)
