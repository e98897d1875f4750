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


def test_html_reads_as_markdown_writes_it() -> None:
    """The printer page read "install Acme Print ." (a space after every string of the page), its steps lost their
    numbers and its printer table was a line of cell words a row, its header four paragraphs: an answer quoted
    "Select your job and press Print , or press Print All ." and a printer's row without what its cells are."""
    text = load(EXAMPLES / "it/printers.html").text
    assert "- Windows: open Software Center and install Acme Print.\n- macOS: open Self Service" in text
    assert "1. Print as usual and select the `Acme-FollowMe` printer.\n2. Go to any Acme printer" in text
    assert "3. Select your job and press Print, or press Print All." in text
    assert (
        "| Office | Location | Printer name | Colour |\n|---|---|---|---|\n"
        "| Amsterdam | 2nd floor, next to the kitchen | AMS-2F-01 | Yes |\n"
    ) in text


def test_html_code_blocks_list_items_and_odd_tables(tmp_path: Path) -> None:
    page = tmp_path / "odd.html"
    page.write_bytes(
        b"<html><head><title>Tools</title></head><body><h1>Run <code>apt</code> <br>today</h1>"
        b"<p>Type <code>sudo apt install foo</code>, then press <kbd>Enter</kbd>.</p>"
        b"<pre>\n$ foo --bar   baz\n  indented\n</pre>"
        b'<ol start="3"><li><p>Third</p><p>More of the third.</p></li><li>Fourth<ul><li>sub</li></ul></li></ol>'
        b"<table><tr><td>a|b</td><td>c</td></tr><tr><td>d</td></tr></table>"
        b"<table><tr><td><h2>Laid out</h2><p>A page laid out in a table.</p></td><td><p>Its side.</p></td></tr></table>"
        b"</body></html>"
    )
    document = load(page)
    assert document.title == "Run apt today"
    text = document.text
    assert "Type `sudo apt install foo`, then press Enter." in text
    assert "```\n$ foo --bar   baz\n  indented\n```" in text  # a command's spaces kept
    assert "3. Third\n   More of the third.\n4. Fourth" in text  # an item's second paragraph stays in the item
    assert "| a\\|b | c |\n|---|---|\n| d |  |" in text
    laid_out = document.sections[-1]  # a table with headings or lists in it is the page's layout, read as a page
    assert laid_out.heading_path[-1] == "Laid out" and "|" not in laid_out.text
    assert "A page laid out in a table.\n\nIts side." in laid_out.text


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


def test_rst_reads_as_markdown_writes_it(tmp_path: Path) -> None:
    """The software page's request steps read as paragraphs without their numbers, its bullets without markers and
    its ``code`` without backticks: an answer quoted "Go to https://help.acme.example and open the Software request
    form." as a sentence, not as step 1 of 5."""
    text = load(EXAMPLES / "it/software-requests.rst").text
    assert "1. Go to `https://help.acme.example` and open the **Software request** form.\n2. Give" in text
    assert "- **Linux:** use the Acme package repository, which is preconfigured on\n  company Ubuntu laptops" in text
    page = tmp_path / "steps.rst"
    page.write_text(
        "Steps\n=====\n\n3. Three\n4. Four\n\n   More of four.\n\n   - nested\n\n"
        ".. code-block:: sh\n\n   sudo apt   install x\n\n"
        "+-----+---+\n| A   | B |\n+=====+===+\n| 1|x | 2 |\n+-----+---+\n",
        encoding="utf-8",
    )
    text = load(page).text
    assert "3. Three\n4. Four\n\n   More of four.\n\n   - nested" in text  # an item's blocks stay indented in it
    assert "```\nsudo apt   install x\n```" in text and "| A | B |\n|---|---|\n| 1\\|x | 2 |" in text


def test_docx_lists_keep_their_markers_and_tables_their_header(tmp_path: Path) -> None:
    """Word's numbered and bulleted paragraphs read as plain paragraphs, their numbers lost (an answer could not tell
    step 2 from a remark), and a table's rows as "a | b" lines with no header to tell its columns."""
    import docx
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn

    document = docx.Document()
    document.add_heading("Leave", level=1)
    document.add_paragraph("To request leave:")
    for step in ("Open Acme People.", "Choose Time off.", "Submit the request."):
        document.add_paragraph(step, style="List Number")
    document.add_paragraph("Remember:")
    document.add_paragraph("Plan ahead.", style="List Bullet")
    bulleted = document.styles["List Bullet"].element.find(f"{qn('w:pPr')}/{qn('w:numPr')}/{qn('w:numId')}")
    item = document.add_paragraph("Tell your manager.")  # a bullet by its own numbering, as Word marks most items
    numbering = OxmlElement("w:numPr")
    for tag, value in (("w:ilvl", "1"), ("w:numId", bulleted.get(qn("w:val")))):
        element = OxmlElement(tag)
        element.set(qn("w:val"), value)
        numbering.append(element)
    item._p.get_or_add_pPr().append(numbering)
    document.add_paragraph("Then rest.")
    document.add_paragraph("Come back.", style="List Number")  # Word counts a list on, through the document
    table = document.add_table(rows=2, cols=2)
    for (row, column), text in {(0, 0): "Leave", (0, 1): "Days", (1, 0): "Holiday|paid", (1, 1): "25"}.items():
        table.cell(row, column).text = text
    path = tmp_path / "leave.docx"
    document.save(str(path))
    text = load(path).text
    assert "To request leave:\n\n1. Open Acme People.\n2. Choose Time off.\n3. Submit the request.\n\n" in text
    assert "Remember:\n\n- Plan ahead.\n   - Tell your manager.\n\nThen rest.\n\n4. Come back.\n" in text
    assert "| Leave | Days |\n|---|---|\n| Holiday\\|paid | 25 |" in text


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
