"""What the SIP worker reads out of an INVITE (ivr/transports/sip/message.py, endpoint `_user_of`).

pjsua parses and answers SDP itself (a truncated offer gets a 4xx: tests/telephony/
test_sip_robustness.py); our Python reads the raw INVITE text for `X-Case-Id`, the request-URI user
and the caller's URI.  Arbitrary text — binary garbage decoded as pjsua hands it over, folded and
oddly cased headers, a body that imitates headers, huge values — gives a value, None, or
`BadPeerId` (a ValueError naming the header): never another exception.  A well-formed INVITE with
a generated case id reads back that id, however the headers are cased, folded or ordered.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from ivr.casebook import CASE_ID
from ivr.transports.guard import PEER_REF_MAX, BadPeerId
from ivr.transports.sip.endpoint import _user_of
from ivr.transports.sip.message import CASE_HEADER, case_ref, header, request_user

from .budget import fuzz

pytestmark = pytest.mark.timeout(60)

SDP = "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 40000 RTP/AVP 0\r\n"
line_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=80)
messages = st.one_of(
    st.binary(max_size=600).map(lambda b: b.decode("utf-8", "replace")),
    st.text(max_size=600),
    st.lists(
        st.one_of(line_text, st.sampled_from(["X-Case-Id:", "x-case-id: a", " folded", "\tX", ""])), max_size=20
    ).map("\r\n".join),
)


@given(msg=messages)
@fuzz(200)
def test_arbitrary_text_never_raises_anything_but_bad_peer_id(msg):
    value = header(msg, CASE_HEADER)
    assert value is None or (value == value.strip() and value and "\n" not in value)
    try:
        ref = case_ref(msg)
    except BadPeerId as e:
        assert str(e).startswith(f"{CASE_HEADER}: expected 1-{PEER_REF_MAX} characters") and "\n" not in str(e)
    else:
        assert ref is None or (1 <= len(ref) <= PEER_REF_MAX and ref == value)
    user = request_user(msg)
    assert user is None or isinstance(user, str)
    assert _user_of(msg) is None or isinstance(_user_of(msg), str)


case_ids = st.from_regex(CASE_ID, fullmatch=True).filter(lambda s: len(s) <= PEER_REF_MAX and "/" not in s[:1])
other_headers = st.lists(
    st.tuples(
        st.sampled_from(["Via", "From", "To", "Call-ID", "CSeq", "Contact", "X-Case", "X-Case-Ids", "User-Agent"]),
        st.text(alphabet="abcdefgh0123456789 ;=<>@:.", max_size=30),
    ),
    max_size=6,
)


def spelled(name: str, flips: list[bool]) -> str:
    return "".join(c.upper() if f else c.lower() for c, f in zip(name, flips + [False] * len(name)))


@given(
    case_id=case_ids,
    user=st.text(
        alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=20
    ),
    before=other_headers,
    after=other_headers,
    flips=st.lists(st.booleans(), min_size=9, max_size=9),
    fold=st.booleans(),
    crlf=st.booleans(),
    body_decoy=st.booleans(),
)
@fuzz(150)
def test_generated_invite_reads_back_its_case_id_and_user(case_id, user, before, after, flips, fold, crlf, body_decoy):
    nl = "\r\n" if crlf else "\n"
    value = f"{nl} \t{case_id}" if fold else f"  {case_id} "
    lines = [f"INVITE sip:{quote(user, safe='')}@127.0.0.1:5070 SIP/2.0"]
    lines += [f"{k}: {v}" for k, v in before if k.lower() != "x-case-id"]
    lines.append(f"{spelled(CASE_HEADER, flips)}:{value}")
    lines.append(f"{CASE_HEADER}: second-value-is-ignored")
    lines += [f"{k}: {v}" for k, v in after]
    body = SDP + (f"{CASE_HEADER}: from-the-body{nl}" if body_decoy else "")
    msg = nl.join(lines) + nl + nl + body
    assert case_ref(msg) == case_id
    assert request_user(msg) == user
    assert header(msg, "content-type") is None  # not in this message; nothing from the body either
    assert header(msg + "\r\n", "X-CASE-ID") == case_id


@given(value=st.text(max_size=200).filter(lambda v: v.strip() and "\n" not in v and "\r" not in v))
@example(value="C-1\u2028C-2")  # found by this test: the header was cut at U+2028 and read as C-1
@example(value="\x1eC-2")  # ...and at \x1e, giving no case reference at all
@fuzz(100)
def test_bad_case_id_header_is_bad_peer_id_or_a_safe_reference(value):
    msg = f"INVITE sip:bot@h SIP/2.0\r\n{CASE_HEADER}: {value}\r\n\r\n"
    try:
        ref = case_ref(msg)
    except BadPeerId as e:
        assert str(e).startswith(f"{CASE_HEADER}: expected") and "got " in str(e)
    else:
        assert ref == value.strip() and len(ref) <= PEER_REF_MAX and ".." not in ref[:1]
