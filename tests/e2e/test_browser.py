"""Browser acceptance: a coordinator's day, the patient's page and tenancy, in real Chromium."""

from __future__ import annotations

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import create_engine

from precert.analytics import queries
from precert.analytics.cms0057f import scope_filter
from precert.analytics.metrics import approval_rate, decided_count, decision_hours, denial_rate
from precert.bootstrap import bootstrap
from precert.config import Settings
from precert.domain.authorization import LineOfBusiness, Role, Urgency
from precert.domain.tenancy import Payer
from precert.services import users as accounts
from tests.e2e.conftest import PASSWORD, Account, LiveServer, shoot, sign_in
from tests.factories import OTHER_NPI, VALID_NPI

pytestmark = pytest.mark.browser


#: An ordering physician the sandbox payer holds a Northwind imaging gold card for (see
#: docs/sandbox.md): a complete request is approved the moment it arrives.
GOLD_CARD_NPI = "1588667638"
#: The smallest file the attachment check accepts as a PDF (it reads the first bytes).
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
#: What a coordinator types for each kind of question on the lumbar MRI's checklist.
TEXT_ANSWERS = {
    "Symptoms and their duration": "Low back pain radiating to the left leg for 9 weeks",
    "Examination findings": "Positive straight-leg raise on the left, reduced ankle reflex",
    "Weeks of conservative therapy": "8",
    "Date of the document": "2026-02-20",
}
CHOICES = {
    "Red-flag findings present": "no",
    "Outcome of conservative therapy": "no-improvement",
}


def create_request(
    page: Page, server: LiveServer, family_name: str, ordering_npi: str = VALID_NPI
) -> str:
    """Fill the new-request form by its labels and submit it; returns the request's URL."""
    page.get_by_role("link", name="New request").click()
    expect(page.get_by_role("heading", name="New prior-authorization request")).to_be_visible()
    service_day = (date.today() + timedelta(days=10)).isoformat()
    page.get_by_label("First name").fill("Robin")
    page.get_by_label("Last name").fill(family_name)
    page.get_by_label("Date of birth").fill("1968-04-12")
    page.get_by_label("Sex").select_option("female")
    page.get_by_label("Medical record number").fill("MRN-E2E-1")
    page.get_by_label("Member ID").fill("NW998877")
    page.get_by_label("Payer").select_option(label="Northwind Health Plan")
    page.get_by_label("Plan", exact=True).fill("Northwind Choice PPO")
    page.get_by_label("Line of business").select_option("commercial")
    page.get_by_label("Coverage effective from").fill("2025-01-01")
    page.get_by_label("Ordering provider NPI").fill(ordering_npi)
    page.get_by_label("Ordering provider name").fill("Dr. Riley Example")
    page.get_by_label("Servicing provider NPI").fill(OTHER_NPI)
    page.get_by_label("Servicing provider name").fill("Example Imaging")
    page.get_by_label("Service category").select_option("advanced_imaging")
    page.get_by_label("Procedure code").fill("72148")
    page.get_by_label("Service date", exact=True).fill(service_day)
    page.get_by_label("Diagnoses (ICD-10-CM)").fill("M54.50")
    page.get_by_label("Estimated amount ($)").fill("1850")
    answer = page.locator("#pa-answer")
    expect(answer.get_by_text("Prior authorization needed")).to_be_visible()  # live, via htmx
    expect(answer.get_by_text("Submit by")).to_be_visible()
    shoot(page, "02-new-request-form")
    page.get_by_role("button", name="Create draft request").click()
    page.wait_for_load_state()
    expect(page.locator("#error-summary")).to_have_count(0)
    page.wait_for_url(re.compile(r"/ui/requests/[0-9a-f-]{36}\?done=created"))
    return page.url.split("?")[0]


def complete_checklist(page: Page) -> None:
    """Answer every checklist item's questions by their labels and upload a document to each."""
    items = page.locator("section.doc-item")
    for index in range(items.count()):
        item = items.nth(index)
        title = item.get_attribute("data-title") or ""
        for label, text in TEXT_ANSWERS.items():
            field = item.get_by_label(label, exact=False)
            if field.count():
                field.fill(text)
        for label, choice in CHOICES.items():
            field = item.get_by_label(label, exact=False)
            if field.count():
                field.select_option(choice)
        for therapy in ("physical-therapy", "nsaids"):
            box = item.get_by_label(therapy, exact=True)
            if box.count():
                box.check()
        summary = item.get_by_label("What the document shows", exact=False)
        if summary.count():
            summary.fill("Office visit note documenting the findings")
        item.get_by_role("button", name=f"Save answers for {title}").click()
        expect(page.get_by_text("Checklist answers saved.")).to_be_visible()
        item = page.locator("section.doc-item").nth(index)
        item.get_by_label(f"Document for {title}").set_input_files(
            {"name": "visit-note.pdf", "mimeType": "application/pdf", "buffer": PDF}
        )
        item.get_by_role("button", name=f"Upload document for {title}").click()
        expect(page.get_by_text("Document attached.")).to_be_visible()
        expect(page.locator("section.doc-item").nth(index).locator("h3 .badge")).to_have_text(
            "Complete"
        )


