"""The extractive answerer: the pages' own sentences, list items and table rows, cited; nothing else.

Every example question is asked through the conversation manager with both embedders (their cosine scales differ):
each unit of each answer must stand word for word in a page the answer cites."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from bot.checks.evaluation import own_words
from bot.checks.sentences import split_sentences
from bot.config import load_settings
from bot.engines.extractive import (
    NAME,
    PRECEDING_STEPS,
    VARIANT_WITHIN,
    ExtractiveAnswerer,
    Unit,
    _fill_steps,
    _fill_variants,
    _render,
    _variant_groups,
    _variants_left_out,
    as_quote,
    asks_when,
    asks_who,
    cut_passage,
    states_contact,
    states_time,
)
from bot.language import MESSAGES, say
from bot.messages import IncomingMessage
from bot.wiring import Bot, Knowledge
from knowledge.documents import Hit
from tests.conftest import REPO, synced_handbook

EXAMPLES = REPO / "examples"
QUESTIONS = [json.loads(line) for line in (EXAMPLES / "questions.jsonl").read_text(encoding="utf-8").splitlines()]
VPN_TABLE = """Acme Corp uses **Acme Connect** (version 5.2) as its VPN client.

| Setting | Value |
|---------|-------|
| Server  | `vpn.acme.example` |
| Port    | 1194 (UDP) |

1. Open **Software Center** from the Start menu.
2. Select **Applications**, find **Acme Connect** and click **Install**.
3. Click the tray icon and click **Connect**.

Some hotel networks block UDP port 1194. Choose TCP 443 in the
settings instead, then connect again.
"""


def hit(text: str, *, path: str = "it/vpn.md", heading: str = "Connection details", position: int = 0) -> Hit:
    return Hit(0.8, f"{path}#{position}", "handbook", path, "VPN", heading, text, position)


def extractive_bot(root: Path, embedder: object) -> Bot:
    config = synced_handbook(root, embedder)
    config.write_text(config.read_text() + "generator: {backend: extractive}\n")
    return Bot(Knowledge(load_settings(config), prebuilt_embedder=embedder), warn=print)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def e5_bot(e5_embedder, tmp_path_factory: pytest.TempPathFactory) -> Bot:  # type: ignore[no-untyped-def]
    """One extractive bot over the synced example handbook (e5) for the module's questions: each asks in a thread of
    its own, and syncing the handbook again for each cost about 15 s of the suite."""
    return extractive_bot(tmp_path_factory.mktemp("e5-handbook"), e5_embedder)


def ask(bot: Bot, text: str, thread: str) -> object:
    return bot.conversations.answer(IncomingMessage("cli", "local", "cli", thread, "U1", text))


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def unquoted(text: str) -> list[str]:
    """An excerpt's lines as the pages have them: each is shown as a block quote ("> ")."""
    return [line.removeprefix("> ") for line in text.splitlines()]


def test_units_are_rows_with_their_header_whole_items_and_joined_wrapped_sentences() -> None:
    units = cut_passage(0, hit(VPN_TABLE))
    kinds = [(unit.kind, unit.text.split("|")[1].strip() if unit.kind == "row" else unit.text) for unit in units]
    assert kinds[0] == ("sentence", "Acme Corp uses **Acme Connect** (version 5.2) as its VPN client.")
    assert ("row", "Port") in kinds and ("row", "Setting") not in kinds  # the header row is no unit of its own
    port = next(unit for unit in units if unit.kind == "row" and "1194" in unit.text)
    assert port.header.splitlines()[0].startswith("| Setting | Value |")
    steps = [unit for unit in units if unit.kind == "item"]
    assert len(steps) == 3 and len({unit.list_id for unit in steps}) == 1 and steps[0].list_id >= 0
    sentences = [unit.text for unit in units if unit.kind == "sentence"]
    assert sentences[-2:] == [
        "Some hotel networks block UDP port 1194.",
        "Choose TCP 443 in the settings instead, then connect again.",
    ]  # one line, rejoined


def test_a_step_comes_with_the_list_inside_it() -> None:
    """The Linux VPN steps' "2. Install it:" holds its own list, a command a distribution: an answer quoting the
    step must quote its commands (it quoted "2. Install it:" alone when only the steps around it were chosen)."""
    linux = (REPO / "examples/knowledge/it/vpn.md").read_text(encoding="utf-8").split("## Installing on Linux")[1]
    units = cut_passage(0, hit(linux.split("##")[0]))
    steps = [i for i, unit in enumerate(units) if unit.list_id >= 0]
    assert [units[i].text.split()[0] for i in steps] == ["1.", "2.", "3.", "4."]
    picked = [unit.text for unit in _fill_steps(units, [steps[0], steps[2]], 40)]
    assert picked[1:4] == [
        "2. Install it:",
        "   - Ubuntu: `sudo apt install ./acme-connect_5.2.0_amd64.deb`",
        "   - Fedora: `sudo dnf install ./acme-connect-5.2.0.x86_64.rpm`",
    ]
    assert picked[4].startswith("3. Connect") and len(picked) == 5


