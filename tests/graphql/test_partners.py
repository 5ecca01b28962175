"""Operations staff register and change partner carriers; their credentials never come back."""

import json

from tests.factories import Caller
from tests.graphql.conftest import Post, data

REGISTER = """
mutation($input: PartnerInput!) {
  registerPartner(input: $input) {
    partner { id name baseUrl auth marginPercent enabled hasCredentials
              coverage { metros postcodes } ordersWaiting }
    userErrors { field code message }
  }
}"""
UPDATE = """
mutation($id: ID!, $input: PartnerInput!) {
  updatePartner(id: $id, input: $input) {
    partner { id enabled marginPercent coverage { metros } }
    userErrors { field code message }
  }
}"""
LIST = "{ ops { partners { name enabled ordersWaiting health { calls breakerState } } } }"
SECRET = "partner-secret-key-0001"
PARTNER = {
    "name": "Cascade Access Networks",
    "baseUrl": "http://127.0.0.1:9",
    "auth": "API_KEY",
    "apiKey": SECRET,
    "marginPercent": "12.5",
    "metros": ["Houston, TX", "tampa,  FL"],
    "postcodes": ["77067"],
}


async def test_ops_register_list_and_change_a_partner(gql: Post, ops: Caller) -> None:
    """A registered partner shows its coverage and margin but never its key."""
    answer = await gql(REGISTER, {"input": PARTNER}, caller=ops)
    registered = data(answer)["registerPartner"]
    assert registered["userErrors"] == []
    partner = registered["partner"]
    assert partner["marginPercent"] == "12.5"
    assert partner["hasCredentials"] is True
    assert partner["coverage"] == {"metros": ["houston, tx", "tampa, fl"], "postcodes": ["77067"]}
    assert SECRET not in json.dumps(answer)

    changed = data(
        await gql(
            UPDATE,
            {"id": partner["id"], "input": {"enabled": False, "metros": ["Miami, FL"]}},
            caller=ops,
        )
    )["updatePartner"]
    assert changed["partner"]["enabled"] is False
    assert changed["partner"]["coverage"]["metros"] == ["miami, fl"]

    listed = await gql(LIST, caller=ops)
    assert SECRET not in json.dumps(listed)
    [shown] = data(listed)["ops"]["partners"]
    assert shown["name"] == "Cascade Access Networks"
    assert shown["ordersWaiting"] == 0


async def test_bad_partners_are_refused_with_user_errors(gql: Post, ops: Caller) -> None:
    """A partner without its key, with a bad URL or a taken name is refused field by field."""
    no_key = data(await gql(REGISTER, {"input": {**PARTNER, "apiKey": None}}, caller=ops))
    assert no_key["registerPartner"]["userErrors"][0]["field"] == "apiKey"
    bad_url = data(await gql(REGISTER, {"input": {**PARTNER, "baseUrl": "ftp://x"}}, caller=ops))
    assert bad_url["registerPartner"]["userErrors"][0]["field"] == "baseUrl"
    data(await gql(REGISTER, {"input": PARTNER}, caller=ops))
    again = data(await gql(REGISTER, {"input": PARTNER}, caller=ops))
    assert again["registerPartner"]["userErrors"][0]["code"] == "CONFLICT"


async def test_only_operations_staff_see_or_manage_partners(
    gql: Post, developer: Caller, ops: Caller
) -> None:
    """Partners are an operations matter."""
    refused = await gql(REGISTER, {"input": PARTNER}, caller=developer)
    assert refused.get("errors") or refused["data"]["registerPartner"]["userErrors"]
    listed = await gql(LIST, caller=developer)
    assert listed.get("errors")