def test_coordinator_works_a_request_to_approval(page: Page, live_server: LiveServer) -> None:
    """Sign in, create a request, verify eligibility, complete the checklist, mark it ready,
    submit it to the sandbox payer and see the approval on the timeline."""
    page.goto(f"{live_server.url}/ui/sign-in")
    shoot(page, "00-sign-in")
    sign_in(page, live_server, live_server.coordinator)
    expect(page.get_by_role("heading", name="Work queue")).to_be_visible()
    page.keyboard.press("Tab")  # the first stop is the skip link, for keyboard users
    expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    shoot(page, "01-work-queue")

    url = create_request(page, live_server, "Browserfield", ordering_npi=GOLD_CARD_NPI)
    expect(page.get_by_text("Request created as a draft.")).to_be_visible()

    page.get_by_role("link", name="Work queue").first.click()
    page.get_by_label("Status").select_option("draft")
    page.wait_for_url("**/ui/queue?status=draft**")  # htmx swapped the rows and kept the URL
    statuses = set(page.locator("td[data-label='Status']").all_inner_texts())
    assert statuses == {"Draft"}
    row_link = page.get_by_role("link", name="Browserfield, Robin")
    row_link.click()
    page.wait_for_url(url)

    blockers = page.locator("#blockers")
    expect(blockers.get_by_text("coverage has not been verified with the payer")).to_be_visible()
    expect(blockers.get_by_text("documentation incomplete")).to_be_visible()
    expect(page.locator("#doc-score")).to_have_text("0% complete")
    shoot(page, "03a-request-checklist-empty")

    page.get_by_role("button", name="Verify eligibility").click()
    expect(page.get_by_text("Eligibility verified with the payer:")).to_be_visible()
    timeline = page.locator("ol.timeline")
    expect(timeline.get_by_text("Eligibility verified with the payer")).to_be_visible()
    expect(blockers.get_by_text("coverage has not been verified with the payer")).to_have_count(0)

    complete_checklist(page)
    expect(page.locator("#doc-score")).to_have_text("100% complete")
    expect(page.locator("#blockers-none")).to_be_visible()  # no override needed now
    shoot(page, "03b-request-checklist-complete")

    page.get_by_role("button", name="Mark ready").click()
    expect(page.get_by_text("Marked ready to submit.")).to_be_visible()
    page.get_by_role("button", name="Submit to payer").click()
    expect(page.get_by_text("Sent to the payer electronically")).to_be_visible()

    timeline = page.locator("ol.timeline")
    expect(timeline.get_by_text("Determination recorded: Approved")).to_be_visible()
    expect(timeline.get_by_text("Submitted to the payer")).to_be_visible()
    expect(timeline.get_by_text("Coordinator Demo").first).to_be_visible()
    expect(page.locator("h1 .badge")).to_have_text("Approved")
    expect(page.get_by_text(re.compile(r"Number \S+"))).to_be_visible()  # the payer's number
    shoot(page, "03c-request-approved-by-sandbox")


def test_patient_page_shows_status_and_a_wrong_token_nothing(
    page: Page, live_server: LiveServer
) -> None:
    """A coordinator makes a link; the patient sees plain status; a wrong token sees nothing."""
    sign_in(page, live_server, live_server.coordinator)
    create_request(page, live_server, "Patientview")
    page.get_by_role("button", name="Create patient link").click()
    link = page.locator("#patient-link").inner_text().strip()
    assert "/ui/status/" in link
    shoot(page, "04-request-with-patient-link")

    patient = page.context.browser.new_context(viewport={"width": 414, "height": 896})  # type: ignore[union-attr]
    phone = patient.new_page()
    phone.goto(link)
    expect(phone.get_by_role("heading", name="Your insurance approval")).to_be_visible()
    expect(phone.get_by_text("has not been sent to your insurer yet")).to_be_visible()
    expect(phone.get_by_role("link", name="800-555-0101")).to_be_visible()
    body = phone.locator("body").inner_text()
    for private in ("Patientview", "MRN-E2E-1", "NW998877", "72148", "M54.50"):
        assert private not in body
    shoot(phone, "05-patient-status")

    phone.goto(link[:-4] + "zzzz")
    expect(phone.get_by_role("heading", name="This link is not available")).to_be_visible()
    assert "Northwind" not in phone.locator("body").inner_text()
    shoot(phone, "06-patient-wrong-link")
    patient.close()