PDF_PAGE = """Acme Corp - Finance - Internal
4. Limits
The following limits apply per person. Amounts above a limit are not reimbursed unless Finance
approved them in advance.
Expense Limit
Meals while travelling EUR 60 per day
Hotel (book in Acme Travel) EUR 180 per night
Hotel in London, Paris, New York, Tokyo, Zurich EUR 250 per night
Contact Finance at finance@acme.example or in the Slack channel #ask-finance. Claims approved later are
paid the following month.
"""


def test_a_pdfs_lines_that_end_short_are_units_of_their_own_and_its_wrapped_prose_is_joined() -> None:
    """Text from a PDF has no blank lines: its table rows were one long "sentence" quoted whole, the whole table
    for a question on one of its rows."""
    units = cut_passage(0, hit(PDF_PAGE, path="hr/expense-policy.pdf"))
    sentences = [unit.text for unit in units if unit.kind == "sentence"]
    assert "Meals while travelling EUR 60 per day" in sentences
    assert "Hotel (book in Acme Travel) EUR 180 per night" in sentences
    assert "Amounts above a limit are not reimbursed unless Finance approved them in advance." in sentences
    assert "Claims approved later are paid the following month." in sentences  # wrapped before a lowercase word
    assert "Expense Limit" not in sentences and not any(s.startswith("Expense Limit") for s in sentences)  # a label
    assert "Acme Corp - Finance - Internal" in sentences


@pytest.mark.parametrize("fixture", ["e5_embedder", "embedder"])
def test_a_table_row_comes_with_its_header_and_steps_keep_their_numbers(fixture: str, request) -> None:  # type: ignore[no-untyped-def]
    answerer = ExtractiveAnswerer(request.getfixturevalue(fixture), max_words=80)
    port = answerer.excerpt("Which port does the VPN use?", [hit(VPN_TABLE)])
    assert "| Setting | Value |\n|---------|-------|\n" in port.text and "| Port    | 1194 (UDP) |" in port.text
    steps = answerer.excerpt("How do I install Acme Connect from Software Center?", [hit(VPN_TABLE)])
    numbered = [line for line in steps.text.splitlines() if re.match(r"\d\. ", line)]
    assert numbered and all(line in VPN_TABLE.splitlines() for line in numbered)  # verbatim, numbers kept
    if len(numbered) >= 2:  # no step skipped between two that were chosen
        numbers = [int(line[0]) for line in numbered]
        assert numbers == list(range(numbers[0], numbers[-1] + 1))


RESET = """You can reset your password yourself at any time.

1. Open `https://password.acme.example` from any browser (the page works without the VPN).
2. Enter your Acme email address and click **Forgot password**.
3. Approve the verification request in Microsoft Authenticator.
4. Choose a new password and confirm it.
"""


@pytest.mark.parametrize("fixture", ["e5_embedder", "embedder"])
def test_a_chosen_step_comes_with_the_steps_before_it(fixture: str, request) -> None:  # type: ignore[no-untyped-def]
    """ "2. Enter your Acme email address and click Forgot password." was the answer for a locked-out password: where
    to enter it was step 1, left out. A step is done after the ones before it."""
    answerer = ExtractiveAnswerer(request.getfixturevalue(fixture), max_words=80)
    found = answerer.excerpt("Where do I enter my email address to click Forgot password?", [hit(RESET)])
    numbered = [line for line in found.text.splitlines() if re.match(r"\d\. ", line)]
    assert "2. Enter your Acme email address and click **Forgot password**." in numbered
    assert [int(line[0]) for line in numbered] == list(range(1, len(numbered) + 1)), found.text


def test_a_step_deep_in_a_long_procedure_comes_without_all_before_it() -> None:
    """The steps before a chosen one join it when they are few: a fact in step 8 ("the default paper size is A4")
    does not bring the seven steps of setting up the printer."""
    units = [Unit(0, 0, 0, "sentence", "Add a printer:")]
    units += [Unit(0, n, n, "item", f"{n}. Step {n}.", list_id=7) for n in range(1, 9)]
    picked = [unit.text for unit in _fill_steps(units, [8], 80)]
    assert picked == ["8. Step 8."]
    shallow = 1 + PRECEDING_STEPS  # its first step, PRECEDING_STEPS before it: all join, in the page's order
    assert [unit.text for unit in _fill_steps(units, [shallow + 1, shallow], 80)] == [
        f"{n}. Step {n}." for n in range(1, shallow + 2)
    ]
    assert [unit.text for unit in _fill_steps(units, [0, 7, 5], 80)] == [
        "Add a printer:",
        "5. Step 5.",
        "6. Step 6.",
        "7. Step 7.",
    ]
    # The best unit's list is completed first; another list's steps before join only within the words allowed.
    other = [Unit(1, n, n, "item", f"{n}. Other {n}.", list_id=9) for n in range(1, 4)]  # units 9, 10, 11
    picked = [unit.text for unit in _fill_steps(units + other, [3, 11], 6)]  # steps 1-2 take the six words
    assert picked == ["1. Step 1.", "2. Step 2.", "3. Step 3.", "3. Other 3."]
    picked = [unit.text for unit in _fill_steps(units + other, [11, 3], 6)]
    assert picked == ["3. Step 3.", "1. Other 1.", "2. Other 2.", "3. Other 3."]


