"""Each format yields a title and its heading structure; bad input is refused with a reason."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from pypdf import PdfWriter

from knowledge.loaders import LoadError, load_document
from tests.conftest import EXAMPLES


def load(path: Path):  # type: ignore[no-untyped-def]
    return load_document(path.read_bytes(), path)


def headings(document) -> list[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    return [s.heading_path for s in document.sections]


def test_markdown_title_and_nested_headings() -> None:
    document = load(EXAMPLES / "it/vpn.md")
    assert document.title == "VPN: Connecting with Acme Connect"
    assert ("VPN: Connecting with Acme Connect", "Installing on macOS") in headings(document)
    macos = next(s for s in document.sections if s.heading_path[-1] == "Installing on macOS")
    assert "Self Service" in macos.text
    assert "## " not in macos.text  # the heading lives in heading_path, not in the text


def test_markdown_front_matter_gives_the_title(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("---\ntitle: Leave rules\nowner: hr\n---\nSome text.\n\n## Part\nMore.\n", encoding="utf-8")
    document = load(page)
    assert document.title == "Leave rules"
    assert "owner: hr" not in document.text
    assert headings(document) == [(), ("Part",)]


def test_html_drops_page_chrome_and_keeps_headings() -> None:
    document = load(EXAMPLES / "it/printers.html")
    assert document.title == "Printing and Scanning"
    assert ("Printing and Scanning", "Scanning") in headings(document)
    html = (EXAMPLES / "it/printers.html").read_text(encoding="utf-8")
    assert "<footer" in html and "<nav" in html
    footer_text = html.split("<footer", 1)[1].split(">", 1)[1].split("<", 1)[0].strip()
    if footer_text:
        assert footer_text not in document.text


def test_pdf_text_by_page_with_title() -> None:
    document = load(EXAMPLES / "hr/expense-policy.pdf")
    assert document.title == "Acme Corp Expense Policy"
    assert "30 days" in document.text
    assert headings(document)[0] == ("Page 1",)


def test_a_pdfs_running_header_and_footer_are_no_part_of_its_text() -> None:
    """Every page of the expense policy starts with "Acme Corp - Finance - Internal" and ends with "Expense Policy
    v3.1 - Page N of 2": an answer quoted "> Expense Policy v3.1 - Page 1 of 2" under "3. Approval and payment"."""
    document = load(EXAMPLES / "hr/expense-policy.pdf")
    assert "Internal" not in document.text and "Page 1 of 2" not in document.text and "of 2" not in document.text
    assert "Claims approved later are\npaid the following month." in document.text  # the lines before the footer
    assert "Contact Finance at finance@acme.example" in document.text


def test_only_lines_at_the_edges_of_most_pages_are_running_lines() -> None:
    from knowledge.loaders.pdf import without_running_lines

    parts = ("Setting up", "Daily use", "Help")
    pages = [f"Acme Guide\n{part}\nAcme Guide\nText {n}.\nAcme Guide\n- {n} -" for n, part in enumerate(parts)]
    assert without_running_lines(pages) == [f"{part}\nAcme Guide\nText {n}." for n, part in enumerate(parts)]
    one = ["Acme Guide\nText.\n- 1 -"]
    assert without_running_lines(one) == one  # one page: nothing tells a header from a first line
    # A line at the top of two pages in four is the pages' own; of three in four, a running header.
    four = ["Overview\nText.", "Details\nMore.", "Overview\nAgain.", "Limits\nLast."]
    assert without_running_lines(four) == four
    assert without_running_lines([*four[:3], "Overview\nLast."]) == ["Text.", "Details\nMore.", "Again.", "Last."]


