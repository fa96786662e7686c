from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from guanxi.core.china.credit_code import credit_code_clean, resident_id_clean, resident_id_mask

HUAWEI = "914403001922038216"  # 华为技术有限公司, from its business licence


def test_credit_code_clean_returns_the_canonical_code():
    assert credit_code_clean(HUAWEI) == HUAWEI


def test_credit_code_clean_strips_spaces_and_hyphens():
    assert credit_code_clean(" 9144 0300-1922 0382 16 ") == HUAWEI


def test_credit_code_clean_folds_full_width_input():
    # What a Chinese input method produces in full-width mode, with a full-width hyphen.
    assert credit_code_clean("９１４４０３００１９２２０３８２１６") == HUAWEI
    assert credit_code_clean("９１４４０３００－１９２２０３８２１６") == HUAWEI


def test_credit_code_clean_upper_cases_letters():
    assert credit_code_clean("91110000802100433b") == "91110000802100433B"


@pytest.mark.parametrize(
    "value",
    [
        "914403001922038217",  # check digit off by one
        "914403001922038",  # too short
        "9144030019220382160",  # too long
        "91440300192203821I",  # I is not in the alphabet
        "A14403001922038216",  # the first eight are digits
        "",
        "华为技术有限公司",
    ],
)
def test_credit_code_clean_refuses_invalid_codes_with_a_code(value):
    with pytest.raises(ValidationError) as caught:
        credit_code_clean(value)
    assert caught.value.code == "invalid_credit_code"
    assert caught.value.messages[0]


def test_credit_code_clean_names_the_length_in_the_message():
    with pytest.raises(ValidationError) as caught:
        credit_code_clean("91440300")
    assert "8" in caught.value.messages[0]


def test_credit_code_clean_explains_a_check_digit_mismatch():
    from django.utils import translation

    with translation.override("en"), pytest.raises(ValidationError) as caught:
        credit_code_clean("914403001922038217")
    assert caught.value.messages == [
        "This unified social credit code's check digit does not match; check for a typo."
    ]


def test_resident_id_clean_accepts_a_valid_number_and_upper_cases_x():
    assert resident_id_clean("11010519491231002x") == "11010519491231002X"
    assert resident_id_clean("110105 19491231 002X") == "11010519491231002X"


@pytest.mark.parametrize(
    "value",
    [
        "110105194912310021",  # wrong check digit
        "11010519491331002X",  # month 13
        "110105491231002",  # first-generation 15-digit numbers are no longer valid
        "",
    ],
)
def test_resident_id_clean_refuses_invalid_numbers(value):
    with pytest.raises(ValidationError) as caught:
        resident_id_clean(value)
    assert caught.value.code == "invalid_resident_id"


def test_resident_id_mask_hides_the_birth_date():
    assert resident_id_mask("11010519491231002X") == "110105********002X"


def test_resident_id_mask_handles_old_and_malformed_numbers_without_raising():
    assert resident_id_mask("110105491231002") == "110105******002"
    assert resident_id_mask("12345") == "****"
    assert resident_id_mask("") == ""


def test_credit_code_message_is_chinese_for_a_chinese_reader():
    from django.core.exceptions import ValidationError
    from django.utils import translation

    from guanxi.core.china.credit_code import credit_code_clean

    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as caught:
            credit_code_clean("91350100M000100Y4X")
        # the message is lazy: render it while the reader's language is active
        assert "统一社会信用代码" in caught.value.messages[0]