def test_another_organization_cannot_open_the_request(page: Page, live_server: LiveServer) -> None:
    """A coordinator of another organization gets a not-found page for the request."""
    sign_in(page, live_server, live_server.coordinator)
    url = create_request(page, live_server, "Tenantwall")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/ui/sign-in")
    sign_in(page, live_server, live_server.outsider)
    response = page.goto(url)
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    assert "Tenantwall" not in page.locator("body").inner_text()
    shoot(page, "07-other-organization-404")


def test_manager_sees_the_queue_sorted_by_revenue_at_risk(
    page: Page, live_server: LiveServer
) -> None:
    """Sorting by revenue at risk puts the largest amount at risk first."""
    sign_in(page, live_server, live_server.manager)
    page.get_by_label("Sort by").select_option("revenue")
    expect(page.get_by_text("Requests, by revenue at risk.")).to_be_visible()
    amounts = [
        int(re.sub(r"[^\d]", "", text) or 0)
        for text in page.locator("td[data-label='At risk']").all_inner_texts()
    ]
    assert amounts == sorted(amounts, reverse=True)
    assert amounts[0] > 0
    shoot(page, "08-queue-by-revenue-at-risk")


def test_dashboard_scorecards_and_cms_report_render(page: Page, live_server: LiveServer) -> None:
    """A manager sees every dashboard chart drawn, the payer charts, and the CMS report."""
    console_errors: list[str] = []
    page.on("console", lambda m: console_errors.append(m.text) if m.type == "error" else None)
    sign_in(page, live_server, live_server.manager)
    page.get_by_role("link", name="Dashboard").click()
    expect(page.get_by_role("heading", name="Dashboard", exact=True)).to_be_visible()
    charts = page.locator(".chart")
    expect(charts).to_have_count(7)
    expect(page.locator(".chart .main-svg").first).to_be_visible()
    expect(page.locator(".chart:has(.main-svg)")).to_have_count(7)  # Plotly drew every one
    with page.expect_download() as csv:
        page.get_by_role("link", name="Download CSV of Monthly volume").click()
    assert csv.value.suggested_filename == "precert-trend.csv"
    shoot(page, "09-dashboard")

    page.get_by_role("link", name="Payer scorecards").first.click()
    expect(page.locator(".chart:has(.main-svg)")).to_have_count(2)
    expect(page.get_by_role("rowheader", name="Northwind Health Plan")).to_be_visible()
    shoot(page, "10-payer-scorecards")

    page.get_by_role("link", name="CMS-0057-F report").first.click()
    expect(page.get_by_role("heading", name=re.compile("CMS-0057-F public report"))).to_be_visible()
    shoot(page, "11-cms-0057-f-report")
    assert console_errors == []


def report_cells(page: Page, measure: str) -> list[str]:
    """The standard and expedited cells of one measure's row in the CMS report table."""
    row = page.locator("table").first.locator(f"tr:has(th:text-is('{measure}'))")
    return [text.strip() for text in row.locator("td").all_inner_texts()]


def test_cms_report_figures_equal_the_metric_functions(page: Page, live_server: LiveServer) -> None:
    """Every figure on the CMS-0057-F page is what the analytics metric functions compute."""
    sign_in(page, live_server, live_server.manager)
    page.get_by_role("link", name="CMS-0057-F report").first.click()
    year = int(page.get_by_label("Year", exact=True).input_value())
    engine = create_engine(live_server.database_url)
    expected: dict[str, list[str]] = {}
    try:
        with engine.connect() as connection:
            for urgency in (Urgency.STANDARD, Urgency.EXPEDITED):
                tally = queries.tally(
                    connection, live_server.organization_id, scope_filter(year, urgency)
                )
                hours = decision_hours(tally)
                for measure, shown in (
                    ("Requests decided", f"{decided_count(tally):,}"),
                    ("Approved", percent(approval_rate(tally).value)),
                    ("Denied", percent(denial_rate(tally).value)),
                    ("Average decision time (hours)", one_decimal(hours.mean)),
                    ("Median decision time (hours)", one_decimal(hours.median)),
                ):
                    expected.setdefault(measure, []).append(shown)
    finally:
        engine.dispose()
    assert expected["Requests decided"] != ["0", "0"]  # the demo data decides requests that year
    for measure, cells in expected.items():
        assert report_cells(page, measure) == cells, measure


def percent(value: float | None) -> str:
    """A rate as the report prints it."""
    return "—" if value is None else f"{value:.1%}"