def test_short_answers_stop_near_max_words(e5_embedder) -> None:  # type: ignore[no-untyped-def]
    long_page = "\n\n".join(
        f"The VPN rule number {n} says that sessions end after {n} hours of use." for n in range(40)
    )
    excerpt = ExtractiveAnswerer(e5_embedder, max_words=30).excerpt("When do VPN sessions end?", [hit(long_page)])
    assert 0 < len(excerpt.units) <= 3 and len(re.findall(r"\w+", excerpt.text)) <= 30 + 10  # a heading aside


def test_a_unit_that_tells_a_fact_the_question_lacks_beats_one_that_restates_the_question(e5_embedder) -> None:  # type: ignore[no-untyped-def]
    """The phishing question's words are all in the "what to report" bullet, which tells the asker nothing; the
    table row with the hotline's extension answers it."""
    page = (REPO / "examples/knowledge/it/security-incidents.md").read_text(encoding="utf-8")
    sections = page.split("\n## ")[1:]
    hits = [hit("## " + text, path="it/security-incidents.md", heading=text.splitlines()[0], position=number)
            for number, text in enumerate(sections)]  # fmt: skip
    question = "I clicked a link in a phishing email and entered my password. What should I do?"
    excerpt = ExtractiveAnswerer(e5_embedder, max_words=80).excerpt(question, hits)
    assert "extension 4911" in excerpt.text


@pytest.mark.parametrize("fixture", ["e5_embedder", "embedder"])
def test_a_row_of_a_short_table_comes_with_the_other_rows_a_long_tables_alone(fixture: str, request) -> None:  # type: ignore[no-untyped-def]
    """A row chosen from a table of at most WHOLE_TABLE_ROWS rows brings the others: its case reads right only
    beside them. From a longer table, only the rows chosen."""
    answerer = ExtractiveAnswerer(request.getfixturevalue(fixture), max_words=80)
    cities = ("Amsterdam", "Berlin", "Madrid", "Paris", "Lisbon", "Tokyo", "Osaka")
    rows = [f"| {city} | Extension {4000 + n} | {city} office reception, ground floor |"
            for n, city in enumerate(cities)]  # fmt: skip
    question = "What is the phone extension of the Madrid office reception?"
    for count, whole in ((4, True), (7, False)):
        offices = hit("| Office | Phone | Where |\n|---|---|---|\n" + "\n".join(rows[:count]), heading="Receptions")
        quoted = [row for row in rows[:count] if row in answerer.excerpt(question, [offices]).text.splitlines()]
        assert rows[2] in quoted and (len(quoted) == count) is whole, quoted


TWO_SIDED = """To print on both sides of each sheet of paper:

Open the print dialog by pressing Ctrl+P.

Go to the Page Setup tab of the Print window and choose an option from the Two-sided drop-down list.

Click Print.

Collect the pages from the output tray.

Printers handle two-sided printing in different ways. It is a good idea to experiment with your printer.
"""


@pytest.mark.parametrize("fixture", ["e5_embedder", "embedder"])
def test_a_sentence_ending_with_a_colon_comes_with_what_it_introduces(fixture: str, request) -> None:  # type: ignore[no-untyped-def]
    """gnome-help's steps are paragraphs after "To print on both sides of each sheet of paper:", which was the whole
    answer to "How do I print on both sides of the sheet?". The units after it join it."""
    answerer = ExtractiveAnswerer(request.getfixturevalue(fixture), max_words=80)
    page = hit(TWO_SIDED, path="printing-2sided.page", heading="Print two-sided and multi-page layouts")
    lines = answerer.excerpt("How do I print on both sides of the sheet?", [page]).text.splitlines()
    assert "To print on both sides of each sheet of paper:" in lines
    steps = [line for line in TWO_SIDED.splitlines()[2:9] if line]
    assert steps == [line for line in lines if line in steps], lines  # all four, in the page's order


