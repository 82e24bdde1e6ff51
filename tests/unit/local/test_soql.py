"""The fake Salesforce's SOQL engine: parsing, filtering, ordering, shaping, errors, and fuzzing."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from simple_salesforce.format import format_soql
from werkzeug.test import Client

from sf_bigtime_local.fake_salesforce import FakeSalesforce, FakeSalesforceError
from sf_bigtime_local.fake_salesforce.soql import SoqlError, date_range, parse

NOW = datetime(2026, 7, 15, 12, 0, 0, tzinfo=UTC)  # a Wednesday
IDS: dict[str, str] = {}  # opportunity name -> id, filled by the org fixture


@pytest.fixture(scope="module")
def org() -> FakeSalesforce:
    """A small, fixed data set; tests only read it."""
    fake = FakeSalesforce(clock=lambda: NOW)
    acme = fake.create("Account", {"Name": "Acme", "Industry": "Consulting", "BillingCity": "Berlin"})
    globex = fake.create("Account", {"Name": "Globex", "Industry": "Banking"})
    ann = fake.create(
        "Contact", {"FirstName": "Ann", "LastName": "Lee", "Email": "ann@acme.example", "AccountId": acme}
    )
    bob = fake.create("Contact", {"FirstName": "Bob", "LastName": "O'Brien", "AccountId": acme})
    opps = [
        ("Acme – Implementation", "Closed Won", "2026-07-10", 45000, acme),
        ("Acme – Support", "Prospecting", "2026-08-01", 1200.5, acme),
        ("Globex 100% deal", "Negotiation/Review", "2026-07-14", None, globex),
        ("Orphan", "Closed Lost", "2025-01-01", 10, None),
    ]
    for name, stage, close, amount, account in opps:
        data = {"Name": name, "StageName": stage, "CloseDate": close, "Amount": amount, "AccountId": account}
        IDS[name] = fake.create("Opportunity", data)
    impl = IDS["Acme – Implementation"]
    fake.create(
        "OpportunityContactRole",
        {"OpportunityId": impl, "ContactId": ann, "Role": "Decision Maker", "IsPrimary": True},
    )
    fake.create("OpportunityContactRole", {"OpportunityId": impl, "ContactId": bob, "Role": "Evaluator"})
    fake.update("Opportunity", IDS["Orphan"], {"Description": "long text"})
    return fake


def names(result: dict) -> list[str]:
    return [r["Name"] for r in result["records"]]


def error_of(org: FakeSalesforce, query: str) -> FakeSalesforceError:
    with pytest.raises(FakeSalesforceError) as info:
        org.query(query)
    return info.value


# --- parsing ------------------------------------------------------------------------------------------


def test_parses_the_one_call_query_with_child_subquery_and_n_day_literal() -> None:
    q = parse(
        "SELECT Id, Account.Name, (SELECT Id, Contact.Email FROM OpportunityContactRoles ORDER BY IsPrimary DESC) "
        "FROM Opportunity WHERE LastModifiedDate = LAST_N_DAYS:7 AND BigTime_Project_Id__c = null"
    )
    assert q.sobject == "Opportunity"
    assert [type(i).__name__ for i in q.select] == ["FieldRef", "FieldRef", "SubQuery"]
    assert q.where.op == "AND"
    assert q.where.items[0].values[0].value == ("LAST_N_DAYS", 7)  # the ":7" python-soql-parser drops


def test_keywords_and_field_names_are_case_insensitive_and_schema_casing_is_returned(
    org: FakeSalesforce,
) -> None:
    result = org.query("select id, NAME, account.name from OPPORTUNITY where stagename = 'closed won'")
    record = result["records"][0]
    assert list(record) == ["attributes", "Id", "Name", "Account"]
    assert record["Account"]["Name"] == "Acme"
    assert record["attributes"]["type"] == "Opportunity"


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("SELECT FROM Account", "unexpected token: FROM"),
        ("SELECT Id FRM Account", "unexpected token: FRM"),
        ("SELECT Id, FROM Account", "unexpected token: FROM"),
        ("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", "unexpected token: OR"),
        ("SELECT Id FROM Account WHERE Name = 'unterminated", "unterminated"),
        ("SELECT Id FROM Account WHERE Name = 'bad \\q escape'", "Illegal character sequence"),
        ("SELECT Id FROM Account WHERE CreatedDate > 2026-13-01", "Invalid date"),
        ("SELECT Id FROM Account WHERE CreatedDate > 2026-01-01T00:00:00", "Invalid datetime"),
        ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)", "not supported by the fake"),
        ("SELECT Name, COUNT(Id) FROM Account", "Field must be grouped"),
        ("SELECT Name FROM Account GROUP BY Name", "GROUP is not supported by the fake"),
        ("SELECT Id FROM Account LIMIT -1", "unexpected token: -1"),
        ('SELECT Id FROM Account WHERE Name = "x"', "no viable alternative"),
        ("SELECT Id FROM Account WHERE " + "(" * 60 + "Name = 'x'" + ")" * 60, "nested too deeply"),
    ],
)
def test_malformed_queries_are_rejected_with_a_positioned_message(
    org: FakeSalesforce, query: str, reason: str
) -> None:
    err = error_of(org, query)
    assert err.status == 400
    assert err.error_code == "MALFORMED_QUERY"
    assert reason in err.message
    assert "ERROR at Row:1:Column:" in err.message


def test_error_message_points_at_the_offending_token(org: FakeSalesforce) -> None:
    err = error_of(org, "SELECT Id FRM Account")
    assert err.message.startswith("\nSELECT Id FRM Account\n          ^\nERROR at Row:1:Column:11\n")


@pytest.mark.parametrize(
    ("query", "code", "fragment"),
    [
        ("SELECT Nope FROM Account", "INVALID_FIELD", "No such column 'Nope' on entity 'Account'"),
        ("SELECT Id FROM Nope__c", "INVALID_TYPE", "sObject type 'Nope__c' is not supported"),
        ("SELECT Parent.Name FROM Opportunity", "INVALID_FIELD", "Didn't understand relationship 'Parent'"),
        (
            "SELECT Id, (SELECT Id FROM Nopes) FROM Opportunity",
            "INVALID_TYPE",
            "Didn't understand relationship 'Nopes'",
        ),
        ("SELECT Id FROM Opportunity WHERE Description = 'x'", "INVALID_FIELD", "can not be filtered"),
        ("SELECT Id FROM Opportunity ORDER BY Description", "INVALID_FIELD", "can not be sorted"),
        (
            "SELECT Id FROM Opportunity WHERE Id = 'abc'",
            "INVALID_QUERY_FILTER_OPERATOR",
            "invalid ID field: abc",
        ),
        (
            "SELECT Id FROM Opportunity WHERE CloseDate = '2026-01-01'",
            "INVALID_FIELD",
            "must be of type date",
        ),
        (
            "SELECT Id FROM Opportunity WHERE CreatedDate > 2026-01-01",
            "INVALID_FIELD",
            "must be of type dateTime",
        ),
        ("SELECT Id FROM Opportunity WHERE IsWon = 'true'", "INVALID_FIELD", "must be of type boolean"),
        ("SELECT Id FROM Opportunity WHERE Name = 5", "INVALID_FIELD", "should be enclosed in quotes"),
        ("SELECT Id, Name, name FROM Opportunity", "MALFORMED_QUERY", "duplicate field selected: Name"),
        ("SELECT Id FROM Opportunity OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset"),
    ],
)
def test_schema_errors(org: FakeSalesforce, query: str, code: str, fragment: str) -> None:
    err = error_of(org, query)
    assert (err.status, err.error_code) == (400, code)
    assert fragment in err.message


def test_fields_removed_from_the_schema_are_invalid(tmp_path) -> None:
    fake = FakeSalesforce(metadata_dir=tmp_path)  # an empty metadata folder: no custom fields at all
    err = error_of(fake, "SELECT BigTime_Project_Id__c FROM Opportunity")
    assert err.error_code == "INVALID_FIELD"


# --- filtering ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "expected"),
    [
        ("StageName = 'Closed Won'", ["Acme – Implementation"]),
        ("StageName != 'Closed Won'", ["Acme – Support", "Globex 100% deal", "Orphan"]),
        ("StageName <> 'Closed Won'", ["Acme – Support", "Globex 100% deal", "Orphan"]),
        ("Amount > 1200.5", ["Acme – Implementation"]),
        ("Amount >= 1200.5", ["Acme – Implementation", "Acme – Support"]),
        ("Amount < 1200.5", ["Orphan"]),
        ("Amount <= 10", ["Orphan"]),
        ("Amount = null", ["Globex 100% deal"]),
        ("Amount != null", ["Acme – Implementation", "Acme – Support", "Orphan"]),
        ("AccountId = null", ["Orphan"]),
        # text compares case-insensitively; != matches nulls
        ("Account.Name = 'ACME'", ["Acme – Implementation", "Acme – Support"]),
        ("Account.Industry != 'Banking'", ["Acme – Implementation", "Acme – Support", "Orphan"]),
        ("StageName IN ('Closed Won', 'Closed Lost')", ["Acme – Implementation", "Orphan"]),
        ("StageName NOT IN ('Closed Won', 'Closed Lost')", ["Acme – Support", "Globex 100% deal"]),
        ("Name LIKE 'acme%'", ["Acme – Implementation", "Acme – Support"]),
        ("Name LIKE '%100\\%%'", ["Globex 100% deal"]),
        ("Name LIKE '_rphan'", ["Orphan"]),
        ("IsWon = true", ["Acme – Implementation"]),
        ("IsClosed = false AND Amount != null", ["Acme – Support"]),
        ("NOT IsClosed = false", ["Acme – Implementation", "Orphan"]),
        (
            "(StageName = 'Closed Won' OR StageName = 'Prospecting') AND Amount > 5000",
            ["Acme – Implementation"],
        ),
        (
            "StageName = 'Closed Won' OR (Amount < 100 AND AccountId = null)",
            ["Acme – Implementation", "Orphan"],
        ),
        ("CloseDate = 2026-07-10", ["Acme – Implementation"]),
        ("CloseDate < 2026-01-01", ["Orphan"]),
        ("CloseDate = YESTERDAY", ["Globex 100% deal"]),
        ("CloseDate = LAST_N_DAYS:7", ["Acme – Implementation", "Globex 100% deal"]),
        ("CloseDate > TODAY", ["Acme – Support"]),
        ("CloseDate = NEXT_N_DAYS:30", ["Acme – Support"]),
        ("CloseDate = THIS_MONTH", ["Acme – Implementation", "Globex 100% deal"]),
        ("CreatedDate = TODAY", ["Acme – Implementation", "Acme – Support", "Globex 100% deal", "Orphan"]),
        ("CreatedDate < YESTERDAY", []),
        (
            "CreatedDate >= 2026-07-15T12:00:00Z",
            ["Acme – Implementation", "Acme – Support", "Globex 100% deal", "Orphan"],
        ),
        ("CreatedDate > 2026-07-15T11:00:00-02:00", []),  # 13:00 UTC
        (
            "CreatedDate = 2026-07-15T12:00:00.000+0000",
            ["Acme – Implementation", "Acme – Support", "Globex 100% deal", "Orphan"],
        ),
    ],
)
def test_where(org: FakeSalesforce, where: str, expected: list[str]) -> None:
    assert sorted(names(org.query(f"SELECT Name FROM Opportunity WHERE {where}"))) == sorted(expected)


def test_string_escapes_match_simple_salesforce_format_soql(org: FakeSalesforce) -> None:
    query = format_soql("SELECT LastName FROM Contact WHERE LastName = {}", "O'Brien")
    assert "\\'" in query
    assert [r["LastName"] for r in org.query(query)["records"]] == ["O'Brien"]
    like = format_soql("SELECT Name FROM Opportunity WHERE Name LIKE '%{:like}%'", "100%")
    assert names(org.query(like)) == ["Globex 100% deal"]


def test_ids_match_in_15_and_18_character_form(org: FakeSalesforce) -> None:
    opp = IDS["Orphan"]
    for literal in (opp, opp[:15]):
        assert names(org.query(f"SELECT Name FROM Opportunity WHERE Id = '{literal}'")) == ["Orphan"]
    assert names(org.query(f"SELECT Name FROM Opportunity WHERE Id IN ('{opp[:15]}')")) == ["Orphan"]


def test_date_literal_ranges() -> None:
    today = NOW.date()
    assert date_range("TODAY", 0, today) == (today, today.replace(day=16))
    assert date_range("LAST_N_DAYS", 7, today)[0].isoformat() == "2026-07-08"
    assert date_range("THIS_WEEK", 0, today)[0].isoformat() == "2026-07-12"  # weeks start on Sunday
    assert date_range("LAST_MONTH", 0, today) == (today.replace(month=6, day=1), today.replace(day=1))


# --- ordering, paging clauses, shaping ----------------------------------------------------------------


def test_order_by_several_fields_with_nulls_and_picklist_order(org: FakeSalesforce) -> None:
    assert names(org.query("SELECT Name FROM Opportunity ORDER BY Amount")) == [
        "Globex 100% deal",  # nulls first by default
        "Orphan",
        "Acme – Support",
        "Acme – Implementation",
    ]
    assert (
        names(org.query("SELECT Name FROM Opportunity ORDER BY Amount DESC NULLS LAST"))[-1]
        == "Globex 100% deal"
    )
    assert names(
        org.query("SELECT Name FROM Opportunity ORDER BY Account.Name DESC NULLS LAST, Name ASC")
    ) == [
        "Globex 100% deal",
        "Acme – Implementation",
        "Acme – Support",
        "Orphan",
    ]
    # Picklists sort in their defined order (Prospecting < Negotiation/Review < Closed Won < Closed Lost).
    assert [
        r["StageName"] for r in org.query("SELECT StageName FROM Opportunity ORDER BY StageName")["records"]
    ] == [
        "Prospecting",
        "Negotiation/Review",
        "Closed Won",
        "Closed Lost",
    ]


def test_limit_offset_and_count(org: FakeSalesforce) -> None:
    assert names(org.query("SELECT Name FROM Opportunity ORDER BY Name LIMIT 2 OFFSET 1")) == [
        "Acme – Support",
        "Globex 100% deal",
    ]
    counted = org.query("SELECT COUNT() FROM Opportunity WHERE IsClosed = true")
    assert counted == {"totalSize": 2, "done": True, "records": []}
    aggregate = org.query("SELECT COUNT(Amount) FROM Opportunity")["records"][0]
    assert aggregate == {"attributes": {"type": "AggregateResult"}, "expr0": 3}


def test_wire_formats_parents_and_children(org: FakeSalesforce) -> None:
    result = org.query(
        "SELECT Id, Name, Amount, CloseDate, CreatedDate, IsWon, Probability, Account.Name, Account.BillingAddress, "
        "Owner.Name, (SELECT Role, IsPrimary, Contact.FirstName, Contact.Account.Name FROM OpportunityContactRoles "
        "WHERE Role != null ORDER BY IsPrimary DESC LIMIT 5) FROM Opportunity ORDER BY Name"
    )
    impl, support, globex, orphan = result["records"]
    assert impl["Amount"] == 45000.0 and isinstance(impl["Amount"], float)
    assert impl["CloseDate"] == "2026-07-10"
    assert impl["CreatedDate"] == "2026-07-15T12:00:00.000+0000"
    assert impl["Probability"] == 100.0 and impl["IsWon"] is True
    assert impl["Account"]["BillingAddress"]["city"] == "Berlin"
    assert impl["Owner"]["Name"] == "Olivia Owner"
    roles = impl["OpportunityContactRoles"]
    assert roles["totalSize"] == 2 and roles["done"] is True
    assert [r["Role"] for r in roles["records"]] == ["Decision Maker", "Evaluator"]
    assert roles["records"][0]["Contact"]["Account"]["Name"] == "Acme"
    assert roles["records"][0]["attributes"]["type"] == "OpportunityContactRole"
    assert support["OpportunityContactRoles"] is None  # no children -> null, not an empty result
    assert globex["Account"]["BillingAddress"] is None
    assert orphan["Account"] is None  # empty lookup -> null parent


def test_query_all_includes_deleted_records() -> None:
    fake = FakeSalesforce(clock=lambda: NOW)
    acc = fake.create("Account", {"Name": "Gone"})
    fake.delete("Account", acc)
    assert fake.query("SELECT Id FROM Account")["totalSize"] == 0
    deleted = fake.query("SELECT Id, IsDeleted FROM Account", include_deleted=True)["records"]
    assert [(r["Id"], r["IsDeleted"]) for r in deleted] == [(acc, True)]


# --- line items and the opportunity team --------------------------------------------------------------


@pytest.fixture(scope="module")
def priced() -> FakeSalesforce:
    """Two priced opportunities (one with a team) and a bare one, on the standard price book."""
    fake = FakeSalesforce(clock=lambda: NOW)
    book = fake.standard_pricebook_id
    consulting = fake.create(
        "Product2",
        {"Name": "Consulting", "ProductCode": "C-1", "Family": "Services", "QuantityUnitOfMeasure": "Hours"},
    )
    licence = fake.create("Product2", {"Name": "Licence", "ProductCode": "L-1", "Family": "Software"})
    entries = {
        product: fake.create(
            "PricebookEntry",
            {"Pricebook2Id": book, "Product2Id": product, "UnitPrice": 100, "IsActive": True},
        )
        for product in (consulting, licence)
    }
    pm = fake.create("User", {"Username": "pm@a.example", "LastName": "Manager", "Email": "pm@a.example"})
    for name, lines in (
        ("Big", [(consulting, 30, "2026-09-01"), (licence, 2, "2026-08-01")]),
        ("Small", [(consulting, 4, None)]),
        ("Bare", []),
    ):
        IDS[name] = fake.create(
            "Opportunity", {"Name": name, "StageName": "Closed Won", "CloseDate": "2026-07-01"}
        )
        for product, quantity, day in lines:
            fake.create(
                "OpportunityLineItem",
                {
                    "OpportunityId": IDS[name],
                    "PricebookEntryId": entries[product],
                    "Quantity": quantity,
                    "UnitPrice": 90,
                    "ServiceDate": day,
                },
            )
    fake.create(
        "OpportunityTeamMember", {"OpportunityId": IDS["Big"], "UserId": pm, "TeamMemberRole": "Sales Rep"}
    )
    return fake


def test_three_child_subqueries_over_several_opportunities(priced: FakeSalesforce) -> None:
    ids = ", ".join(f"'{IDS[n]}'" for n in ("Bare", "Small", "Big"))
    result = priced.query(
        "SELECT Name, Amount, (SELECT Id FROM OpportunityContactRoles), "
        "(SELECT Quantity, TotalPrice, ServiceDate, Product2.Name, Product2.Family, Product2.QuantityUnitOfMeasure, "
        "PricebookEntry.Product2.ProductCode FROM OpportunityLineItems ORDER BY ServiceDate NULLS LAST), "
        f"(SELECT User.Email, User.Name, TeamMemberRole FROM OpportunityTeamMembers) FROM Opportunity WHERE Id IN ({ids}) "
        "ORDER BY Amount DESC NULLS LAST"
    )
    big, small, bare = result["records"]
    assert [r["Name"] for r in result["records"]] == ["Big", "Small", "Bare"]
    assert (big["Amount"], small["Amount"], bare["Amount"]) == (2880.0, 360.0, None)
    assert [
        (li["ServiceDate"], li["Product2"]["Family"], li["PricebookEntry"]["Product2"]["ProductCode"])
        for li in big["OpportunityLineItems"]["records"]
    ] == [("2026-08-01", "Software", "L-1"), ("2026-09-01", "Services", "C-1")]
    assert big["OpportunityTeamMembers"]["records"][0]["User"] == {
        "attributes": big["OpportunityTeamMembers"]["records"][0]["User"]["attributes"],
        "Email": "pm@a.example",
        "Name": "Manager",
    }
    assert big["OpportunityContactRoles"] is None and small["OpportunityTeamMembers"] is None
    assert bare["OpportunityLineItems"] is None


def test_filters_on_line_items_and_their_parents(priced: FakeSalesforce) -> None:
    services = priced.query(
        "SELECT Name, (SELECT TotalPrice FROM OpportunityLineItems WHERE Product2.Family = 'Services' "
        "ORDER BY TotalPrice DESC LIMIT 1) FROM Opportunity WHERE HasOpportunityLineItem = true ORDER BY Name"
    )
    assert [
        (r["Name"], r["OpportunityLineItems"]["records"][0]["TotalPrice"]) for r in services["records"]
    ] == [
        ("Big", 2700.0),
        ("Small", 360.0),
    ]
    standard = priced.query(
        "SELECT COUNT() FROM OpportunityLineItem WHERE PricebookEntry.Pricebook2.IsStandard = true "
        "AND Opportunity.Amount > 1000"
    )
    assert standard["totalSize"] == 2
    by_code = priced.query("SELECT Opportunity.Name FROM OpportunityLineItem WHERE ProductCode LIKE 'L-%'")
    assert [r["Opportunity"]["Name"] for r in by_code["records"]] == ["Big"]


@pytest.mark.parametrize(
    ("query", "code", "fragment"),
    [
        (
            "SELECT Id, (SELECT Id FROM OpportunityLineItem) FROM Opportunity",
            "INVALID_TYPE",
            "OpportunityLineItem",
        ),
        (
            "SELECT Id, (SELECT Id FROM OpportunityTeamMembers) FROM Account",
            "INVALID_TYPE",
            "OpportunityTeamMembers",
        ),
        (
            "SELECT Id, (SELECT Product2.Nope FROM OpportunityLineItems) FROM Opportunity",
            "INVALID_FIELD",
            "Nope",
        ),
        (
            "SELECT Id, (SELECT User.Nope__r.Name FROM OpportunityTeamMembers) FROM Opportunity",
            "INVALID_FIELD",
            "Nope__r",
        ),
        (
            "SELECT Id, (SELECT Id, (SELECT Id FROM OpportunityLineItems) FROM OpportunityLineItems) FROM Opportunity",
            "MALFORMED_QUERY",
            "not supported",
        ),
    ],
)
def test_line_item_query_errors(priced: FakeSalesforce, query: str, code: str, fragment: str) -> None:
    err = error_of(priced, query)
    assert err.error_code == code and fragment in err.message


# --- robustness ---------------------------------------------------------------------------------------

_FUZZ_FAKE = FakeSalesforce(clock=lambda: NOW)
_FUZZ_FAKE.create("Opportunity", {"Name": "Fuzz", "StageName": "Prospecting", "CloseDate": "2026-01-01"})
_ALLOWED_CODES = {
    "MALFORMED_QUERY",
    "INVALID_FIELD",
    "INVALID_TYPE",
    "INVALID_QUERY_FILTER_OPERATOR",
    "NUMBER_OUTSIDE_VALID_RANGE",
}


def _check(query: str) -> None:
    error: SoqlError | None = None
    try:
        result = _FUZZ_FAKE.query(query)
    except SoqlError as err:  # anything else (including a crash) fails the test
        error = err
    if error is not None:
        assert (error.status, error.error_code in _ALLOWED_CODES) == (400, True)
    else:
        assert isinstance(result["records"], list)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=120))
def test_arbitrary_text_gives_a_result_or_a_clean_error(text: str) -> None:
    _check(text)


_FIELDS = st.sampled_from(
    ["Id", "Name", "Amount", "CloseDate", "CreatedDate", "IsWon", "Account.Name", "Nope", "StageName"]
)
_VALUES = st.sampled_from(
    [
        "'x'",
        "'it\\'s'",
        "5",
        "-1.5",
        "null",
        "true",
        "2026-01-01",
        "2026-01-01T00:00:00Z",
        "TODAY",
        "LAST_N_DAYS:3",
        "'006'",
    ]
)
_OPS = st.sampled_from(["=", "!=", "<", ">=", "LIKE", "IN", "NOT IN", "INCLUDES"])
_TOKENS = st.sampled_from(
    ["AND", "OR", "NOT", "(", ")", ",", "ORDER BY", "LIMIT", "DESC", "NULLS LAST", "OFFSET 1"]
)


@st.composite
def near_soql(draw: st.DrawFn) -> str:
    """Mostly well-formed queries with random mutations: exercises resolver and evaluator, not just the lexer."""
    conds = []
    for _ in range(draw(st.integers(0, 3))):
        op = draw(_OPS)
        value = f"({draw(_VALUES)}, {draw(_VALUES)})" if "IN" in op else draw(_VALUES)
        conds.append(f"{draw(_FIELDS)} {op} {value}")
    connector = f" {draw(st.sampled_from(['AND', 'OR']))} "
    where = " WHERE " + connector.join(conds) if conds else ""
    extra = " ".join(draw(st.lists(_TOKENS, max_size=3)))
    fields = ", ".join(draw(st.lists(_FIELDS, min_size=1, max_size=3)))
    sub = draw(st.sampled_from(["", ", (SELECT Id FROM OpportunityContactRoles)", ", (SELECT Id FROM Nope)"]))
    return f"SELECT {fields}{sub} FROM {draw(st.sampled_from(['Opportunity', 'Account', 'Nope']))}{where} {extra}"


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(near_soql())
def test_near_valid_queries_give_a_result_or_a_clean_error(query: str) -> None:
    _check(query)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=80))
def test_query_endpoint_never_answers_500(text: str) -> None:
    client = Client(_FUZZ_FAKE)
    token = _FUZZ_FAKE.issue_token()
    response = client.get(
        f"/services/data/v66.0/query/?q={quote(text)}", headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code in (200, 400)
    body = json.loads(response.get_data())
    if response.status_code == 400:
        assert isinstance(body, list) and body[0]["errorCode"] in _ALLOWED_CODES
