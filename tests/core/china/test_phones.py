from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from guanxi.core.china.phones import email_mask, phone_mask, phone_national_digits, phone_normalize


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("138 0013 8000", "+8613800138000"),
        ("+86 138-0013-8000", "+8613800138000"),
        ("0086 13800138000", "+8613800138000"),
        ("１３８００１３８０００", "+8613800138000"),
        ("010-12345678", "+861012345678"),
        ("(0755) 8888 6666", "+8675588886666"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+852 2123 4567", "+85221234567"),
    ],
)
def test_phone_normalize_gives_e164(raw, e164):
    assert phone_normalize(raw) == e164


def test_phone_normalize_uses_the_default_region_for_national_numbers():
    assert phone_normalize("020 7946 0958", default_region="GB") == "+442079460958"


@pytest.mark.parametrize(
    "raw", ["abc", "12", "138001380", "010-12345678-801", "13800138000转801", "", "95588"]
)
def test_phone_normalize_refuses_junk_with_a_code(raw):
    with pytest.raises(ValidationError) as caught:
        phone_normalize(raw)
    assert caught.value.code == "invalid_phone"


@pytest.mark.parametrize(
    ("e164", "digits"),
    [
        ("+8613800138000", "13800138000"),
        ("+861012345678", "01012345678"),
        ("+442079460958", "02079460958"),
        ("not a number 123", "123"),
    ],
)
def test_phone_national_digits(e164, digits):
    assert phone_national_digits(e164) == digits


@pytest.mark.parametrize(
    ("e164", "masked"),
    [
        ("+8613800138000", "138****8000"),
        ("+861012345678", "010****5678"),
        ("+8675588886666", "0755****6666"),
        ("+442079460958", "+44 20****0958"),
        ("+16502530000", "+1 650****0000"),
        ("+85221234567", "+852 2****4567"),
        ("13800138000", "****8000"),  # legacy value without country code
        ("", ""),
    ],
)
def test_phone_mask(e164, masked):
    assert phone_mask(e164) == masked


def test_phone_mask_never_shows_the_whole_number():
    for e164 in ["+8613800138000", "+861012345678", "+442079460958", "+85221234567"]:
        masked = phone_mask(e164)
        assert "****" in masked
        assert phone_national_digits(e164) not in masked.replace("*", "")


@pytest.mark.parametrize(
    ("email", "masked"),
    [
        ("zhangwei@example.com", "zh****@example.com"),
        ("abc@example.com", "a****@example.com"),
        ("ab@example.com", "****@example.com"),
        ("a@example.com", "****@example.com"),
        ("not-an-email", "****"),
        ("", ""),
    ],
)
def test_email_mask(email, masked):
    assert email_mask(email) == masked