@pytest.mark.slow
def test_a_row_that_tells_one_case_is_not_quoted_without_the_others(e5_bot: Bot) -> None:
    """The security page's "How to report" table tells its cases apart by one another: asked in Portuguese by
    someone who clicked, e5 chose the row "Suspicious email (not clicked)" alone (the embedding does not read the
    "not"), and the asker never read the row that answers: call extension 4911."""
    answer = ask(e5_bot, "Cliquei num link estranho num e-mail. E agora?", thread="clicked-pt")
    assert "| You clicked, entered a password or opened an attachment |" in answer.text, answer.text  # type: ignore[attr-defined]
    assert "extension 4911" in answer.text  # type: ignore[attr-defined]


@pytest.mark.slow
def test_a_question_asking_when_is_answered_with_the_hours_not_the_first_pages_contact(e5_bot: Bot) -> None:
    """Retrieval puts the software page first (its last line names the helpdesk's address and extension); the hours
    are on the second page. The contact lines matched the question best, and the asker was told the extension."""
    answer = ask(e5_bot, "When can I call the IT helpdesk?", thread="hours")
    assert "08:00–18:00" in answer.text, answer.text  # type: ignore[attr-defined]
    assert "it/support-hours.md" in [s.path for s in answer.sources]  # type: ignore[attr-defined]


def test_what_asks_when_in_the_nine_languages_and_what_states_a_time() -> None:
    asking = ["When can I call the IT helpdesk?", "Until when do I report sick? I have a fever.",
              "Wann ist der Helpdesk erreichbar?", "Bis wann muss ich mich krankmelden?", "À quelle heure ouvre le "
              "bureau ?", "C'est quand la fête ?", "¿Cuándo abre la oficina?", "Quando posso ligar?", "متى يفتح المكتب",
              "いつ電話できますか", "언제 전화할 수 있나요?", "几点开门？", "Ab wann gilt die neue Regel?",
              "Depuis quand faut-il un badge ?", "¿Hasta cuándo puedo pedir vacaciones?",
              "Qual é o horário de atendimento do suporte de TI?", "Quels sont les horaires du service informatique ?",
              "What are the helpdesk's opening hours?", "Was sind die Öffnungszeiten der Kantine?",
              "¿Cuál es el horario del soporte?", "サポートの受付時間は",
              "고객센터 운영 시간이 어떻게 되나요?", "营业时间是什么", "ما هي مواعيد العمل في المكتب؟"]  # fmt: skip
    not_asking = ["When I open Outlook, it crashes. What do I do?", "What happens when I click the link?",
                  "How many days off do I get?", "Wenn ich krank bin, wem sage ich Bescheid?",
                  "I work office hours. Can I get a parking permit?", "كيف أحجز مواعيد مع الطبيب؟"]  # fmt: skip
    assert [q for q in asking if not asks_when(q)] == []
    assert [q for q in not_asking if asks_when(q)] == []
    times = ["Monday to Friday, **08:00–18:00 CET**", "bis 10 Uhr", "10h30", "9am", "9時", "木曜日", "월요일",
             "segunda-feira", "le samedi", "am Sonntag", "el sábado"]  # fmt: skip
    assert [t for t in times if not states_time(t)] == []
    untimed = ["extension 4357", "10.5 days", "EUR 12.50", "25 days a year", "a segunda etapa", "version 9 amazing"]
    assert [t for t in untimed if states_time(t)] == []


def test_what_asks_whom_to_tell_in_the_nine_languages_and_what_names_a_contact() -> None:
    asking = ["I'm ill today and can't come in. Who do I tell?", "Whom should I contact about my badge?",
              "Ich bin heute krank. Wem sage ich Bescheid?", "Wer kümmert sich um den Drucker?",
              "Je suis malade aujourd'hui, qui dois-je prévenir ?", "À qui dois-je le dire ?",
              "¿A quién aviso?", "¿a quien aviso?", "Quem eu aviso?", "誰に連絡すればいいですか？",
              "누구에게 연락해야 하나요?", "我应该联系谁？", "بمن أتصل إذا كنت مريضا؟",
              "How do I contact HR?"]  # fmt: skip
    not_asking = ["How do I connect to the VPN?", "Comment quitter l'application qui plante ?",
                  "I told my manager who I am.", "When can I call the IT helpdesk?"]  # fmt: skip
    assert [q for q in asking if not asks_who(q)] == []
    assert [q for q in not_asking if asks_who(q)] == []
    contacts = ["contact HR at `hr@acme.example`", "Call the **Security hotline, extension **4911**", "+49 30 1234 567",
                "Slack channel #ask-hr", "Durchwahl 2200", "内線 4357"]  # fmt: skip
    assert [t for t in contacts if not states_contact(t)] == []
    none = ["due 2026-12-31", "25 days a year", "version 4.2.1", "C# and F#", "EUR 1 500 000"]
    assert [t for t in none if states_contact(t)] == []