def one_decimal(value: float | None) -> str:
    """Hours as the report prints them."""
    return "—" if value is None else f"{value:.1f}"


def test_manager_assigns_tasks_and_browses_review_and_policy(
    page: Page, live_server: LiveServer
) -> None:
    """A manager ticks every task and takes them, then opens the review queue and a policy pack."""
    sign_in(page, live_server, live_server.manager)
    page.get_by_role("link", name="Tasks", exact=True).click()
    expect(page.get_by_role("heading", name="Follow-up tasks")).to_be_visible()
    shoot(page, "12-follow-up-tasks")
    boxes = page.locator("input[name='task']")
    assert boxes.count() > 1  # the seed scanned the demo data's open requests for follow-ups
    page.get_by_label("Tick every task").check()
    expect(boxes.last).to_be_checked()
    page.get_by_label("Assign ticked tasks to").select_option(label="Me (Manager Demo)")
    page.get_by_role("button", name="Assign", exact=True).click()
    expect(page.get_by_text(re.compile(r"\d+ tasks assigned\."))).to_be_visible()
    assert set(page.locator("td[data-label='Assigned to']").all_inner_texts()) == {"Manager Demo"}

    page.get_by_role("link", name="Review", exact=True).click()
    expect(page.get_by_role("heading", name="Review queue")).to_be_visible()
    shoot(page, "13-review-queue")

    page.get_by_role("link", name="Policy packs").click()
    expect(page.get_by_role("heading", name="Policy packs")).to_be_visible()
    shoot(page, "14-policy-packs")
    page.locator("table a[href^='/ui/policy/']").first.click()
    expect(page.get_by_role("heading", name="Rules", exact=False)).to_be_visible()
    expect(page.get_by_text("Source:").first).to_be_visible()
    shoot(page, "15-policy-pack-rules")


#: A payer the demo organization has no connection to yet (the seed connects every demo payer).
UNCONNECTED_PAYER = Payer(
    id="browser-test-health",
    name="Browser Test Health",
    phone="555-0199",
    x12_payer_id="BTH01",
    lines_of_business=(LineOfBusiness.COMMERCIAL,),
)


def seed_admin_and_payer(server: LiveServer) -> Account:
    """An admin of the demo organization, and a payer in the directory for it to connect."""
    precert = bootstrap(Settings(database_url=server.database_url), migrate=False)
    try:
        with precert.uow() as uow:
            uow.directory.upsert_payer(UNCONNECTED_PAYER)
            uow.commit()
            accounts.create_user(
                uow,
                organization_slug="demo",
                email="admin@demo.example",
                name="Admin Demo",
                role=Role.ADMIN,
                password=PASSWORD,
                clock=precert.clock,
            )
    finally:
        precert.engine.dispose()
    return Account("demo", "admin@demo.example")


def test_admin_connects_a_payer_through_the_form(page: Page, live_server: LiveServer) -> None:
    """An admin fills the payer-connection form by its labels and sees the connection listed,
    its client secret only as 'secret stored'."""
    secret = "browser-client-secret-42"
    sign_in(page, live_server, seed_admin_and_payer(live_server))
    page.get_by_role("link", name="Admin", exact=True).click()
    expect(page.get_by_role("heading", name="Payer connections")).to_be_visible()
    page.get_by_label("Payer", exact=True).select_option(label=UNCONNECTED_PAYER.name)
    page.get_by_label("Format").select_option(label="Da Vinci PAS (FHIR)")
    page.get_by_label("Endpoint URL").fill("https://payer.example/fhir")
    page.get_by_label("Submitter ID (NPI)").fill(VALID_NPI)
    page.get_by_label("Sign-in method").select_option("oauth2-client-credentials")
    page.get_by_label("Token URL").fill("https://payer.example/oauth/token")
    page.get_by_label("Client ID").fill("precert-browser")
    page.get_by_label("Client secret").fill(secret)
    page.get_by_label("Scope").fill("system/Claim.write")
    shoot(page, "16a-admin-payer-connection-form")
    page.get_by_role("button", name="Add connection").click()

    expect(page.get_by_text("Payer connection added.")).to_be_visible()
    row = page.locator("#payers tr", has_text=UNCONNECTED_PAYER.name)
    expect(row.locator("td[data-label='Endpoint']")).to_have_text("https://payer.example/fhir")
    expect(row.get_by_text("OAuth 2.0 client credentials")).to_be_visible()
    expect(row.get_by_text("secret stored")).to_be_visible()
    expect(
        row.get_by_role("button", name=f"Remove the connection to {UNCONNECTED_PAYER.name}")
    ).to_be_visible()
    assert secret not in page.content()
    shoot(page, "16b-admin-payer-connections")