def test_pdf_without_bookmarks_is_cut_at_its_numbered_section_headings() -> None:
    document = load(EXAMPLES / "hr/expense-policy.pdf")
    found = headings(document)
    assert found[0] == ("Page 1",)  # the cover lines before the first section
    assert found[1:] == [("1. Purpose and scope",), ("2. Submitting a claim",), ("3. Approval and payment",),
                         ("4. Limits",), ("5. Taxis and transport",), ("6. Not reimbursable",),
                         ("7. Corporate card",), ("8. Questions",)]  # fmt: skip
    limits = next(s.text for s in document.sections if s.heading_path == ("4. Limits",))
    assert "Meals while travelling EUR 60 per day" in limits and "Taxis" not in limits  # one topic a section


def test_a_numbered_list_in_a_pdf_is_no_heading() -> None:
    from knowledge.loaders.pdf import _numbered_sections

    pages = ["Acme Guide\n1. Setting up\nDo this first:\n1. Open the app\n2. Sign in\n3. Approve the request\n"
             "2. Using it\nEvery day, connect before work.\n", "3. Help\nCall ext. 4357.\n"]  # fmt: skip
    sections = _numbered_sections(pages)
    assert sections is not None
    assert [s.heading_path for s in sections] == [("Page 1",), ("1. Setting up",), ("2. Using it",), ("3. Help",)]
    assert "2. Sign in" in sections[1].text
    assert _numbered_sections(["Steps\n1. Open the app\n2. Sign in\nDone.\n"]) is None  # a list alone


def test_pdf_outline_gives_headings() -> None:
    writer = PdfWriter()
    source = EXAMPLES / "hr/expense-policy.pdf"
    writer.append(str(source))
    writer.add_outline_item("Submitting", 0)
    writer.add_outline_item("Limits", 1)
    buffer = io.BytesIO()
    writer.write(buffer)
    document = load_document(buffer.getvalue(), Path("policy.pdf"))
    assert headings(document) == [("Submitting",), ("Limits",)]


def test_docx_heading_styles() -> None:
    document = load(EXAMPLES / "hr/parental-leave.docx")
    assert document.title == "Parental Leave Policy"
    assert ("Parental Leave Policy", "Entitlement", "Secondary caregiver") in headings(document)


def test_rst_sections() -> None:
    document = load(EXAMPLES / "it/software-requests.rst")
    assert document.title == "Requesting Software"
    assert ("Requesting Software", "Requesting new software", "Administrator rights") in headings(document)


def test_plain_text_first_line_is_the_title() -> None:
    document = load(EXAMPLES / "facilities/parking.txt")
    assert document.title.startswith("ACME CORP - PARKING")
    assert document.text == (EXAMPLES / "facilities/parking.txt").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("empty.md", b"  \n\n", "empty"),
        ("binary.md", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(200), "binary"),
        ("latin1.txt", "Café crème, s'il vous plaît".encode("latin-1"), "not valid UTF-8"),
        ("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage", "PDF"),
        ("broken.docx", b"PK\x03\x04 this is not really a zip", "DOCX"),
        ("only-markup.html", b"<html><head><script>x()</script></head><body><nav>Home</nav></body></html>", "no text"),
    ],
)
def test_bad_input_gets_a_reason(name: str, data: bytes, reason: str) -> None:
    with pytest.raises(LoadError, match=reason):
        load_document(data, Path(name))


def test_encrypted_pdf_is_refused_with_a_reason() -> None:
    writer = PdfWriter()
    writer.append(str(EXAMPLES / "hr/expense-policy.pdf"))
    writer.encrypt(user_password="s3cret", owner_password="owner", algorithm="AES-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(LoadError, match="encrypted"):
        load_document(buffer.getvalue(), Path("locked.pdf"))


def test_pdf_with_only_an_owner_password_is_read() -> None:
    """Many PDFs are 'encrypted' only to restrict printing: an empty user password opens them."""
    writer = PdfWriter()
    writer.append(str(EXAMPLES / "hr/expense-policy.pdf"))
    writer.encrypt(user_password="", owner_password="owner", algorithm="AES-256")
    buffer = io.BytesIO()
    writer.write(buffer)
    assert "30 days" in load_document(buffer.getvalue(), Path("restricted.pdf")).text