@pytest.mark.slow
def test_a_question_asking_whom_to_tell_is_answered_with_whom(e5_bot: Bot) -> None:
    """The German sick page's certificate rules scored above its first step for "Wem sage ich Bescheid?": the answer
    told the asker about doctors' notes, and not to tell their manager by 10:00 (or HR at hr@acme.example)."""
    answer = ask(e5_bot, "Ich bin heute krank und kann nicht kommen. Wem sage ich Bescheid?", thread="sick-de")
    assert "bis 10:00 Uhr" in answer.text and "hr@acme.example" in answer.text, answer.text  # type: ignore[attr-defined]
    assert [s.path for s in answer.sources][:1] == ["de/krankmeldung.md"]  # type: ignore[attr-defined]


def test_an_excerpt_is_shown_as_a_quote_and_its_code_as_code() -> None:
    text = ("**VPN › Linux**\nInstall the client:\n```\nsudo apt install acme-connect\n> not a quote\n```\n\n"
            "**Ports**\n| Port | 1194 |")  # fmt: skip
    assert as_quote(text).split("\n") == [
        "> **VPN › Linux**", "> Install the client:", "```", "sudo apt install acme-connect", "> not a quote", "```",
        "", "> **Ports**", "> | Port | 1194 |"]  # fmt: skip


def test_sentences_of_two_overlapping_chunks_are_never_joined_into_one_line() -> None:
    """Two chunks of a page, each starting with a paragraph (block 0 of its own text): a sentence of each is
    shown on a line of its own, as the page has them, not run together into a sentence no page holds."""
    header = "Acme Corp Expense Policy Version 3.1 - Owner: Finance"
    first = hit(f"{header}\n1. Purpose and scope", path="hr/expense-policy.pdf", heading="Page 1", position=0)
    second = hit("the names of the attendees.\n3. Approval", path="hr/expense-policy.pdf", heading="Page 1",
                 position=1)  # fmt: skip
    units = [cut_passage(0, first)[0], cut_passage(1, second)[0]]
    assert [u.block for u in units] == [0, 0] and all(u.kind == "sentence" for u in units)
    assert _render(units, [first, second]).text.splitlines()[1:] == [header, "the names of the attendees."]


def test_the_page_whose_unit_answers_best_comes_first_and_a_pointer_counts_for_the_page_it_points_at() -> None:
    """Retrieval's order is not the answer's: the page of the best unit opens the answer (and its sources); a
    checklist item pointing at another page the answer quotes counts for that page."""
    printers = hit("Windows: open Software Center and install Acme Print.", path="it/printers.html", heading="Setup")
    software = hit("Go to https://help.acme.example and open the Software request form.", path="it/software.rst",
                   heading="Requesting new software", position=1)  # fmt: skip
    checklist = hit("- [ ] Install **Acme Connect**; see [VPN](../it/vpn.md#windows).", path="hr/onboarding.md",
                    heading="Day one", position=2)  # fmt: skip
    vpn = hit("Open Acme Connect and click Connect.", path="it/vpn.md", heading="Connecting", position=3)
    passages = [printers, software, checklist, vpn]
    units = [cut_passage(n, passage)[0] for n, passage in enumerate(passages)]
    scores = dict(zip(units, [0.4, 1.2, 1.5, 0.6], strict=True))
    excerpt = _render(units, passages, scores)
    # The checklist's item counts for the VPN page; the checklist itself comes last, as nothing else of it is quoted.
    assert [passages[n].path for n in excerpt.passages] == ["it/vpn.md", "it/software.rst", "it/printers.html",
                                                            "hr/onboarding.md"]  # fmt: skip
    assert excerpt.text.startswith("**Connecting**\nOpen Acme Connect")
    # Without scores, retrieval's order stays.
    assert [passages[n].path for n in _render(units, passages).passages] == [p.path for p in passages]


def test_a_pages_sentence_that_asks_is_not_the_answer(e5_embedder) -> None:  # type: ignore[no-untyped-def]
    """A page's rhetorical question is near any question in its language: the Spanish sick-leave question's answer
    quoted the Spanish Wi-Fi page's "¿Trabajas desde una cafetería ...?" (ordered by score, it would open with it)."""
    wifi = hit("¿Trabajas desde una cafetería, un hotel u otra red Wi-Fi pública? Conéctate siempre a la VPN "
               "(Acme Connect) antes de acceder a sistemas internos.", path="es/wifi.md", heading="Wi-Fi")  # fmt: skip
    sick = hit("1. Tell your manager **before 10:00 local time** by phone, Slack or text message.",
               path="hr/sick-leave.md", heading="Reporting that you are sick", position=1)  # fmt: skip
    question = "Estoy enfermo hoy y no puedo ir a la oficina, ¿a quién se lo digo?"
    excerpt = ExtractiveAnswerer(e5_embedder, max_words=80).excerpt(question, [wifi, sick], language="es")
    assert not any(unit.text.endswith("?") for unit in excerpt.units), excerpt.text
    assert "before 10:00" in excerpt.text


