#!/usr/bin/env python3
"""Generate the binary example pages in examples/knowledge/.

The example knowledge base is mostly Markdown, but a real knowledge base also
contains PDFs and Word documents.  This script creates:

* ``examples/knowledge/hr/expense-policy.pdf``   (2 pages, made with fpdf2)
* ``examples/knowledge/hr/parental-leave.docx``  (Heading 1/2 styles, python-docx)

The generated files are committed, so you only need to run this script if you
change the text below:

    pip install fpdf2 python-docx
    python examples/make_binary_pages.py

Facts in these documents must stay consistent with the other pages (e.g. the
hotel limits in hr/travel-booking.md and the Spanish page es/gastos.md).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

KNOWLEDGE = Path(__file__).resolve().parent / "knowledge"

# Fixed date so that re-running the script produces the same PDF metadata.
DOC_DATE = dt.datetime(2025, 1, 1, 9, 0, 0, tzinfo=dt.UTC)


# --------------------------------------------------------------------------
# Expense policy (PDF)
# --------------------------------------------------------------------------

EXPENSE_TITLE = "Acme Corp Expense Policy"

# (heading, [paragraphs or bullet lists]); a list means bullet points.
EXPENSE_PAGE_1 = [
    (
        "1. Purpose and scope",
        [
            "This policy explains which business expenses Acme Corp reimburses, "
            "the limits that apply and how to claim them. It applies to all "
            "employees in all offices (Amsterdam, Berlin, Lyon, Madrid and Tokyo). "
            "Amounts are in euros; the Tokyo office uses the equivalent in yen at "
            "the monthly Finance exchange rate.",
        ],
    ),
    (
        "2. Submitting a claim",
        [
            "Submit all expenses in Acme Expenses (https://expenses.acme.example) "
            "or the Acme Expenses mobile app within 30 days of the date of the "
            "expense. Claims submitted later than 30 days are only reimbursed with "
            "written approval from Finance.",
            [
                "Take a photo of each receipt in the app; keep the paper receipt until the claim has been paid.",
                "A receipt is required for every expense over EUR 25. Below EUR 25 a short description is enough.",
                "Add the project or cost centre and, for client meals, the names of the attendees.",
            ],
        ],
    ),
    (
        "3. Approval and payment",
        [
            "Your line manager approves every claim. Claims over EUR 1,000 also need approval from Finance.",
            "Claims approved by the 20th of the month are paid with that month's "
            "salary. Claims approved later are paid the following month.",
        ],
    ),
]

EXPENSE_LIMITS = [
    ("Expense", "Limit"),
    ("Meals while travelling", "EUR 60 per day"),
    ("Hotel (book in Acme Travel)", "EUR 180 per night"),
    ("Hotel in London, Paris, New York, Tokyo, Zurich", "EUR 250 per night"),
    ("Client entertainment", "EUR 100 per person, approved in advance"),
    ("Private car (mileage)", "EUR 0.23 per km"),
    ("Home office allowance (one-off)", "EUR 400, within first 6 months"),
]

EXPENSE_PAGE_2 = [
    (
        "5. Taxis and transport",
        [
            "Use public transport where reasonable. Taxis and ride-hailing are "
            "reimbursed when travelling with heavy equipment, between 22:00 and "
            "06:00, or when no public transport is available. Flights, trains and "
            "hotels must be booked through Acme Travel and are paid by Acme "
            "directly, so they must not be claimed again.",
        ],
    ),
    (
        "6. Not reimbursable",
        [
            [
                "Alcohol, except as part of approved client entertainment.",
                "Traffic and parking fines.",
                "Minibar, in-room films and hotel laundry for trips under 5 nights.",
                "Seat or class upgrades outside the travel policy.",
                "Commuting costs between home and your usual office.",
            ],
        ],
    ),
    (
        "7. Corporate card",
        [
            "Employees who travel more than four times a year can request an Acme "
            "corporate card from Finance. Card transactions appear in Acme "
            "Expenses automatically; you still need to attach receipts and submit "
            "them within 30 days.",
        ],
    ),
    (
        "8. Questions",
        [
            "Contact Finance at finance@acme.example or in the Slack channel #ask-finance.",
        ],
    ),
]


def make_pdf(path: Path) -> None:
    from fpdf import FPDF

    class PolicyPDF(FPDF):
        def header(self) -> None:
            self.set_font("Helvetica", "", 8)
            self.set_text_color(110)
            self.cell(0, 5, "Acme Corp - Finance - Internal", align="R")
            self.ln(8)
            self.set_text_color(0)

        def footer(self) -> None:
            self.set_y(-15)
            self.set_font("Helvetica", "", 8)
            self.set_text_color(110)
            self.cell(0, 10, f"Expense Policy v3.1 - Page {self.page_no()} of {{nb}}", align="C")
            self.set_text_color(0)

    pdf = PolicyPDF(format="A4")
    pdf.set_creation_date(DOC_DATE)
    pdf.set_title(EXPENSE_TITLE)
    pdf.set_author("Acme Corp Finance")
    pdf.set_subject("Business expenses: limits, deadlines and approval")
    pdf.set_lang("en")
    pdf.set_margins(20, 15, 20)
    pdf.set_auto_page_break(auto=True, margin=20)

    def heading(text: str, size: int = 13) -> None:
        pdf.ln(2)
        pdf.set_font("Helvetica", "B", size)
        pdf.multi_cell(0, 7, text, new_x="LMARGIN", new_y="NEXT")
        pdf.ln(1)

    def body(blocks: list) -> None:
        for block in blocks:
            if isinstance(block, list):
                pdf.set_font("Helvetica", "", 10.5)
                for item in block:
                    pdf.set_x(pdf.l_margin + 4)
                    pdf.multi_cell(0, 5.5, "- " + item, new_x="LMARGIN", new_y="NEXT")
                pdf.ln(2)
            else:
                pdf.set_font("Helvetica", "", 10.5)
                pdf.multi_cell(0, 5.5, block, new_x="LMARGIN", new_y="NEXT")
                pdf.ln(2)

    # Page 1
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 20)
    pdf.multi_cell(0, 10, EXPENSE_TITLE, new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 9.5)
    pdf.set_text_color(90)
    pdf.multi_cell(0, 5, "Version 3.1 - Effective 1 January 2025 - Owner: Finance", new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(0)
    pdf.ln(4)
    for title, blocks in EXPENSE_PAGE_1:
        heading(title)
        body(blocks)

    # Page 2
    pdf.add_page()
    heading("4. Limits")
    body(
        [
            "The following limits apply per person. Amounts above a limit are "
            "not reimbursed unless Finance approved them in advance."
        ]
    )
    pdf.set_font("Helvetica", "", 10)
    with pdf.table(col_widths=(95, 75), text_align="LEFT", line_height=6.5) as table:
        for row in EXPENSE_LIMITS:
            r = table.row()
            for cell in row:
                r.cell(cell)
    pdf.ln(3)
    for title, blocks in EXPENSE_PAGE_2:
        heading(title)
        body(blocks)

    pdf.output(str(path))


# --------------------------------------------------------------------------
# Parental leave (DOCX)
# --------------------------------------------------------------------------

PARENTAL_SECTIONS = [
    (
        "Overview",
        [
            "Acme Corp offers fully paid parental leave to all employees who "
            "become parents through birth, adoption or surrogacy. Where local law "
            "gives you more leave or pay, the more generous rule applies.",
        ],
    ),
    (
        "Entitlement",
        [
            (
                "Primary caregiver",
                [
                    "The birth parent or primary caregiver receives 18 weeks of parental leave on full pay.",
                    "Leave can start up to 6 weeks before the expected due date.",
                ],
            ),
            (
                "Secondary caregiver",
                [
                    "The other parent receives 6 weeks of parental leave on full pay.",
                    "The 6 weeks can be taken in one block or in blocks of at least "
                    "one week, at any time within 12 months of the birth or adoption.",
                ],
            ),
        ],
    ),
    (
        "Eligibility",
        [
            "All permanent and fixed-term employees are eligible from their first "
            "day of employment. There is no minimum length of service.",
        ],
    ),
    (
        "How to request parental leave",
        [
            "Notify HR at least 8 weeks before your planned start date.",
            "Request the leave in Acme People under Time off > New request > "
            "Parental leave and upload the medical certificate with the expected "
            "due date, or the adoption placement letter.",
            "Agree a handover plan with your manager. HR confirms your leave "
            "dates and pay in writing within 5 working days.",
        ],
    ),
    (
        "Pay during leave",
        [
            "Acme pays your full salary during the paid weeks. Any statutory "
            "parental or maternity pay is received by Acme and topped up to your "
            "full salary, so you do not lose income. Pension contributions and "
            "benefits continue as normal, and paid leave continues to accrue.",
        ],
    ),
    (
        "Returning to work",
        [
            "You can use up to 10 optional keeping-in-touch days during your leave, paid at your normal rate.",
            "Phased return: during your first 4 weeks back you can work 3 days per week on full pay.",
            "You return to the same role, or a similar role on the same terms if your team has been reorganised.",
        ],
    ),
    (
        "Contacts",
        [
            "Questions: HR at hr@acme.example or the Slack channel #ask-hr.",
        ],
    ),
]


def make_docx(path: Path) -> None:
    from docx import Document
    from docx.shared import Pt

    doc = Document()
    props = doc.core_properties
    props.title = "Parental Leave Policy"
    props.author = "Acme Corp HR"
    props.subject = "Parental leave entitlement, pay and how to request it"
    props.created = DOC_DATE.replace(tzinfo=None)
    props.modified = DOC_DATE.replace(tzinfo=None)
    props.last_modified_by = "Acme Corp HR"
    props.revision = 1

    doc.styles["Normal"].font.size = Pt(11)

    doc.add_heading("Parental Leave Policy", level=1)
    intro = doc.add_paragraph("Applies to: all Acme Corp employees. Owner: HR. Effective: 1 January 2025.")
    intro.runs[0].italic = True

    for title, content in PARENTAL_SECTIONS:
        doc.add_heading(title, level=2)
        for item in content:
            if isinstance(item, tuple):  # (sub-heading, [paragraphs])
                sub_title, paras = item
                doc.add_heading(sub_title, level=3)
                for para in paras:
                    doc.add_paragraph(para, style="List Bullet")
            else:
                doc.add_paragraph(item)

    _shrink_docx(doc)
    doc.save(str(path))


def _shrink_docx(doc) -> None:
    """Drop parts of python-docx's default template that the page does not need.

    The default template carries ~800 KB (uncompressed) of style definitions,
    a thumbnail and customXml; without them the file is a few KB and still
    opens normally in Word and LibreOffice.
    """
    from docx.oxml.ns import qn

    unwanted = ("thumbnail", "stylesWithEffects", "customXml")
    for rels in (doc.part.package.rels, doc.part.rels):
        for rId, rel in list(rels.items()):
            if rel.reltype.endswith(unwanted):
                del rels[rId]

    # Keep only the styles that are used (plus defaults and what they are based on).
    styles = doc.styles.element
    used = {"Normal", "DefaultParagraphFont", "TableNormal", "NoList"}
    for el in doc.element.body.iter(qn("w:pStyle"), qn("w:rStyle")):
        used.add(el.get(qn("w:val")))
    by_id = {s.get(qn("w:styleId")): s for s in styles.findall(qn("w:style"))}
    todo = list(used)
    while todo:
        style = by_id.get(todo.pop())
        if style is None:
            continue
        for tag in ("w:basedOn", "w:link", "w:next"):
            ref = style.find(qn(tag))
            if ref is not None and ref.get(qn("w:val")) not in used:
                used.add(ref.get(qn("w:val")))
                todo.append(ref.get(qn("w:val")))
    for style_id, style in by_id.items():
        if style_id not in used:
            styles.remove(style)
    latent = styles.find(qn("w:latentStyles"))
    if latent is not None:
        styles.remove(latent)


def main() -> None:
    pdf_path = KNOWLEDGE / "hr" / "expense-policy.pdf"
    docx_path = KNOWLEDGE / "hr" / "parental-leave.docx"
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    make_pdf(pdf_path)
    make_docx(docx_path)
    for p in (pdf_path, docx_path):
        print(f"wrote {p.relative_to(KNOWLEDGE.parent.parent)} ({p.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
