"""One helper turns a refused service call into the page's error message."""

import pytest
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.test import RequestFactory

from billing_site.errors import InvalidTransition, ValidationFailed
from billing_site.pages import refusal_as_message, refusal_text


def _request():
    request = RequestFactory().post("/")
    request.session = {}
    request._messages = FallbackStorage(request)
    return request


def test_the_reason_reads_on_one_line_and_the_generic_message_gives_way_to_the_fields():
    assert refusal_text(InvalidTransition("Only a draft credit note can be posted; AV000001 is posted.")) == (
        "Only a draft credit note can be posted; AV000001 is posted.")
    assert refusal_text(ValidationFailed(fields={"amount": ["Only €10.00 is open."], "invoice": "Pick one."})) == (
        "Only €10.00 is open. Pick one.")
    assert refusal_text(ValidationFailed("Some amounts cannot be credited.", fields={"line_3": ["At most €5.00."]})) == (
        "Some amounts cannot be credited. At most €5.00.")


def test_a_refusal_stops_the_block_and_becomes_an_error_message():
    request, done = _request(), []
    with refusal_as_message(request) as outcome:
        raise InvalidTransition("Post the credit note before applying it.")
        done.append("never")  # not reached: the block stops at the refusal
    assert (outcome.refused, done) == (True, [])
    assert [(m.level_tag, m.message) for m in get_messages(request)] == [("error", "Post the credit note before applying it.")]


def test_a_block_that_goes_through_leaves_no_message_and_other_errors_are_not_swallowed():
    request = _request()
    with refusal_as_message(request) as outcome:
        pass
    assert (outcome.refused, list(get_messages(request))) == (False, [])
    with pytest.raises(KeyError), refusal_as_message(request):
        raise KeyError("a bug is not a refusal")