@pytest.mark.slow
def test_the_answer_opens_with_the_page_that_answers_not_with_retrievals_first(e5_bot: Bot) -> None:
    """Retrieval put the printer page first for Photoshop (its setup says "open Software Center and install Acme
    Print") and the laptop page first for a Spanish forgotten password (it names "portátil"): the answer opened
    with them."""
    photoshop = ask(e5_bot, "I need Photoshop for my job. How do I get it installed?", thread="photoshop")
    assert [s.path for s in photoshop.sources][:1] == ["it/software-requests.rst"], photoshop.text  # type: ignore[attr-defined]
    password = ask(e5_bot, "Olvidé mi contraseña y no puedo entrar en el portátil. ¿Qué hago?", thread="password-es")
    assert [s.path for s in password.sources][:1] == ["it/password-reset.md"], password.text  # type: ignore[attr-defined]


@pytest.mark.slow
@pytest.mark.parametrize("fixture", ["e5_embedder", "embedder"])
def test_every_sentence_of_every_example_answer_stands_in_a_cited_page(fixture: str, request, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    embedder = request.getfixturevalue(fixture)
    bot = request.getfixturevalue("e5_bot") if fixture == "e5_embedder" else extractive_bot(tmp_path, embedder)
    pages = bot.knowledge.lexical_store
    answered = 0
    for n, line in enumerate(QUESTIONS):
        answer = ask(bot, line["question"], thread=f"q{n}")
        if answer.status != "answered":  # type: ignore[attr-defined]
            continue
        answered += 1
        assert answer.model == NAME and answer.sources, line  # type: ignore[attr-defined]
        lead, _, body = answer.text.partition("\n\n")  # type: ignore[attr-defined]
        assert lead == MESSAGES[answer.language]["excerpt_lead"]  # type: ignore[attr-defined]
        assert own_words(body).strip() == "", (line["question"], body)  # all of it quoted: the pages' words
        cited = [pages.page(s.collection, s.path) for s in answer.sources]  # type: ignore[attr-defined]
        text = flat("\n".join(chunk.text for page in cited for chunk in page))
        places = {part for page in cited for chunk in page for part in (chunk.title, chunk.heading)}
        for shown in filter(None, unquoted(body)):
            if shown.startswith("**") and shown.endswith("**") and shown[2:-2] in places:
                continue  # the heading the next lines sit under
            for sentence in split_sentences(shown) or [shown]:
                assert flat(sentence) in text, (line["question"], sentence)
    assert answered >= 20  # not a vacuous pass: most answerable questions are answered (MiniLM reads English only)


@pytest.mark.slow
def test_the_vpn_question_is_answered_from_the_vpn_page_alone(e5_bot: Bot) -> None:
    answer = ask(e5_bot, "How do I connect to the VPN?", thread="vpn-en")
    assert answer.status == "answered" and "Acme Connect" in answer.text  # type: ignore[attr-defined]
    assert [s.path for s in answer.sources] == ["it/vpn.md"]  # type: ignore[attr-defined]
    assert answer.supported == 1.0 and answer.sentences.invented == 0  # type: ignore[attr-defined]
    # No system named: each system's step that connects (Windows, macOS, Linux), not one system's whole procedure.
    for connect in ("Click the tray icon", "The Acme Connect icon appears in the menu bar", "acme-connect login"):
        assert connect in answer.text, answer.text  # type: ignore[attr-defined]


def test_a_question_naming_one_variant_section_leaves_the_others_out() -> None:
    """Sections alike but for one word ("Installing on Windows", "... on macOS", "... on Linux") are variants: a
    question naming one of them more than the others ("Mac" names "macOS") is answered from it alone; the page's
    other sections, variants under another parent and a question naming none keep every unit in."""
    headings = ["", "Connection details", "Installing on Windows", "Installing on macOS", "Installing on Linux",
                "Troubleshooting > Connection timed out", "Troubleshooting > Authentication failed"]  # fmt: skip
    hits = [hit("text", heading=heading, position=i) for i, heading in enumerate(headings)]

    def left_out(question: str) -> list[str]:
        return [h.heading for h, out in zip(hits, _variants_left_out(question, hits), strict=True) if out]

    assert left_out("How do I install the VPN client on my Mac?") == ["Installing on Windows", "Installing on Linux"]
    assert left_out("VPN on Windows or on Linux?") == ["Installing on macOS"]
    assert left_out("How do I connect to the VPN?") == []
    assert left_out("How do I install the VPN?") == []
    assert left_out("My VPN connection timed out") == []  # no other variant under Troubleshooting shares a word
    # Question words and words any question uses name nothing ("what" is in "What to report", not "How to report").
    report = [hit("text", path="it/security.md", heading=h, position=i)
              for i, h in enumerate(("What to report", "How to report", "What to do right away"))]  # fmt: skip
    assert not _variants_left_out("I clicked a phishing link. What should I do?", report).any()
    assert not _variants_left_out("How do I install the VPN client on my Mac?", hits, frozenset({"mac"})).any()
    german = [hit("text", path="de/vpn.md", heading=f"Installation unter {system}", position=i)
              for i, system in enumerate(("Windows", "macOS", "Linux"))]  # fmt: skip
    found = _variants_left_out("Wie installiere ich den VPN-Client unter Windows?", german + hits)
    systems = ["Installation unter macOS", "Installation unter Linux", "Installing on macOS", "Installing on Linux"]
    assert [h.heading for h, out in zip(german + hits, found, strict=True) if out] == systems


def test_variants_chosen_together_each_give_their_best_unit() -> None:
    """A question naming no variant, whose best units lie in two of them (Linux step 3, Windows step 4): each of
    the page's other variants gives its best unit too (the macOS step that connects), or a Mac user reads nothing
    for a Mac."""
    systems = ("Windows", "macOS", "Linux")
    steps = "1. Open the store.\n2. Install Acme Connect.\n3. Sign in.\n4. Click **Connect**.\n"
    hits = [hit("The VPN server is `vpn.acme.example`.", position=0)] + [
        hit(steps.replace("the store", f"the {system} store"), heading=f"Installing on {system}", position=i + 1)
        for i, system in enumerate(systems)
    ]
    units = [unit for index, h in enumerate(hits) for unit in cut_passage(index, h)]
    of = [hits[unit.passage] for unit in units]
    where = {(of[i].heading, unit.text[:2]): i for i, unit in enumerate(units)}
    scores = np.full(len(units), 0.5)
    best = {("Installing on Linux", "3."): 2.3, ("Installing on Windows", "4."): 2.2,
            ("Installing on macOS", "4."): 1.5, ("Installing on macOS", "2."): 1.2}  # fmt: skip
    for (heading, step), score in best.items():
        scores[where[heading, step]] = score
    chosen = [where["Installing on Linux", "3."], where["Installing on Windows", "4."]]

    def picked(chosen: list[int], scores: np.ndarray, allowance: int = 40) -> list[tuple[str, str]]:
        return [(of[i].heading, units[i].text[:2]) for i in _fill_variants(units, chosen, scores, of, allowance)]

    assert picked(chosen, scores) == [("Installing on Linux", "3."), ("Installing on Windows", "4."),
                                      ("Installing on macOS", "4.")]  # fmt: skip
    assert picked(chosen, scores, allowance=2) == [("Installing on Linux", "3."), ("Installing on Windows", "4.")]
    named = scores.copy()  # the question named Linux or Windows: macOS was left out
    named[[i for i, h in enumerate(of) if h.heading == "Installing on macOS"]] = -np.inf
    assert picked(chosen, named) == [("Installing on Linux", "3."), ("Installing on Windows", "4.")]
    far = scores.copy()  # macOS's best unit far below the chosen ones: it says nothing the question asked
    far[[where["Installing on macOS", "4."], where["Installing on macOS", "2."]]] = 2.3 - VARIANT_WITHIN - 0.1
    assert picked(chosen, far) == [("Installing on Linux", "3."), ("Installing on Windows", "4.")]
    # One variant chosen, with a section that has none: nothing added.
    assert picked([where["Installing on Linux", "3."], 0], scores) == [("Installing on Linux", "3."),
                                                                       ("Connection details", "Th")]  # fmt: skip
    # Headings alike but for a question or function word, or sharing a word only, are no variants.
    others = [hit("text", path="it/security.md", heading=h, position=i)
              for i, h in enumerate(("What to report", "How to report", "What to do right away"))]  # fmt: skip
    others += [hit("text", path="hr/expenses.pdf", heading=h, position=i)
               for i, h in enumerate(("1. Purpose and scope", "3. Approval and payment", "4. Limits"))]  # fmt: skip
    others += [hit("text", path="hr/remote.md", heading=h, position=i)
               for i, h in enumerate(("How much can I work from home?", "Security at home"))]  # fmt: skip
    assert _variant_groups(others) == [-1] * len(others)
    assert len(set(_variant_groups(hits))) == 2  # the three systems' sections, and the connection details


def test_a_question_on_one_systems_install_is_answered_with_that_systems_steps(e5_bot: Bot) -> None:
    """The VPN page installs on Windows, macOS and Linux in steps alike: asked for the Mac, the answer quoted Windows
    steps 1-4, macOS steps 1-2 and Linux step 3."""
    answer = ask(e5_bot, "How do I install the VPN client on my Mac?", thread="vpn-mac")
    text = answer.text  # type: ignore[attr-defined]
    assert "Self Service" in text and "Allow" in text, text
    assert "Software Center" not in text and "acme-connect login" not in text, text


@pytest.mark.slow
def test_a_question_answered_by_a_page_in_another_language_is_not_answered_by_its_own_words(e5_bot: Bot) -> None:
    """Retrieval finds the English printer page first and the French telework page second; "imprimer" and "bureau"
    stand only in the French page ("N'imprimez pas ... utilisez les imprimantes du bureau"), so the question's own
    words chose it over "select the Acme-FollowMe printer". Where the first page is in the asker's language, its
    words still count: the German VPN question is answered from the German page's steps. And a sentence of a page in
    the asker's language scores higher for its language alone: the German sick-leave page's "Wenn Ihr Kind krank
    ist ..." was quoted for a question on parental leave, which the English page answers; the lead the question's
    language has (its pages kept in German and English measure it) comes off the German sentences."""
    printer = ask(e5_bot, "Quelle imprimante dois-je sélectionner pour imprimer au bureau ?", thread="printer-fr")
    assert "Acme-FollowMe" in printer.text, printer.text  # type: ignore[attr-defined]
    assert [s.path for s in printer.sources][:1] == ["it/printers.html"]  # type: ignore[attr-defined]
    # The English page's sentences are shown as what they are, a quote: the bot's own words are French.
    assert own_words(printer.text).strip() == say("excerpt_lead", "fr")  # type: ignore[attr-defined]
    vpn = ask(e5_bot, "Wie installiere ich den VPN-Client unter Windows?", thread="vpn-de")
    assert "Software Center" in vpn.text and "Installieren" in vpn.text, vpn.text  # type: ignore[attr-defined]
    assert [s.path for s in vpn.sources] == ["de/vpn.md"]  # type: ignore[attr-defined]
    baby = ask(e5_bot, "Wir bekommen im März ein Baby. Wie lange kann ich freinehmen?", thread="baby-de")
    assert "6 weeks" in baby.text, baby.text  # type: ignore[attr-defined]
    assert [s.path for s in baby.sources] == ["hr/parental-leave.docx"], baby.sources  # type: ignore[attr-defined]


def test_a_config_with_the_deprecated_threshold_also_takes_the_languages_lead_off(e5_embedder, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A config that still sets `bot.relevance_threshold` takes the older path, which filters the hits by a cosine;
    the lead the question's language has must reach the answerer there too, or the German sick-leave page is quoted
    for a question on parental leave again."""
    config = synced_handbook(tmp_path, e5_embedder)
    config.write_text(config.read_text() + "generator: {backend: extractive}\nbot: {relevance_threshold: 0.5}\n")
    bot = Bot(Knowledge(load_settings(config), prebuilt_embedder=e5_embedder), warn=print)  # type: ignore[arg-type]
    baby = ask(bot, "Wir bekommen im März ein Baby. Wie lange kann ich freinehmen?", thread="baby")
    assert "6 weeks" in baby.text, baby.text  # type: ignore[attr-defined]
    assert [s.path for s in baby.sources] == ["hr/parental-leave.docx"], baby.sources  # type: ignore[attr-defined]


def test_a_question_on_one_row_of_a_pdfs_table_quotes_that_row_not_the_table(e5_bot: Bot) -> None:
    question = "Wie viel darf ich auf Geschäftsreisen pro Tag für Essen ausgeben?"  # examples/questions.jsonl
    answer = ask(e5_bot, question, thread="meals")
    lines = answer.text.splitlines()  # type: ignore[attr-defined]
    assert "> Meals while travelling EUR 60 per day" in lines, answer.text  # type: ignore[attr-defined]
    assert "Private car (mileage)" not in answer.text  # type: ignore[attr-defined]


def test_a_lead_in_that_ends_with_a_colon_brings_its_command() -> None:
    """What a lead-in introduces may be a code block: "Install the client from the terminal:" alone tells nothing."""

    class Flat:  # every unit alike: the lead-in is chosen for its words, nothing else for its vector
        def embed_query(self, text: str) -> list[float]:
            return [1.0, 0.0]

        def embed_passages(self, texts: list[str]) -> list[list[float]]:
            return [[1.0, 0.0] for _ in texts]

    page = ("Acme Connect runs on Ubuntu 22.04 and 24.04.\n\nInstall the Linux client from the terminal:\n\n"
            "```\nsudo apt install acme-connect\n```\n\nThe tray icon shows the connection.")  # fmt: skip
    excerpt = ExtractiveAnswerer(Flat(), max_words=12).excerpt("How do I install the Linux client?", [hit(page)])  # type: ignore[arg-type]
    assert "Install the Linux client from the terminal:" in excerpt.text
    assert "sudo apt install acme-connect" in excerpt.text, excerpt.text
